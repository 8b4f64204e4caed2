//! `update`: action in, effects out. No I/O here: everything outside the state is an effect.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use super::action::Action;
use super::effect::{Effect, Op};
use super::keymap::KeyAction;
use super::state::*;
use crate::backend::{labels, ContainerState, EventAction};
use crate::image::BuildProgress;
use crate::sandbox::firewall::{parse_rule, FirewallStatus};
use crate::term::keys::{encode_key, encode_paste};

/// How often visible live panels (firewall, info) refresh. Nothing refreshes while hidden.
pub const PANEL_REFRESH: Duration = Duration::from_secs(2);

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut fx = update_inner(state, action);
    state.settle_terminals();
    fit_visible(state, &mut fx);
    fx
}

fn update_inner(state: &mut State, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    match action {
        Action::Key(key) if key.kind != KeyEventKind::Release => on_key(state, key, &mut fx),
        Action::Key(_) => {}
        Action::Mouse(m) => on_mouse(state, m.kind),
        Action::Paste(text) => on_paste(state, &text, &mut fx),
        Action::Resize(w, h) => {
            state.size = (w, h);
        }
        Action::Signal => {
            state.quit = true;
            fx.push(Effect::Quit);
        }
        Action::Tick => state.spinner = state.spinner.wrapping_add(1),
        Action::Sessions(list) => on_sessions(state, list, &mut fx),
        Action::Engine(ev) => {
            if let Some(name) = ev.labels.get(labels::SESSION) {
                let role = ev.labels.get(labels::ROLE).map(String::as_str);
                if let Some(row) = state.rows.iter_mut().find(|r| r.name() == name) {
                    let target = match role {
                        Some("agent") => row.session.agent.as_mut(),
                        Some("net") => row.session.holder.as_mut(),
                        _ => None,
                    };
                    if let Some(c) = target {
                        match &ev.action {
                            EventAction::Start => c.state = ContainerState::Running,
                            EventAction::Die { exit_code } => {
                                c.state = ContainerState::Exited(exit_code.unwrap_or(0))
                            }
                            EventAction::Pause => c.state = ContainerState::Paused,
                            EventAction::Unpause => c.state = ContainerState::Running,
                            _ => {}
                        }
                    }
                    if role == Some("net") && matches!(ev.action, EventAction::Die { .. }) {
                        let agent_up = row
                            .session
                            .agent
                            .as_ref()
                            .is_some_and(|a| a.state.is_running());
                        if agent_up {
                            row.firewall = FirewallStatus::Degraded {
                                why: "the network holder stopped; egress is blocked".into(),
                            };
                        }
                    }
                }
            }
            fx.push(Effect::Refresh);
        }
        Action::EngineLost { why, retries } => {
            state.engine = EngineHealth::Lost { why, retries };
            for t in state.terminals.values_mut() {
                t.attached = false;
            }
        }
        Action::EngineBack => {
            state.engine = EngineHealth::Connected;
            fx.push(Effect::Refresh);
        }
        Action::LogChunk { session, bytes } => {
            let cap = state.settings.log_lines;
            state
                .logs
                .entry(session)
                .or_insert_with(|| LogBuffer::new(cap))
                .push_bytes(&bytes);
        }
        Action::Firewall { session, report } => {
            match report {
                Ok(r) => {
                    if let Some(row) = state.rows.iter_mut().find(|row| row.name() == session) {
                        row.firewall = r.status.clone();
                    }
                    state.firewall.insert(session.clone(), r);
                }
                Err(e) => {
                    if let Some(row) = state.rows.iter_mut().find(|row| row.name() == session) {
                        row.firewall = FirewallStatus::Degraded { why: e };
                    }
                }
            }
            if state.tab == Tab::Firewall
                && state.selected_name().as_deref() == Some(session.as_str())
            {
                fx.push(Effect::LoadFirewall(session));
            }
        }
        Action::Changes { session, view } => {
            state.changes.insert(session, view);
        }
        Action::Details { session, details } => {
            state.details.insert(session, *details);
        }
        Action::Stats { session, stats } => {
            state.stats = Some((session.clone(), stats));
        }
        Action::TermAttached { session } => {
            if let Some(t) = state.terminals.get_mut(&session) {
                t.attached = true;
            }
            // Now attached, a fit makes claude draw its screen for us.
            if state.fitted_visible.as_deref() == Some(session.as_str()) {
                state.fitted_visible = None;
            }
        }
        Action::TermOutput { session, bytes } => {
            let bell = state.settings.bell;
            if let Some(t) = state.terminals.get_mut(&session) {
                let now = std::time::Instant::now();
                let screen = t.live();
                let hooks = screen.feed(&bytes);
                let text = screen.live_text();
                for ev in hooks {
                    t.tracker.on_hook(ev, now);
                }
                let before = t.tracker.state();
                t.tracker.on_screen(&text, now);
                let turn_ended = before == crate::term::state::ClaudeState::Working
                    && t.tracker.state() != before;
                if t.tracker.became_waiting() && bell {
                    fx.push(Effect::Bell);
                }
                // The branch can only have moved while claude worked: reload then, not idly.
                if turn_ended
                    && state.tab == Tab::Changes
                    && state.selected_name().as_deref() == Some(session.as_str())
                {
                    fx.push(Effect::LoadChanges(session.clone()));
                }
            }
        }
        Action::TermClosed { session } => {
            if let Some(t) = state.terminals.get_mut(&session) {
                t.attached = false;
            }
            if state.mode == Mode::FullScreen(session.clone())
                || (state.mode == Mode::Focus && state.selected_name() == Some(session.clone()))
            {
                leave_terminal(state, &mut fx);
            }
            fx.push(Effect::Refresh);
        }
        Action::JobProgress { job, progress } => {
            if let Some(j) = state.jobs.get_mut(&job) {
                match progress {
                    BuildProgress::Step {
                        layer,
                        index,
                        total,
                        text,
                    } => {
                        j.progress = Some(format!("[{layer}] {index}/{total} {text}"));
                        j.fraction = Some(index as f64 / total.max(1) as f64);
                    }
                    BuildProgress::Started { layer, .. } => {
                        j.progress = Some(format!("[{layer}] building"));
                        j.fraction = Some(0.0);
                    }
                    BuildProgress::Cached { .. }
                    | BuildProgress::Finished { .. }
                    | BuildProgress::Output { .. } => {}
                }
            }
        }
        Action::JobDone { job, result } => {
            if let Some(j) = state.jobs.remove(&job) {
                if let Some(row) = state.rows.iter_mut().find(|r| r.name() == j.session) {
                    row.busy = None;
                    row.error = result.as_ref().err().cloned();
                }
                state.status = Some(match result {
                    Ok(msg) => StatusLine {
                        text: msg,
                        error: false,
                    },
                    Err(e) => StatusLine {
                        text: format!("{} {}: {e}", j.what, j.session),
                        error: true,
                    },
                });
                // The session's work may have moved (import, merge, apply): show it anew.
                if state.tab == Tab::Changes
                    && state.selected_name().as_deref() == Some(j.session.as_str())
                {
                    fx.push(Effect::LoadChanges(j.session.clone()));
                }
            }
            fx.push(Effect::Refresh);
        }
        Action::Completions(list) => {
            if let Mode::New(form) = &mut state.mode {
                if list.len() == 1 {
                    form.path = list[0].clone();
                    form.completions.clear();
                } else {
                    if let Some(prefix) = common_prefix(&list) {
                        if prefix.len() > form.path.len() {
                            form.path = prefix;
                        }
                    }
                    form.completions = list;
                }
            }
        }
    }
    fx
}

fn common_prefix(list: &[String]) -> Option<String> {
    let first = list.first()?;
    let mut len = first.len();
    for s in &list[1..] {
        len = len.min(
            first
                .bytes()
                .zip(s.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    Some(first[..len].to_string())
}

fn on_sessions(state: &mut State, list: Vec<crate::session::Session>, fx: &mut Vec<Effect>) {
    let selected = state.selected_name();
    let old: Vec<Row> = std::mem::take(&mut state.rows);
    state.rows = list
        .into_iter()
        .map(|session| {
            let prev = old.iter().find(|r| r.session.name == session.name);
            let firewall = match session.firewall {
                crate::config::FirewallMode::Off => FirewallStatus::Off,
                crate::config::FirewallMode::On => {
                    let holder_up = session
                        .holder
                        .as_ref()
                        .is_some_and(|h| h.state.is_running());
                    let agent_up = session.agent.as_ref().is_some_and(|a| a.state.is_running());
                    match (prev.map(|p| p.firewall.clone()), holder_up, agent_up) {
                        (_, false, true) => FirewallStatus::Degraded {
                            why: "the network holder is not running; egress is blocked".into(),
                        },
                        (_, false, false) => FirewallStatus::Unknown,
                        // A holder only runs past a failed check by exiting (fail closed), so
                        // a running one passed its last check; the firewall tab has the time.
                        (Some(s @ FirewallStatus::Verified { .. }), true, _) => s,
                        (_, true, _) => FirewallStatus::Verified { at: 0 },
                    }
                }
            };
            Row {
                busy: prev.and_then(|p| p.busy.clone()),
                error: prev.and_then(|p| p.error.clone()),
                firewall,
                session,
            }
        })
        .collect();
    for (i, r) in state.rows.iter().enumerate() {
        if Some(r.name()) == selected.as_deref() {
            state.selected = i;
        }
    }
    state.selected = state.selected.min(state.rows.len().saturating_sub(1));
    let first_load = !state.loaded;
    state.loaded = true;

    // Keep a live terminal for every running session, and only for those.
    for r in &state.rows {
        let Some(agent) = &r.session.agent else {
            continue;
        };
        let name = r.name().to_string();
        // `cctui attach NAME` follows that one session only.
        let wanted = !state.exit_on_detach || state.mode == Mode::FullScreen(name.clone());
        let running = agent.state.is_running() && wanted;
        let (rows, cols) = state.term_size_for(&name);
        match (running, state.terminals.get(&name)) {
            (true, None) => {
                state
                    .terminals
                    .insert(name.clone(), Terminal::new(rows, cols));
                fx.push(Effect::Attach {
                    session: name,
                    container: agent.id.clone(),
                });
            }
            (true, Some(t)) if !t.attached && state.engine == EngineHealth::Connected => {
                fx.push(Effect::Attach {
                    session: name,
                    container: agent.id.clone(),
                });
            }
            (false, Some(_)) => {
                state.terminals.remove(&name);
                fx.push(Effect::Detach(name));
            }
            _ => {}
        }
    }
    let names: Vec<String> = state.rows.iter().map(|r| r.name().to_string()).collect();
    let gone: Vec<String> = state
        .terminals
        .keys()
        .filter(|k| !names.contains(k))
        .cloned()
        .collect();
    for g in gone {
        state.terminals.remove(&g);
        fx.push(Effect::Detach(g));
    }
    if first_load || selected != state.selected_name() {
        on_selection(state, fx);
    }
}

/// Loads what the visible tab shows for the selected session.
fn on_selection(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(row) = state.selected_row() else {
        return;
    };
    let name = row.name().to_string();
    let agent = row.session.agent.clone();
    if let Some(a) = &agent {
        if a.state.is_running() {
            fx.push(Effect::LoadStats {
                session: name.clone(),
                container: a.id.clone(),
            });
        }
    }
    match state.tab {
        Tab::Logs => {
            if let Some(a) = agent {
                state.logs.remove(&name);
                fx.push(Effect::FollowLogs {
                    session: name,
                    container: a.id,
                });
            }
        }
        Tab::Firewall => fx.push(Effect::LoadFirewall(name)),
        Tab::Info => {
            if let Some(a) = agent {
                fx.push(Effect::LoadDetails {
                    session: name,
                    container: a.id,
                });
            }
        }
        Tab::Changes => fx.push(Effect::LoadChanges(name)),
        Tab::Terminal => {}
    }
}

fn select(state: &mut State, index: usize, fx: &mut Vec<Effect>) {
    let index = index.min(state.rows.len().saturating_sub(1));
    if index != state.selected {
        state.selected = index;
        on_selection(state, fx);
    }
}

fn start_job(state: &mut State, session: &str, what: &str, op: Op, fx: &mut Vec<Effect>) {
    let job = new_job(state, session, what);
    fx.push(Effect::Run {
        job,
        session: session.to_string(),
        op,
    });
}

/// Registers a job, so that its result lands in the status line.
fn new_job(state: &mut State, session: &str, what: &str) -> u64 {
    let job = state.next_job;
    state.next_job += 1;
    state.jobs.insert(
        job,
        Job {
            session: session.to_string(),
            what: what.to_string(),
            progress: None,
            fraction: None,
        },
    );
    if let Some(row) = state.rows.iter_mut().find(|r| r.name() == session) {
        row.busy = Some(what.to_string());
        row.error = None;
    }
    state.status = None;
    job
}

/// The session on screen owns its tty's size: it is fitted to the pane (or the whole screen)
/// when it comes into view and when the window changes. Sessions out of view are left as
/// they are, so that another cctui showing them (say `cctui attach` in a tmux pane) keeps them.
fn fit_visible(state: &mut State, fx: &mut Vec<Effect>) {
    let visible = state.visible_terminal();
    let newly_shown = visible != state.fitted_visible;
    state.fitted_visible = visible.clone();
    let Some(name) = visible else { return };
    let size = state.term_size_for(&name);
    let Some(container) = state
        .rows
        .iter()
        .find(|r| r.name() == name)
        .and_then(|r| r.session.agent.as_ref())
        .map(|a| a.id.clone())
    else {
        return;
    };
    let Some(t) = state.terminals.get_mut(&name) else {
        return;
    };
    if newly_shown || t.fitted != Some(size) {
        t.resize(size.0, size.1);
        t.fitted = Some(size);
        fx.push(Effect::TermResize {
            session: name,
            container,
            rows: size.0,
            cols: size.1,
            nudge: newly_shown,
        });
    }
}

fn leave_terminal(state: &mut State, fx: &mut Vec<Effect>) {
    let was_full = matches!(state.mode, Mode::FullScreen(_));
    state.mode = Mode::Normal;
    if was_full && state.exit_on_detach {
        state.quit = true;
        fx.push(Effect::Quit);
    }
}

fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    match state.mode.clone() {
        Mode::Focus | Mode::FullScreen(_) => {
            let target = match &state.mode {
                Mode::FullScreen(n) => Some(n.clone()),
                _ => state.selected_name(),
            };
            if state.keymap.detach.matches(&key) {
                leave_terminal(state, fx);
                return;
            }
            let Some(name) = target else { return };
            if let Some(t) = state.terminals.get_mut(&name) {
                match key.code {
                    KeyCode::PageUp if key.modifiers.contains(KeyModifiers::SHIFT) => {
                        let screen = t.live();
                        screen.scroll_up(screen.size().0 as usize / 2);
                        return;
                    }
                    KeyCode::PageDown if key.modifiers.contains(KeyModifiers::SHIFT) => {
                        let screen = t.live();
                        screen.scroll_down(screen.size().0 as usize / 2);
                        return;
                    }
                    _ => {}
                }
                let screen = t.live();
                if let Some(bytes) = encode_key(&key, &screen.input_modes()) {
                    screen.scroll_to_bottom();
                    fx.push(Effect::TermInput {
                        session: name,
                        bytes,
                    });
                }
            }
        }
        Mode::Help => state.mode = Mode::Normal,
        Mode::ConfirmRemove(name) => match key.code {
            KeyCode::Char('y') => {
                state.mode = Mode::Normal;
                start_job(state, &name, "removing", Op::Remove { volumes: false }, fx);
            }
            KeyCode::Char('v') => {
                state.mode = Mode::Normal;
                start_job(state, &name, "removing", Op::Remove { volumes: true }, fx);
            }
            KeyCode::Char('n') | KeyCode::Esc => state.mode = Mode::Normal,
            _ => {}
        },
        Mode::Allow { session, mut input } => match key.code {
            KeyCode::Esc => state.mode = Mode::Normal,
            KeyCode::Enter => match parse_rule(&input) {
                Ok(rule) => {
                    state.mode = Mode::Normal;
                    start_job(state, &session, "allowing", Op::Allow(rule.to_string()), fx);
                }
                Err(e) => {
                    state.status = Some(StatusLine {
                        text: e.to_string(),
                        error: true,
                    })
                }
            },
            _ => {
                edit_text(&mut input, &key);
                state.mode = Mode::Allow { session, input };
            }
        },
        Mode::Search(mut text) => match key.code {
            KeyCode::Esc => state.mode = Mode::Normal,
            KeyCode::Enter => {
                state.log_search = Some(text).filter(|t| !t.is_empty());
                state.mode = Mode::Normal;
                if let (Some(q), Some(name)) = (state.log_search.clone(), state.selected_name()) {
                    if let Some(buf) = state.logs.get_mut(&name) {
                        // Scroll so that the newest match is at the bottom of the view.
                        if let Some(pos) = buf.lines.iter().rposition(|l| l.contains(&q)) {
                            buf.scroll = buf.lines.len() - 1 - pos;
                        }
                    }
                }
            }
            _ => {
                edit_text(&mut text, &key);
                state.mode = Mode::Search(text);
            }
        },
        Mode::New(mut form) => match key.code {
            KeyCode::Esc => state.mode = Mode::Normal,
            KeyCode::Enter => {
                state.mode = Mode::Normal;
                let name = Some(form.name.trim().to_string()).filter(|n| !n.is_empty());
                let label = name.clone().unwrap_or_else(|| {
                    crate::session::SessionName::from_folder(std::path::Path::new(&form.path))
                        .to_string()
                });
                let profiles = form
                    .profiles
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(p, _)| p.clone())
                    .collect();
                start_job(
                    state,
                    &label,
                    "creating",
                    Op::Create {
                        path: expand_tilde(&form.path, &state.home),
                        name,
                        profiles,
                    },
                    fx,
                );
            }
            KeyCode::Up | KeyCode::BackTab => {
                form.field = match form.field {
                    NewField::Path => NewField::Profiles,
                    NewField::Name => NewField::Path,
                    NewField::Profiles => NewField::Name,
                };
                state.mode = Mode::New(form);
            }
            KeyCode::Down => {
                form.field = next_field(form.field);
                state.mode = Mode::New(form);
            }
            KeyCode::Tab if form.field == NewField::Path => {
                fx.push(Effect::CompletePath(expand_tilde(&form.path, &state.home)));
                state.mode = Mode::New(form);
            }
            KeyCode::Tab => {
                form.field = next_field(form.field);
                state.mode = Mode::New(form);
            }
            _ => {
                match form.field {
                    NewField::Path => {
                        edit_text(&mut form.path, &key);
                        form.completions.clear();
                    }
                    NewField::Name => edit_text(&mut form.name, &key),
                    NewField::Profiles => match key.code {
                        KeyCode::Left => {
                            form.profile_cursor = form.profile_cursor.saturating_sub(1)
                        }
                        KeyCode::Right => {
                            form.profile_cursor =
                                (form.profile_cursor + 1).min(form.profiles.len().saturating_sub(1))
                        }
                        KeyCode::Char(' ') => {
                            if let Some(p) = form.profiles.get_mut(form.profile_cursor) {
                                p.1 = !p.1;
                            }
                        }
                        _ => {}
                    },
                }
                state.mode = Mode::New(form);
            }
        },
        Mode::Normal => on_normal_key(state, key, fx),
    }
}

fn next_field(f: NewField) -> NewField {
    match f {
        NewField::Path => NewField::Name,
        NewField::Name => NewField::Profiles,
        NewField::Profiles => NewField::Path,
    }
}

fn expand_tilde(path: &str, home: &std::path::Path) -> String {
    match path.strip_prefix('~') {
        Some(rest) => format!("{}{rest}", home.display()),
        None => path.to_string(),
    }
}

fn edit_text(text: &mut String, key: &KeyEvent) {
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
        KeyCode::Char('w') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            let trimmed = text.trim_end_matches('/').len();
            let cut = text[..trimmed].rfind('/').map(|i| i + 1).unwrap_or(0);
            text.truncate(cut);
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => {}
    }
}

fn on_normal_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if key.code == KeyCode::Esc {
        state.status = None;
        state.log_search = None;
        return;
    }
    // Scrolling the visible pane.
    if matches!(key.code, KeyCode::PageUp | KeyCode::PageDown) {
        let up = key.code == KeyCode::PageUp;
        scroll_visible(state, up, 10);
        return;
    }
    let Some(action) = state.keymap.action(&key) else {
        return;
    };
    let selected = state.selected_name();
    let running = state
        .selected_row()
        .and_then(|r| r.session.agent.as_ref())
        .is_some_and(|a| a.state.is_running());
    match action {
        KeyAction::Up => select(state, state.selected.saturating_sub(1), fx),
        KeyAction::Down => select(state, state.selected + 1, fx),
        KeyAction::Top => select(state, 0, fx),
        KeyAction::Bottom => select(state, state.rows.len().saturating_sub(1), fx),
        KeyAction::NextTab | KeyAction::PrevTab => {
            let i = Tab::ALL.iter().position(|t| *t == state.tab).unwrap_or(0);
            let n = Tab::ALL.len();
            let next = if action == KeyAction::NextTab {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            state.tab = Tab::ALL[next];
            on_selection(state, fx);
        }
        KeyAction::New => {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            state.mode = Mode::New(NewForm {
                path: cwd,
                profiles: crate::config::KNOWN_PROFILES
                    .iter()
                    .map(|p| {
                        (
                            p.to_string(),
                            state.settings.profiles.iter().any(|d| d == p),
                        )
                    })
                    .collect(),
                ..Default::default()
            });
        }
        KeyAction::Quit => {
            state.quit = true;
            fx.push(Effect::Quit);
        }
        KeyAction::Help => state.mode = Mode::Help,
        KeyAction::Search => {
            state.tab = Tab::Logs;
            state.mode = Mode::Search(String::new());
        }
        _ => {
            let Some(name) = selected else {
                state.status = Some(StatusLine {
                    text: format!(
                        "no session selected; press {} to create one",
                        state.keymap.key_for(KeyAction::New)
                    ),
                    error: true,
                });
                return;
            };
            if state.job_for(&name).is_some() {
                state.status = Some(StatusLine {
                    text: format!("{name} is busy"),
                    error: true,
                });
                return;
            }
            let need_running = |state: &mut State| {
                if !running {
                    state.status = Some(StatusLine {
                        text: format!(
                            "{name} is not running; press {} to start it",
                            state.keymap.key_for(KeyAction::Start)
                        ),
                        error: true,
                    });
                }
                running
            };
            match action {
                KeyAction::Start => start_job(state, &name, "starting", Op::Start, fx),
                KeyAction::Stop => start_job(state, &name, "stopping", Op::Stop, fx),
                KeyAction::Restart => start_job(state, &name, "restarting", Op::Restart, fx),
                KeyAction::Rebuild => start_job(state, &name, "building", Op::Rebuild, fx),
                KeyAction::Import => start_job(state, &name, "importing", Op::Import, fx),
                KeyAction::Merge => start_job(state, &name, "merging", Op::Merge, fx),
                KeyAction::ApplyChanges => {
                    start_job(state, &name, "applying", Op::ApplyChanges, fx)
                }
                KeyAction::Push => start_job(state, &name, "pushing", Op::Push, fx),
                KeyAction::Remove => state.mode = Mode::ConfirmRemove(name),
                KeyAction::Allow => {
                    state.mode = Mode::Allow {
                        session: name,
                        input: String::new(),
                    }
                }
                KeyAction::Attach if need_running(state) => {
                    state.tab = Tab::Terminal;
                    state.mode = Mode::Focus;
                }
                KeyAction::Fullscreen if need_running(state) => {
                    state.mode = Mode::FullScreen(name);
                }
                KeyAction::TmuxPane | KeyAction::TmuxWindow => {
                    let window = action == KeyAction::TmuxWindow;
                    let job = new_job(
                        state,
                        &name,
                        if window {
                            "opening a window"
                        } else {
                            "opening a pane"
                        },
                    );
                    // The pane is not an operation on the session: its row stays as it is.
                    if let Some(row) = state.rows.iter_mut().find(|r| r.name() == name) {
                        row.busy = None;
                    }
                    fx.push(Effect::OpenTmux {
                        job,
                        session: name,
                        window,
                    })
                }
                _ => {}
            }
        }
    }
}

fn scroll_visible(state: &mut State, up: bool, lines: usize) {
    let Some(name) = state.selected_name() else {
        return;
    };
    match state.tab {
        Tab::Logs => {
            if let Some(b) = state.logs.get_mut(&name) {
                b.scroll = if up {
                    (b.scroll + lines).min(b.lines.len().saturating_sub(1))
                } else {
                    b.scroll.saturating_sub(lines)
                };
            }
        }
        Tab::Terminal => {
            if let Some(t) = state.terminals.get_mut(&name) {
                if up {
                    t.live().scroll_up(lines)
                } else {
                    t.live().scroll_down(lines)
                }
            }
        }
        _ => {}
    }
}

fn on_mouse(state: &mut State, kind: MouseEventKind) {
    match kind {
        MouseEventKind::ScrollUp => scroll_visible(state, true, 3),
        MouseEventKind::ScrollDown => scroll_visible(state, false, 3),
        _ => {}
    }
}

fn on_paste(state: &mut State, text: &str, fx: &mut Vec<Effect>) {
    match &mut state.mode {
        Mode::Focus | Mode::FullScreen(_) => {
            let name = match &state.mode {
                Mode::FullScreen(n) => Some(n.clone()),
                _ => state.selected_name(),
            };
            if let Some(name) = name {
                if let Some(t) = state.terminals.get_mut(&name) {
                    let bytes = encode_paste(text, &t.live().input_modes());
                    fx.push(Effect::TermInput {
                        session: name,
                        bytes,
                    });
                }
            }
        }
        Mode::Allow { input, .. } => input.push_str(text.trim()),
        Mode::Search(s) => s.push_str(text.trim()),
        Mode::New(form) => match form.field {
            NewField::Path => form.path.push_str(text.trim()),
            NewField::Name => form.name.push_str(text.trim()),
            NewField::Profiles => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::backend::{labels, ContainerSummary};
    use crate::session::group_sessions;

    fn running_session(name: &str) -> crate::session::Session {
        let c = ContainerSummary {
            id: format!("id-{name}"),
            name: format!("cctui-{name}"),
            image: "cctui-agent:test".into(),
            labels: [
                (labels::SESSION, name),
                (labels::PROJECT, "/srv/p"),
                (labels::ROLE, "agent"),
                (labels::FIREWALL, "off"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            state: ContainerState::Running,
            created: 0,
            status: "Up 1 minute".into(),
        };
        group_sessions(&[c]).remove(0)
    }

    fn state_with(name: &str) -> State {
        let settings = UiSettings {
            log_lines: 100,
            bell: false,
            engine_host: "unix:///test.sock".into(),
            profiles: vec![],
            color: false,
        };
        let mut state = State::new(Keymap::default(), settings);
        update(&mut state, Action::Sessions(vec![running_session(name)]));
        state
    }

    fn key(c: char) -> Action {
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn a_signal_quits_from_the_pane_without_typing_into_claude() {
        let mut state = state_with("web");
        update(
            &mut state,
            Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        assert_eq!(state.mode, Mode::Focus);
        let fx = update(&mut state, Action::Signal);
        assert!(state.quit);
        assert_eq!(fx, vec![Effect::Quit]);
    }

    #[test]
    fn the_first_list_attaches_every_running_session() {
        let settings = UiSettings {
            log_lines: 100,
            bell: false,
            engine_host: String::new(),
            profiles: vec![],
            color: false,
        };
        let mut state = State::new(Keymap::default(), settings);
        let fx = update(&mut state, Action::Sessions(vec![running_session("web")]));
        assert!(
            fx.contains(&Effect::Attach {
                session: "web".into(),
                container: "id-web".into()
            }),
            "{fx:?}"
        );
    }

    #[test]
    fn a_tmux_pane_is_a_job_whose_result_reaches_the_status_line() {
        let mut state = state_with("web");
        let fx = update(&mut state, key('t'));
        let Some(Effect::OpenTmux {
            job,
            session,
            window,
        }) = fx
            .iter()
            .find(|e| matches!(e, Effect::OpenTmux { .. }))
            .cloned()
        else {
            panic!("t opens no pane: {fx:?}");
        };
        assert_eq!((session.as_str(), window), ("web", false));
        assert!(state.jobs.contains_key(&job));
        update(
            &mut state,
            Action::JobDone {
                job,
                result: Err("tmux: no server".into()),
            },
        );
        let status = state.status.clone().expect("a status line");
        assert!(
            status.error && status.text.contains("no server"),
            "{status:?}"
        );
    }
}
