//! The detail tabs of the selected session, one file each; this is their one registration.

pub mod changes;
mod firewall;
mod info;
mod logs;
mod terminal;

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use super::widgets::block;
use crate::app::state::{Mode, Row, State};
use crate::app::tabs::Tab;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let focused = state.mode == Mode::Focus;
    let block = block(title(state, theme), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(row) = state.selected_row() else {
        return;
    };
    match state.tab {
        Tab::Terminal => terminal::draw(frame, inner, state, row, theme),
        Tab::Logs => logs::draw(frame, inner, state, row, theme),
        Tab::Firewall => firewall::draw(frame, inner, row, theme),
        Tab::Info => info::draw(frame, inner, row, theme),
        Tab::Changes => draw_changes(frame, inner, row, theme),
    }
}

fn draw_changes(frame: &mut Frame, area: Rect, row: &Row, theme: &Theme) {
    match &row.view.changes {
        Some(Ok(view)) => changes::draw(frame, area, view, theme),
        Some(Err(e)) => frame.render_widget(
            Paragraph::new(e.clone())
                .wrap(Wrap { trim: true })
                .style(theme.dim()),
            area,
        ),
        None => frame.render_widget(
            Paragraph::new("importing the session's work…").style(theme.dim()),
            area,
        ),
    }
}

fn title(state: &State, theme: &Theme) -> Line<'static> {
    let spans: Vec<Span> = Tab::ALL
        .iter()
        .map(|t| {
            let style = if *t == state.tab {
                theme.title().add_modifier(Modifier::REVERSED)
            } else {
                theme.dim()
            };
            Span::styled(format!(" {} ", t.title()), style)
        })
        .collect();
    Line::from(spans)
}
