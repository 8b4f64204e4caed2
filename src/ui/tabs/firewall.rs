//! The Firewall tab: status, counters, the allowlist with its ports, and what was blocked.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::state::Row;
use crate::sandbox::firewall::{clock, FirewallStatus, Rule};
use crate::ui::theme::Theme;
use crate::ui::widgets::count;

pub fn draw(frame: &mut Frame, area: Rect, row: &Row, theme: &Theme) {
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
        FirewallStatus::Verified { at } if *at > 0 => lines.push(Line::styled(
            format!("  last verified at {} UTC", clock(*at)),
            theme.dim(),
        )),
        FirewallStatus::Verified { .. } | FirewallStatus::Unknown => {}
    }
    let Some(r) = &row.view.firewall else {
        lines.push(Line::styled("loading…", theme.dim()));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        return;
    };
    let by_name = match r.counters.refused_by_name {
        0 => String::new(),
        n => format!(" · refused by SNI/Host: {n}"),
    };
    lines.push(Line::raw(format!(
        "rejected: {} · refused names: {}{by_name}",
        count(r.counters.rejected_packets, "packet", "packets"),
        r.counters.refused_names
    )));
    let holder_unread = !r.holder_read && matches!(r.status, FirewallStatus::Degraded { .. });
    if r.broker.is_some() || holder_unread {
        for l in r.broker_lines() {
            lines.push(Line::raw(l));
        }
    }
    let rules = r.allowlist.rules.len() as u64;
    let heading = if row.firewall == FirewallStatus::Off {
        format!(
            "allowlist ({}, NOT enforced: the firewall is off):",
            count(rules, "rule", "rules")
        )
    } else {
        format!("allowlist ({}):", count(rules, "rule", "rules"))
    };
    lines.push(Line::styled(heading, theme.title()));
    lines.extend(rule_columns(&r.allowlist.rules, area.width));
    lines.push(Line::styled("recently blocked:", theme.title()));
    if r.recent.is_empty() {
        lines.push(Line::styled("  nothing", theme.dim()));
    }
    for b in r.recent.iter().rev().take(area.height as usize) {
        lines.push(Line::raw(format!("  {}", b.line())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// One rule a cell, with its ports (443 when the rule names none), in as many columns as fit.
fn rule_columns(rules: &[Rule], width: u16) -> Vec<Line<'static>> {
    let cells: Vec<String> = rules
        .iter()
        .map(|r| {
            let text = r.to_string();
            if text.contains(':') {
                text
            } else {
                format!("{text}:443")
            }
        })
        .collect();
    let col = cells.iter().map(|r| r.chars().count()).max().unwrap_or(0) + 2;
    let per_line = ((width as usize).saturating_sub(2) / col.max(1)).max(1);
    cells
        .chunks(per_line)
        .map(|chunk| {
            let line: String = chunk.iter().map(|r| format!("{r:<col$}")).collect();
            Line::raw(format!("  {}", line.trim_end()))
        })
        .collect()
}
