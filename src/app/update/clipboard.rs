//! Copy and paste through the sandbox: which copies (OSC 52) go out to the user's clipboard,
//! and the paste-image key, whose outcome comes back from the runtime (the clipboard is I/O).

use crate::app::effect::Effect;
use crate::app::state::{Mode, State};
use std::time::{Duration, Instant};

use crate::term::keys::encode_paste;
use crate::term::osc52::{Copied, MAX_COPY_BYTES};
use crate::term::sanitize::printable;

use super::typing_into;

/// Keys typed while an image paste is looked up wait behind it, up to this many bytes.
const MAX_HELD_INPUT: usize = 64 << 10;

/// A copy reaches the clipboard only this soon after the user typed or pasted into the
/// session: the copy a user asked for, not one the agent times for later.
pub const COPY_AFTER_INPUT: Duration = Duration::from_secs(5);

/// A copy (OSC 52) from a session reaches the user's clipboard only while the user is
/// attached to that session and the output is live (not the replay of what it printed
/// before), within [`COPY_AFTER_INPUT`] of the user's last key or paste there (`at` is when
/// the output arrived), and only as text (see [`clipboard_text`]); the status line says
/// what became of it. A copy from a session the user is not attached to is dropped without
/// a word.
pub(super) fn on_copy(
    state: &mut State,
    session: &str,
    copied: Copied,
    at: Instant,
    fx: &mut Vec<Effect>,
) {
    let Some(t) = state.terminal(session) else {
        return;
    };
    let attached = typing_into(state).as_deref() == Some(session) && t.live_output;
    if !attached || !state.settings.clipboard_copy {
        return;
    }
    let asked = t
        .typed_at
        .is_some_and(|typed| at.saturating_duration_since(typed) <= COPY_AFTER_INPUT);
    let (text, error) = match copied {
        Copied::Text(_) if !asked => (
            format!(
                "{session} tried to copy to the clipboard over {} s after your last key: \
                 not forwarded",
                COPY_AFTER_INPUT.as_secs()
            ),
            true,
        ),
        Copied::Text(bytes) => match clipboard_text(bytes) {
            None => (
                format!("{session} copied control or invisible characters: not forwarded"),
                true,
            ),
            Some(bytes) => {
                let said = format!(
                    "{session} copied {} to the clipboard",
                    bytes_word(bytes.len())
                );
                fx.push(Effect::Copy {
                    session: session.to_string(),
                    bytes,
                });
                (said, false)
            }
        },
        Copied::TooLarge(n) => (
            format!(
                "{session} copied {}: over the limit of {}, not forwarded",
                bytes_word(n),
                bytes_word(MAX_COPY_BYTES)
            ),
            true,
        ),
    };
    say(state, text, error);
}

/// What may go to the clipboard: printable text, tabs and line breaks (no ESC to end a
/// bracketed paste, no CR, nothing invisible), without a trailing line break (a paste that
/// runs itself). None if anything else is in it.
pub fn clipboard_text(mut bytes: Vec<u8>) -> Option<Vec<u8>> {
    while bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    let text = std::str::from_utf8(&bytes).ok()?;
    text.chars().all(printable).then_some(bytes)
}

fn bytes_word(n: usize) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// The status line, and in full screen (where it is not drawn) the one-line banner.
fn say(state: &mut State, text: String, error: bool) {
    if matches!(state.mode, Mode::FullScreen(_)) {
        state.banner = Some(format!(" {text} "));
    }
    state.set_status(text, error);
}

/// Bytes typed into a session; while an image paste is pending they wait, so that they
/// reach claude after the image's path (or the key itself), in the order typed.
pub(super) fn type_into(state: &mut State, session: String, bytes: Vec<u8>, fx: &mut Vec<Effect>) {
    let typed = state.input_instant;
    if let Some(t) = state.terminal_mut(&session) {
        t.typed_at = typed.or(t.typed_at);
    }
    if let Some(held) = state
        .terminal_mut(&session)
        .and_then(|t| t.held_input.as_mut())
    {
        if held.len() + bytes.len() <= MAX_HELD_INPUT {
            held.extend_from_slice(&bytes);
        }
        return;
    }
    super::size::take_size(state, &session, fx);
    fx.push(Effect::TermInput { session, bytes });
}

/// The paste-image key: the runtime looks at the host's clipboard; the key itself goes to
/// claude when there is no image there.
pub(super) fn paste_image(
    state: &mut State,
    name: String,
    fallback: Vec<u8>,
    fx: &mut Vec<Effect>,
) {
    let container = state
        .row(&name)
        .and_then(|r| r.running_agent())
        .map(String::from);
    let Some(t) = state.terminal_mut(&name) else {
        return;
    };
    match container {
        // One at a time: a second press while one is pending is held like any key.
        Some(container) if t.held_input.is_none() => {
            t.held_input = Some(Vec::new());
            fx.push(Effect::PasteImage {
                session: name,
                container,
                fallback,
            });
        }
        _ => type_into(state, name, fallback, fx),
    }
}

pub(super) fn on_image_pasted(
    state: &mut State,
    session: String,
    pasted: Result<Option<(String, usize)>, String>,
    fallback: Vec<u8>,
    fx: &mut Vec<Effect>,
) {
    let Some(t) = state.terminal_mut(&session) else {
        return;
    };
    let held = t.held_input.take().unwrap_or_default();
    let typed = match pasted {
        Ok(None) => Some(fallback),
        Ok(Some((path, size))) => {
            // As a paste, the way a terminal hands claude a dragged-in file's path.
            let bytes = encode_paste(&path, &t.live().input_modes());
            say(
                state,
                format!("pasted an image ({}) into {session}", bytes_word(size)),
                false,
            );
            Some(bytes)
        }
        Err(e) => {
            say(
                state,
                format!("image paste into {session} failed: {e}"),
                true,
            );
            None
        }
    };
    let bytes: Vec<u8> = typed.into_iter().flatten().chain(held).collect();
    if !bytes.is_empty() {
        fx.push(Effect::TermInput { session, bytes });
    }
}
