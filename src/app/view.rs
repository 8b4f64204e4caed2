//! What the dashboard holds for one session besides its row: its terminal, its logs and the
//! panels loaded for it. All of it lives on the session's `Row`, so that it goes when the
//! session goes.

use std::collections::VecDeque;

use crate::backend::{ContainerDetails, Stats};
use crate::sandbox::report::FirewallReport;
use crate::term::screen::TermScreen;
use crate::term::state::StateTracker;
use crate::workspace::review::ChangesView;

/// Everything loaded for one session's tabs and footer; `None` until it first arrives.
#[derive(Debug, Default)]
pub struct SessionView {
    pub terminal: Option<Terminal>,
    pub logs: Option<LogBuffer>,
    pub firewall: Option<FirewallReport>,
    pub details: Option<ContainerDetails>,
    /// The Changes tab's data (computed by the host's git), or why not.
    pub changes: Option<Result<ChangesView, String>>,
    /// The file open in the Changes tab (moved by the prev/next file keys).
    pub changes_file: usize,
    /// The latest sample, with the Unix time it was taken.
    pub stats: Option<(Stats, i64)>,
    /// Tokens and cost from Claude Code's transcripts (loaded with the Info tab), or why not.
    pub usage: Option<Result<crate::usage::Usage, String>>,
    /// Its `cctui port` forwards (loaded with the Info tab's details).
    pub ports: Vec<crate::session::ports::Forward>,
    /// What its last start carried of the user's Claude setup, and what it cut (loaded with
    /// the details).
    pub carried: (Vec<String>, Vec<String>),
}

/// Container logs of one session, bounded: the oldest lines go first.
#[derive(Debug, Clone, Default)]
pub struct LogBuffer {
    pub lines: VecDeque<String>,
    pub capacity: usize,
    /// An unfinished last line.
    pub partial: String,
    /// Lines from the bottom; 0 follows the tail.
    pub scroll: usize,
    pub dropped: u64,
}

impl LogBuffer {
    pub fn new(capacity: usize) -> Self {
        LogBuffer {
            capacity: capacity.max(10),
            ..Default::default()
        }
    }

    /// Takes output as it comes. A full-screen program moves the cursor to a new row instead
    /// of writing a newline; such moves end a line too, so its screens read as lines.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        // The unfinished line goes in again: an escape split across chunks is whole now.
        let mut raw = std::mem::take(&mut self.partial);
        raw.push_str(&String::from_utf8_lossy(bytes));
        let text = row_moves_as_newlines(&raw);
        let mut rest: &str = &text;
        while let Some(i) = rest.find('\n') {
            self.push_text(rest[..i].trim_end_matches('\r'));
            rest = &rest[i + 1..];
        }
        self.partial.push_str(rest);
        if self.partial.len() > 64 * 1024 {
            let line = std::mem::take(&mut self.partial);
            self.push_text(&line);
        }
    }

    /// Lines that are only escape codes (a redraw) are not worth a row of the log.
    fn push_text(&mut self, raw: &str) {
        let line = strip_ansi(raw);
        if line.trim().is_empty() && !raw.trim().is_empty() {
            return;
        }
        self.push_line(line);
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && strip_ansi(&self.partial).trim().is_empty()
    }

    /// The `height` lines the view shows, `scroll` lines up from the bottom; the unfinished
    /// last line (a prompt) is shown too.
    pub fn visible(&self, height: usize) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
        let partial = strip_ansi(&self.partial);
        let tail = (!partial.trim().is_empty() && self.scroll == 0).then_some(partial);
        let room = height.saturating_sub(tail.is_some() as usize);
        // Near the top, fill the pane from the first line.
        let end = self
            .lines
            .len()
            .saturating_sub(self.scroll)
            .max(room.min(self.lines.len()));
        let start = end.saturating_sub(room);
        self.lines
            .range(start..end)
            .map(|l| std::borrow::Cow::Borrowed(l.as_str()))
            .chain(tail.map(std::borrow::Cow::Owned))
    }

    fn push_line(&mut self, mut line: String) {
        // A line's length is the agent's choice: each is capped, and says so.
        if line.len() > crate::bounded::LOG_LINE {
            let mut end = crate::bounded::LOG_LINE;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            let cut = line.len() - end;
            line.truncate(end);
            line.push_str(&format!(
                " {}",
                crate::bounded::cut_marker(cut as u64, "`cctui logs`, piped")
            ));
        }
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }
}

/// CSI sequences that put the cursor on another row (CUP, HVP, CUD, CNL, VPA) become
/// newlines, so that a TUI's screens split into lines where it drew them.
fn row_moves_as_newlines(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\x1b') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("\x1b[") {
        out.push_str(&rest[..i]);
        let seq = &rest[i + 2..];
        let end = seq.find(|c: char| ('@'..='~').contains(&c));
        match end {
            Some(e) if matches!(&seq[e..e + 1], "H" | "f" | "B" | "E" | "d") => {
                out.push('\n');
                rest = &seq[e + 1..];
            }
            Some(e) => {
                out.push_str(&rest[i..i + 2 + e + 1]);
                rest = &seq[e + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Removes terminal escape sequences so that logs read as text.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            // TUIs move the cursor instead of writing spaces: forward (C)
                            // and to a column (G) become spaces, so words stay apart.
                            let n = params.parse::<usize>().unwrap_or(1).min(512);
                            match c {
                                'C' => out.extend(std::iter::repeat_n(' ', n)),
                                'G' => {
                                    let col = out.chars().count();
                                    let pad = n.saturating_sub(1).saturating_sub(col);
                                    out.extend(std::iter::repeat_n(' ', pad));
                                }
                                _ => {}
                            }
                            break;
                        }
                        params.push(c);
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.peek() == Some(&'\\')) {
                            break;
                        }
                    }
                }
                _ => {}
            }
        } else if c == '\r' || (c.is_control() && c != '\t') {
            continue;
        } else {
            out.push(c);
        }
    }
    out
}

/// A session's terminal: its screen and what it says about claude. A screen out of view
/// whose claude is not working is parked as the few bytes that rebuild it, instead of a full
/// grid: with hundreds of sessions, grids are most of the memory.
pub struct Terminal {
    slot: Slot,
    pub tracker: StateTracker,
    pub attached: bool,
    /// True once the attachment's replay of earlier output is over: only what the program
    /// prints from then on may reach the user's clipboard.
    pub live_output: bool,
    /// Some while an image paste is looked up: what the user types meanwhile, to follow it.
    pub held_input: Option<Vec<u8>>,
    /// The tty size this cctui last gave the container, if any.
    pub fitted: Option<(u16, u16)>,
    /// The size the tty has now, as the latest client to set it (this cctui or another)
    /// recorded; the screen is kept at it.
    pub tty_size: Option<(u16, u16)>,
    /// This cctui set the tty's size last: it is the session's latest client, where the
    /// user looks. False while another holds it.
    pub latest_here: bool,
    /// When the user last typed or pasted into it (the runtime's clock, see
    /// `State::input_instant`): only a copy soon after reaches the clipboard.
    pub typed_at: Option<std::time::Instant>,
}

enum Slot {
    Live(Box<TermScreen>),
    Parked {
        state: Vec<u8>,
        rows: u16,
        cols: u16,
    },
}

impl Terminal {
    /// A new terminal starts parked: nothing to show yet.
    pub fn new(rows: u16, cols: u16) -> Terminal {
        Terminal {
            slot: Slot::Parked {
                state: Vec::new(),
                rows,
                cols,
            },
            tracker: StateTracker::default(),
            attached: false,
            live_output: false,
            held_input: None,
            fitted: None,
            tty_size: None,
            latest_here: true,
            typed_at: None,
        }
    }

    /// The screen, if live. Drawing needs a live screen; `update` keeps the visible one live.
    pub fn screen(&self) -> Option<&TermScreen> {
        match &self.slot {
            Slot::Live(s) => Some(s),
            Slot::Parked { .. } => None,
        }
    }

    /// The screen, rebuilt from its parked state if need be.
    pub fn live(&mut self) -> &mut TermScreen {
        if let Slot::Parked { state, rows, cols } = &self.slot {
            let mut screen = TermScreen::new(*rows, *cols);
            screen.feed(state);
            self.slot = Slot::Live(Box::new(screen));
        }
        match &mut self.slot {
            Slot::Live(s) => s,
            Slot::Parked { .. } => unreachable!("made live above"),
        }
    }

    pub fn park(&mut self) {
        if let Slot::Live(screen) = &mut self.slot {
            let (rows, cols) = screen.size();
            let state = screen.state_formatted();
            self.slot = Slot::Parked { state, rows, cols };
        }
    }

    pub fn is_parked(&self) -> bool {
        matches!(self.slot, Slot::Parked { .. })
    }

    /// (rows, cols)
    pub fn size(&self) -> (u16, u16) {
        match &self.slot {
            Slot::Live(s) => s.size(),
            Slot::Parked { rows, cols, .. } => (*rows, *cols),
        }
    }

    pub fn resize(&mut self, r: u16, c: u16) {
        match &mut self.slot {
            Slot::Live(s) => s.resize(r, c),
            Slot::Parked { rows, cols, .. } => (*rows, *cols) = (r, c),
        }
    }
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("attached", &self.attached)
            .field("state", &self.tracker.state())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parked_terminal_comes_back_as_it_was() {
        let mut t = Terminal::new(10, 40);
        assert!(t.is_parked() && t.screen().is_none());
        t.live()
            .feed(b"\x1b[?1h\x1b[?2004hhello \x1b[1;31mred\x1b[0m\r\n> prompt");
        let before = t.live().text();
        let modes = t.live().input_modes();
        t.park();
        assert!(t.is_parked());
        t.resize(10, 40);
        assert_eq!(t.live().text(), before);
        assert_eq!(t.live().input_modes(), modes);
        assert_eq!(t.size(), (10, 40));
    }

    #[test]
    fn log_buffer_is_bounded_and_joins_partial_lines() {
        let mut b = LogBuffer::new(10);
        b.push_bytes(b"hel");
        b.push_bytes(b"lo\nworld\r\n\x1b[31mred\x1b[0m\nEnter\x1b[1Cto\x1b[2Cconfirm\n\x1b[2GQuick\x1b[8Gsafety\n");
        assert_eq!(
            b.lines,
            [
                "hello",
                "world",
                "red",
                "Enter to  confirm",
                " Quick safety"
            ]
        );
        for i in 0..100 {
            b.push_bytes(format!("line {i}\n").as_bytes());
        }
        assert_eq!(b.lines.len(), 10);
        assert_eq!(b.lines.back().unwrap(), "line 99");
        assert_eq!(b.dropped, 95);
    }

    #[test]
    fn a_full_screen_programs_rows_read_as_lines_and_its_prompt_shows() {
        let mut b = LogBuffer::new(10);
        b.push_bytes(b"\x1b[?1049h\x1b[1;1HWelcome to Claude\x1b[2;1H\x1b[2K\x1b[3");
        b.push_bytes(b";1HTips for getting started\x1b[5;1H> ");
        assert_eq!(b.lines, ["Welcome to Claude", "Tips for getting started"]);
        assert!(!b.is_empty());
        let shown: Vec<String> = b.visible(5).map(|l| l.into_owned()).collect();
        assert_eq!(
            shown,
            ["Welcome to Claude", "Tips for getting started", "> "]
        );
        let mut quiet = LogBuffer::new(10);
        quiet.push_bytes(b"\x1b[?25l\x1b[2J");
        assert!(quiet.is_empty(), "escape codes alone are no output");
    }
}
