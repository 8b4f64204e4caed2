//! The embedded terminal: key encoding, a headless screen per session, Claude's state.
//!
//! - [`keys`]: key events and pastes to the bytes a terminal sends; key names from the config.
//! - [`screen`]: [`TermScreen`], a vt100 emulator with scrollback, and the [`TermView`] widget.
//! - [`osc52`]: clipboard escapes caught from the screen, and cctui's own to copy with.
//! - [`sanitize`]: the one gate for agent-derived bytes bound for the user's terminal.
//! - [`hook`]: the in-band markers cctui's Claude Code hooks print, and [`HookEvent`].
//! - [`state`]: [`ClaudeState`] read from the screen, and the [`StateTracker`] that combines it
//!   with hook events.

pub mod hook;
mod ignorable;
pub mod keys;
pub mod log_text;
pub mod osc52;
pub mod sanitize;
pub mod screen;
pub mod state;

pub use hook::{hook_marker, HookEvent};
pub use keys::{encode_key, encode_paste, parse_key_spec, InputModes, KeySpec};
pub use screen::{TermScreen, TermView};
pub use state::{detect, ClaudeState, StateTracker};
