//! The session list, grouped by project, with the selected session's details below it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use super::usage;
use super::widgets::{block, duration_words, unix_time};
use crate::app::state::{EngineHealth, EngineStatus, Mode, Row, State};

fn shorten_home(path: &str, state: &State) -> String {
    let home = state.settings.home.display().to_string();
    match path.strip_prefix(&home) {
        Some(rest) if !home.is_empty() => format!("~{rest}"),
        _ => path.to_string(),
    }
}

/// How long the agent has run: from its start time and the dashboard's clock (both from the
/// engine, live), else from the list's last word on it.
fn uptime(row: &Row, now: i64) -> Option<String> {
    let agent = row
        .session
        .agent
        .as_ref()
        .filter(|a| a.state.is_running())?;
    let started = row
        .view
        .details
        .as_ref()
        .filter(|d| d.summary.id == agent.id)
        .and_then(|d| unix_time(&d.started_at));
    match started {
        Some(t) if now >= t => Some(duration_words(now - t)),
        _ => agent
            .status
            .strip_prefix("Up ")
            .map(|s| s.split(" (").next().unwrap_or(s).to_string()),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let focused = matches!(state.mode, Mode::Normal);
    let block = block(Line::styled(" Sessions ", theme.title()), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(4)]).areas(inner);

    if state.rows.is_empty() && !state.several_engines() {
        let text = if state.loaded {
            format!(
                "No sessions yet.\n\nPress {} to create one\nfor a project folder.",
                state.keymap.key_for(crate::app::keymap::KeyAction::New)
            )
        } else {
            "Loading…".to_string()
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), list_area);
        return;
    }

    let width = list_area.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut selected_line = 0;
    let mut project = None;
    // With several engines, each engine's header comes before its rows (and stands alone
    // when it has none, so that its health shows).
    let mut engines = state.engines.iter().filter(|_| state.several_engines());
    for (i, row) in state.rows.iter().enumerate() {
        if i == 0 || state.rows[i - 1].engine != row.engine {
            for engine in engines.by_ref() {
                lines.push(engine_header(engine, state, width, theme));
                if engine.name == row.engine {
                    break;
                }
            }
            project = None;
        }
        if project != Some(&row.session.project) {
            project = Some(&row.session.project);
            lines.push(project_line(&row.session.project, width, state, theme));
        }
        let mut line = row_line(row, i == state.selected, width, state, theme);
        if i == state.selected {
            line = line.style(theme.selected());
            selected_line = lines.len();
        }
        lines.push(line);
    }
    for engine in engines {
        lines.push(engine_header(engine, state, width, theme));
    }
    if state.rows.is_empty() && state.loaded {
        let new = state.keymap.key_for(crate::app::keymap::KeyAction::New);
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("No sessions yet. Press {new} to create one."),
            theme.dim(),
        ));
    }
    let height = list_area.height as usize;
    let scroll = selected_line.saturating_sub(height.saturating_sub(1));
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), list_area);

    if let Some(row) = state.selected_row() {
        frame.render_widget(
            Paragraph::new(footer(row, state, theme)).wrap(Wrap { trim: true }),
            detail_area,
        );
    }
}

/// An engine's line over its sessions: its name and host, and how it answers.
fn engine_header(
    engine: &EngineStatus,
    state: &State,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let count = state
        .rows
        .iter()
        .filter(|r| r.engine == engine.name)
        .count();
    let (health, style) = match &engine.health {
        EngineHealth::Connected => (format!("connected · {count} sessions"), theme.ok()),
        EngineHealth::Connecting => ("connecting…".to_string(), theme.dim()),
        EngineHealth::Lost {
            why,
            retries,
            retry_in,
        } => {
            let when = match retry_in {
                Some(d) => format!("retry {} in {}s", retries, d.as_secs().max(1)),
                None => format!("retry {retries} now…"),
            };
            (format!("LOST · {when} · {why}"), theme.error())
        }
    };
    let text = format!("■ {} · {health}", engine.name);
    let host = format!("  {}", engine.host);
    let mut spans = vec![Span::styled(
        text.chars().take(width).collect::<String>(),
        style,
    )];
    if text.chars().count() + host.chars().count() <= width {
        spans.push(Span::styled(host, theme.dim()));
    }
    Line::from(spans)
}

/// A project's heading: its folder, and its sessions' usage at the end.
fn project_line(project: &str, width: usize, state: &State, theme: &Theme) -> Line<'static> {
    let rows = state.rows.iter().filter(|r| r.session.project == project);
    let total = usage::project_total(rows).map(|u| crate::usage::short(&u));
    let mut spans = vec![Span::raw(shorten_home(project, state))];
    usage::pad_with(&mut spans, total, width, theme.dim());
    Line::from(spans).style(theme.dim())
}

/// One session: marker, name, container state, claude's state and the firewall badge.
fn row_line(
    row: &Row,
    selected: bool,
    width: usize,
    state: &State,
    theme: &Theme,
) -> Line<'static> {
    let (cstate, cstyle) = theme.container(&row.session.state(), row.busy.as_deref());
    let (claude, clstyle) = theme.claude(state.claude_state(row));
    let (fw, fwstyle) = theme.firewall_short(&row.firewall);
    // Wide: marker, name, container state (13: "◌ restarting" and a space), claude (11),
    // firewall (5). Narrow: the container state shrinks to its symbol, which reads without
    // colour too.
    let narrow = width < 2 + 12 + 1 + 13 + 11 + 5;
    let state_width = if narrow { 2 } else { 13 };
    let fixed = 2 + 1 + state_width + 11 + 5;
    // Wide enough, the session's usage takes the row's end.
    let with_usage = !narrow && width >= fixed + 12 + usage::CELL;
    let cell = if with_usage { usage::CELL } else { 0 };
    let name_width = width.saturating_sub(fixed + cell).clamp(6, 28);
    let mut name = row.name().to_string();
    if state.conflicted.contains(row.name()) {
        name = format!("⚠ {name}");
    }
    if name.chars().count() > name_width {
        name = name
            .chars()
            .take(name_width.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    let cstate: String = cstate.chars().take(state_width - 1).collect();
    let mut spans = vec![
        Span::raw(if selected { "▸ " } else { "  " }),
        Span::raw(format!("{name:<name_width$} ")),
        Span::styled(format!("{cstate:<state_width$}"), cstyle),
        Span::styled(format!("{claude:<11}"), clstyle),
        Span::styled(fw, fwstyle),
    ];
    // The selection highlight spans the whole row.
    let figure = usage::figure(row).filter(|_| with_usage);
    usage::pad_with(&mut spans, figure, width, theme.dim());
    Line::from(spans)
}

/// The selected session's figures under the list: profiles, uptime, firewall, live usage.
fn footer(row: &Row, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let profiles = if row.session.profiles.is_empty() {
        "no profiles".to_string()
    } else {
        row.session.profiles.join(", ")
    };
    let up = uptime(row, state.now)
        .map(|u| format!("up {u}"))
        .unwrap_or_else(|| "not running".into());
    let mut first = vec![
        Span::styled(format!("{} ", row.name()), theme.title()),
        Span::raw(format!("{profiles} · {up}")),
    ];
    if let Some(u) = usage::loaded(row) {
        first.push(Span::raw(format!(" · {}", crate::usage::compact(u))));
    }
    if state.several_engines() {
        first.push(Span::raw(format!(" · on {}", row.engine)));
    }
    if !row.view.ports.is_empty() {
        let ports = crate::session::ports::text(&row.view.ports);
        first.push(Span::raw(format!(" · ports {ports}")));
    }
    let mut lines = vec![Line::from(first)];
    let (fw, fwstyle) = theme.firewall(&row.firewall);
    let mut l2 = vec![Span::styled(fw.to_string(), fwstyle)];
    if crate::session::work::host_git_exposed(&row.session) {
        l2.push(Span::raw(" · "));
        l2.push(Span::styled("✖ host git exposed", theme.error()));
    }
    if let Some((s, _)) = &row.view.stats {
        if row.session.state().is_running() {
            l2.push(Span::raw(format!(
                " · mem {:.0} MiB · cpu {:.1}%",
                s.memory_bytes as f64 / (1024.0 * 1024.0),
                s.cpu_percent
            )));
        }
    }
    if state.live_paused {
        l2.push(Span::styled(
            " · live figures paused (no input; any key)",
            theme.dim(),
        ));
    }
    lines.push(Line::from(l2));
    if let Some(holders) = state.conflict(row.name()) {
        let text = format!(
            "⚠ on {}: the name does not say which; keys leave it alone",
            holders.join(" and ")
        );
        lines.push(Line::styled(text, theme.accent()));
    } else if let Some(e) = &row.error {
        lines.push(Line::styled(e.clone(), theme.error()));
    } else if let crate::sandbox::firewall::FirewallStatus::Degraded { why } = &row.firewall {
        lines.push(Line::styled(why.clone(), theme.accent()));
    }
    lines
}
