//! Keys, mouse and paste, by what has the keyboard: a dialog's form, the terminal, or the
//! dashboard itself.

use crossterm::event::{KeyCode, KeyEvent, MouseEventKind};

use super::{jobs, on_selection, select, terminal};
use crate::app::effect::{Effect, Op};
use crate::app::forms::{AllowForm, FormKey, NewForm};
use crate::app::keymap::KeyAction;
use crate::app::state::{Mode, State};
use crate::app::tabs::Tab;

pub(super) fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let mode = std::mem::replace(&mut state.mode, Mode::Normal);
    state.mode = match mode {
        Mode::Focus | Mode::FullScreen(_) => {
            state.mode = mode;
            terminal::on_key(state, key, fx);
            return;
        }
        Mode::Normal => {
            on_normal_key(state, key, fx);
            return;
        }
        Mode::Queue => {
            state.mode = Mode::Queue;
            super::queue::on_key(state, key, fx);
            return;
        }
        Mode::Help => Mode::Normal,
        Mode::ConfirmRemove(name) => {
            let volumes = match key.code {
                KeyCode::Char('y') => false,
                KeyCode::Char('v') => true,
                KeyCode::Char('n') | KeyCode::Esc => return,
                _ => {
                    state.mode = Mode::ConfirmRemove(name);
                    return;
                }
            };
            jobs::start(state, &name, "removing", Op::Remove { volumes }, fx);
            Mode::Normal
        }
        Mode::ConfirmGit(name, op) => match key.code {
            KeyCode::Char('y') => {
                let what = if op == Op::Merge {
                    "merging"
                } else {
                    "applying"
                };
                jobs::start(state, &name, what, op, fx);
                Mode::Normal
            }
            KeyCode::Char('n') | KeyCode::Esc => Mode::Normal,
            _ => Mode::ConfirmGit(name, op),
        },
        Mode::Allow(mut form) => match form.on_key(&key) {
            FormKey::Submitted(rule) => {
                jobs::start(state, &form.session, "allowing", Op::Allow(rule), fx);
                Mode::Normal
            }
            FormKey::Cancelled => Mode::Normal,
            _ => Mode::Allow(form),
        },
        Mode::Search(mut form) => match form.on_key(&key) {
            FormKey::Submitted(query) => {
                search_logs(state, query);
                Mode::Normal
            }
            FormKey::Cancelled => Mode::Normal,
            _ => Mode::Search(form),
        },
        Mode::New(mut form) => match form.on_key(&key, &state.settings.home) {
            FormKey::Submitted(_) => match jobs::start_create(state, form, fx) {
                Some(refused) => Mode::New(refused),
                None => Mode::Normal,
            },
            FormKey::Cancelled => Mode::Normal,
            FormKey::Complete(prefix) => {
                fx.push(Effect::CompletePath(prefix));
                Mode::New(form)
            }
            FormKey::Editing => Mode::New(form),
        },
    };
}

/// Shows the newest line holding `query` at the bottom of the logs, and highlights them all.
fn search_logs(state: &mut State, query: Option<String>) {
    state.log_search = query.clone();
    let (Some(q), Some(row)) = (query, state.selected_row_mut()) else {
        return;
    };
    if let Some(buf) = row.view.logs.as_mut() {
        if let Some(pos) = buf.lines.iter().rposition(|l| l.contains(&q)) {
            buf.scroll = buf.lines.len() - 1 - pos;
        }
    }
}

fn on_normal_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if key.code == KeyCode::Esc {
        state.status = None;
        state.log_search = None;
        return;
    }
    if matches!(key.code, KeyCode::PageUp | KeyCode::PageDown) {
        scroll_visible(state, key.code == KeyCode::PageUp, 10);
        return;
    }
    let Some(action) = state.keymap.action(&key) else {
        return;
    };
    match action {
        KeyAction::Up => select(state, state.selected.saturating_sub(1), fx),
        KeyAction::Down => select(state, state.selected + 1, fx),
        KeyAction::Top => select(state, 0, fx),
        KeyAction::Bottom => select(state, state.rows.len().saturating_sub(1), fx),
        KeyAction::NextTab | KeyAction::PrevTab => {
            state.tab = state.tab.step(action == KeyAction::NextTab);
            on_selection(state, fx);
        }
        KeyAction::New => {
            let engines = state.engines.iter().map(|e| e.name.clone()).collect();
            let form = NewForm::new(
                &state.settings.cwd,
                crate::config::KNOWN_PROFILES,
                &state.settings.profiles,
            );
            state.mode = Mode::New(form.with_engines(engines))
        }
        KeyAction::Quit => {
            state.quit = true;
            fx.push(Effect::Quit);
        }
        KeyAction::Help => state.mode = Mode::Help,
        KeyAction::Queue => super::queue::open(state, fx),
        KeyAction::PrevFile | KeyAction::NextFile => {
            move_file(state, action == KeyAction::NextFile, fx)
        }
        KeyAction::Search => {
            if state.tab != Tab::Logs {
                state.tab = Tab::Logs;
                on_selection(state, fx);
            }
            state.mode = Mode::Search(Default::default());
        }
        _ => on_session_key(state, action, fx),
    }
}

/// A key that acts on the selected session.
fn on_session_key(state: &mut State, action: KeyAction, fx: &mut Vec<Effect>) {
    let Some(name) = state.selected_name() else {
        let new = state.keymap.key_for(KeyAction::New);
        state.set_status(
            format!("no session selected; press {new} to create one"),
            true,
        );
        return;
    };
    if state.job_for(&name).is_some() {
        state.set_status(format!("{name} is busy"), true);
        return;
    }
    if state.refuse_conflict(&name) {
        return;
    }
    let running = state
        .selected_row()
        .is_some_and(|r| r.running_agent().is_some());
    let op = |what: &'static str, op: Op| Some((what, op));
    let job = match action {
        KeyAction::Start => op("starting", Op::Start),
        KeyAction::Stop => op("stopping", Op::Stop),
        KeyAction::Restart => op("restarting", Op::Restart),
        KeyAction::Rebuild => op("building", Op::Rebuild),
        KeyAction::Import => op("importing", Op::Import),
        KeyAction::Push => op("pushing", Op::Push),
        _ => None,
    };
    if let Some((what, op)) = job {
        jobs::start(state, &name, what, op, fx);
        return;
    }
    match action {
        KeyAction::Remove => state.mode = Mode::ConfirmRemove(name),
        KeyAction::Merge => state.mode = Mode::ConfirmGit(name, Op::Merge),
        KeyAction::ApplyChanges => state.mode = Mode::ConfirmGit(name, Op::ApplyChanges),
        KeyAction::Allow => state.mode = Mode::Allow(AllowForm::new(&name)),
        KeyAction::Attach | KeyAction::Fullscreen if !running => {
            let start = state.keymap.key_for(KeyAction::Start);
            state.set_status(
                format!("{name} is not running; press {start} to start it"),
                true,
            );
        }
        KeyAction::Attach => {
            state.tab = Tab::Terminal;
            state.mode = Mode::Focus;
        }
        KeyAction::Fullscreen => {
            state.mode = Mode::FullScreen(name);
            state.fullscreen_hint = true;
        }
        KeyAction::TmuxPane | KeyAction::TmuxWindow => {
            open_in_tmux(state, name, action == KeyAction::TmuxWindow, fx)
        }
        _ => {}
    }
}

/// Moves the Changes tab's file cursor; the host's git computes that file's diff.
fn move_file(state: &mut State, down: bool, fx: &mut Vec<Effect>) {
    if state.tab != Tab::Changes {
        let next = state.keymap.key_for(KeyAction::NextTab);
        state.set_status(
            format!("files are chosen in the Changes tab ({next})"),
            true,
        );
        return;
    }
    let Some(row) = state.selected_row_mut() else {
        return;
    };
    let Some(Ok(view)) = &mut row.view.changes else {
        return;
    };
    let last = view.files.len().saturating_sub(1);
    let file = if down {
        (view.selected + 1).min(last)
    } else {
        view.selected.saturating_sub(1)
    };
    if file == view.selected {
        return;
    }
    view.selected = file;
    row.view.changes_file = file;
    let session = row.name().to_string();
    fx.push(Effect::LoadChanges(session));
}

/// `t`/`T`: `cctui attach NAME` in a tmux pane or window, for a running session only.
fn open_in_tmux(state: &mut State, name: String, window: bool, fx: &mut Vec<Effect>) {
    // `cctui attach` in the pane needs a running agent: it would die at once.
    if !state
        .row(&name)
        .is_some_and(|r| r.session.state().is_running())
    {
        let text = format!("{name} is not running: start it (s) before opening it in tmux");
        state.set_status(text, true);
        return;
    }
    let what = if window {
        "opening a window"
    } else {
        "opening a pane"
    };
    let job = jobs::register(state, &name, what, None);
    // The pane is not an operation on the session: its row stays as it is.
    if let Some(row) = state.row_mut(&name) {
        row.busy = None;
    }
    fx.push(Effect::OpenTmux {
        job,
        session: name,
        window,
    })
}

fn scroll_visible(state: &mut State, up: bool, lines: usize) {
    let tab = state.tab;
    let Some(row) = state.selected_row_mut() else {
        return;
    };
    match (tab, &mut row.view.logs, &mut row.view.terminal) {
        (Tab::Logs, Some(b), _) => {
            b.scroll = if up {
                (b.scroll + lines).min(b.lines.len().saturating_sub(1))
            } else {
                b.scroll.saturating_sub(lines)
            };
        }
        (Tab::Terminal, _, Some(t)) if up => t.live().scroll_up(lines),
        (Tab::Terminal, _, Some(t)) => t.live().scroll_down(lines),
        _ => {}
    }
}

pub(super) fn on_mouse(state: &mut State, kind: MouseEventKind) {
    match kind {
        MouseEventKind::ScrollUp => scroll_visible(state, true, 3),
        MouseEventKind::ScrollDown => scroll_visible(state, false, 3),
        _ => {}
    }
}

pub(super) fn on_paste(state: &mut State, text: &str, fx: &mut Vec<Effect>) {
    match &mut state.mode {
        Mode::Focus | Mode::FullScreen(_) => terminal::on_paste(state, text, fx),
        Mode::Allow(form) => form.paste(text),
        Mode::Search(form) => form.paste(text),
        Mode::New(form) => form.paste(text),
        _ => {}
    }
}
