//! What the engine says: the session list, its events, and the panels loaded for sessions.

use super::on_selection;
use crate::app::action::Action;
use crate::app::effect::Effect;
use crate::app::state::{EngineHealth, Mode, Row, State, LIVE_IDLE_SECS};
use crate::app::tabs::Tab;
use crate::app::view::{LogBuffer, Terminal};
use crate::backend::{labels, ContainerState, EngineEvent, EventAction, Stats};
use crate::sandbox::firewall::FirewallStatus;
use crate::session::Session;

pub(super) fn on_action(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Sessions { engine, list } => on_sessions(state, &engine, list, fx),
        Action::Engine { engine, event } => on_event(state, &engine, event, fx),
        Action::EngineLost { .. } | Action::EngineRetrying { .. } | Action::EngineBack { .. } => {
            on_health(state, action, fx)
        }
        Action::LogChunk { session, bytes } => {
            let cap = state.settings.log_lines;
            if let Some(row) = state.row_mut(&session) {
                row.view
                    .logs
                    .get_or_insert_with(|| LogBuffer::new(cap))
                    .push_bytes(&bytes);
            }
        }
        Action::Firewall { session, report } => {
            if let Some(row) = state.row_mut(&session) {
                match report {
                    Ok(r) => {
                        row.firewall = r.status.clone();
                        row.view.firewall = Some(r);
                    }
                    Err(e) => row.firewall = FirewallStatus::Degraded { why: e },
                }
            }
            // Live while shown: the runtime spaces the loads by PANEL_REFRESH.
            let in_queue = state.mode == Mode::Queue
                && state
                    .row(&session)
                    .is_some_and(|r| r.session.running_holder().is_some());
            let shown = in_queue || (state.tab == Tab::Firewall && state.is_selected(&session));
            if shown && !state.live_paused {
                fx.push(Effect::LoadFirewall(session));
            }
        }
        Action::Usage { session, usage } => {
            if let Some(row) = state.row_mut(&session) {
                row.view.usage = Some(usage);
            }
        }
        Action::Changes { session, view } => {
            if let Some(row) = state.row_mut(&session) {
                row.view.changes = Some(view);
            }
        }
        Action::Details { session, details } => {
            let container = details.summary.id.clone();
            if let Some(row) = state.row_mut(&session) {
                row.view.details = Some(*details);
            }
            if state.tab == Tab::Info && state.is_selected(&session) && !state.live_paused {
                fx.push(Effect::LoadDetails { session, container });
            }
        }
        Action::Ports { session, ports } => {
            if let Some(row) = state.row_mut(&session) {
                row.view.ports = ports;
            }
        }
        Action::Carried {
            session,
            carried,
            cut,
        } => {
            if let Some(row) = state.row_mut(&session) {
                row.view.carried = (carried, cut);
            }
        }
        Action::Stats { session, stats, at } => on_stats(state, session, stats, at, fx),
        _ => {}
    }
}

/// An engine lost, being tried again, or back: its header says so, and only its rows change.
fn on_health(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::EngineLost {
            engine,
            why,
            retries,
            retry_in,
        } => {
            if let Some(e) = state.engine_mut(&engine) {
                e.health = EngineHealth::Lost {
                    why,
                    retries,
                    retry_in: Some(retry_in),
                };
            }
            for row in state.rows.iter_mut().filter(|r| r.engine == engine) {
                if let Some(t) = row.view.terminal.as_mut() {
                    t.attached = false;
                }
                // Events may be missed while the engine is away: its next list is the truth.
                row.died.clear();
            }
        }
        Action::EngineRetrying { engine } => {
            if let Some(EngineHealth::Lost { retry_in, .. }) =
                state.engine_mut(&engine).map(|e| &mut e.health)
            {
                *retry_in = None;
            }
        }
        Action::EngineBack { engine } => {
            if let Some(e) = state.engine_mut(&engine) {
                e.health = EngineHealth::Connected;
            }
            // What the selected row showed stopped with the engine: load it anew.
            if state.selected_row().is_some_and(|r| r.engine == engine) {
                on_selection(state, fx);
            }
            fx.push(Effect::Refresh(engine));
        }
        _ => {}
    }
}

/// A stats sample: kept for the footer and the Info tab, and the next one asked for while
/// the session is selected and running (streamed, throttled by the runtime), until nobody
/// has touched a key for LIVE_IDLE_SECS.
fn on_stats(state: &mut State, session: String, stats: Stats, at: i64, fx: &mut Vec<Effect>) {
    state.now = state.now.max(at);
    let since_input = at - *state.input_at.get_or_insert(at);
    if since_input >= LIVE_IDLE_SECS {
        state.live_paused = true;
    }
    let wanted = state.is_selected(&session) && !state.live_paused;
    let Some(row) = state.row_mut(&session) else {
        return;
    };
    row.view.stats = Some((stats, at));
    if let Some(container) = row.running_agent().map(String::from) {
        if wanted {
            fx.push(Effect::LoadStats { session, container });
        }
    }
}

/// A key after the live figures paused: they go on, for what is in view.
pub(super) fn resume_live(state: &mut State, fx: &mut Vec<Effect>) {
    state.live_paused = false;
    let tab = state.tab;
    let Some(row) = state.selected_row() else {
        return;
    };
    let session = row.name().to_string();
    if let Some(container) = row.running_agent().map(String::from) {
        fx.push(Effect::LoadStats {
            session: session.clone(),
            container: container.clone(),
        });
        if tab == Tab::Info {
            fx.push(Effect::LoadDetails {
                session: session.clone(),
                container,
            });
        }
    }
    if tab == Tab::Firewall {
        fx.push(Effect::LoadFirewall(session));
    }
}

/// An event moves the row at once (the list that follows may take a while with many
/// sessions), and the holder's death turns the firewall badge degraded whatever is shown.
fn on_event(state: &mut State, engine: &str, ev: EngineEvent, fx: &mut Vec<Effect>) {
    fx.push(Effect::Refresh(engine.to_string()));
    let Some(name) = ev.labels.get(labels::SESSION) else {
        return;
    };
    let role = ev.labels.get(labels::ROLE).map(String::as_str);
    let Some(row) = state
        .rows
        .iter_mut()
        .find(|r| r.engine == engine && r.name() == name)
    else {
        return;
    };
    let target = match role {
        Some("agent") => row.session.agent.as_mut(),
        Some("net") => row.session.holder.as_mut(),
        _ => None,
    };
    let Some(c) = target else { return };
    match &ev.action {
        EventAction::Start => {
            c.state = ContainerState::Running;
            row.died.remove(&ev.container_id);
        }
        EventAction::Die { exit_code } => {
            let code = exit_code.unwrap_or(0);
            c.state = ContainerState::Exited(code);
            row.died.insert(ev.container_id.clone(), code);
        }
        EventAction::Pause => c.state = ContainerState::Paused,
        EventAction::Unpause => c.state = ContainerState::Running,
        _ => return,
    }
    let prev = row.firewall.clone();
    row.firewall = firewall_badge(&row.session, Some(&prev));
    // A stopped agent wrote its last transcript lines.
    if role == Some("agent") && matches!(ev.action, EventAction::Die { .. }) {
        fx.extend(load_usage(state, name));
    }
}

/// Usage for the list, at start: one load per project (a read serves its sessions).
fn load_all_usage(state: &State, fx: &mut Vec<Effect>) {
    let mut projects = std::collections::BTreeSet::new();
    for row in &state.rows {
        if projects.insert(row.session.project.as_str()) {
            fx.push(Effect::LoadUsage(row.name().to_string()));
        }
    }
}

/// Usage of `session`'s project again (a turn ended, an agent stopped), asked for by the
/// project's first session, so that the runtime's spacing of loads holds per project.
pub(super) fn load_usage(state: &State, session: &str) -> Option<Effect> {
    let project = &state.row(session)?.session.project;
    let first = state.rows.iter().find(|r| &r.session.project == project)?;
    Some(Effect::LoadUsage(first.name().to_string()))
}

/// The badge a session's list entry supports: the containers' states decide it by the same
/// rule as `cctui fw status` (`sandbox::report`); while the holder runs, its last word stands.
/// A holder only runs past a failed check by exiting (fail closed), so a running one passed
/// its last check; the firewall tab has the time.
fn firewall_badge(session: &Session, prev: Option<&FirewallStatus>) -> FirewallStatus {
    session
        .firewall_from_states()
        .unwrap_or_else(|| match prev {
            Some(s @ FirewallStatus::Verified { .. }) => s.clone(),
            _ => FirewallStatus::Verified { at: 0 },
        })
}

/// One engine's list: its rows are replaced, the other engines' stay as they are, and the
/// rows stay grouped by engine in the engines' order.
fn on_sessions(state: &mut State, engine: &str, list: Vec<Session>, fx: &mut Vec<Effect>) {
    if let Some(e) = state.engine_mut(engine) {
        if e.health == EngineHealth::Connecting {
            e.health = EngineHealth::Connected;
        }
    }
    let selected = state
        .selected_row()
        .map(|r| (r.engine.clone(), r.name().to_string()));
    let (mut old, others): (Vec<Row>, Vec<Row>) = std::mem::take(&mut state.rows)
        .into_iter()
        .partition(|r| r.engine == engine);
    let fresh: Vec<Row> = list
        .into_iter()
        .map(|mut session| {
            let mut row = match old.iter().position(|r| r.session.name == session.name) {
                Some(i) => old.swap_remove(i),
                None => Row::new(engine, session.clone()),
            };
            trust_deaths(&mut session, &mut row.died);
            row.firewall = firewall_badge(&session, Some(&row.firewall));
            row.session = session;
            row
        })
        .collect();
    state.rows = in_engine_order(&state.engines, others, fresh, engine);
    state.find_conflicts();
    // Sessions gone from the list take their terminals with them.
    for gone in old {
        if gone.view.terminal.is_some() {
            fx.push(Effect::Detach(gone.name().to_string()));
        }
    }
    let wanted = state
        .select_when_listed
        .clone()
        .filter(|n| state.row(n).is_some());
    if wanted.is_some() {
        state.select_when_listed = None;
    }
    let at = match (&wanted, &selected) {
        (Some(name), _) => state.rows.iter().position(|r| r.name() == name),
        (None, Some((e, name))) => state
            .rows
            .iter()
            .position(|r| &r.engine == e && r.name() == name),
        _ => None,
    };
    if let Some(i) = at {
        state.selected = i;
    }
    state.selected = state.selected.min(state.rows.len().saturating_sub(1));
    let first_load = !state.loaded;
    state.loaded = true;
    if first_load {
        load_all_usage(state, fx);
    }
    keep_terminals(state, fx);
    let now = state
        .selected_row()
        .map(|r| (r.engine.clone(), r.name().to_string()));
    if first_load || selected != now {
        on_selection(state, fx);
    }
}

/// The rows of every engine, in the engines' order: `others` as they were, `fresh` for
/// `engine`.
fn in_engine_order(
    engines: &[crate::app::state::EngineStatus],
    others: Vec<Row>,
    fresh: Vec<Row>,
    engine: &str,
) -> Vec<Row> {
    let mut fresh = Some(fresh);
    let mut rows = Vec::with_capacity(others.len());
    let mut others = others.into_iter().peekable();
    for e in engines {
        if e.name == engine {
            rows.extend(fresh.take().unwrap_or_default());
        }
        while let Some(r) = others.next_if(|r| r.engine == e.name) {
            rows.push(r);
        }
    }
    rows.extend(others);
    rows.extend(fresh.unwrap_or_default());
    rows
}

/// A container listed as running after its `die` event, with no `start` since, was listed
/// before the engine caught up: it is not running. Deaths of containers gone are forgotten.
fn trust_deaths(session: &mut Session, died: &mut std::collections::BTreeMap<String, i64>) {
    let containers = [session.agent.as_mut(), session.holder.as_mut()];
    let listed: Vec<String> = containers.iter().flatten().map(|c| c.id.clone()).collect();
    died.retain(|id, _| listed.contains(id));
    for c in containers.into_iter().flatten() {
        if let (Some(code), true) = (died.get(&c.id), c.state.is_running()) {
            c.state = ContainerState::Exited(*code);
        }
    }
}

/// A live terminal for every running session, and only for those; never for a name that
/// two engines hold (terminals go by name).
fn keep_terminals(state: &mut State, fx: &mut Vec<Effect>) {
    let pane = state.pane_size();
    for i in 0..state.rows.len() {
        let name = state.rows[i].name().to_string();
        let conflicted = state.conflicted.contains(&name);
        let connected = state.is_connected(&state.rows[i].engine);
        // `cctui attach NAME` follows that one session only.
        let wanted =
            (!state.exit_on_detach || state.mode == Mode::FullScreen(name.clone())) && !conflicted;
        let size = match &state.mode {
            Mode::FullScreen(n) if *n == name => (state.size.1, state.size.0),
            _ => pane,
        };
        let row = &mut state.rows[i];
        let running = row.running_agent().map(String::from).filter(|_| wanted);
        match (running, row.view.terminal.as_ref()) {
            (Some(container), None) => {
                row.view.terminal = Some(Terminal::new(size.0, size.1));
                fx.push(Effect::Attach {
                    session: name,
                    container,
                });
            }
            (Some(container), Some(t)) if !t.attached && connected => {
                fx.push(Effect::Attach {
                    session: name,
                    container,
                });
            }
            (None, Some(_)) => {
                row.view.terminal = None;
                fx.push(Effect::Detach(name));
            }
            _ => {}
        }
    }
}
