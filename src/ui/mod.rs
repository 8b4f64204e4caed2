//! Drawing: a pure function of the state. One file per panel.

mod dialogs;
mod list;
mod queue;
mod tabs;
pub mod theme;
mod usage;
mod widgets;

/// The Changes tab's drawing, for tests that draw a view of their own.
pub use tabs::changes;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::layout::areas;
use crate::app::state::{EngineHealth, Mode, State};
use crate::term::screen::TermView;
use crate::term::state::ClaudeState;
use theme::Theme;

pub use crate::app::layout::{MIN_HEIGHT, MIN_WIDTH};

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn draw(frame: &mut Frame, state: &State) {
    let theme = Theme {
        color: state.settings.color,
    };
    let area = frame.area();
    if let Mode::FullScreen(name) = &state.mode {
        if let Some(screen) = state.terminal(name).and_then(|t| t.screen()) {
            frame.render_widget(TermView::new(screen).show_cursor(true), area);
            if let Some(banner) = &state.banner {
                top_right(frame, area, banner, theme.accent());
            } else if state.fullscreen_hint {
                full_screen_hint(frame, area, state, &theme);
            }
            return;
        }
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "The terminal is too small ({}x{}).\nMake it at least {MIN_WIDTH}x{MIN_HEIGHT}.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let a = areas(area);
    header(frame, a.header, state, &theme);
    list::draw(frame, a.list, state, &theme);
    tabs::draw(frame, a.detail, state, &theme);
    status(frame, a.status, state, &theme);
    dialogs::draw(frame, area, state, &theme);
    if state.mode == Mode::Queue {
        queue::draw(frame, area, state, &theme);
    }
}

/// Until the first key, the top line says how to leave; claude's own line comes back then.
fn full_screen_hint(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let text = format!(" full screen · {} leaves ", state.keymap.detach);
    top_right(frame, area, &text, theme.selected());
}

/// One line over the top right of the attached screen: claude's screen is left as it is
/// underneath, and comes back whole when the line goes.
fn top_right(frame: &mut Frame, area: Rect, text: &str, style: ratatui::style::Style) {
    let width = (text.chars().count() as u16).min(area.width);
    let at = Rect::new(area.x + area.width - width, area.y, width, 1);
    frame.render_widget(Clear, at);
    frame.render_widget(Paragraph::new(text.to_string()).style(style), at);
}

fn header(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    // One engine: when lost, it takes the whole line, since what is listed below may be out
    // of date. Several: each one's own header in the list says how it is.
    if let Some((text, style)) = single_engine_banner(state, theme) {
        frame.render_widget(Paragraph::new(Line::styled(text, style)), area);
        return;
    }
    let waiting = state
        .rows
        .iter()
        .filter(|r| state.claude_state(r) == ClaudeState::WaitingForYou)
        .count();
    let running = state
        .rows
        .iter()
        .filter(|r| r.session.state().is_running())
        .count();
    let mut spans = vec![
        Span::styled(" cctui ", theme.title()),
        Span::raw(format!("{} sessions, {running} running", state.rows.len())),
    ];
    if waiting > 0 {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            format!("▶ {waiting} waiting for you"),
            theme.claude(ClaudeState::WaitingForYou).1,
        ));
    }
    let queued = state.queue.len();
    if queued > 0 {
        let key = state.keymap.key_for(crate::app::keymap::KeyAction::Queue);
        spans.push(Span::styled(
            format!("  ● {queued} in the queue ({key})"),
            theme.accent(),
        ));
    }
    let mut used: usize = spans.iter().map(|s| s.width()).sum();
    if let Some(all) = usage::overall(state) {
        let all = format!("  usage {}", crate::usage::short(&all));
        if used + all.chars().count() <= area.width as usize {
            used += all.chars().count();
            spans.push(Span::raw(all));
        }
    }
    let host = engines_summary(state);
    if used + host.chars().count() <= area.width as usize {
        spans.push(Span::styled(host, theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The one engine's trouble, as the header's whole line; `None` with several engines, or
/// when it is connected.
fn single_engine_banner(state: &State, theme: &Theme) -> Option<(String, Style)> {
    let [engine] = state.engines.as_slice() else {
        return None;
    };
    match &engine.health {
        // Before the first list there is nothing to be stale.
        EngineHealth::Lost { why, retries, .. } => Some((
            if state.loaded {
                format!(" ENGINE UNREACHABLE · retry {retries} · the list may be stale · {why}")
            } else {
                format!(" ENGINE UNREACHABLE · retry {retries} · {why}")
            },
            theme.error(),
        )),
        EngineHealth::Connecting => Some((
            format!(" connecting to the engine at {}…", engine.host),
            theme.dim(),
        )),
        EngineHealth::Connected => None,
    }
}

/// The end of the header: the engine's host, or how many of the engines answer.
fn engines_summary(state: &State) -> String {
    if let [engine] = state.engines.as_slice() {
        return format!("  engine {}", engine.host);
    }
    let up = state
        .engines
        .iter()
        .filter(|e| e.health == EngineHealth::Connected)
        .count();
    format!("  {up} of {} engines connected", state.engines.len())
}

/// An error longer than the status line (a refusal saying what to do), wrapped upwards over
/// the panel above it, so none of it is cut off.
fn long_error(frame: &mut Frame, area: Rect, text: &str, theme: &Theme) {
    let lines = vec![Line::styled(format!(" {text}"), theme.error())];
    // Word wrapping can take a row more than the characters need.
    let need = lines[0].width().div_ceil(area.width.max(1) as usize) + 1;
    let rows = (need as u16).clamp(1, 8).min(area.y + 1);
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    let rect = Rect {
        y: area.y + 1 - rows,
        height: rows,
        ..area
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(para, rect);
}

fn status(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let line = if let Some(job) = state.jobs.values().next() {
        let spin = SPINNER[state.spinner % SPINNER.len()];
        let mut text = format!(" {spin} {} {}", job.what, job.session);
        if let Some(f) = job.fraction {
            let width = 16usize;
            let filled = ((f * width as f64) as usize).min(width);
            text.push_str(&format!(
                " [{}{}]",
                "█".repeat(filled),
                "░".repeat(width - filled)
            ));
        }
        if let Some(p) = &job.progress {
            text.push(' ');
            text.push_str(p);
        }
        Line::styled(text, theme.accent())
    } else if let (Some(s), false) = (&state.status, state.mode == Mode::Focus) {
        if s.error && s.text.chars().count() + 1 > area.width as usize {
            long_error(frame, area, &s.text, theme);
            return;
        }
        Line::styled(
            format!(" {}", s.text),
            if s.error { theme.error() } else { theme.ok() },
        )
    } else {
        let hint = match &state.mode {
            // Typing into claude: the hint always shows, a message after it.
            Mode::Focus => {
                let hint = format!(
                    " typing into claude · {} leaves · shift-PgUp scrolls",
                    state.keymap.detach
                );
                let mut spans = vec![Span::styled(hint, theme.dim())];
                if let Some(s) = &state.status {
                    let style = if s.error { theme.error() } else { theme.ok() };
                    spans.push(Span::styled(format!("  {}", s.text), style));
                }
                frame.render_widget(Paragraph::new(Line::from(spans)), area);
                return;
            }
            _ => {
                let k = |a| state.keymap.key_for(a);
                use crate::app::keymap::KeyAction as A;
                format!(
                    " {} new  {} start  {} stop  {} attach  {} full screen  {} tabs  {} help  {} quit",
                    k(A::New), k(A::Start), k(A::Stop), k(A::Attach), k(A::Fullscreen), k(A::NextTab), k(A::Help), k(A::Quit)
                )
            }
        };
        Line::styled(hint, theme.dim())
    };
    frame.render_widget(Paragraph::new(line), area);
}
