//! When to draw: at most every FRAME while things keep changing, so that a burst of output
//! costs one frame per FRAME; but at once for the first output of the terminal in view after
//! a quiet spell (a keystroke's echo) and for the first list of sessions, since those are
//! what a person is waiting to see.

use std::time::Duration;

use tokio::time::Instant;

use crate::app::action::Action;
use crate::app::state::State;

/// The pace while things keep changing.
const FRAME: Duration = Duration::from_millis(16);
/// The least time between two frames, even for an urgent one.
const MIN_GAP: Duration = Duration::from_millis(1);

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

    /// Notes an action about to be applied to `state` (as it is before the action).
    pub(super) fn saw(&mut self, action: &Action, state: &State) {
        let urgent = match action {
            Action::TermOutput { session, .. }
                if state.visible_terminal().as_deref() == Some(session.as_str()) =>
            {
                let now = Instant::now();
                let quiet = self
                    .last_output
                    .is_none_or(|at| now.saturating_duration_since(at) >= FRAME);
                self.last_output = Some(now);
                quiet
            }
            Action::Sessions(_) => !state.loaded,
            _ => false,
        };
        let gap = if urgent { MIN_GAP } else { FRAME };
        let at = self.last_frame + gap;
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
        Action::Sessions(group_sessions(&containers))
    }

    fn output(session: &str) -> Action {
        Action::TermOutput {
            session: session.into(),
            bytes: b"x".to_vec(),
            at: std::time::Instant::now(),
        }
    }

    /// A pacer that has just drawn, and how long after that frame its next one is due.
    fn after_frame(p: &mut Pacer, action: &Action, state: &State) -> Option<Duration> {
        p.saw(action, state);
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
        assert_eq!(after_frame(&mut p, &list, &state), Some(MIN_GAP));
        update(&mut state, list);
        p.drawn();
        let again = sessions(&["a", "b"]);
        assert_eq!(after_frame(&mut p, &again, &state), Some(FRAME));
    }

    #[test]
    fn an_echo_in_view_is_drawn_at_once_and_the_rest_of_a_burst_at_the_pace() {
        let mut state = State::new(Keymap::default(), UiSettings::default());
        update(&mut state, sessions(&["a", "b"]));
        assert_eq!(state.visible_terminal().as_deref(), Some("a"));
        let mut p = Pacer::new();
        p.drawn();
        // A key typed: its own frame is paced as ever.
        let key = Action::Tick;
        assert_eq!(after_frame(&mut p, &key, &state), Some(FRAME));
        p.drawn();
        // Its echo, the first output in a while: at once.
        assert_eq!(after_frame(&mut p, &output("a"), &state), Some(MIN_GAP));
        p.drawn();
        // More of the same burst: paced.
        assert_eq!(after_frame(&mut p, &output("a"), &state), Some(FRAME));
        p.drawn();
        // Output of a terminal out of view never hurries a frame.
        assert_eq!(after_frame(&mut p, &output("b"), &state), Some(FRAME));
    }
}
