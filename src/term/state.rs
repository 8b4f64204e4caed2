//! What Claude is doing, read from its screen and from hook events.
//!
//! Screen reading knows Claude Code's 1.x/2.x layouts: the spinner line ("✶ Forging… (esc to
//! interrupt · 38s · ↓ 1.2k tokens)", or without the hint in newer versions), numbered choice
//! dialogs ("❯ 1. Yes" for permissions, workspace trust, login, theme, questions) and the input
//! box (a `>`/`❯` line right under a `───` rule or a `╭───╮` box top).

use std::time::{Duration, Instant};

use super::hook::HookEvent;

/// Claude's state as shown on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaudeState {
    /// Thinking or running tools.
    Working,
    /// Needs a decision: a permission prompt, a question, a setup dialog.
    WaitingForYou,
    /// Finished its turn; the input box is waiting for the next prompt.
    Idle,
    /// The process has not been started yet (or has not drawn anything recognisable).
    NotStarted,
    /// The process ended.
    Exited,
}

impl ClaudeState {
    pub fn label(&self) -> &'static str {
        match self {
            ClaudeState::Working => "working",
            ClaudeState::WaitingForYou => "waiting",
            ClaudeState::Idle => "idle",
            ClaudeState::NotStarted => "not started",
            ClaudeState::Exited => "exited",
        }
    }
}

/// Only this many lines at the bottom of the screen are read: dialogs, the spinner and the
/// input box live there, and older output above cannot then be mistaken for them.
const WINDOW: usize = 30;

/// The glyphs Claude Code animates in front of its spinner line.
const SPINNER_GLYPHS: &[char] = &['·', '✢', '✳', '✶', '✻', '✽', '✺', '✹', '✷', '✸', '*'];

/// Phrases of screens that wait for the user without a numbered choice, or whose choice may
/// be drawn differently. Only consulted when no input box is on screen.
const WAITING_PHRASES: &[&str] = &[
    "Press Enter to continue",
    "Paste code here",
    "Select login method",
    "Choose the text style",
    "Do you trust the files in this folder?",
    "Yes, I trust this folder",
    "Yes, proceed",
    "Do you want to proceed?",
    "Enter to confirm",
    "Enter to select",
];

/// A line without the box sides a dialog may be drawn in.
fn unframe(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace() || c == '│' || c == '┃')
}

/// A horizontal rule or box edge: `────`, `╭────╮`, `╰────╯`.
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.chars()
        .filter(|&c| c == '─' || c == '━' || c == '═')
        .count()
        >= 8
        && t.chars().all(|c| "─━═╭╮╰╯┌┐└┘╌┄ ".contains(c))
}

/// `❯ 3. Text` (the selected option) → Some(3).
fn selected_option(line: &str) -> Option<u32> {
    let s = unframe(line);
    let s = s.strip_prefix('❯').or_else(|| s.strip_prefix('›'))?;
    option_number(s.trim_start())
}

/// `2. Text` → Some(2).
fn option_number(s: &str) -> Option<u32> {
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 2 {
        return None;
    }
    let rest = s[digits..].strip_prefix(". ")?;
    if rest.trim().is_empty() {
        return None;
    }
    s[..digits].parse().ok()
}

/// Index of the last selected option that has a sibling option right above or below it.
fn choice_dialog(lines: &[&str]) -> Option<usize> {
    (0..lines.len()).rev().find(|&i| {
        let Some(n) = selected_option(lines[i]) else {
            return false;
        };
        let near = i.saturating_sub(4)..(i + 5).min(lines.len());
        near.filter(|&j| j != i)
            .any(|j| option_number(unframe(lines[j])).is_some_and(|m| m + 1 == n || m == n + 1))
    })
}

/// Index of the input box's prompt line: `>`/`❯` right under a rule or box top.
fn input_box(lines: &[&str]) -> Option<usize> {
    (1..lines.len()).rev().find(|&i| {
        let s = unframe(lines[i]);
        let Some(rest) = s.strip_prefix(['>', '❯']) else {
            return false;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\u{a0}'])) {
            return false;
        }
        // A numbered choice right under a rule is a dialog, not the input box.
        if selected_option(lines[i]).is_some() && choice_dialog(&lines[i..]) == Some(0) {
            return false;
        }
        is_rule(lines[i - 1])
    })
}

/// `✶ Forging… (esc to interrupt · 38s · ↓ 1.2k tokens)` or `✶ Forging… (9m 34s · ↓ 64k
/// tokens)`; not the `✻ Churned for 51s` left behind after a turn.
fn is_spinner_line(line: &str) -> bool {
    let t = line.trim_start();
    let mut chars = t.chars();
    if !chars.next().is_some_and(|c| SPINNER_GLYPHS.contains(&c)) || chars.next() != Some(' ') {
        return false;
    }
    if t.contains("esc to interrupt") || t.contains("ctrl+c to interrupt") {
        return true;
    }
    let Some(at) = t
        .find('…')
        .map(|i| i + '…'.len_utf8())
        .or_else(|| t.find("...").map(|i| i + 3))
    else {
        return false;
    };
    let after = t[at..].trim_start();
    after.strip_prefix('(').is_some_and(|r| {
        r.trim_start().starts_with(|c: char| c.is_ascii_digit()) || r.starts_with("esc")
    })
}

/// Claude's state from the text of its screen, or `None` when the screen shows nothing
/// recognisable (keep the previous state). Never returns `NotStarted` or `Exited`.
pub fn detect(screen_text: &str) -> Option<ClaudeState> {
    let all: Vec<&str> = screen_text.lines().map(str::trim_end).collect();
    let end = all.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i + 1);
    let lines = &all[end.saturating_sub(WINDOW)..end];
    if lines.is_empty() {
        return None;
    }
    let input = input_box(lines);
    // A dialog replaces the input box; a choice above a live input box is history.
    if let Some(choice) = choice_dialog(lines) {
        if input.is_none_or(|b| choice > b) {
            return Some(ClaudeState::WaitingForYou);
        }
    }
    // The spinner sits above the input box; newer versions put the hint in the footer below.
    let box_top = input.map_or(lines.len(), |b| b - 1);
    if lines.iter().any(|l| is_spinner_line(l))
        || lines[box_top..]
            .iter()
            .any(|l| l.contains("esc to interrupt"))
    {
        return Some(ClaudeState::Working);
    }
    if input.is_some() {
        return Some(ClaudeState::Idle);
    }
    if WAITING_PHRASES
        .iter()
        .any(|p| lines.iter().any(|l| l.contains(p)))
    {
        return Some(ClaudeState::WaitingForYou);
    }
    // The footer under the input box, should the box itself be drawn differently.
    if lines
        .iter()
        .rev()
        .take(4)
        .any(|l| l.contains("? for shortcuts") || l.contains("bypass permissions on"))
    {
        return Some(ClaudeState::Idle);
    }
    None
}

/// The screen says the user interrupted the turn (claude then runs no `stop` hook).
fn interrupted(screen_text: &str) -> bool {
    let lines: Vec<&str> = screen_text.lines().collect();
    lines[lines.len().saturating_sub(WINDOW)..].iter().any(|l| {
        l.contains("Interrupted · What should Claude do instead?")
            || l.contains("Interrupted by user")
    })
}

/// How long a hook event overrides what the screen shows: the screen lags behind hooks (the
/// spinner is still drawn just after `stop`, the input box just after `prompt`).
pub const DEFAULT_HOOK_HOLD: Duration = Duration::from_secs(2);

/// In a turn the hooks opened, the screen's idle prompt ends the turn only after showing this
/// long (claude sends no `stop` when the user interrupts it), or at once when it says so.
pub const UNHOOKED_TURN_END: Duration = Duration::from_secs(15);

/// Re-entering `WaitingForYou` sooner than this after leaving it is a flicker, not news.
const BELL_REARM: Duration = Duration::from_secs(1);

/// Combines hook events and screen reading into one state per session.
#[derive(Debug, Clone)]
pub struct StateTracker {
    state: ClaudeState,
    hook_hold: Duration,
    hook_until: Option<Instant>,
    left_waiting: Option<Instant>,
    waiting_edge: bool,
    /// Whether claude's turn is open, as the last `prompt`/`stop` hook said; `None` before
    /// any. Hooks do not depend on the screen's size; the screen is read as a fallback.
    turn_open: Option<bool>,
    /// Since when the screen has shown the idle prompt during an open turn.
    idle_shown: Option<Instant>,
}

impl Default for StateTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl StateTracker {
    /// Starts at `NotStarted`.
    pub fn new() -> Self {
        Self::with_hook_hold(DEFAULT_HOOK_HOLD)
    }

    pub fn with_hook_hold(hook_hold: Duration) -> Self {
        Self {
            state: ClaudeState::NotStarted,
            hook_hold,
            hook_until: None,
            left_waiting: None,
            waiting_edge: false,
            turn_open: None,
            idle_shown: None,
        }
    }

    /// A hook reported `ev`. `prompt`, `stop` and `notification` set the state and hold it
    /// against screen reading for the hook hold time. `start` only moves a session that was
    /// not running to `Idle` (the screen may show a dialog). A `notification` while idle is
    /// Claude Code's "still waiting for your input" reminder and changes nothing.
    pub fn on_hook(&mut self, ev: HookEvent, now: Instant) {
        let state = match ev {
            HookEvent::PromptSubmit => {
                (self.turn_open, self.idle_shown) = (Some(true), None);
                ClaudeState::Working
            }
            HookEvent::Stop => {
                self.turn_open = Some(false);
                ClaudeState::Idle
            }
            HookEvent::Notification if self.state == ClaudeState::Idle => return,
            HookEvent::Notification => ClaudeState::WaitingForYou,
            HookEvent::Start => {
                if matches!(self.state, ClaudeState::NotStarted | ClaudeState::Exited) {
                    self.hook_until = None;
                    self.set(ClaudeState::Idle, now);
                }
                return;
            }
        };
        self.hook_until = Some(now + self.hook_hold);
        self.set(state, now);
    }

    /// The screen now reads `text`. Ignored while a hook event holds, once exited, and when
    /// the screen shows nothing recognisable.
    pub fn on_screen(&mut self, text: &str, now: Instant) {
        if self.state == ClaudeState::Exited || self.hook_until.is_some_and(|t| now < t) {
            return;
        }
        let Some(state) = detect(text) else {
            return;
        };
        if state != ClaudeState::Idle {
            self.idle_shown = None;
        }
        match (self.turn_open, state) {
            // The hooks closed the turn: a spinner on screen is stale (or drawn for another
            // size). A new turn starts with a `prompt` hook.
            (Some(false), ClaudeState::Working) => return,
            (Some(true), ClaudeState::Idle) => {
                let since = *self.idle_shown.get_or_insert(now);
                if !interrupted(text) && now.saturating_duration_since(since) < UNHOOKED_TURN_END {
                    return;
                }
                self.turn_open = Some(false);
            }
            _ => {}
        }
        self.set(state, now);
    }

    /// The process ended. Only a `start` hook (or [`reset`](Self::reset)) leaves `Exited`.
    pub fn on_exit(&mut self, now: Instant) {
        self.hook_until = None;
        self.set(ClaudeState::Exited, now);
    }

    /// Back to `NotStarted`, e.g. before starting the process again.
    pub fn reset(&mut self) {
        *self = Self::with_hook_hold(self.hook_hold);
    }

    pub fn state(&self) -> ClaudeState {
        self.state
    }

    /// True once each time the state has changed into `WaitingForYou` since the last call
    /// (not for a flicker back into it within a second of leaving it).
    pub fn became_waiting(&mut self) -> bool {
        std::mem::take(&mut self.waiting_edge)
    }

    fn set(&mut self, state: ClaudeState, now: Instant) {
        if state == self.state {
            return;
        }
        if self.state == ClaudeState::WaitingForYou {
            self.left_waiting = Some(now);
        }
        if state == ClaudeState::WaitingForYou {
            let flicker = self
                .left_waiting
                .is_some_and(|t| now.saturating_duration_since(t) < BELL_REARM);
            if !flicker {
                self.waiting_edge = true;
            }
        }
        self.state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/term/",
                $name
            ))
        };
    }

    const WORKING: &str = fixture!("working.txt");
    const WORKING_NEW: &str = fixture!("working-no-hint.txt");
    const WORKING_TODOS: &str = fixture!("working-todos.txt");
    const PERMISSION: &str = fixture!("waiting-permission.txt");
    const EDIT_PERMISSION: &str = fixture!("waiting-edit.txt");
    const TRUST: &str = fixture!("trust.txt");
    const TRUST_NEW: &str = fixture!("trust-quick-safety.txt");
    const THEME: &str = fixture!("theme.txt");
    const LOGIN: &str = fixture!("login.txt");
    const PRESS_ENTER: &str = fixture!("press-enter.txt");
    const QUESTION: &str = fixture!("question.txt");
    const IDLE: &str = fixture!("idle.txt");
    const IDLE_BOX: &str = fixture!("idle-box.txt");
    const IDLE_QUOTED: &str = fixture!("idle-quoted-dialog.txt");
    const IDLE_INTERRUPTED: &str = fixture!("idle-interrupted.txt");
    const SPLASH: &str = fixture!("splash.txt");

    #[test]
    fn fixtures() {
        let cases = [
            ("working", WORKING, Some(ClaudeState::Working)),
            ("working-no-hint", WORKING_NEW, Some(ClaudeState::Working)),
            ("working-todos", WORKING_TODOS, Some(ClaudeState::Working)),
            (
                "waiting-permission",
                PERMISSION,
                Some(ClaudeState::WaitingForYou),
            ),
            (
                "waiting-edit",
                EDIT_PERMISSION,
                Some(ClaudeState::WaitingForYou),
            ),
            ("trust", TRUST, Some(ClaudeState::WaitingForYou)),
            (
                "trust-quick-safety",
                TRUST_NEW,
                Some(ClaudeState::WaitingForYou),
            ),
            ("theme", THEME, Some(ClaudeState::WaitingForYou)),
            ("login", LOGIN, Some(ClaudeState::WaitingForYou)),
            ("press-enter", PRESS_ENTER, Some(ClaudeState::WaitingForYou)),
            ("question", QUESTION, Some(ClaudeState::WaitingForYou)),
            ("idle", IDLE, Some(ClaudeState::Idle)),
            ("idle-box", IDLE_BOX, Some(ClaudeState::Idle)),
            ("idle-quoted-dialog", IDLE_QUOTED, Some(ClaudeState::Idle)),
            (
                "idle-interrupted",
                IDLE_INTERRUPTED,
                Some(ClaudeState::Idle),
            ),
            ("splash", SPLASH, None),
        ];
        for (name, text, want) in cases {
            assert_eq!(detect(text), want, "fixture {name}");
        }
    }

    #[test]
    fn nothing_recognisable() {
        assert_eq!(detect(""), None);
        assert_eq!(detect("\n\n\n"), None);
        assert_eq!(detect("$ ls\nCargo.toml  src\n$"), None);
        assert_eq!(detect("1. one\n2. two\n3. three"), None);
    }

    #[test]
    fn lines_above_the_window_are_ignored() {
        // A dialog scrolled far above the current input box is history.
        let mut text = String::from(PERMISSION);
        text.push_str(&"output\n".repeat(WINDOW));
        assert_eq!(detect(&text), None);
        text.push_str(IDLE_BOX);
        assert_eq!(detect(&text), Some(ClaudeState::Idle));
    }

    #[test]
    fn trailing_blank_rows_do_not_matter() {
        let text = format!("{PERMISSION}{}", "\n".repeat(50));
        assert_eq!(detect(&text), Some(ClaudeState::WaitingForYou));
    }

    #[test]
    fn a_typed_numbered_prompt_is_not_a_dialog() {
        let rule = "─".repeat(40);
        let text = format!("{rule}\n❯ 1. fix the bug\n{rule}\n  ? for shortcuts");
        assert_eq!(detect(&text), Some(ClaudeState::Idle));
    }

    #[test]
    fn spinner_lines() {
        assert!(is_spinner_line(
            "✽ Forging… (esc to interrupt · 38s · ↓ 1.2k tokens)"
        ));
        assert!(is_spinner_line(
            "✶ Transfiguring… (9m 34s · ↓ 64.5k tokens)"
        ));
        assert!(is_spinner_line("· Thinking… (3s)"));
        assert!(is_spinner_line("* Working... (12s · esc to interrupt)"));
        assert!(!is_spinner_line("✻ Churned for 51s"));
        assert!(!is_spinner_line("✻ Cooked for 1m 12s · done 9:51 PM"));
        assert!(!is_spinner_line("⏺ I will look at it… (later)"));
        assert!(!is_spinner_line("the text mentions esc to interrupt"));
    }

    #[test]
    fn labels() {
        let all = [
            (ClaudeState::Working, "working"),
            (ClaudeState::WaitingForYou, "waiting"),
            (ClaudeState::Idle, "idle"),
            (ClaudeState::NotStarted, "not started"),
            (ClaudeState::Exited, "exited"),
        ];
        for (state, label) in all {
            assert_eq!(state.label(), label);
        }
    }

    #[test]
    fn tracker_follows_the_screen() {
        let t0 = Instant::now();
        let mut t = StateTracker::new();
        assert_eq!(t.state(), ClaudeState::NotStarted);
        t.on_screen(SPLASH, t0);
        assert_eq!(t.state(), ClaudeState::NotStarted);
        t.on_screen(TRUST, t0);
        assert_eq!(t.state(), ClaudeState::WaitingForYou);
        assert!(t.became_waiting());
        assert!(!t.became_waiting(), "only once");
        t.on_screen(IDLE, t0 + Duration::from_secs(5));
        assert_eq!(t.state(), ClaudeState::Idle);
        t.on_screen(WORKING, t0 + Duration::from_secs(6));
        assert_eq!(t.state(), ClaudeState::Working);
        t.on_screen("garbage", t0 + Duration::from_secs(7));
        assert_eq!(
            t.state(),
            ClaudeState::Working,
            "unknown screens keep the state"
        );
        t.on_screen(PERMISSION, t0 + Duration::from_secs(8));
        assert_eq!(t.state(), ClaudeState::WaitingForYou);
        assert!(t.became_waiting());
    }

    #[test]
    fn hooks_take_precedence_for_a_while() {
        let t0 = Instant::now();
        let mut t = StateTracker::new();
        t.on_screen(IDLE, t0);
        t.on_hook(HookEvent::PromptSubmit, t0);
        assert_eq!(t.state(), ClaudeState::Working);
        // The screen still shows the idle box for a moment: ignored.
        t.on_screen(IDLE, t0 + Duration::from_millis(500));
        assert_eq!(t.state(), ClaudeState::Working);
        // In a turn the hooks opened, the idle prompt on screen (stale, or drawn for another
        // size) does not end it; shown long enough, it does (no `stop` came).
        t.on_screen(IDLE, t0 + DEFAULT_HOOK_HOLD + Duration::from_millis(1));
        assert_eq!(t.state(), ClaudeState::Working);
        t.on_screen(IDLE, t0 + Duration::from_secs(5));
        assert_eq!(t.state(), ClaudeState::Working);
        t.on_screen(IDLE, t0 + Duration::from_secs(3) + UNHOOKED_TURN_END);
        assert_eq!(t.state(), ClaudeState::Idle);

        t.on_hook(HookEvent::PromptSubmit, t0 + Duration::from_secs(10));
        t.on_hook(HookEvent::Notification, t0 + Duration::from_secs(11));
        assert_eq!(t.state(), ClaudeState::WaitingForYou);
        assert!(t.became_waiting());
        t.on_screen(WORKING, t0 + Duration::from_secs(12));
        assert_eq!(t.state(), ClaudeState::WaitingForYou);
        t.on_hook(HookEvent::Stop, t0 + Duration::from_secs(20));
        assert_eq!(t.state(), ClaudeState::Idle);
        t.on_screen(WORKING, t0 + Duration::from_secs(21));
        assert_eq!(
            t.state(),
            ClaudeState::Idle,
            "spinner not yet erased after stop"
        );
    }

    #[test]
    fn a_turn_the_hooks_report_does_not_follow_a_misread_screen() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut t = StateTracker::new();
        t.on_screen(IDLE, t0);
        t.on_hook(HookEvent::PromptSubmit, at(1));
        // A screen drawn for another client's size reads as the idle prompt: still working.
        for s in 2..12 {
            t.on_screen(IDLE, at(s));
            assert_eq!(t.state(), ClaudeState::Working, "at {s}s");
        }
        // A dialog in the turn is news; the turn goes on after it.
        t.on_screen(PERMISSION, at(12));
        assert_eq!(t.state(), ClaudeState::WaitingForYou);
        t.on_screen(WORKING, at(13));
        assert_eq!(t.state(), ClaudeState::Working);
        t.on_hook(HookEvent::Stop, at(14));
        assert_eq!(t.state(), ClaudeState::Idle);
        // A spinner left on screen after `stop` never brings the turn back.
        for s in 15..40 {
            t.on_screen(WORKING, at(s));
            assert_eq!(t.state(), ClaudeState::Idle, "at {s}s");
        }
        // An interrupt ends the turn at once, without a `stop`.
        t.on_hook(HookEvent::PromptSubmit, at(50));
        t.on_screen(IDLE_INTERRUPTED, at(53));
        assert_eq!(t.state(), ClaudeState::Idle);
    }

    #[test]
    fn idle_reminder_notifications_are_ignored() {
        let t0 = Instant::now();
        let mut t = StateTracker::new();
        t.on_hook(HookEvent::Stop, t0);
        t.on_hook(HookEvent::Notification, t0 + Duration::from_secs(60));
        assert_eq!(t.state(), ClaudeState::Idle);
        assert!(!t.became_waiting());
    }

    #[test]
    fn start_and_exit() {
        let t0 = Instant::now();
        let mut t = StateTracker::new();
        t.on_hook(HookEvent::Start, t0);
        assert_eq!(t.state(), ClaudeState::Idle);
        // Start does not hold: the screen can show the trust dialog straight away.
        t.on_screen(TRUST, t0);
        assert_eq!(t.state(), ClaudeState::WaitingForYou);
        t.on_hook(HookEvent::Start, t0);
        assert_eq!(t.state(), ClaudeState::WaitingForYou);
        t.on_exit(t0);
        assert_eq!(t.state(), ClaudeState::Exited);
        t.on_screen(IDLE, t0 + Duration::from_secs(9));
        assert_eq!(t.state(), ClaudeState::Exited);
        t.on_hook(HookEvent::Start, t0 + Duration::from_secs(10));
        assert_eq!(t.state(), ClaudeState::Idle);
        t.reset();
        assert_eq!(t.state(), ClaudeState::NotStarted);
    }

    #[test]
    fn flicker_rings_once() {
        let t0 = Instant::now();
        let mut t = StateTracker::new();
        t.on_screen(PERMISSION, t0);
        assert!(t.became_waiting());
        t.on_screen(WORKING, t0 + Duration::from_millis(100));
        t.on_screen(PERMISSION, t0 + Duration::from_millis(200));
        assert_eq!(t.state(), ClaudeState::WaitingForYou);
        assert!(!t.became_waiting());
        t.on_screen(WORKING, t0 + Duration::from_secs(1));
        t.on_screen(PERMISSION, t0 + Duration::from_secs(3));
        assert!(t.became_waiting());
    }

    #[test]
    fn serializes() {
        let json = |s: ClaudeState| serde_json::to_string(&s).unwrap();
        assert_eq!(json(ClaudeState::WaitingForYou), "\"waiting_for_you\"");
        assert_eq!(json(ClaudeState::NotStarted), "\"not_started\"");
        assert_eq!(json(ClaudeState::Working), "\"working\"");
    }
}
