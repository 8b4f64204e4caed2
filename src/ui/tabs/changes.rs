//! The Changes tab: a session's commits and its diff against its base, computed by the
//! host's git (never the sandbox's), files first, then the diff of the selected file.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::term::sanitize::{self, Mark};
use crate::ui::theme::Theme;
use crate::workspace::review::{ChangesView, LineKind};

/// Draws `view` in `area`. Plain data in, nothing else read.
pub fn draw(frame: &mut Frame, area: Rect, view: &ChangesView, theme: &Theme) {
    let header = header(view, theme);
    if view.files.is_empty() {
        let lines = vec![
            Line::from(header),
            Line::raw(""),
            Line::styled("No changes against the base yet.", theme.dim()),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    // Commits and files share the top half at most; the diff gets the rest.
    let budget = (area.height as usize).saturating_sub(2) / 2;
    let commit_rows = view
        .commits
        .len()
        .min(budget / 2)
        .max(usize::from(!view.commits.is_empty()));
    let file_rows = view
        .files
        .len()
        .min(budget.saturating_sub(commit_rows).max(1));
    let [head_area, commits_area, files_area, diff_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(commit_rows as u16),
        Constraint::Length(file_rows as u16 + 1),
        Constraint::Min(1),
    ])
    .areas(area);
    let width = area.width as usize;
    frame.render_widget(Paragraph::new(Line::from(header)), head_area);
    let commits = commit_lines(view, commit_rows, width, theme);
    frame.render_widget(Paragraph::new(commits), commits_area);
    let files = file_lines(view, file_rows, width, theme);
    frame.render_widget(Paragraph::new(files), files_area);
    let diff = diff_lines(view, diff_area.height as usize, width, theme);
    frame.render_widget(Paragraph::new(diff), diff_area);
}

/// The branch, its base, and how many commits and uncommitted files it has.
fn header(view: &ChangesView, theme: &Theme) -> Vec<Span<'static>> {
    let mut header = vec![
        Span::styled(clip(&view.branch, usize::MAX), theme.title()),
        Span::raw(format!(
            " from {} · {} commit{}",
            clip(&view.base, usize::MAX),
            view.commits.len(),
            if view.commits.len() == 1 { "" } else { "s" }
        )),
    ];
    if let Some(into) = &view.merged_into {
        header.push(Span::styled(format!(" · merged into {into}"), theme.ok()));
    }
    if view.uncommitted > 0 {
        header.push(Span::styled(
            format!(" · {} uncommitted (*)", view.uncommitted),
            theme.accent(),
        ));
    }
    header
}

fn commit_lines(
    view: &ChangesView,
    rows: usize,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    view.commits
        .iter()
        .take(rows)
        .map(|c| {
            Line::from(vec![
                Span::styled(format!("{} ", c.short), theme.accent()),
                Span::raw(clip(&c.subject, width.saturating_sub(c.short.len() + 1))),
            ])
        })
        .collect()
}

/// The changed files under a title, scrolled so the selected one stays in view.
fn file_lines(view: &ChangesView, rows: usize, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let first = view
        .selected
        .saturating_sub(rows.saturating_sub(1))
        .min(view.files.len().saturating_sub(rows));
    let mut files = vec![Line::styled(
        format!("files ({})", view.files.len()),
        theme.dim(),
    )];
    for (i, f) in view.files.iter().enumerate().skip(first).take(rows) {
        let counts = match (f.added, f.removed) {
            (Some(a), Some(r)) => format!("+{a:<4} -{r:<4}"),
            _ => format!("{:<11}", "binary"),
        };
        let status_style = match f.status {
            'A' => theme.ok(),
            'D' => theme.error(),
            _ => theme.accent(),
        };
        let marker = if f.uncommitted { "*" } else { " " };
        let mut line = Line::from(vec![
            Span::raw(if i == view.selected { "▸ " } else { "  " }),
            Span::styled(format!("{} ", f.status), status_style),
            Span::raw(format!("{counts} {marker} ")),
            Span::raw(clip(&f.path, width.saturating_sub(20))),
        ]);
        if i == view.selected {
            line = line.style(theme.selected());
        }
        files.push(line);
    }
    files
}

fn diff_lines(view: &ChangesView, rows: usize, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    view.diff
        .iter()
        .take(rows)
        .map(|l| {
            let style = match l.kind {
                LineKind::Added => theme.ok(),
                LineKind::Removed => theme.error(),
                LineKind::Hunk => theme.title(),
                LineKind::Meta => theme.dim().add_modifier(Modifier::BOLD),
                LineKind::Context => ratatui::style::Style::new(),
            };
            Line::styled(clip(&l.text.replace('\t', "    "), width), style)
        })
        .collect()
}

/// Agent-written text (subjects, paths, diff lines) as the sanitizer shows it: a control
/// or a char drawn as nothing appears as `^[` or `<U+3164>`, never blank; then clipped.
fn clip(s: &str, width: usize) -> String {
    let s = sanitize::text_str(s, Mark::Plain);
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_text_shows_hidden_chars_visibly() {
        assert_eq!(
            clip("let \u{3164} = 1;\u{1b}[2K", 80),
            "let <U+3164> = 1;^[[2K"
        );
        assert_eq!(clip("a\u{FE0F}bcdef", 8), "a<U+FE0…");
    }
}
