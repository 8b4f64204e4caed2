//! `update`: action in, effects out. No I/O here, and nothing read from outside the state:
//! the time and the folders come in with the actions and the settings.

mod clipboard;
#[cfg(test)]
mod clipboard_tests;
mod engine;
#[cfg(test)]
mod engine_tests;
mod jobs;
mod keys;
mod queue;
mod size;
mod terminal;
#[cfg(test)]
mod tests;

use std::time::Duration;

use crossterm::event::KeyEventKind;

use super::action::Action;
use super::effect::Effect;
use super::state::State;

/// How often visible live panels (firewall, info, stats) refresh. Nothing refreshes while
/// hidden.
pub const PANEL_REFRESH: Duration = Duration::from_secs(2);

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    let status_before = state.status.as_ref().map(|s| s.serial);
    let touched = queue::touched(state, &action);
    if matches!(
        &action,
        Action::Key(_) | Action::Paste(_) | Action::Mouse(_)
    ) {
        on_input(state, &mut fx);
    }
    match action {
        Action::Key(key) if key.kind != KeyEventKind::Release => keys::on_key(state, key, &mut fx),
        Action::Key(_) => {}
        Action::Mouse(m) => keys::on_mouse(state, m.kind),
        Action::Paste(text) => keys::on_paste(state, &text, &mut fx),
        Action::Resize(w, h) => state.size = (w, h),
        Action::Signal => {
            state.quit = true;
            fx.push(Effect::Quit);
        }
        Action::Tick => state.spinner = state.spinner.wrapping_add(1),
        Action::StatusExpired(serial) => {
            if state.status.as_ref().is_some_and(|s| s.serial == serial) {
                state.status = None;
            }
        }
        Action::Completions(list) => {
            if let super::state::Mode::New(form) = &mut state.mode {
                form.complete(list);
            }
        }
        Action::TermAttached { .. }
        | Action::TermOutput { .. }
        | Action::TermClosed { .. }
        | Action::TermLive { .. }
        | Action::TermSized { .. }
        | Action::ImagePasted { .. } => terminal::on_action(state, action, &mut fx),
        Action::JobProgress { job, progress } => jobs::on_progress(state, job, progress),
        Action::JobDone { job, result } => {
            if let Some(session) = jobs::on_done(state, job, result, &mut fx) {
                queue::after_job(state, &session, &mut fx);
            }
        }
        other => engine::on_action(state, other, &mut fx),
    }
    state.settle_terminals();
    size::fit_visible(state, &mut fx);
    queue::sync(state, touched, &mut fx);
    if let Some(s) = &state.status {
        if status_before != Some(s.serial) {
            fx.push(Effect::ExpireStatus {
                serial: s.serial,
                after: s.lifetime(),
            });
        }
    }
    fx
}

/// Someone is at the keyboard: the live figures go on if they had paused.
fn on_input(state: &mut State, fx: &mut Vec<Effect>) {
    state.input_at = (state.now > 0).then_some(state.now);
    if state.live_paused {
        engine::resume_live(state, fx);
    }
}

/// The session whose terminal has the keyboard (pane or full screen).
fn typing_into(state: &State) -> Option<String> {
    match &state.mode {
        super::state::Mode::FullScreen(n) => Some(n.clone()),
        super::state::Mode::Focus => state.selected_name(),
        _ => None,
    }
}

/// Loads what the visible tab (and the footer) show for the selected session; nothing for
/// a name two engines hold, which does not say which session it is.
fn on_selection(state: &mut State, fx: &mut Vec<Effect>) {
    let tab = state.tab;
    if state
        .selected_name()
        .is_some_and(|n| state.conflict(&n).is_some())
    {
        return;
    }
    let Some(row) = state.selected_row_mut() else {
        return;
    };
    if let Some(container) = row.running_agent().map(String::from) {
        let session = row.name().to_string();
        // The footer's figures: stats (then streamed while selected) and the start time.
        fx.push(Effect::LoadStats {
            session: session.clone(),
            container: container.clone(),
        });
        if tab != super::tabs::Tab::Info {
            fx.push(Effect::LoadDetails { session, container });
        }
    }
    if tab == super::tabs::Tab::Logs {
        row.view.logs = None;
    }
    let agent = row.session.agent.as_ref().map(|a| a.id.as_str());
    fx.extend(tab.loads(row.name(), agent));
}

fn select(state: &mut State, index: usize, fx: &mut Vec<Effect>) {
    let index = index.min(state.rows.len().saturating_sub(1));
    if index != state.selected {
        state.selected = index;
        on_selection(state, fx);
    }
}
