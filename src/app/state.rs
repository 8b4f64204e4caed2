//! The dashboard's one state. Only `update` changes it; `ui::draw` only reads it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::backend::ContainerState;
use crate::sandbox::firewall::FirewallStatus;
use crate::session::Session;
use crate::term::sanitize::Mark;
use crate::term::state::ClaudeState;

use super::forms::{AllowForm, NewForm, SearchForm};
use super::keymap::Keymap;
pub use super::tabs::Tab;
pub use super::view::{strip_ansi, LogBuffer};
use super::view::{SessionView, Terminal};

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
    /// Merge or apply a session's work into the project: asked first, like `cctui discard`.
    ConfirmGit(String, crate::app::effect::Op),
    New(NewForm),
    Allow(AllowForm),
    Search(SearchForm),
    /// The attention queue: what needs the user, across sessions.
    Queue,
}

/// A row of the session list, with everything the dashboard holds for that session.
#[derive(Debug)]
pub struct Row {
    /// The engine the session lives on, by its name.
    pub engine: String,
    pub session: Session,
    /// Set while an operation runs on the session ("starting", "stopping", "building"...).
    pub busy: Option<String>,
    pub firewall: FirewallStatus,
    pub error: Option<String>,
    pub view: SessionView,
    /// The session's containers whose `die` the engine reported, with their exit codes, and
    /// no `start` since. The engine records the state only after it sends the event, so a
    /// list taken just after may still show them running: the event wins.
    pub died: BTreeMap<String, i64>,
}

impl Row {
    pub fn new(engine: &str, session: Session) -> Row {
        Row {
            engine: engine.to_string(),
            firewall: FirewallStatus::Unknown,
            session,
            busy: None,
            error: None,
            view: SessionView::default(),
            died: BTreeMap::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.session.name
    }

    /// The agent container's id, while it runs.
    pub fn running_agent(&self) -> Option<&str> {
        self.session
            .agent
            .as_ref()
            .filter(|a| a.state.is_running())
            .map(|a| a.id.as_str())
    }
}

/// A long operation in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub session: String,
    /// The engine it runs on.
    pub engine: String,
    pub what: String,
    /// e.g. "[base] 7/22 RUN apt-get ..."
    pub progress: Option<String>,
    /// 0.0..=1.0 when known.
    pub fraction: Option<f64>,
    /// The dialog that asked for it, reopened as it was if the job fails.
    pub form: Option<NewForm>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EngineHealth {
    /// Not reached yet: the dashboard is up and keeps trying.
    Connecting,
    Connected,
    /// Lost, with the reason, how many retries so far, and how long until the next one
    /// (`None`: it is being tried now).
    Lost {
        why: String,
        retries: u32,
        retry_in: Option<std::time::Duration>,
    },
}

/// One engine the dashboard follows, and how it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineStatus {
    pub name: String,
    pub host: String,
    pub health: EngineHealth,
}

impl EngineStatus {
    pub fn new(name: &str, host: &str) -> EngineStatus {
        EngineStatus {
            name: name.to_string(),
            host: host.to_string(),
            health: EngineHealth::Connecting,
        }
    }
}

/// With no input for this long, the live figures (stats, details, firewall) stop refreshing
/// until the next key: nobody is looking, and an idle dashboard should cost nothing.
pub const LIVE_IDLE_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct StatusLine {
    pub text: String,
    pub error: bool,
    /// Which message this is: an expiry meant for an earlier one leaves it alone.
    pub serial: u64,
}

impl StatusLine {
    /// How long a message stays: errors longer, so that they can be read.
    pub fn lifetime(&self) -> std::time::Duration {
        std::time::Duration::from_secs(if self.error { 20 } else { 8 })
    }
}

/// Settings the dashboard needs from the config and its environment, read once at start so
/// that `update` reads nothing from the outside.
#[derive(Debug, Clone, Default)]
pub struct UiSettings {
    pub log_lines: usize,
    pub bell: bool,
    /// `clipboard.copy`: copies from the attached session reach the user's clipboard.
    pub clipboard_copy: bool,
    pub engine_host: String,
    pub profiles: Vec<String>,
    /// False under NO_COLOR.
    pub color: bool,
    /// The user's home folder, for `~` in paths.
    pub home: PathBuf,
    /// The folder cctui was started in: the new-session dialog starts there.
    pub cwd: PathBuf,
}

#[derive(Debug)]
pub struct State {
    pub rows: Vec<Row>,
    pub selected: usize,
    pub tab: Tab,
    pub mode: Mode,
    pub keymap: Keymap,
    pub settings: UiSettings,
    pub log_search: Option<String>,
    pub jobs: BTreeMap<u64, Job>,
    pub next_job: u64,
    pub status: Option<StatusLine>,
    /// The last status message's serial.
    pub status_serial: u64,
    /// Every engine, in the order the list groups them; never empty.
    pub engines: Vec<EngineStatus>,
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
    /// A session just created from the dialog: selected when it first appears in the list.
    pub select_when_listed: Option<String>,
    /// Set on entering full screen: a one-line hint of how to leave, until the first key.
    pub fullscreen_hint: bool,
    /// The latest Unix time an action brought (stats carry it): the clock for uptimes.
    pub now: i64,
    /// Everything that needs the user, across sessions.
    pub queue: super::queue::Queue,
    /// While fully attached: one line about another session that needs the user, until the
    /// next key (which still goes to claude).
    pub banner: Option<String>,
    /// The dashboard's clock (`now`) at the last key or paste; set by the first stats when
    /// none came yet.
    pub input_at: Option<i64>,
    /// When the key or paste being handled arrived: set by the runtime before `update`, as
    /// time is data here.
    pub input_instant: Option<std::time::Instant>,
    /// Set when the live figures stopped for want of input (see LIVE_IDLE_SECS).
    pub live_paused: bool,
    /// The session names that more than one engine holds, as of the last list.
    pub conflicted: std::collections::BTreeSet<String>,
}

impl State {
    pub fn new(keymap: Keymap, settings: UiSettings) -> State {
        let local = EngineStatus::new(crate::engines::LOCAL, &settings.engine_host);
        State {
            rows: Vec::new(),
            selected: 0,
            tab: Tab::Terminal,
            mode: Mode::Normal,
            keymap,
            settings,
            log_search: None,
            jobs: BTreeMap::new(),
            next_job: 1,
            status: None,
            engines: vec![local],
            size: (80, 24),
            spinner: 0,
            status_serial: 0,
            quit: false,
            exit_on_detach: false,
            fitted_visible: None,
            loaded: false,
            select_when_listed: None,
            fullscreen_hint: false,
            now: 0,
            queue: Default::default(),
            banner: None,
            input_at: None,
            input_instant: None,
            live_paused: false,
            conflicted: Default::default(),
        }
    }

    /// Follows these engines (names and hosts, in order) instead of the one local one
    /// `new` starts with; before any list.
    pub fn set_engines(&mut self, engines: &[(&str, &str)]) {
        if !engines.is_empty() {
            self.engines = engines
                .iter()
                .map(|(name, host)| EngineStatus::new(name, host))
                .collect();
        }
    }

    /// True when the list groups sessions under engines' headers.
    pub fn several_engines(&self) -> bool {
        self.engines.len() > 1
    }

    pub fn engine(&self, name: &str) -> Option<&EngineStatus> {
        self.engines.iter().find(|e| e.name == name)
    }

    pub fn engine_mut(&mut self, name: &str) -> Option<&mut EngineStatus> {
        self.engines.iter_mut().find(|e| e.name == name)
    }

    pub fn is_connected(&self, engine: &str) -> bool {
        self.engine(engine)
            .is_some_and(|e| e.health == EngineHealth::Connected)
    }

    /// The engines that hold a session called `name`, when more than one does: then a
    /// name does not say which session is meant, and nothing acts on it.
    pub fn conflict(&self, name: &str) -> Option<Vec<&str>> {
        if !self.conflicted.contains(name) {
            return None;
        }
        let holders: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.name() == name)
            .map(|r| r.engine.as_str())
            .collect();
        (holders.len() > 1).then_some(holders)
    }

    /// Notes which names more than one engine holds: after every list.
    pub fn find_conflicts(&mut self) {
        let mut seen = std::collections::BTreeSet::new();
        self.conflicted = self
            .rows
            .iter()
            .filter(|r| !seen.insert(r.name()))
            .map(|r| r.name().to_string())
            .collect();
    }

    /// Says in the status line that `name` is on several engines; true if it is.
    pub fn refuse_conflict(&mut self, name: &str) -> bool {
        let Some(holders) = self.conflict(name) else {
            return false;
        };
        let text = format!(
            "{name} is on two engines ({}): the name does not say which; remove one",
            holders.join(", ")
        );
        self.set_status(text, true);
        true
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    pub fn selected_row_mut(&mut self) -> Option<&mut Row> {
        self.rows.get_mut(self.selected)
    }

    pub fn selected_name(&self) -> Option<String> {
        self.selected_row().map(|r| r.name().to_string())
    }

    pub fn is_selected(&self, session: &str) -> bool {
        self.selected_row().is_some_and(|r| r.name() == session)
    }

    /// The one lookup of a session's row by name.
    pub fn row(&self, session: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name() == session)
    }

    pub fn row_mut(&mut self, session: &str) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.name() == session)
    }

    pub fn terminal(&self, session: &str) -> Option<&Terminal> {
        self.row(session).and_then(|r| r.view.terminal.as_ref())
    }

    pub fn terminal_mut(&mut self, session: &str) -> Option<&mut Terminal> {
        self.row_mut(session).and_then(|r| r.view.terminal.as_mut())
    }

    pub fn terminals(&self) -> impl Iterator<Item = (&str, &Terminal)> {
        self.rows
            .iter()
            .filter_map(|r| r.view.terminal.as_ref().map(|t| (r.name(), t)))
    }

    pub fn claude_state(&self, row: &Row) -> ClaudeState {
        match row.session.state() {
            ContainerState::Running => row
                .view
                .terminal
                .as_ref()
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

    /// The session the user looks at here: its terminal on screen, and this cctui its latest
    /// client (not while `cctui attach` elsewhere holds it; the user works there).
    pub fn looked_at(&self) -> Option<String> {
        self.visible_terminal()
            .filter(|n| self.terminal(n).is_none_or(|t| t.latest_here))
    }

    /// Keeps the visible terminal live and parks the others whose claude is not working.
    pub fn settle_terminals(&mut self) {
        let visible = self.visible_terminal();
        for row in self.rows.iter_mut() {
            let shown = Some(row.name()) == visible.as_deref();
            let Some(t) = row.view.terminal.as_mut() else {
                continue;
            };
            if shown {
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

    pub fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status_serial += 1;
        let serial = self.status_serial;
        // Job messages quote git and the agent's names: shown visibly, never as controls.
        let text = crate::term::sanitize::text_str(&text.into(), Mark::Plain);
        self.status = Some(StatusLine {
            text,
            error,
            serial,
        });
    }
}
