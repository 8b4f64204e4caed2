//! Where the dashboard's parts go on screen. The state needs the terminal pane's size (the
//! tty it gives claude) and the UI draws into the same areas, so the geometry lives here,
//! below both.

use ratatui::layout::{Constraint, Layout, Rect};

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

pub struct Areas {
    pub header: Rect,
    pub list: Rect,
    pub detail: Rect,
    pub status: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let [header, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let list_width = (area.width * 2 / 5).clamp(34, 68).min(area.width / 2);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(1)]).areas(body);
    Areas {
        header,
        list,
        detail,
        status,
    }
}

/// The inner size (rows, cols) of the terminal pane for a terminal of `size` (cols, rows).
pub fn terminal_pane_size(size: (u16, u16)) -> (u16, u16) {
    let a = areas(Rect::new(0, 0, size.0, size.1));
    (
        a.detail.height.saturating_sub(2).max(1),
        a.detail.width.saturating_sub(2).max(1),
    )
}
