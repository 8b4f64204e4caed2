//! A new session: folder, name, profiles and networks, with what went wrong last time.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::forms::{NewField, NewForm};
use crate::ui::theme::Theme;
use crate::ui::widgets::{centered, popup, wrapped_height};

pub fn draw(frame: &mut Frame, area: Rect, form: &NewForm, theme: &Theme) {
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
        field(
            NewField::Networks,
            "networks",
            if form.networks.is_empty() && form.field != NewField::Networks {
                "(none: only the firewall's allowlist)".into()
            } else {
                form.networks.clone()
            },
        ),
        Line::raw(""),
    ];
    if let Some(e) = &form.error {
        lines.push(Line::styled(e.clone(), theme.error()));
        lines.push(Line::raw(""));
    }
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
    let width = 84.min(area.width.saturating_sub(2));
    let height = wrapped_height(&lines, width);
    popup(
        frame,
        centered(area, width, height),
        "New session",
        lines,
        theme,
    );
}
