//! What the engine says: the session list, its events, and the panels loaded for sessions.

use super::on_selection;
use crate::app::action::Action;
use crate::app::effect::Effect;
use crate::app::state::{EngineHealth, Mode, Row, State};
use crate::app::tabs::Tab;
use crate::app::view::{LogBuffer, Terminal};
use crate::backend::{labels, ContainerState, EngineEvent, EventAction, Stats};
use crate::sandbox::firewall::FirewallStatus;
use crate::session::Session;

pub(super) fn on_action(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Sessions(list) => on_sessions(state, list, fx),
        Action::Engine(ev) => on_event(state, ev, fx),
        Action::EngineLost { why, retries } => {
            state.engine = EngineHealth::Lost { why, retries };
            for row in state.rows.iter_mut() {
                if let Some(t) = row.view.terminal.as_mut() {
                    t.attached = false;
                }
                // Events may be missed while the engine is away: its next list is the truth.
                row.died.clear();
            }
        }
        Action::EngineBack => {
            state.engine = EngineHealth::Connected;
            fx.push(Effect::Refresh);
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
            if in_queue || (state.tab == Tab::Firewall && state.is_selected(&session)) {
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
            if state.tab == Tab::Info && state.is_selected(&session) {
                fx.push(Effect::LoadDetails { session, container });
            }
        }
        Action::Stats { session, stats, at } => on_stats(state, session, stats, at, fx),
        _ => {}
    }
}

/// A stats sample: kept for the footer and the Info tab, and the next one asked for while
/// the session is selected and running (streamed, throttled by the runtime).
fn on_stats(state: &mut State, session: String, stats: Stats, at: i64, fx: &mut Vec<Effect>) {
    state.now = state.now.max(at);
    let selected = state.is_selected(&session);
    let Some(row) = state.row_mut(&session) else {
        return;
    };
    row.view.stats = Some((stats, at));
    if let Some(container) = row.running_agent().map(String::from) {
        if selected {
            fx.push(Effect::LoadStats { session, container });
        }
    }
}

/// An event moves the row at once (the list that follows may take a while with many
/// sessions), and the holder's death turns the firewall badge degraded whatever is shown.
fn on_event(state: &mut State, ev: EngineEvent, fx: &mut Vec<Effect>) {
    fx.push(Effect::Refresh);
    let Some(name) = ev.labels.get(labels::SESSION) else {
        return;
    };
    let role = ev.labels.get(labels::ROLE).map(String::as_str);
    let Some(row) = state.row_mut(name) else {
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

fn on_sessions(state: &mut State, list: Vec<Session>, fx: &mut Vec<Effect>) {
    if state.engine == EngineHealth::Connecting {
        state.engine = EngineHealth::Connected;
    }
    let selected = state.selected_name();
    let mut old: Vec<Row> = std::mem::take(&mut state.rows);
    state.rows = list
        .into_iter()
        .map(|mut session| {
            let mut row = match old.iter().position(|r| r.session.name == session.name) {
                Some(i) => old.swap_remove(i),
                None => Row::new(session.clone()),
            };
            trust_deaths(&mut session, &mut row.died);
            row.firewall = firewall_badge(&session, Some(&row.firewall));
            row.session = session;
            row
        })
        .collect();
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
    let keep = wanted.or(selected.clone());
    if let Some(i) = state
        .rows
        .iter()
        .position(|r| Some(r.name()) == keep.as_deref())
    {
        state.selected = i;
    }
    state.selected = state.selected.min(state.rows.len().saturating_sub(1));
    let first_load = !state.loaded;
    state.loaded = true;
    if first_load {
        load_all_usage(state, fx);
    }
    keep_terminals(state, fx);
    if first_load || selected != state.selected_name() {
        on_selection(state, fx);
    }
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

/// A live terminal for every running session, and only for those.
fn keep_terminals(state: &mut State, fx: &mut Vec<Effect>) {
    let pane = state.pane_size();
    let connected = state.engine == EngineHealth::Connected;
    for i in 0..state.rows.len() {
        let name = state.rows[i].name().to_string();
        // `cctui attach NAME` follows that one session only.
        let wanted = !state.exit_on_detach || state.mode == Mode::FullScreen(name.clone());
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
