//! The Logs tab: the agent container's output as text, with `/` to search it.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::state::{Mode, Row, State};
use crate::ui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, row: &Row, theme: &Theme) {
    let searching = matches!(state.mode, Mode::Search(_));
    // The search bar takes the last line, whatever the logs hold.
    let body = Rect {
        height: area.height.saturating_sub(searching as u16),
        ..area
    };
    match row.view.logs.as_ref().filter(|b| !b.is_empty()) {
        None => {
            let text = if row.session.agent.is_some() {
                "no output yet"
            } else {
                "no agent container: nothing has run yet"
            };
            frame.render_widget(Paragraph::new(text).style(theme.dim()), body);
        }
        Some(buf) => {
            let lines = buf.visible(body.height as usize);
            let query = state.log_search.as_deref();
            let lines: Vec<Line> = lines
                .map(|l| match query {
                    Some(q) if l.contains(q) => highlight(&l, q, theme),
                    _ => Line::raw(l.to_string()),
                })
                .collect();
            frame.render_widget(Paragraph::new(lines), body);
        }
    }
    if let Mode::Search(form) = &state.mode {
        let bar = Rect {
            y: area.y + area.height.saturating_sub(1),
            height: 1,
            ..area
        };
        let text = format!("/{}▏  Enter finds · Esc cancels", form.text);
        frame.render_widget(Paragraph::new(text).style(theme.accent()), bar);
    }
}

fn highlight(line: &str, q: &str, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(q) {
        spans.push(Span::raw(rest[..i].to_string()));
        spans.push(Span::styled(
            q.to_string(),
            theme.accent().add_modifier(Modifier::REVERSED),
        ));
        rest = &rest[i + q.len()..];
    }
    spans.push(Span::raw(rest.to_string()));
    Line::from(spans)
}
