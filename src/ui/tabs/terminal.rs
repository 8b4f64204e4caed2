//! The Terminal tab: the session's claude, live.

use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::keymap::KeyAction;
use crate::app::state::{Mode, Row, State};
use crate::term::screen::TermView;
use crate::ui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, row: &Row, theme: &Theme) {
    if let Some(screen) = row.view.terminal.as_ref().and_then(|t| t.screen()) {
        let view = TermView::new(screen).show_cursor(state.mode == Mode::Focus);
        frame.render_widget(view, area);
        return;
    }
    let text = if row.session.state().is_running() {
        "attaching…".to_string()
    } else {
        format!(
            "{} is not running. Press {} to start it.",
            row.name(),
            state.keymap.key_for(KeyAction::Start)
        )
    };
    frame.render_widget(Paragraph::new(text).style(theme.dim()), area);
}
