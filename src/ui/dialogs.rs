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

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    match &state.mode {
        Mode::Help => {
            let mut lines: Vec<Line> = state
                .keymap
                .describe()
                .into_iter()
                .map(|(keys, what)| {
                    Line::from(vec![
                        Span::styled(format!("{keys:<22}"), theme.accent()),
                        Span::raw(what),
                    ])
                })
                .collect();
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{:<22}", state.keymap.detach.to_string()),
                    theme.accent(),
                ),
                Span::raw("leave the terminal (attached or full screen)"),
            ]));
            lines.push(Line::from(vec![
                Span::styled(format!("{:<22}", "PgUp PgDn / wheel"), theme.accent()),
                Span::raw("scroll logs and terminal"),
            ]));
            lines.push(Line::styled("any key closes this help", theme.dim()));
            let h = lines.len() as u16 + 2;
            popup(frame, centered(area, 70, h), "Keys", lines, theme);
        }
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
            lines.push(Line::styled("Tab completes the folder · ↑↓ fields · space toggles a profile · Enter creates · Esc cancels", theme.dim()));
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
