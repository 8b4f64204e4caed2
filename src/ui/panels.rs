//! The detail tabs of the selected session: terminal, logs, firewall, info.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::state::{Mode, State, Tab};
use crate::backend::NetworkMode;
use crate::sandbox::firewall::{clock, FirewallStatus};
use crate::term::screen::TermView;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let focused = state.mode == Mode::Focus;
    let block = super::block(super::tab_title(state, theme), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(row) = state.selected_row() else {
        return;
    };
    let name = row.name();
    match state.tab {
        Tab::Terminal => terminal(frame, inner, state, name, theme),
        Tab::Logs => logs(frame, inner, state, name, theme),
        Tab::Firewall => firewall(frame, inner, state, name, theme),
        Tab::Info => info(frame, inner, state, name, theme),
        Tab::Changes => match state.changes.get(name) {
            Some(Ok(view)) => super::changes::draw(frame, inner, view, theme),
            Some(Err(e)) => frame.render_widget(
                Paragraph::new(e.clone())
                    .wrap(Wrap { trim: true })
                    .style(theme.dim()),
                inner,
            ),
            None => frame.render_widget(
                Paragraph::new("importing the session's work…").style(theme.dim()),
                inner,
            ),
        },
    }
}

fn terminal(frame: &mut Frame, area: Rect, state: &State, name: &str, theme: &Theme) {
    match state.terminals.get(name).and_then(|t| t.screen()) {
        Some(screen) => frame.render_widget(
            TermView::new(screen).show_cursor(state.mode == Mode::Focus),
            area,
        ),
        None => {
            let row = state.selected_row().expect("selected");
            let text = if row.session.state().is_running() {
                "attaching…".to_string()
            } else {
                format!(
                    "{name} is not running. Press {} to start it.",
                    state.keymap.key_for(crate::app::keymap::KeyAction::Start)
                )
            };
            frame.render_widget(Paragraph::new(text).style(theme.dim()), area);
        }
    }
}

fn logs(frame: &mut Frame, area: Rect, state: &State, name: &str, theme: &Theme) {
    let Some(buf) = state.logs.get(name) else {
        frame.render_widget(Paragraph::new("no logs yet").style(theme.dim()), area);
        return;
    };
    let height = area.height as usize;
    // `scroll` counts lines from the bottom; near the top, fill the pane from the first line.
    let end = buf
        .lines
        .len()
        .saturating_sub(buf.scroll)
        .max(height.min(buf.lines.len()));
    let start = end.saturating_sub(height);
    let query = state.log_search.as_deref();
    let lines: Vec<Line> = buf
        .lines
        .range(start..end)
        .map(|l| match query {
            Some(q) if l.contains(q) => highlight(l, q, theme),
            _ => Line::raw(l.clone()),
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
    if let Mode::Search(q) = &state.mode {
        let bar = Rect {
            y: area.y + area.height.saturating_sub(1),
            height: 1,
            ..area
        };
        frame.render_widget(Paragraph::new(format!("/{q}▏")).style(theme.accent()), bar);
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

fn firewall(frame: &mut Frame, area: Rect, state: &State, name: &str, theme: &Theme) {
    let row = state.selected_row().expect("selected");
    let (badge, style) = theme.firewall(&row.firewall);
    let mut lines = vec![Line::from(vec![
        Span::raw("status: "),
        Span::styled(badge, style),
    ])];
    match &row.firewall {
        FirewallStatus::Degraded { why } => {
            lines.push(Line::styled(format!("  {why}"), theme.accent()))
        }
        FirewallStatus::Off => lines.push(Line::styled(
            "  egress is open: this session runs with firewall = \"off\"",
            theme.error(),
        )),
        FirewallStatus::Verified { at } => lines.push(Line::styled(
            format!("  last verified at {} UTC", clock(*at)),
            theme.dim(),
        )),
        FirewallStatus::Unknown => {}
    }
    if let Some(r) = state.firewall.get(name) {
        let by_name = match r.counters.refused_by_name {
            0 => String::new(),
            n => format!(" · refused by SNI/Host: {n}"),
        };
        lines.push(Line::raw(format!(
            "rejected: {} packets · refused names: {}{by_name}",
            r.counters.rejected_packets, r.counters.refused_names
        )));
        if r.broker.is_some() {
            for l in crate::sandbox::broker::report_lines(r.broker.as_ref()) {
                lines.push(Line::raw(l));
            }
        }
        let heading = if row.firewall == FirewallStatus::Off {
            format!(
                "allowlist ({} rules, NOT enforced: the firewall is off):",
                r.allowlist.rules.len()
            )
        } else {
            format!("allowlist ({} rules):", r.allowlist.rules.len())
        };
        lines.push(Line::styled(heading, theme.title()));
        // One rule a line, in as many columns as fit.
        let rules: Vec<String> = r.allowlist.rules.iter().map(|r| r.to_string()).collect();
        let col = rules.iter().map(|r| r.chars().count()).max().unwrap_or(0) + 2;
        let per_line = ((area.width as usize).saturating_sub(2) / col.max(1)).max(1);
        for chunk in rules.chunks(per_line) {
            let cells: String = chunk.iter().map(|r| format!("{r:<col$}")).collect();
            lines.push(Line::raw(format!("  {}", cells.trim_end())));
        }
        lines.push(Line::styled("recently blocked:", theme.title()));
        if r.recent.is_empty() {
            lines.push(Line::styled("  nothing", theme.dim()));
        }
        for b in r.recent.iter().rev().take(area.height as usize) {
            lines.push(Line::raw(format!("  {}", b.line())));
        }
    } else {
        lines.push(Line::styled("loading…", theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn info(frame: &mut Frame, area: Rect, state: &State, name: &str, theme: &Theme) {
    let row = state.selected_row().expect("selected");
    let mut lines = vec![Line::from(vec![
        Span::styled("project  ", theme.title()),
        Span::raw(row.session.project.clone()),
    ])];
    if let Some(a) = &row.session.agent {
        lines.push(Line::from(vec![
            Span::styled("image    ", theme.title()),
            Span::raw(a.image.clone()),
        ]));
        lines.push(Line::from(vec![
            Span::styled("name     ", theme.title()),
            Span::raw(a.name.clone()),
        ]));
    }
    if let Some(d) = state.details.get(name) {
        lines.push(Line::from(vec![
            Span::styled("user     ", theme.title()),
            Span::raw(d.user.clone()),
        ]));
        lines.push(Line::from(vec![
            Span::styled("network  ", theme.title()),
            Span::raw(match &d.network {
                NetworkMode::Container(_) => "the session's firewall holder".to_string(),
                NetworkMode::Bridge => "the default bridge".to_string(),
                NetworkMode::None => "none (loopback only)".to_string(),
                NetworkMode::Host => "the host's own network".to_string(),
                NetworkMode::Named(n) => n.clone(),
            }),
        ]));
        lines.push(Line::from(vec![
            Span::styled("limits   ", theme.title()),
            Span::raw(format!(
                "memory {} MiB · cpus {:.1} · pids {} · caps dropped: {} · no-new-privileges: {}",
                d.memory_bytes / (1 << 20),
                d.nano_cpus as f64 / 1e9,
                d.pids_limit,
                d.cap_drop.join(","),
                d.no_new_privileges
            )),
        ]));
        if let Some(b) = state.firewall.get(name).and_then(|r| r.broker.as_ref()) {
            lines.push(Line::from(vec![
                Span::styled("key      ", theme.title()),
                Span::raw(format!(
                    "held by the broker in the network holder ({}); the agent has a placeholder",
                    b.upstream.as_deref().unwrap_or("?")
                )),
            ]));
        }
        lines.push(Line::styled("mounts", theme.title()));
        for m in &d.mounts {
            lines.push(Line::raw(format!(
                "  {:<6} {} → {}{}",
                m.kind,
                m.source,
                m.target,
                if m.read_only { " (read-only)" } else { "" }
            )));
        }
        for t in d.tmpfs.keys() {
            lines.push(Line::raw(format!("  tmpfs  {t}")));
        }
    } else {
        lines.push(Line::styled("loading…", theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
