//! Notifications outside the dashboard: the terminal's own notification escapes (OSC 9 and
//! OSC 777), a tmux message and a status-line option inside tmux. Their text is cctui's own
//! words and the session's name, never anything the agent printed: the escapes reach the
//! user's outer terminal, which must not be driven by the agent.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::NotifyConfig;

/// What a notification says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    /// A session started waiting for the user (a question, a permission prompt).
    Waiting,
    /// A session finished its turn while the user looked elsewhere.
    Finished,
    /// A session exited with an error, or an operation on it failed.
    Failed,
}

impl Notice {
    pub fn word(self) -> &'static str {
        match self {
            Notice::Waiting => "waiting",
            Notice::Finished => "finished",
            Notice::Failed => "failed",
        }
    }
}

/// A session name as it may appear in an escape or a tmux message: session names are
/// already restricted to these characters, and anything else is dropped all the same.
fn safe_name(session: &str) -> String {
    session
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(64)
        .collect()
}

/// The one-line message: "web is waiting for you".
pub fn message(notice: Notice, session: &str) -> String {
    let name = safe_name(session);
    match notice {
        Notice::Waiting => format!("{name} is waiting for you"),
        Notice::Finished => format!("{name} finished its turn"),
        Notice::Failed => format!("{name} failed"),
    }
}

/// OSC 9 (iTerm2, WezTerm, Windows Terminal, kitty) and OSC 777 (rxvt, foot, Ghostty,
/// VTE): both, since a terminal ignores the one it does not know. Inside tmux each is
/// wrapped in tmux's passthrough, which needs `allow-passthrough on`.
pub fn escapes(msg: &str, in_tmux: bool) -> Vec<u8> {
    let msg: String = msg.chars().filter(|c| !c.is_control()).collect();
    let osc = [
        format!("\x1b]9;cctui: {msg}\x07"),
        format!("\x1b]777;notify;cctui;{msg}\x07"),
    ];
    let mut out = Vec::new();
    for seq in osc {
        if in_tmux {
            out.extend_from_slice(b"\x1bPtmux;");
            out.extend_from_slice(seq.replace('\x1b', "\x1b\x1b").as_bytes());
            out.extend_from_slice(b"\x1b\\");
        } else {
            out.extend_from_slice(seq.as_bytes());
        }
    }
    out
}

/// Whether cctui runs inside tmux.
pub fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

/// The tmux commands that show `msg` and set the status-line option `@cctui_queue` to the
/// queue's count (for `status-right "#{@cctui_queue}"`).
pub fn tmux_commands(msg: Option<&str>, queue_len: usize) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if let Some(msg) = msg {
        // `display-message` expands `#{...}` formats: `#` never reaches it from a name.
        let msg: String = format!("cctui: {msg}").replace('#', "");
        out.push(vec!["display-message".into(), msg]);
    }
    let marker = if queue_len == 0 {
        String::new()
    } else {
        format!("▶{queue_len}")
    };
    out.push(vec![
        "set-option".into(),
        "-gq".into(),
        "@cctui_queue".into(),
        marker,
    ]);
    out
}

/// Runs tmux commands, each on its own, without waiting on the caller's thread.
pub async fn run_tmux(commands: Vec<Vec<String>>) {
    for args in commands {
        let _ = tokio::process::Command::new("tmux")
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await;
    }
}

/// The dashboard's notifications: escapes written to its own terminal (between frames, by
/// the loop that draws), tmux commands spawned.
#[derive(Debug)]
pub struct Outside {
    notifier: Notifier,
    in_tmux: bool,
}

impl Outside {
    pub fn new(config: NotifyConfig) -> Outside {
        Outside {
            notifier: Notifier::new(config),
            in_tmux: in_tmux(),
        }
    }

    pub fn notice(&mut self, notice: Notice, session: &str, queue_len: usize) {
        if !self.notifier.admit(session, notice, Instant::now()) {
            return;
        }
        let msg = message(notice, session);
        if self.notifier.config.osc {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(&escapes(&msg, self.in_tmux));
            let _ = out.flush();
        }
        if self.in_tmux && self.notifier.config.tmux {
            tokio::spawn(run_tmux(tmux_commands(Some(&msg), queue_len)));
        }
    }

    pub fn count(&self, queue_len: usize) {
        if self.in_tmux && self.notifier.config.tmux {
            tokio::spawn(run_tmux(tmux_commands(None, queue_len)));
        }
    }
}

/// A dashboard that ends takes its count off tmux's status line: a count left there would
/// say sessions wait when nobody is watching them.
impl Drop for Outside {
    fn drop(&mut self) {
        if self.in_tmux && self.notifier.config.tmux {
            let _ = std::process::Command::new("tmux")
                .args(["set-option", "-gqu", "@cctui_queue"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Which notices go out, and not the same one again within the quiet period.
#[derive(Debug)]
pub struct Notifier {
    config: NotifyConfig,
    last: HashMap<(String, Notice), Instant>,
}

impl Notifier {
    pub fn new(config: NotifyConfig) -> Notifier {
        Notifier {
            config,
            last: HashMap::new(),
        }
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// True when `notice` about `session` should go out at `now`: its kind is on, and the
    /// same news about the same session did not go out within `quiet_secs`.
    pub fn admit(&mut self, session: &str, notice: Notice, now: Instant) -> bool {
        let on = match notice {
            Notice::Waiting => self.config.waiting,
            Notice::Finished => self.config.finished,
            Notice::Failed => self.config.failed,
        };
        if !on {
            return false;
        }
        let quiet = Duration::from_secs(self.config.quiet_secs);
        let key = (session.to_string(), notice);
        if self
            .last
            .get(&key)
            .is_some_and(|t| now.saturating_duration_since(*t) < quiet)
        {
            return false;
        }
        self.last.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_carry_only_cctuis_words_and_a_clean_name() {
        let msg = message(Notice::Waiting, "web\x1b]52;c;?\x07#{pane}");
        assert_eq!(msg, "web52cpane is waiting for you");
        let raw = escapes(&msg, false);
        let text = String::from_utf8(raw).unwrap();
        assert_eq!(
            text,
            format!("\x1b]9;cctui: {msg}\x07\x1b]777;notify;cctui;{msg}\x07")
        );
        let wrapped = String::from_utf8(escapes("a", true)).unwrap();
        assert!(wrapped.starts_with("\x1bPtmux;\x1b\x1b]9;cctui: a\x07\x1b\\"));
    }

    #[test]
    fn the_quiet_period_drops_repeats_per_session_and_kind() {
        let mut n = Notifier::new(NotifyConfig {
            quiet_secs: 30,
            finished: false,
            ..Default::default()
        });
        let t = Instant::now();
        assert!(n.admit("a", Notice::Waiting, t));
        assert!(!n.admit("a", Notice::Waiting, t + Duration::from_secs(10)));
        assert!(n.admit("b", Notice::Waiting, t + Duration::from_secs(10)));
        assert!(n.admit("a", Notice::Failed, t + Duration::from_secs(10)));
        assert!(n.admit("a", Notice::Waiting, t + Duration::from_secs(31)));
        assert!(!n.admit("a", Notice::Finished, t), "finished is off");
    }

    #[test]
    fn tmux_gets_the_message_and_the_marker() {
        let c = tmux_commands(Some("web is waiting for you"), 2);
        assert_eq!(c[0], ["display-message", "cctui: web is waiting for you"]);
        assert_eq!(c[1], ["set-option", "-gq", "@cctui_queue", "▶2"]);
        assert_eq!(tmux_commands(None, 0)[0][3], "");
    }
}
