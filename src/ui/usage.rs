//! Usage figures in the list and the header: a session's, its project's, everyone's.

use ratatui::style::Style;
use ratatui::text::Span;

use crate::app::state::{Row, State};
use crate::usage::{self, Usage};

/// The room a session's figure takes at a row's end: a space and "123k $12.3".
pub const CELL: usize = 11;

/// The figure of a session whose usage is loaded. Nothing used shows nothing: most
/// sessions that never ran a turn would otherwise read "0 $0.00".
pub fn figure(row: &Row) -> Option<String> {
    loaded(row).map(usage::short)
}

/// A session's usage, loaded and not nothing.
pub fn loaded(row: &Row) -> Option<&Usage> {
    match &row.view.usage {
        Some(Ok(u)) if u.total.all() > 0 => Some(u),
        _ => None,
    }
}

/// A project's total from its rows' loaded usage. A session without a repository of its
/// own counts every transcript line of the project, which is the project's total; else the
/// sessions' branches are apart and add up.
pub fn project_total<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Option<Usage> {
    let mut shares = Vec::new();
    for row in rows {
        let Some(u) = loaded(row) else {
            continue;
        };
        let own_branch = row
            .session
            .agent
            .as_ref()
            .and_then(crate::workspace::plan::repo_session)
            .is_some();
        if !own_branch {
            return Some(u.clone());
        }
        shares.push(u);
    }
    (!shares.is_empty()).then(|| usage::total(shares))
}

/// Every project's total, added up; `None` until some usage is loaded.
pub fn overall(state: &State) -> Option<Usage> {
    let projects: std::collections::BTreeSet<&str> = state
        .rows
        .iter()
        .map(|r| r.session.project.as_str())
        .collect();
    let totals: Vec<Usage> = projects
        .into_iter()
        .filter_map(|p| project_total(state.rows.iter().filter(|r| r.session.project == p)))
        .collect();
    (!totals.is_empty()).then(|| usage::total(&totals))
}

/// Pads `spans` to `width`, with `figure` right-aligned at the end when it fits.
pub fn pad_with(
    spans: &mut Vec<Span<'static>>,
    figure: Option<String>,
    width: usize,
    style: Style,
) {
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let figure = figure.filter(|f| used + 1 + f.chars().count() <= width);
    let room = width.saturating_sub(used);
    match figure {
        Some(f) => {
            let pad = room - f.chars().count();
            spans.push(Span::raw(" ".repeat(pad)));
            spans.push(Span::styled(f, style));
        }
        None => spans.push(Span::raw(" ".repeat(room))),
    }
}
