//! The overlays, one file each: help, remove, allow a rule, new session.

mod allow;
mod git;
mod help;
mod new_session;
mod remove;

use ratatui::layout::Rect;
use ratatui::Frame;

use super::theme::Theme;
use crate::app::state::{Mode, State};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    match &state.mode {
        Mode::Help => help::draw(frame, area, state, theme),
        Mode::ConfirmRemove(name) => remove::draw(frame, area, state, name, theme),
        Mode::ConfirmGit(name, op) => git::draw(frame, area, state, name, op, theme),
        Mode::Allow(form) => allow::draw(frame, area, form, theme),
        Mode::New(form) => new_session::draw(frame, area, form, theme),
        _ => {}
    }
}
