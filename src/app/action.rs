//! What can happen to the dashboard: input, engine news, and results of effects.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::backend::{ContainerDetails, EngineEvent, Stats};
use crate::image::BuildProgress;
use crate::session::Session;

use crate::sandbox::report::FirewallReport;

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Paste(String),
    Resize(u16, u16),
    /// SIGTERM or SIGHUP: restore the terminal and quit, whatever has the keyboard.
    Signal,
    /// Animation while jobs run; never sent while idle.
    Tick,
    /// The status line's message `serial` has been up for its lifetime.
    StatusExpired(u64),
    /// One engine's whole list of sessions.
    Sessions {
        engine: String,
        list: Vec<Session>,
    },
    Engine {
        engine: String,
        event: EngineEvent,
    },
    /// The engine did not answer; the next try is in `retry_in`.
    EngineLost {
        engine: String,
        why: String,
        retries: u32,
        retry_in: std::time::Duration,
    },
    /// The next try at a lost engine has begun.
    EngineRetrying {
        engine: String,
    },
    EngineBack {
        engine: String,
    },
    LogChunk {
        session: String,
        bytes: Vec<u8>,
    },
    Firewall {
        session: String,
        report: Result<FirewallReport, String>,
    },
    Details {
        session: String,
        details: Box<ContainerDetails>,
    },
    /// The session's `cctui port` forwards, read with its details.
    Ports {
        session: String,
        ports: Vec<crate::session::ports::Forward>,
    },
    /// What the session's last start carried of the user's Claude setup, and what it cut.
    Carried {
        session: String,
        carried: Vec<String>,
        cut: Vec<String>,
    },
    Stats {
        session: String,
        stats: Stats,
        /// Unix seconds when it was sampled: the dashboard's clock for uptimes.
        at: i64,
    },
    TermAttached {
        session: String,
    },
    TermOutput {
        session: String,
        bytes: Vec<u8>,
        /// When it arrived: claude's state tracker times its turns by it.
        at: std::time::Instant,
    },
    TermClosed {
        session: String,
    },
    /// Another cctui (or this one) gave the session's tty this size: its screen follows.
    TermSized {
        session: String,
        rows: u16,
        cols: u16,
        /// Set by this cctui: it is still the latest client.
        here: bool,
    },
    /// The attachment replayed the session's earlier output: what follows is live.
    TermLive {
        session: String,
    },
    /// The paste-image key's outcome: the image's path in the session and its size, none
    /// on the clipboard (the key then goes to claude as `fallback`), or why it failed.
    ImagePasted {
        session: String,
        pasted: Result<Option<(String, usize)>, String>,
        fallback: Vec<u8>,
    },
    JobProgress {
        job: u64,
        progress: BuildProgress,
    },
    JobDone {
        job: u64,
        result: Result<String, String>,
    },
    Changes {
        session: String,
        view: Result<crate::workspace::review::ChangesView, String>,
    },
    Usage {
        session: String,
        usage: Result<crate::usage::Usage, String>,
    },
    /// Path completions for the new-session dialog.
    Completions(Vec<String>),
}
