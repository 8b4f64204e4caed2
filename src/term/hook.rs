//! Claude Code hook events, carried in-band on the session's tty as an OSC sequence that no
//! terminal displays: `ESC ] 777 ; cctui ; <event> BEL`.
//!
//! cctui configures Claude Code hooks that print such a marker; [`MarkerFilter`] (used by
//! [`TermScreen::feed`](super::TermScreen::feed)) takes them out of the output stream before
//! it reaches the terminal emulator, even when a marker is split across reads.

/// What a hook reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookEvent {
    /// `notification`: Claude is waiting for the user (a permission prompt, a question).
    Notification,
    /// `stop`: the turn finished; Claude is idle.
    Stop,
    /// `prompt`: the user submitted a prompt; Claude is working.
    PromptSubmit,
    /// `start`: the session started.
    Start,
}

impl HookEvent {
    pub const ALL: [HookEvent; 4] = [
        HookEvent::Notification,
        HookEvent::Stop,
        HookEvent::PromptSubmit,
        HookEvent::Start,
    ];

    /// The event's name in the marker.
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::Notification => "notification",
            HookEvent::Stop => "stop",
            HookEvent::PromptSubmit => "prompt",
            HookEvent::Start => "start",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The marker for this event; see [`hook_marker`].
    pub fn marker(self) -> String {
        hook_marker(self.name())
    }

    /// A `sh` command for a Claude Code hook that prints this event's marker. Hook output is
    /// captured by Claude Code, so the marker goes to the controlling terminal (`/dev/tty`,
    /// the session's pty) instead; the command never fails, so a missing tty cannot turn into
    /// a hook error.
    pub fn shell_command(self) -> String {
        format!(
            "printf '\\033]777;cctui;{}\\007' 2>/dev/null >/dev/tty || true",
            self.name()
        )
    }
}

/// Everything before the event name.
pub const MARKER_PREFIX: &str = "\x1b]777;cctui;";

/// The exact text a hook prints to the tty to report `event` (`notification`, `stop`,
/// `prompt` or `start`): `ESC ] 777 ; cctui ; <event> BEL`.
pub fn hook_marker(event: &str) -> String {
    format!("{MARKER_PREFIX}{event}\x07")
}

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
/// Longest body (event name plus any `;`-separated arguments) accepted in a marker; anything
/// longer is not ours and goes through untouched.
const MAX_BODY: usize = 64;

enum Scan {
    NotMarker,
    /// Could still become a marker once more bytes arrive.
    Incomplete,
    Marker {
        len: usize,
        event: Option<HookEvent>,
    },
}

fn scan(d: &[u8]) -> Scan {
    let prefix = MARKER_PREFIX.as_bytes();
    let n = d.len().min(prefix.len());
    if d[..n] != prefix[..n] {
        return Scan::NotMarker;
    }
    if d.len() < prefix.len() {
        return Scan::Incomplete;
    }
    let body = &d[prefix.len()..];
    let marker = |body_len: usize, term_len: usize| {
        let body = &body[..body_len];
        // `<event>` or `<event>;<arguments>`: only the name matters here.
        let name = body.split(|&b| b == b';').next().unwrap_or_default();
        let event = std::str::from_utf8(name)
            .ok()
            .and_then(HookEvent::from_name);
        Scan::Marker {
            len: prefix.len() + body_len + term_len,
            event,
        }
    };
    for (j, &b) in body.iter().enumerate().take(MAX_BODY + 1) {
        match b {
            BEL => return marker(j, 1),
            ESC => {
                return match body.get(j + 1) {
                    None => Scan::Incomplete,
                    Some(b'\\') => marker(j, 2),
                    Some(_) => Scan::NotMarker,
                };
            }
            _ if j == MAX_BODY => return Scan::NotMarker,
            b if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b';' | b'.' | b':') => {}
            _ => return Scan::NotMarker,
        }
    }
    Scan::Incomplete
}

/// Removes cctui's hook markers from a byte stream, chunk by chunk.
#[derive(Debug, Default, Clone)]
pub struct MarkerFilter {
    /// The tail of the previous chunk that may be the start of a marker.
    pending: Vec<u8>,
}

impl MarkerFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held back from the last chunk because they may start a marker.
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    /// Passes `input` on to `out` (in one or more slices) without the markers, and pushes the
    /// events they carried onto `events`. A possible marker at the end of `input` is held back
    /// until the next call shows whether it is one.
    pub fn filter(
        &mut self,
        input: &[u8],
        out: &mut impl FnMut(&[u8]),
        events: &mut Vec<HookEvent>,
    ) {
        if self.pending.is_empty() {
            self.filter_slice(input, out, events);
        } else {
            let mut data = std::mem::take(&mut self.pending);
            data.extend_from_slice(input);
            self.filter_slice(&data, out, events);
        }
    }

    fn filter_slice(
        &mut self,
        data: &[u8],
        out: &mut impl FnMut(&[u8]),
        events: &mut Vec<HookEvent>,
    ) {
        let mut start = 0;
        let mut i = 0;
        while let Some(off) = data[i..].iter().position(|&b| b == ESC) {
            let at = i + off;
            match scan(&data[at..]) {
                Scan::NotMarker => i = at + 1,
                Scan::Incomplete => {
                    if start < at {
                        out(&data[start..at]);
                    }
                    self.pending.extend_from_slice(&data[at..]);
                    return;
                }
                Scan::Marker { len, event } => {
                    if start < at {
                        out(&data[start..at]);
                    }
                    events.extend(event);
                    i = at + len;
                    start = i;
                }
            }
        }
        if start < data.len() {
            out(&data[start..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(filter: &mut MarkerFilter, chunk: &[u8]) -> (Vec<u8>, Vec<HookEvent>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        filter.filter(chunk, &mut |b: &[u8]| out.extend_from_slice(b), &mut events);
        (out, events)
    }

    #[test]
    fn marker_text_is_exact() {
        assert_eq!(hook_marker("stop"), "\x1b]777;cctui;stop\x07");
        assert_eq!(
            HookEvent::Notification.marker(),
            "\x1b]777;cctui;notification\x07"
        );
        assert_eq!(
            HookEvent::PromptSubmit.marker(),
            "\x1b]777;cctui;prompt\x07"
        );
        for e in HookEvent::ALL {
            assert_eq!(HookEvent::from_name(e.name()), Some(e));
        }
        assert_eq!(HookEvent::from_name("nope"), None);
    }

    #[test]
    fn shell_command_prints_the_marker() {
        let dir = std::env::temp_dir().join(format!("cctui-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for e in HookEvent::ALL {
            let cmd = e.shell_command();
            assert!(cmd.contains(">/dev/tty"), "{cmd}");
            let file = dir.join(e.name());
            let cmd = cmd.replace("/dev/tty", file.to_str().unwrap());
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .status()
                .unwrap();
            assert!(status.success());
            assert_eq!(std::fs::read_to_string(&file).unwrap(), e.marker(), "{cmd}");
        }
        // Without a terminal the command still succeeds.
        let cmd = HookEvent::Stop
            .shell_command()
            .replace("/dev/tty", "/nonexistent/dir/tty");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn extracts_markers_whole() {
        let mut f = MarkerFilter::new();
        let input = format!(
            "a\x1b[31mb{}c{}\x1b]0;title\x07d\x1b]777;cctui;stop\x1b\\e",
            hook_marker("notification"),
            hook_marker("prompt")
        );
        let (out, events) = run(&mut f, input.as_bytes());
        assert_eq!(out, b"a\x1b[31mbc\x1b]0;title\x07de");
        assert_eq!(
            events,
            vec![
                HookEvent::Notification,
                HookEvent::PromptSubmit,
                HookEvent::Stop
            ]
        );
        assert!(f.pending().is_empty());
    }

    #[test]
    fn markers_split_at_every_byte() {
        let input = format!(
            "hello {} world {}\x1b[0m!",
            hook_marker("start"),
            hook_marker("stop")
        );
        let bytes = input.as_bytes();
        for cut in 0..=bytes.len() {
            for cut2 in cut..=bytes.len() {
                let mut f = MarkerFilter::new();
                let (mut out, mut events) = run(&mut f, &bytes[..cut]);
                let (o2, e2) = run(&mut f, &bytes[cut..cut2]);
                let (o3, e3) = run(&mut f, &bytes[cut2..]);
                out.extend(o2);
                out.extend(o3);
                events.extend(e2);
                events.extend(e3);
                assert_eq!(out, b"hello  world \x1b[0m!", "cuts {cut} {cut2}");
                assert_eq!(
                    events,
                    vec![HookEvent::Start, HookEvent::Stop],
                    "cuts {cut} {cut2}"
                );
            }
        }
    }

    #[test]
    fn unknown_events_are_removed_but_not_reported() {
        let mut f = MarkerFilter::new();
        let (out, events) = run(
            &mut f,
            b"x\x1b]777;cctui;future;arg\x07y\x1b]777;cctui;stop;extra\x07",
        );
        assert_eq!(out, b"xy");
        assert_eq!(events, vec![HookEvent::Stop]);
    }

    #[test]
    fn lookalikes_pass_through() {
        let mut f = MarkerFilter::new();
        for input in [
            &b"\x1b]777;notify;title;body\x07"[..],
            b"\x1b]777;cctui;bad name\x07",
            b"\x1b]7;file:///x\x07",
            b"\x1b[?2004h\x1b[1;1H",
        ] {
            let (out, events) = run(&mut f, input);
            assert_eq!(out, input);
            assert!(events.is_empty());
            assert!(f.pending().is_empty());
        }
        // An overlong body is not a marker.
        let long = format!("\x1b]777;cctui;{}\x07", "a".repeat(MAX_BODY + 1));
        let (out, events) = run(&mut f, long.as_bytes());
        assert_eq!(out, long.as_bytes());
        assert!(events.is_empty());
    }

    #[test]
    fn trailing_escape_is_held_back_then_released() {
        let mut f = MarkerFilter::new();
        let (out, _) = run(&mut f, b"abc\x1b");
        assert_eq!(out, b"abc");
        assert_eq!(f.pending(), b"\x1b");
        let (out, _) = run(&mut f, b"[1m");
        assert_eq!(out, b"\x1b[1m");
        assert!(f.pending().is_empty());
    }
}
