//! The Info tab: what the agent container is, as the engine reports it (refreshed while shown).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::state::Row;
use crate::backend::NetworkMode;
use crate::ui::theme::Theme;

/// Tokens by kind, and the cost (or which models have no price).
fn tokens_line(u: &crate::usage::Usage) -> String {
    let t = &u.total;
    let cost = match (u.cost_usd, u.unpriced.is_empty()) {
        (Some(c), _) => format!("${c:.4}"),
        (None, false) => format!("no price for {}", u.unpriced.join(", ")),
        (None, true) => "-".into(),
    };
    let mut line = format!(
        "{} in · {} out · cache {} written, {} read · {cost}",
        t.input, t.output, t.cache_write, t.cache_read
    );
    if u.skipped_lines > 0 {
        line.push_str(&format!(
            " · {} transcript lines over {} MiB not counted",
            u.skipped_lines,
            crate::bounded::TRANSCRIPT_LINE >> 20
        ));
    }
    line
}

fn field(name: &str, value: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<9}"), theme.title()),
        Span::raw(value),
    ])
}

/// The network the agent is on, and its ports forwarded to the host (`cctui port`).
fn network_lines(network: &NetworkMode, row: &Row, theme: &Theme) -> Vec<Line<'static>> {
    let network = match network {
        NetworkMode::Container(_) => "the session's firewall holder".to_string(),
        NetworkMode::Bridge => "the default bridge".to_string(),
        NetworkMode::None => "none (loopback only)".to_string(),
        NetworkMode::Host => "the host's own network".to_string(),
        NetworkMode::Named(n) => n.clone(),
    };
    let mut lines = vec![field("network", network, theme)];
    if !row.view.ports.is_empty() {
        let ports = crate::session::ports::text(&row.view.ports);
        lines.push(field("ports", ports, theme));
    }
    lines
}

/// What the last start carried of the user's Claude setup, and what it left out.
fn carried_lines(row: &Row, theme: &Theme) -> Vec<Line<'static>> {
    let (carried, cut) = &row.view.carried;
    if carried.is_empty() && cut.is_empty() {
        return Vec::new();
    }
    let shown = if carried.is_empty() {
        "nothing".to_string()
    } else {
        carried.join(", ")
    };
    let mut lines = vec![field("carried", shown, theme)];
    for c in cut.iter().take(5) {
        lines.push(Line::styled(format!("{:<9}left out {c}", ""), theme.dim()));
    }
    if cut.len() > 5 {
        let more = format!(
            "{:<9}left out {} more (see `cctui ls --json`)",
            "",
            cut.len() - 5
        );
        lines.push(Line::styled(more, theme.dim()));
    }
    lines
}

pub fn draw(frame: &mut Frame, area: Rect, row: &Row, theme: &Theme) {
    let mut lines = vec![field("project", row.session.project.clone(), theme)];
    match &row.view.usage {
        Some(Ok(u)) => lines.push(field("tokens", tokens_line(u), theme)),
        Some(Err(e)) => lines.push(field("tokens", format!("cannot read: {e}"), theme)),
        None => {}
    }
    if let Some(a) = &row.session.agent {
        lines.push(field("image", a.image.clone(), theme));
        lines.push(field("name", a.name.clone(), theme));
        if let Some(env) = a.labels.get(crate::devcontainer::ENVIRONMENT_LABEL) {
            lines.push(field("env", env.clone(), theme));
        }
        lines.extend(carried_lines(row, theme));
    }
    let Some(d) = &row.view.details else {
        lines.push(Line::styled("loading…", theme.dim()));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        return;
    };
    lines.push(field("user", d.user.clone(), theme));
    lines.extend(network_lines(&d.network, row, theme));
    let no_new_privileges = d.no_new_privileges;
    lines.push(field(
        "limits",
        format!(
            "memory {} MiB · cpus {:.1} · pids {} · caps dropped: {} · no-new-privileges: {}",
            d.memory_bytes / (1 << 20),
            d.nano_cpus as f64 / 1e9,
            d.pids_limit,
            d.cap_drop.join(","),
            no_new_privileges
        ),
        theme,
    ));
    if let Some((s, _)) = &row.view.stats {
        lines.push(field(
            "usage",
            format!(
                "mem {:.0} of {:.0} MiB · cpu {:.1}%",
                s.memory_bytes as f64 / (1024.0 * 1024.0),
                s.memory_limit as f64 / (1024.0 * 1024.0),
                s.cpu_percent
            ),
            theme,
        ));
    }
    if let Some(b) = row.view.firewall.as_ref().and_then(|r| r.broker.as_ref()) {
        lines.push(field(
            "key",
            format!(
                "held by the broker in the network holder ({}); the agent has a placeholder",
                b.upstream.as_deref().unwrap_or("?")
            ),
            theme,
        ));
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
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
