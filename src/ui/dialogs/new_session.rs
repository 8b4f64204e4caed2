//! A new session: folder, name, profiles and networks, with what went wrong last time.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::forms::{NewField, NewForm};
use crate::ui::theme::Theme;
use crate::ui::widgets::{centered, popup, wrapped_height};

pub fn draw(frame: &mut Frame, area: Rect, form: &NewForm, theme: &Theme) {
    let placeholder = |f: NewField, value: &str, empty: &str| {
        if value.is_empty() && form.field != f {
            empty.to_string()
        } else {
            value.to_string()
        }
    };
    let mut lines = vec![
        field(form, NewField::Path, "folder", form.path.clone(), theme),
        field(
            form,
            NewField::Name,
            "name",
            placeholder(NewField::Name, &form.name, "(the folder's name)"),
            theme,
        ),
        profiles_line(form, theme),
        field(
            form,
            NewField::Networks,
            "networks",
            placeholder(
                NewField::Networks,
                &form.networks,
                "(none: only the firewall's allowlist)",
            ),
            theme,
        ),
    ];
    if form.engines.len() > 1 {
        lines.push(engines_line(form, theme));
    }
    lines.push(Line::raw(""));
    if let Some(e) = &form.error {
        lines.push(Line::styled(e.clone(), theme.error()));
        lines.push(Line::raw(""));
    }
    if !form.completions.is_empty() {
        lines.push(completions_line(&form.completions, theme));
    }
    lines.push(Line::styled(
        if form.engines.len() > 1 {
            "Tab completes the folder · ↑↓ fields · space toggles a profile · ←→ engine"
        } else {
            "Tab completes the folder · ↑↓ fields · space toggles a profile"
        },
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

fn label(form: &NewForm, f: NewField, text: &str, theme: &Theme) -> Span<'static> {
    let style = if form.field == f {
        theme.accent()
    } else {
        theme.dim()
    };
    Span::styled(format!("{text:<10}"), style)
}

/// A text field, with a cursor when it has focus.
fn field(form: &NewForm, f: NewField, text: &str, value: String, theme: &Theme) -> Line<'static> {
    let cursor = if form.field == f { "▏" } else { "" };
    Line::from(vec![
        label(form, f, text, theme),
        Span::raw(value),
        Span::raw(cursor),
    ])
}

/// The profiles as check boxes, the one under the cursor highlighted.
fn profiles_line(form: &NewForm, theme: &Theme) -> Line<'static> {
    let mut spans = vec![label(form, NewField::Profiles, "profiles", theme)];
    for (i, (p, on)) in form.profiles.iter().enumerate() {
        let text = format!("[{}] {p} ", if *on { "x" } else { " " });
        if form.field == NewField::Profiles && i == form.profile_cursor {
            spans.push(Span::styled(text, theme.selected()));
        } else {
            spans.push(Span::raw(text));
        }
    }
    Line::from(spans)
}

/// The engines, the chosen one marked; ←→ choose when the field has focus.
fn engines_line(form: &NewForm, theme: &Theme) -> Line<'static> {
    let mut spans = vec![label(form, NewField::Engine, "engine", theme)];
    for (i, name) in form.engines.iter().enumerate() {
        let chosen = i == form.engine;
        let text = format!("({}) {name} ", if chosen { "•" } else { " " });
        if chosen && form.field == NewField::Engine {
            spans.push(Span::styled(text, theme.selected()));
        } else {
            spans.push(Span::raw(text));
        }
    }
    Line::from(spans)
}

/// The folders the path could complete to, by their last part, six at most.
fn completions_line(completions: &[String], theme: &Theme) -> Line<'static> {
    let shown: Vec<&str> = completions
        .iter()
        .take(6)
        .map(|c| c.rsplit('/').find(|s| !s.is_empty()).unwrap_or(c))
        .collect();
    let more = if completions.len() > 6 { " …" } else { "" };
    Line::styled(format!("  {}{more}", shown.join("  ")), theme.dim())
}
