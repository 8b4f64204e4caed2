//! Remove a session: what goes, and what the volumes hold and who shares them.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::state::State;
use crate::ui::theme::Theme;
use crate::ui::widgets::{centered, popup, wrapped_height};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, name: &str, theme: &Theme) {
    let project = state.row(name).map(|r| r.session.project.clone());
    let others: Vec<&str> = state
        .rows
        .iter()
        .filter(|r| Some(&r.session.project) == project.as_ref() && r.name() != name)
        .map(|r| r.name())
        .collect();
    let volumes = if others.is_empty() {
        Line::from(vec![
            Span::styled("v ", theme.error()),
            Span::raw(
                "remove AND delete the project's volumes: Claude's login and history are lost",
            ),
        ])
    } else {
        Line::from(vec![
            Span::styled("v ", theme.accent()),
            Span::raw(format!(
                "remove; the project's volumes stay while {} use them",
                others.join(", ")
            )),
        ])
    };
    let own_checkout = state
        .row(name)
        .and_then(|r| r.session.agent.as_ref())
        .is_some_and(|a| !crate::workspace::plan::mounted_in_place(a));
    let folder = if own_checkout {
        "Its containers, network and its own checkout (a volume) are deleted; work not yet \
         merged, applied or discarded makes the removal refuse (see the Changes tab). The \
         project folder is untouched."
    } else {
        "Its containers and network are deleted; the project folder is untouched."
    };
    let lines = vec![
        Line::raw(format!("Remove session {name}?")),
        Line::raw(folder),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y ", theme.accent()),
            Span::raw("remove, keep the project's volumes (login state, history)"),
        ]),
        volumes,
        Line::from(vec![
            Span::styled("n/Esc ", theme.accent()),
            Span::raw("cancel"),
        ]),
    ];
    let width = 80.min(area.width.saturating_sub(2));
    let height = wrapped_height(&lines, width);
    popup(frame, centered(area, width, height), "Remove", lines, theme);
}
