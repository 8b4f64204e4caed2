//! The help overlay: every key from the live keymap.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use crate::app::state::State;
use crate::ui::theme::Theme;
use crate::ui::widgets::{block, centered, popup};

/// Every key from the live keymap; in two columns when one does not fit the height.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut entries: Vec<(String, &str)> = state.keymap.describe();
    entries.push((
        state.keymap.detach.to_string(),
        "leave the terminal (pane or full screen)",
    ));
    entries.push(("PgUp PgDn / wheel".into(), "scroll logs and terminal"));
    let two_columns = entries.len() as u16 + 3 > area.height;
    let width = if two_columns {
        area.width.saturating_sub(2)
    } else {
        70
    };
    let column = if two_columns {
        width.saturating_sub(2) / 2
    } else {
        width.saturating_sub(2)
    };
    let key_width = if column < 50 { 12 } else { 22 };
    let line = |(keys, what): &(String, &str)| {
        // Two spaces of gutter, so that a cut description never runs into the next column.
        let desc_width = (column as usize).saturating_sub(key_width + 3);
        let what = cut(what, desc_width);
        let keys = cut(keys, key_width);
        Line::from(vec![
            Span::styled(format!("{keys:<key_width$} "), theme.accent()),
            Span::raw(what),
        ])
    };
    let hint = Line::styled("any key closes this help", theme.dim());
    if two_columns {
        let half = entries.len().div_ceil(2);
        let (left, right) = entries.split_at(half);
        let popup_area = centered(area, width, half as u16 + 3);
        frame.render_widget(Clear, popup_area);
        let block = block(Line::styled(" Keys ", theme.title()), true, theme);
        let inner = block.inner(popup_area);
        frame.render_widget(block, popup_area);
        let [body, foot] = ratatui::layout::Layout::vertical([
            ratatui::layout::Constraint::Min(1),
            ratatui::layout::Constraint::Length(1),
        ])
        .areas(inner);
        let [l, r] = ratatui::layout::Layout::horizontal([
            ratatui::layout::Constraint::Percentage(50),
            ratatui::layout::Constraint::Percentage(50),
        ])
        .areas(body);
        frame.render_widget(Paragraph::new(left.iter().map(line).collect::<Vec<_>>()), l);
        frame.render_widget(
            Paragraph::new(right.iter().map(line).collect::<Vec<_>>()),
            r,
        );
        frame.render_widget(Paragraph::new(hint), foot);
    } else {
        let mut lines: Vec<Line> = entries.iter().map(line).collect();
        lines.push(hint);
        let h = lines.len() as u16 + 2;
        popup(frame, centered(area, width, h), "Keys", lines, theme);
    }
}

/// `text` in at most `width` characters, ending in "…" when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
