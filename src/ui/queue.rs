//! The attention queue's view: every entry, oldest first, with the keys that act on the
//! selected one.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::theme::Theme;
use super::widgets::{block, centered};
use crate::app::queue::{Entry, Reason};
use crate::app::state::State;
use crate::term::state::ClaudeState;

/// What the entry says, and in which style.
fn reason_text(reason: &Reason, theme: &Theme) -> (String, Style) {
    let waiting = theme.claude(ClaudeState::WaitingForYou).1;
    match reason {
        Reason::Waiting => ("waiting for you".into(), waiting),
        Reason::Permission(Some(subject)) => (format!("asks permission: {subject}"), waiting),
        Reason::Permission(None) => ("asks permission".into(), waiting),
        Reason::Finished => ("finished its turn".into(), theme.ok()),
        Reason::Exited(-1) => ("has no agent container".into(), theme.error()),
        Reason::Exited(code) => (format!("exited ({code})"), theme.error()),
        Reason::Failed(why) => (
            format!("failed: {}", why.lines().next().unwrap_or_default()),
            theme.error(),
        ),
        Reason::Refused { name, count } => {
            (format!("firewall refused {name} ×{count}"), theme.accent())
        }
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

fn entry_line(
    entry: &Entry,
    selected: bool,
    name_width: usize,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let (text, style) = reason_text(&entry.reason, theme);
    let name = cut(&entry.session, name_width);
    let room = width.saturating_sub(name_width + 3);
    let mut spans = vec![
        Span::raw(if selected { "▸ " } else { "  " }),
        Span::styled(format!("{name:<name_width$} "), theme.title()),
        Span::styled(cut(&text, room), style),
    ];
    let used: usize = spans.iter().map(|s| s.width()).sum();
    spans.push(Span::raw(" ".repeat(width.saturating_sub(used))));
    let line = Line::from(spans);
    if selected {
        line.style(theme.selected())
    } else {
        line
    }
}

/// The keys for the selected entry.
fn hint(entry: Option<&Entry>) -> &'static str {
    match entry.map(|e| &e.reason) {
        Some(Reason::Refused { .. }) => {
            "a allow (session) · p allow (project) · d deny & forget · x dismiss · enter attach · esc"
        }
        Some(_) => "enter attach · f full screen · x dismiss · j/k move · esc close",
        None => "esc close",
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let queue = &state.queue;
    let count = queue.len();
    let width = area.width.saturating_sub(4).min(110);
    let rows = (count.max(1) as u16 + 4).min(area.height.saturating_sub(2));
    let popup = centered(area, width, rows);
    frame.render_widget(Clear, popup);
    let title = format!(" Needs you · {count} ");
    let outer = block(Line::styled(title, theme.title()), true, theme);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let inner_width = inner.width as usize;
    let name_width = queue
        .shown()
        .map(|e| e.session.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 24)
        .min(inner_width / 3);
    let body_height = inner.height.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = if count == 0 {
        vec![Line::styled("  Nothing needs you.", theme.dim())]
    } else {
        queue
            .shown()
            .enumerate()
            .map(|(i, e)| entry_line(e, i == queue.selected, name_width, inner_width, theme))
            .collect()
    };
    // Keep the selection in view.
    let skip = queue.selected.saturating_sub(body_height.saturating_sub(1));
    lines = lines.into_iter().skip(skip).take(body_height).collect();
    while lines.len() < body_height {
        lines.push(Line::raw(""));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        cut(hint(queue.selected_entry()), inner_width),
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}
