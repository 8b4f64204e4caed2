//! What the dashboard asks the outside world to do. The runtime carries these out as tasks
//! and reports back with actions.

/// An operation on a session that runs as a job with a spinner.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Start,
    Stop,
    Restart,
    Remove {
        volumes: bool,
    },
    Rebuild,
    Allow(String),
    /// A rule added to the project's settings (every session of the project), applied live.
    AllowForProject(String),
    /// The session's work, imported into the project's repository by the host's git.
    Import,
    Merge,
    ApplyChanges,
    Push,
    Create(super::forms::NewRequest),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// List this engine's sessions again (after an event, a job, or a reconnect).
    Refresh(String),
    Run {
        job: u64,
        session: String,
        op: Op,
    },
    /// Follow this container's logs from the tail; replaces any previous follow.
    FollowLogs {
        session: String,
        container: String,
    },
    LoadFirewall(String),
    /// Import the session's work and compute its Changes view, on the host.
    LoadChanges(String),
    LoadDetails {
        session: String,
        container: String,
    },
    LoadStats {
        session: String,
        container: String,
    },
    /// Read the tokens and cost of the session's project (each of its sessions) from the
    /// transcripts.
    LoadUsage(String),
    /// Keep a live attachment to the session's claude.
    Attach {
        session: String,
        container: String,
    },
    Detach(String),
    TermInput {
        session: String,
        bytes: Vec<u8>,
    },
    /// Put `bytes`, copied by the session the user is attached to, on the user's clipboard.
    Copy {
        session: String,
        bytes: Vec<u8>,
    },
    /// The paste-image key: an image from the host's clipboard into the session's paste
    /// folder, its path typed into claude; with no image, `fallback` (the key) is typed.
    PasteImage {
        session: String,
        container: String,
        fallback: Vec<u8>,
    },
    /// Sets the container's tty size; with `nudge`, via a size one column narrower first, so
    /// that claude redraws its whole screen even when the size is unchanged.
    TermResize {
        session: String,
        container: String,
        rows: u16,
        cols: u16,
        nudge: bool,
    },
    OpenTmux {
        job: u64,
        session: String,
        window: bool,
    },
    CompletePath(String),
    Bell,
    /// Send `StatusExpired(serial)` after `after`.
    ExpireStatus {
        serial: u64,
        after: std::time::Duration,
    },
    /// Tell the user outside the dashboard (terminal escapes, tmux), if the config says so.
    Notify {
        notice: crate::notify::Notice,
        session: String,
    },
    /// The queue's count changed: for tmux's status line.
    QueueCount(usize),
    Quit,
}
