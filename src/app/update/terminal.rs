//! The sessions' terminals: their output, their attachment, their size, and the keys typed
//! into them.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::action::Action;
use crate::app::effect::Effect;
use crate::app::state::{Mode, State};
use crate::app::tabs::Tab;
use crate::term::keys::{encode_key, encode_paste};
use crate::term::state::ClaudeState;

use super::{clipboard, typing_into};

pub(super) fn on_action(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::TermAttached { session } => on_attached(state, session, fx),
        Action::TermOutput { session, bytes, at } => {
            let bell = state.settings.bell;
            let Some(t) = state.terminal_mut(&session) else {
                return;
            };
            let screen = t.live();
            let hooks = screen.feed(&bytes);
            let copied = screen.take_copy();
            let text = screen.live_text();
            let was = t.tracker.state();
            for ev in hooks {
                t.tracker.on_hook(ev, at);
            }
            let before = t.tracker.state();
            t.tracker.on_screen(&text, at);
            let now = t.tracker.state();
            let turn_ended = before == ClaudeState::Working && now != before;
            if t.tracker.became_waiting() && bell {
                fx.push(Effect::Bell);
            }
            // A hook may have ended the turn before the screen did.
            let turn_over = was == ClaudeState::Working && now != was;
            note_for_queue(state, &session, now, turn_over, &text, fx);
            if let Some(copied) = copied {
                clipboard::on_copy(state, &session, copied, at, fx);
            }
            // The branch can only have moved while claude worked: reload then, not idly.
            if turn_ended && state.tab == Tab::Changes && state.is_selected(&session) {
                fx.push(Effect::LoadChanges(session));
            }
        }
        Action::TermSized {
            session,
            rows,
            cols,
            here,
        } => {
            if let Some(t) = state.terminal_mut(&session) {
                t.latest_here = here;
                t.tty_size = Some((rows, cols));
                t.resize(rows, cols);
            }
        }
        Action::TermLive { session } => {
            if let Some(t) = state.terminal_mut(&session) {
                t.live_output = true;
            }
        }
        Action::ImagePasted {
            session,
            pasted,
            fallback,
        } => clipboard::on_image_pasted(state, session, pasted, fallback, fx),
        Action::TermClosed { session } => {
            if let Some(t) = state.terminal_mut(&session) {
                t.attached = false;
            }
            if let Some(engine) = state.row(&session).map(|r| r.engine.clone()) {
                fx.push(Effect::Refresh(engine));
            }
            let in_it = match &state.mode {
                Mode::FullScreen(n) => *n == session,
                Mode::Focus => state.is_selected(&session),
                _ => false,
            };
            if in_it {
                leave(state, fx);
            }
        }
        _ => {}
    }
}

/// The attachment is up: what it replays first is not live yet (see `TermLive`).
fn on_attached(state: &mut State, session: String, fx: &mut Vec<Effect>) {
    let pane = state.term_size_for(&session);
    let visible = state.visible_terminal();
    let container = state
        .row(&session)
        .and_then(|r| r.running_agent())
        .map(String::from);
    let Some(t) = state.terminal_mut(&session) else {
        return;
    };
    t.attached = true;
    t.live_output = false;
    // A tty nobody has sized is 0x0, and claude draws nothing into it: give every
    // session a size once, in view or not. Later fits are the visible one's.
    // A tty another cctui has sized keeps its size.
    if t.fitted.is_none() && t.tty_size.is_none() && visible.as_deref() != Some(session.as_str()) {
        if let Some(container) = container {
            t.resize(pane.0, pane.1);
            t.fitted = Some(pane);
            t.tty_size = Some(pane);
            t.latest_here = true;
            fx.push(Effect::TermResize {
                session: session.clone(),
                container,
                rows: pane.0,
                cols: pane.1,
                nudge: false,
            });
        }
    }
    // Now attached, a fit makes claude draw its screen for us.
    if visible.as_deref() == Some(session.as_str()) {
        state.fitted_visible = None;
    }
}

/// What the queue learns from a screen: a permission prompt's subject, a turn that ended
/// out of view; and at a turn's end the firewall's refusals are read (they happen in turns).
fn note_for_queue(
    state: &mut State,
    session: &str,
    now: ClaudeState,
    turn_ended: bool,
    text: &str,
    fx: &mut Vec<Effect>,
) {
    let subject = (now == ClaudeState::WaitingForYou)
        .then(|| crate::app::queue::permission_subject(text))
        .flatten();
    state.queue.note_subject(session, subject);
    if !turn_ended {
        return;
    }
    if now == ClaudeState::Idle && state.looked_at().as_deref() != Some(session) {
        state.queue.note_finished(session);
    }
    // The turn's replies are in its transcript now.
    fx.extend(super::engine::load_usage(state, session));
    if state
        .row(session)
        .is_some_and(|r| r.session.running_holder().is_some())
    {
        fx.push(Effect::LoadFirewall(session.to_string()));
    }
}

/// A key while the terminal has the keyboard: the detach key leaves, Shift-PgUp/PgDn scroll,
/// everything else goes to claude.
pub(super) fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    state.fullscreen_hint = false;
    // The banner goes with the next key, which still goes where the user meant it.
    state.banner = None;
    if state.keymap.detach.matches(&key) {
        leave(state, fx);
        return;
    }
    let Some(name) = typing_into(state) else {
        return;
    };
    let Some(t) = state.terminal_mut(&name) else {
        return;
    };
    let screen = t.live();
    let half = screen.size().0 as usize / 2;
    match key.code {
        KeyCode::PageUp if key.modifiers.contains(KeyModifiers::SHIFT) => screen.scroll_up(half),
        KeyCode::PageDown if key.modifiers.contains(KeyModifiers::SHIFT) => {
            screen.scroll_down(half)
        }
        _ => {
            if let Some(bytes) = encode_key(&key, &screen.input_modes()) {
                screen.scroll_to_bottom();
                if state
                    .keymap
                    .paste_image
                    .as_ref()
                    .is_some_and(|k| k.matches(&key))
                {
                    clipboard::paste_image(state, name, bytes, fx);
                    return;
                }
                clipboard::type_into(state, name, bytes, fx);
            }
        }
    }
}

pub(super) fn on_paste(state: &mut State, text: &str, fx: &mut Vec<Effect>) {
    let Some(name) = typing_into(state) else {
        return;
    };
    if let Some(t) = state.terminal_mut(&name) {
        let bytes = encode_paste(text, &t.live().input_modes());
        clipboard::type_into(state, name, bytes, fx);
    }
}

pub(super) fn leave(state: &mut State, fx: &mut Vec<Effect>) {
    let was_full = matches!(state.mode, Mode::FullScreen(_));
    state.mode = Mode::Normal;
    if was_full && state.exit_on_detach {
        state.quit = true;
        fx.push(Effect::Quit);
    }
}
