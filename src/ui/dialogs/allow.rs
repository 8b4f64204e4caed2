//! Allow a rule for a session, live.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;

use crate::app::forms::AllowForm;
use crate::ui::theme::Theme;
use crate::ui::widgets::{centered, popup, wrapped_height};

pub fn draw(frame: &mut Frame, area: Rect, form: &AllowForm, theme: &Theme) {
    let mut lines = vec![
        Line::raw(format!("Allow egress for {} (applied live):", form.session)),
        Line::styled(format!("> {}▏", form.input), theme.accent()),
    ];
    if let Some(e) = &form.error {
        lines.push(Line::styled(e.clone(), theme.error()));
    }
    lines.push(Line::styled(
        "example.com · *.example.com · 10.0.0.0/8 · add :PORT[,PORT] (default 443)",
        theme.dim(),
    ));
    let width = 80.min(area.width.saturating_sub(2));
    let height = wrapped_height(&lines, width);
    popup(frame, centered(area, width, height), "Allow", lines, theme);
}
