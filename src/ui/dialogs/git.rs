//! Merge or apply a session's work: what it does to the project, asked before it happens.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::effect::Op;
use crate::app::state::State;
use crate::ui::theme::Theme;
use crate::ui::widgets::{centered, popup, wrapped_height};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, name: &str, op: &Op, theme: &Theme) {
    let project = state
        .row(name)
        .map(|r| r.session.project.clone())
        .unwrap_or_default();
    let (title, question, what) = if *op == Op::Merge {
        (
            "Merge",
            format!("Merge session {name}'s branch into your current branch?"),
            "git merges its commits in the project's repository; its uncommitted files are \
             left out.",
        )
    } else {
        (
            "Apply",
            format!("Apply session {name}'s changes to your working tree?"),
            "Its commits and uncommitted files land as uncommitted changes in your files; \
             nothing is committed.",
        )
    };
    let lines = vec![
        Line::raw(question),
        Line::raw(format!("Project: {project}")),
        Line::raw(what),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y ", theme.accent()),
            Span::raw(title.to_lowercase()),
        ]),
        Line::from(vec![
            Span::styled("n/Esc ", theme.accent()),
            Span::raw("cancel"),
        ]),
    ];
    let width = 80.min(area.width.saturating_sub(2));
    let height = wrapped_height(&lines, width);
    popup(frame, centered(area, width, height), title, lines, theme);
}
