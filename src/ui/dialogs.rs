//! Overlays: help, confirm remove, new session, allow a domain.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::state::{Mode, NewField, State};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2));
    let h = height.min(area.height.saturating_sub(2));
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn popup(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, theme: &Theme) {
    frame.render_widget(Clear, area);
    let block = super::block(
        Line::styled(format!(" {title} "), theme.title()),
        true,
        theme,
    );
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// Every key from the live keymap; in two columns when one does not fit the height.
fn help(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
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
        let desc_width = (column as usize).saturating_sub(key_width + 1);
        let what: String = what.chars().take(desc_width).collect();
        let keys: String = keys.chars().take(key_width).collect();
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
        let block = super::block(Line::styled(" Keys ", theme.title()), true, theme);
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

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    match &state.mode {
        Mode::Help => help(frame, area, state, theme),
        Mode::ConfirmRemove(name) => {
            let lines = vec![
                Line::raw(format!("Remove session {name}?")),
                Line::raw(
                    "Its containers and network are deleted; the project folder is untouched.",
                ),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y ", theme.accent()),
                    Span::raw("remove, keep the project's volumes (login state, history)"),
                ]),
                Line::from(vec![
                    Span::styled("v ", theme.error()),
                    Span::raw("remove AND delete the volumes: Claude's login and history are lost"),
                ]),
                Line::from(vec![
                    Span::styled("n/Esc ", theme.accent()),
                    Span::raw("cancel"),
                ]),
            ];
            popup(frame, centered(area, 76, 8), "Remove", lines, theme);
        }
        Mode::Allow { session, input } => {
            let lines = vec![
                Line::raw(format!("Allow egress for {session} (applied live):")),
                Line::styled(format!("> {input}▏"), theme.accent()),
                Line::styled(
                    "example.com · *.example.com · 10.0.0.0/8 · add :PORT[,PORT] (default 443)",
                    theme.dim(),
                ),
            ];
            popup(frame, centered(area, 76, 5), "Allow", lines, theme);
        }
        Mode::New(form) => {
            let field = |f: NewField, label: &str, value: String| {
                let active = form.field == f;
                Line::from(vec![
                    Span::styled(
                        format!("{label:<10}"),
                        if active { theme.accent() } else { theme.dim() },
                    ),
                    Span::raw(value),
                    Span::raw(if active && f != NewField::Profiles {
                        "▏"
                    } else {
                        ""
                    }),
                ])
            };
            let profiles: Vec<Span> = form
                .profiles
                .iter()
                .enumerate()
                .map(|(i, (p, on))| {
                    let text = format!("[{}] {p} ", if *on { "x" } else { " " });
                    if form.field == NewField::Profiles && i == form.profile_cursor {
                        Span::styled(text, theme.selected())
                    } else {
                        Span::raw(text)
                    }
                })
                .collect();
            let mut lines = vec![
                field(NewField::Path, "folder", form.path.clone()),
                field(
                    NewField::Name,
                    "name",
                    if form.name.is_empty() && form.field != NewField::Name {
                        "(the folder's name)".into()
                    } else {
                        form.name.clone()
                    },
                ),
                Line::from(
                    [
                        vec![Span::styled(
                            format!("{:<10}", "profiles"),
                            if form.field == NewField::Profiles {
                                theme.accent()
                            } else {
                                theme.dim()
                            },
                        )],
                        profiles,
                    ]
                    .concat(),
                ),
                Line::raw(""),
            ];
            if !form.completions.is_empty() {
                let shown: Vec<String> = form
                    .completions
                    .iter()
                    .take(6)
                    .map(|c| {
                        c.rsplit('/')
                            .find(|s| !s.is_empty())
                            .unwrap_or(c)
                            .to_string()
                    })
                    .collect();
                lines.push(Line::styled(
                    format!(
                        "  {}{}",
                        shown.join("  "),
                        if form.completions.len() > 6 {
                            " …"
                        } else {
                            ""
                        }
                    ),
                    theme.dim(),
                ));
            }
            lines.push(Line::styled(
                "Tab completes the folder · ↑↓ fields · space toggles a profile",
                theme.dim(),
            ));
            lines.push(Line::styled("Enter creates · Esc cancels", theme.dim()));
            popup(
                frame,
                centered(area, 84, lines.len() as u16 + 2),
                "New session",
                lines,
                theme,
            );
        }
        _ => {}
    }
}
