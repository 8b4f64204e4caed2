//! A session's tty size: which cctui sets it, and when.

use crate::app::effect::Effect;
use crate::app::state::State;

/// A session's tty has one size at a time, the latest active client's (as tmux's
/// `window-size latest`): a cctui sets it to its pane (or whole screen) when the session comes
/// into view, when its window changes, and when the user types into it (see [`take_size`]).
/// Until then it keeps the size another cctui set, and shows the screen at that size.
pub(super) fn fit_visible(state: &mut State, fx: &mut Vec<Effect>) {
    let visible = state.visible_terminal();
    let newly_shown = visible != state.fitted_visible;
    state.fitted_visible = visible.clone();
    let Some(name) = visible else { return };
    let size = state.term_size_for(&name);
    let Some(container) = state
        .row(&name)
        .and_then(|r| r.running_agent())
        .map(String::from)
    else {
        return;
    };
    let Some(t) = state.terminal_mut(&name) else {
        return;
    };
    if newly_shown || t.fitted != Some(size) {
        t.resize(size.0, size.1);
        t.fitted = Some(size);
        t.tty_size = Some(size);
        t.latest_here = true;
        fx.push(Effect::TermResize {
            session: name,
            container,
            rows: size.0,
            cols: size.1,
            nudge: newly_shown,
        });
    }
}

/// The client the user types into takes the tty's size back from another that set it since.
pub(super) fn take_size(state: &mut State, session: &str, fx: &mut Vec<Effect>) {
    let size = state.term_size_for(session);
    let Some(container) = state
        .row(session)
        .and_then(|r| r.running_agent())
        .map(String::from)
    else {
        return;
    };
    let Some(t) = state.terminal_mut(session) else {
        return;
    };
    if t.tty_size == Some(size) {
        return;
    }
    t.resize(size.0, size.1);
    t.fitted = Some(size);
    t.tty_size = Some(size);
    t.latest_here = true;
    fx.push(Effect::TermResize {
        session: session.to_string(),
        container,
        rows: size.0,
        cols: size.1,
        nudge: false,
    });
}
