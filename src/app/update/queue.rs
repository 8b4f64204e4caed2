//! The attention queue in `update`: the sessions an action touched are observed again, what
//! is new becomes a notice, and the queue view's keys act on its entries.

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent};

use super::{jobs, on_selection};
use crate::app::action::Action;
use crate::app::effect::{Effect, Op};
use crate::app::queue::{Change, Observed, Reason};
use crate::app::state::{Mode, State};
use crate::app::tabs::Tab;
use crate::backend::ContainerState;
use crate::notify::Notice;

/// The sessions whose causes an action may have changed.
pub(super) enum Touched {
    Nothing,
    One(String),
    All,
}

/// Decided before the action is applied (a finished job is gone after).
pub(super) fn touched(state: &State, action: &Action) -> Touched {
    match action {
        Action::TermAttached { session }
        | Action::TermOutput { session, .. }
        | Action::TermClosed { session }
        | Action::Firewall { session, .. } => Touched::One(session.clone()),
        Action::JobDone { job, .. } => state
            .jobs
            .get(job)
            .map_or(Touched::Nothing, |j| Touched::One(j.session.clone())),
        // Keys move what is on screen (a finished turn is then seen); lists and events move
        // containers.
        Action::Key(_)
        | Action::Sessions { .. }
        | Action::Engine { .. }
        | Action::EngineLost { .. }
        | Action::EngineRetrying { .. }
        | Action::EngineBack { .. } => Touched::All,
        _ => Touched::Nothing,
    }
}

/// Brings the queue in line with the touched sessions; notices for new entries, and the
/// count for tmux when it changed.
pub(super) fn sync(state: &mut State, touched: Touched, fx: &mut Vec<Effect>) {
    let names: Vec<String> = match touched {
        Touched::Nothing => return,
        Touched::One(name) => vec![name],
        Touched::All => state.rows.iter().map(|r| r.name().to_string()).collect(),
    };
    let before = state.queue.len();
    if let Some(shown) = state.looked_at() {
        if !matches!(state.mode, Mode::Queue) {
            state.queue.looked(&shown);
        }
    }
    let mut changes = Vec::new();
    for name in &names {
        changes.extend(observe(state, name));
    }
    if names.len() != 1 || state.row(&names[0]).is_none() {
        let alive: BTreeSet<&str> = state.rows.iter().map(|r| r.name()).collect();
        changes.extend(state.queue.retain_sessions(&alive));
    }
    for change in changes {
        if let Change::Added(entry) = change {
            announce(state, &entry.session, &entry.reason, fx);
        }
    }
    let after = state.queue.len();
    if after != before {
        fx.push(Effect::QueueCount(after));
    }
}

fn observe(state: &mut State, name: &str) -> Vec<Change> {
    let Some(row) = state.row(name) else {
        return Vec::new();
    };
    let claude = state.claude_state(row);
    let exit_code = match row.session.state() {
        ContainerState::Exited(code) => Some(code),
        ContainerState::Dead => Some(-1),
        _ => None,
    };
    let error = row.error.clone().filter(|_| state.job_for(name).is_none());
    let report = row.view.firewall.as_ref();
    let refusals = report.map(|r| r.recent.clone()).unwrap_or_default();
    let rules = report
        .map(|r| r.allowlist.rules.clone())
        .unwrap_or_default();
    state.queue.observe(
        name,
        Observed {
            claude,
            exit_code,
            error: error.as_deref(),
            refusals: &refusals,
            rules: &rules,
        },
    )
}

/// A new entry that is news outside the dashboard: a notice, and while the user is fully
/// attached to another session, the banner.
fn announce(state: &mut State, session: &str, reason: &Reason, fx: &mut Vec<Effect>) {
    let notice = match reason {
        Reason::Waiting | Reason::Permission(_) => Notice::Waiting,
        Reason::Finished => Notice::Finished,
        Reason::Exited(_) | Reason::Failed(_) => Notice::Failed,
        Reason::Refused { .. } => return,
    };
    if matches!(&state.mode, Mode::FullScreen(n) if n != session) {
        let key = state.keymap.detach.to_string();
        state.banner = Some(format!(
            " {} · {key} then {} ",
            crate::notify::message(notice, session),
            state.keymap.key_for(crate::app::keymap::KeyAction::Queue)
        ));
    }
    fx.push(Effect::Notify {
        notice,
        session: session.to_string(),
    });
}

/// Opens the queue view, and asks for every running firewall's refusals.
pub(super) fn open(state: &mut State, fx: &mut Vec<Effect>) {
    state.mode = Mode::Queue;
    state.queue.select(0);
    for row in &state.rows {
        if row.session.running_holder().is_some() {
            fx.push(Effect::LoadFirewall(row.name().to_string()));
        }
    }
}

/// A key in the queue view: move, attach, dismiss, and for refusals allow or forget.
pub(super) fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let selected = state.queue.selected;
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('w') => state.mode = Mode::Normal,
        KeyCode::Down | KeyCode::Char('j') => state.queue.select(selected + 1),
        KeyCode::Up | KeyCode::Char('k') => state.queue.select(selected.saturating_sub(1)),
        KeyCode::Enter | KeyCode::Char('f') => attach(state, key.code != KeyCode::Enter, fx),
        KeyCode::Char('x') | KeyCode::Delete => {
            let before = state.queue.len();
            state.queue.dismiss_selected();
            if state.queue.len() != before {
                fx.push(Effect::QueueCount(state.queue.len()));
            }
        }
        KeyCode::Char('d') => {
            if let Some((session, name)) = state.queue.forget_selected() {
                state.set_status(
                    format!("{name} stays refused for {session}; not queued again"),
                    false,
                );
                fx.push(Effect::QueueCount(state.queue.len()));
            }
        }
        KeyCode::Char(c @ ('a' | 'p')) => allow(state, c == 'p', fx),
        _ => {}
    }
}

/// Selects the entry's session and types into it (pane, or full screen).
fn attach(state: &mut State, full: bool, fx: &mut Vec<Effect>) {
    let Some(entry) = state.queue.selected_entry().cloned() else {
        return;
    };
    let Some(index) = state.rows.iter().position(|r| r.name() == entry.session) else {
        return;
    };
    state.mode = Mode::Normal;
    if index != state.selected || state.tab != Tab::Terminal {
        state.selected = index;
        state.tab = Tab::Terminal;
        on_selection(state, fx);
    }
    if state.rows[index].running_agent().is_none() {
        state.set_status(format!("{} is not running", entry.session), true);
        return;
    }
    state.queue.looked(&entry.session);
    state.mode = if full {
        state.fullscreen_hint = true;
        Mode::FullScreen(entry.session)
    } else {
        Mode::Focus
    };
}

/// Allows the selected refusal's name: for its session, live (as `a` and `cctui fw allow`),
/// or for its whole project. The entry clears when the firewall's report shows the rule.
fn allow(state: &mut State, project: bool, fx: &mut Vec<Effect>) {
    let Some(entry) = state.queue.selected_entry().cloned() else {
        return;
    };
    let Reason::Refused { name, .. } = entry.reason else {
        return;
    };
    if state.job_for(&entry.session).is_some() {
        state.set_status(format!("{} is busy", entry.session), true);
        return;
    }
    let (what, op) = if project {
        ("allowing for the project", Op::AllowForProject(name))
    } else {
        ("allowing", Op::Allow(name))
    };
    jobs::start(state, &entry.session, what, op, fx);
}

/// After a job on a session with refusals queued (an allow among them), its firewall is
/// read again, so that an allowed name's entry clears.
pub(super) fn after_job(state: &State, session: &str, fx: &mut Vec<Effect>) {
    let refused = state
        .queue
        .shown()
        .any(|e| e.session == session && matches!(e.reason, Reason::Refused { .. }));
    if refused {
        fx.push(Effect::LoadFirewall(session.to_string()));
    }
}
