//! The dashboard's one state. Only `update` changes it; `ui::draw` only reads it.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use crate::backend::{ContainerDetails, ContainerState, Stats};
use crate::sandbox::firewall::FirewallStatus;
use crate::session::Session;
use crate::term::screen::TermScreen;
use crate::term::state::{ClaudeState, StateTracker};

use super::keymap::Keymap;
use crate::sandbox::report::FirewallReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Terminal,
    Logs,
    Firewall,
    Changes,
    Info,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Terminal,
        Tab::Logs,
        Tab::Firewall,
        Tab::Changes,
        Tab::Info,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Terminal => "Terminal",
            Tab::Logs => "Logs",
            Tab::Firewall => "Firewall",
            Tab::Info => "Info",
            Tab::Changes => "Changes",
        }
    }
}

/// What has the keyboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Help,
    /// Keys go to the selected session's claude, in the pane.
    Focus,
    /// Keys go to this session's claude, drawn on the whole screen.
    FullScreen(String),
    ConfirmRemove(String),
    New(NewForm),
    Allow {
        session: String,
        input: String,
    },
    Search(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewForm {
    pub path: String,
    pub name: String,
    /// (profile, chosen)
    pub profiles: Vec<(String, bool)>,
    pub field: NewField,
    /// Index into `profiles` when that field has focus.
    pub profile_cursor: usize,
    /// Completions offered for the path, if more than one.
    pub completions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewField {
    #[default]
    Path,
    Name,
    Profiles,
}

/// A row of the session list.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub session: Session,
    /// Set while an operation runs on the session ("starting", "stopping", "building"...).
    pub busy: Option<String>,
    pub firewall: FirewallStatus,
    pub error: Option<String>,
}

impl Row {
    pub fn name(&self) -> &str {
        &self.session.name
    }
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

    pub fn push_bytes(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let mut rest: &str = &text;
        while let Some(i) = rest.find('\n') {
            let mut line = std::mem::take(&mut self.partial);
            line.push_str(rest[..i].trim_end_matches('\r'));
            self.push_line(strip_ansi(&line));
            rest = &rest[i + 1..];
        }
        self.partial.push_str(rest);
        if self.partial.len() > 64 * 1024 {
            let line = std::mem::take(&mut self.partial);
            self.push_line(strip_ansi(&line));
        }
    }

    fn push_line(&mut self, line: String) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }
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
    /// The tty size this cctui last gave the container, if any.
    pub fitted: Option<(u16, u16)>,
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
            fitted: None,
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

/// A long operation in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub session: String,
    pub what: String,
    /// e.g. "[base] 7/22 RUN apt-get ..."
    pub progress: Option<String>,
    /// 0.0..=1.0 when known.
    pub fraction: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EngineHealth {
    Connected,
    /// Lost, with the reason and how many retries so far.
    Lost {
        why: String,
        retries: u32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusLine {
    pub text: String,
    pub error: bool,
}

/// Settings the dashboard needs from the config.
#[derive(Debug, Clone)]
pub struct UiSettings {
    pub log_lines: usize,
    pub bell: bool,
    pub engine_host: String,
    pub profiles: Vec<String>,
    /// False under NO_COLOR.
    pub color: bool,
}

#[derive(Debug)]
pub struct State {
    pub rows: Vec<Row>,
    pub selected: usize,
    pub tab: Tab,
    pub mode: Mode,
    pub keymap: Keymap,
    pub settings: UiSettings,
    pub logs: BTreeMap<String, LogBuffer>,
    pub log_search: Option<String>,
    pub firewall: BTreeMap<String, FirewallReport>,
    pub details: BTreeMap<String, ContainerDetails>,
    /// The Changes tab's data per session (computed by the host's git), or why not.
    pub changes: BTreeMap<String, Result<crate::workspace::review::ChangesView, String>>,
    pub stats: Option<(String, Stats)>,
    pub terminals: BTreeMap<String, Terminal>,
    pub jobs: BTreeMap<u64, Job>,
    pub next_job: u64,
    pub status: Option<StatusLine>,
    pub engine: EngineHealth,
    /// The whole terminal's size (cols, rows).
    pub size: (u16, u16),
    pub spinner: usize,
    pub quit: bool,
    /// Set by `cctui attach`: leaving full screen quits, and only that session is attached.
    pub exit_on_detach: bool,
    /// The terminal shown when sizes were last fitted; a change re-fits (and redraws) it.
    pub fitted_visible: Option<String>,
    /// True once the first list has arrived.
    pub loaded: bool,
    pub home: PathBuf,
}

impl State {
    pub fn new(keymap: Keymap, settings: UiSettings) -> State {
        State {
            rows: Vec::new(),
            selected: 0,
            tab: Tab::Terminal,
            mode: Mode::Normal,
            keymap,
            settings,
            logs: BTreeMap::new(),
            log_search: None,
            firewall: BTreeMap::new(),
            details: BTreeMap::new(),
            changes: BTreeMap::new(),
            stats: None,
            terminals: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_job: 1,
            status: None,
            engine: EngineHealth::Connected,
            size: (80, 24),
            spinner: 0,
            quit: false,
            exit_on_detach: false,
            fitted_visible: None,
            loaded: false,
            home: std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default(),
        }
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    pub fn selected_name(&self) -> Option<String> {
        self.selected_row().map(|r| r.name().to_string())
    }

    pub fn claude_state(&self, row: &Row) -> ClaudeState {
        match row.session.state() {
            ContainerState::Running => self
                .terminals
                .get(row.name())
                .map(|t| t.tracker.state())
                .unwrap_or(ClaudeState::NotStarted),
            ContainerState::Exited(_) | ContainerState::Dead => ClaudeState::Exited,
            _ => ClaudeState::NotStarted,
        }
    }

    pub fn job_for(&self, session: &str) -> Option<&Job> {
        self.jobs.values().find(|j| j.session == session)
    }

    /// The session whose terminal is on screen, if any.
    pub fn visible_terminal(&self) -> Option<String> {
        match &self.mode {
            Mode::FullScreen(n) => Some(n.clone()),
            _ if self.tab == Tab::Terminal || self.mode == Mode::Focus => self.selected_name(),
            _ => None,
        }
    }

    /// Keeps the visible terminal live and parks the others whose claude is not working.
    pub fn settle_terminals(&mut self) {
        let visible = self.visible_terminal();
        for (name, t) in self.terminals.iter_mut() {
            if Some(name) == visible.as_ref() {
                t.live();
            } else if !t.is_parked() && t.tracker.state() != ClaudeState::Working {
                t.park();
            }
        }
    }

    /// The size (rows, cols) a session's terminal should have: the whole screen in full-screen
    /// mode, else the dashboard's pane.
    pub fn term_size_for(&self, session: &str) -> (u16, u16) {
        match &self.mode {
            Mode::FullScreen(n) if n == session => (self.size.1, self.size.0),
            _ => self.pane_size(),
        }
    }

    /// The size of the terminal pane in the dashboard layout (rows, cols), inside borders.
    pub fn pane_size(&self) -> (u16, u16) {
        super::layout::terminal_pane_size(self.size)
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
}
