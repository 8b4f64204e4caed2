//! When to draw: at most every FRAME while things keep changing, so that a burst of output
//! costs one frame per FRAME; but at once for the first output of the terminal in view after
//! a quiet spell (a keystroke's echo) and for the first list of sessions, since those are
//! what a person is waiting to see. A key typed into a terminal draws nothing by itself
//! straight away: its echo will, and drawing the key first would only make the echo wait.

use std::time::Duration;

use tokio::time::Instant;

use crate::app::action::Action;
use crate::app::effect::Effect;
use crate::app::state::State;

/// The pace while things keep changing.
const FRAME: Duration = Duration::from_millis(16);
/// The least time between two frames, even for an urgent one.
const MIN_GAP: Duration = Duration::from_millis(1);

/// What an action means for the next frame, told from the state before `update` applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Output of the terminal on screen.
    OutputInView,
    /// The first list of sessions.
    FirstList,
    /// A key or a paste, which may go to a terminal.
    Input,
    Other,
}

impl Change {
    pub(super) fn of(action: &Action, state: &State) -> Change {
        match action {
            Action::TermOutput { session, .. }
                if state.visible_terminal().as_deref() == Some(session.as_str()) =>
            {
                Change::OutputInView
            }
            Action::Sessions { .. } if !state.loaded => Change::FirstList,
            Action::Key(_) | Action::Paste(_) => Change::Input,
            _ => Change::Other,
        }
    }
}

pub(super) struct Pacer {
    last_frame: Instant,
    /// When the next frame is due; `None` while nothing changed.
    due: Option<Instant>,
    /// When output last came from the terminal in view.
    last_output: Option<Instant>,
}

impl Pacer {
    /// A pacer whose first frame is due now.
    pub(super) fn new() -> Self {
        let now = Instant::now();
        Pacer {
            last_frame: now - FRAME,
            due: Some(now),
            last_output: None,
        }
    }

    /// Notes a change that `update` made, asking for these effects.
    pub(super) fn changed(&mut self, change: Change, effects: &[Effect]) {
        let now = Instant::now();
        let at = match change {
            Change::OutputInView => {
                let quiet = self
                    .last_output
                    .is_none_or(|at| now.saturating_duration_since(at) >= FRAME);
                self.last_output = Some(now);
                self.last_frame + if quiet { MIN_GAP } else { FRAME }
            }
            Change::FirstList => self.last_frame + MIN_GAP,
            // Typed into a terminal: the echo draws; without one, a frame later.
            Change::Input
                if effects
                    .iter()
                    .any(|e| matches!(e, Effect::TermInput { .. })) =>
            {
                now + FRAME
            }
            Change::Input | Change::Other => self.last_frame + FRAME,
        };
        self.due = Some(self.due.map_or(at, |d| d.min(at)));
    }

    /// When to draw next, if anything changed.
    pub(super) fn due(&self) -> Option<Instant> {
        self.due
    }

    pub(super) fn drawn(&mut self) {
        self.last_frame = Instant::now();
        self.due = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::app::keymap::Keymap;
    use crate::app::state::UiSettings;
    use crate::app::update::update;
    use crate::backend::{labels, ContainerState, ContainerSummary};
    use crate::session::group_sessions;

    fn sessions(names: &[&str]) -> Action {
        let containers: Vec<ContainerSummary> = names
            .iter()
            .map(|n| ContainerSummary {
                id: format!("id-{n}"),
                name: format!("cctui-{n}"),
                image: "cctui-agent:test".into(),
                labels: [(labels::SESSION, *n), (labels::ROLE, "agent")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                state: ContainerState::Running,
                created: 0,
                status: "Up 1 minute".into(),
            })
            .collect();
        Action::Sessions {
            engine: "local".into(),
            list: group_sessions(&containers),
        }
    }

    fn output(session: &str) -> Action {
        Action::TermOutput {
            session: session.into(),
            bytes: b"x".to_vec(),
            at: std::time::Instant::now(),
        }
    }

    /// How long after the last frame the next one is due, once `update` applied `action`.
    fn after_frame(p: &mut Pacer, action: Action, state: &mut State) -> Option<Duration> {
        let change = Change::of(&action, state);
        let effects = update(state, action);
        p.changed(change, &effects);
        p.due().map(|d| d.saturating_duration_since(p.last_frame))
    }

    #[test]
    fn the_first_frame_is_due_at_once_and_a_drawn_pacer_waits_for_a_change() {
        let mut p = Pacer::new();
        assert!(p.due().unwrap() <= Instant::now());
        p.drawn();
        assert_eq!(p.due(), None);
    }

    #[test]
    fn the_first_list_is_drawn_at_once_and_later_ones_at_the_frame_pace() {
        let mut state = State::new(Keymap::default(), UiSettings::default());
        let mut p = Pacer::new();
        p.drawn();
        let list = sessions(&["a", "b"]);
        assert_eq!(after_frame(&mut p, list, &mut state), Some(MIN_GAP));
        p.drawn();
        let again = sessions(&["a", "b"]);
        assert_eq!(after_frame(&mut p, again, &mut state), Some(FRAME));
    }

    #[test]
    fn an_echo_in_view_is_drawn_at_once_and_the_rest_of_a_burst_at_the_pace() {
        let mut state = State::new(Keymap::default(), UiSettings::default());
        update(&mut state, sessions(&["a", "b"]));
        assert_eq!(state.visible_terminal().as_deref(), Some("a"));
        let mut p = Pacer::new();
        p.drawn();
        // The echo, the first output in a while: at once.
        assert_eq!(after_frame(&mut p, output("a"), &mut state), Some(MIN_GAP));
        p.drawn();
        // More of the same burst: paced.
        assert_eq!(after_frame(&mut p, output("a"), &mut state), Some(FRAME));
        p.drawn();
        // Output of a terminal out of view never hurries a frame.
        assert_eq!(after_frame(&mut p, output("b"), &mut state), Some(FRAME));
    }

    #[test]
    fn a_key_typed_into_the_terminal_leaves_the_frame_to_its_echo() {
        let mut state = State::new(Keymap::default(), UiSettings::default());
        update(&mut state, sessions(&["a"]));
        let mut p = Pacer::new();
        std::thread::sleep(FRAME);
        p.drawn();
        std::thread::sleep(FRAME * 2);
        // A key in the list is drawn at once: the last frame is long past.
        let down = Action::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        assert_eq!(after_frame(&mut p, down, &mut state), Some(FRAME));
        assert!(p.due().unwrap() <= Instant::now());
        // Enter gives the pane the keyboard; a key typed then waits a frame for its echo.
        let enter = Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        after_frame(&mut p, enter, &mut state);
        p.drawn();
        let typed = Action::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
        let before = Instant::now();
        after_frame(&mut p, typed, &mut state);
        assert!(p.due().unwrap() >= before + FRAME);
        // Its echo then comes at once.
        assert_eq!(after_frame(&mut p, output("a"), &mut state), Some(MIN_GAP));
    }
}
