//! A headless terminal per session ([`TermScreen`], a `vt100` parser with scrollback) and the
//! ratatui widget that draws it ([`TermView`]).

use std::num::NonZeroU16;

use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::widgets::Widget;

use super::hook::{HookEvent, MarkerFilter};
use super::keys::InputModes;
use super::osc52::{ClipboardCatcher, Copied};

/// Lines of scrollback kept per session by [`TermScreen::new`].
pub const DEFAULT_SCROLLBACK: usize = 5000;

/// The screen of one session's terminal: everything the program inside printed, minus
/// cctui's hook markers. Clipboard escapes (OSC 52) are caught, never drawn nor answered.
pub struct TermScreen {
    parser: vt100::Parser<ClipboardCatcher>,
    filter: MarkerFilter,
    generation: u64,
    bytes_fed: u64,
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

impl TermScreen {
    /// A blank screen of `rows` x `cols` (each at least 1) with [`DEFAULT_SCROLLBACK`] lines of
    /// scrollback.
    pub fn new(rows: u16, cols: u16) -> Self {
        Self::with_scrollback(rows, cols, DEFAULT_SCROLLBACK)
    }

    pub fn with_scrollback(rows: u16, cols: u16, scrollback: usize) -> Self {
        Self {
            parser: vt100::Parser::new_with_callbacks(
                nonzero(rows),
                nonzero(cols),
                scrollback,
                ClipboardCatcher::default(),
            ),
            filter: MarkerFilter::new(),
            generation: 0,
            bytes_fed: 0,
        }
    }

    /// Processes output from the program and returns the hook events found in it. Hook
    /// markers never reach the emulator; one split across calls is recognised once complete.
    ///
    /// When the view is scrolled back, it stays on the same lines while new output pushes
    /// lines into the scrollback (until the scrollback is full).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<HookEvent> {
        if bytes.is_empty() {
            return Vec::new();
        }
        self.bytes_fed += bytes.len() as u64;
        self.generation += 1;
        let offset = self.parser.screen().scrollback();
        let len_before = self.parser.screen().scrollback_len();
        let mut events = Vec::new();
        let parser = &mut self.parser;
        self.filter.filter(
            bytes,
            &mut |chunk: &[u8]| parser.process(chunk),
            &mut events,
        );
        if offset > 0 {
            let grown = self
                .parser
                .screen()
                .scrollback_len()
                .saturating_sub(len_before);
            self.parser.screen_mut().set_scrollback(offset + grown);
        }
        events
    }

    /// What the program copied (OSC 52) since the last call: the latest copy only.
    pub fn take_copy(&mut self) -> Option<Copied> {
        self.parser.callbacks_mut().take()
    }

    /// How many clipboard reads (OSC 52 queries) the program asked for: none is answered.
    pub fn clipboard_queries(&self) -> u64 {
        self.parser.callbacks().queries()
    }

    /// Resizes the terminal (each dimension at least 1). This returns the view to the bottom.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let before = (self.size(), self.scrollback_offset());
        self.parser.set_size(nonzero(rows), nonzero(cols));
        if (self.size(), self.scrollback_offset()) != before {
            self.generation += 1;
        }
    }

    /// `(rows, cols)`.
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (rows.get(), cols.get())
    }

    /// The modes that decide how keys and pastes are encoded for the program.
    pub fn input_modes(&self) -> InputModes {
        let screen = self.parser.screen();
        InputModes {
            application_cursor: screen.application_cursor(),
            bracketed_paste: screen.bracketed_paste(),
        }
    }

    /// Moves the view `n` lines back into the scrollback (clamped to what there is).
    pub fn scroll_up(&mut self, n: usize) {
        let offset = self.scrollback_offset();
        self.set_offset(offset.saturating_add(n));
    }

    /// Moves the view `n` lines towards the live screen.
    pub fn scroll_down(&mut self, n: usize) {
        let offset = self.scrollback_offset();
        self.set_offset(offset.saturating_sub(n));
    }

    pub fn scroll_to_bottom(&mut self) {
        self.set_offset(0);
    }

    fn set_offset(&mut self, offset: usize) {
        let before = self.scrollback_offset();
        self.parser.screen_mut().set_scrollback(offset);
        if self.scrollback_offset() != before {
            self.generation += 1;
        }
    }

    /// How many lines the view is scrolled back; 0 shows the live screen.
    pub fn scrollback_offset(&self) -> usize {
        self.parser.screen().scrollback()
    }

    /// Lines of scrollback held.
    pub fn scrollback_len(&self) -> usize {
        self.parser.screen().scrollback_len()
    }

    /// The text in view, one line per screen row with trailing blanks removed (and trailing
    /// empty rows dropped). When scrolled back this is the scrolled-back view; see
    /// [`live_text`](Self::live_text) for the program's current screen.
    pub fn text(&self) -> String {
        let screen = self.parser.screen();
        let (_, cols) = self.size();
        let mut text = String::new();
        for (i, row) in screen.rows(0, cols).enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(row.trim_end());
        }
        let trimmed = text.trim_end_matches('\n').len();
        text.truncate(trimmed);
        text
    }

    /// Escape sequences that rebuild this screen's visible state (contents, attributes,
    /// cursor, input modes) on a blank terminal: a compact copy to park it as.
    pub fn state_formatted(&mut self) -> Vec<u8> {
        let offset = self.scrollback_offset();
        self.parser.screen_mut().set_scrollback(0);
        let state = self.parser.screen().state_formatted();
        self.parser.screen_mut().set_scrollback(offset);
        state.into()
    }

    /// Like [`text`](Self::text) but always of the live screen, whatever the scrollback
    /// offset: what state detection should look at.
    pub fn live_text(&mut self) -> String {
        let offset = self.scrollback_offset();
        if offset == 0 {
            return self.text();
        }
        self.parser.screen_mut().set_scrollback(0);
        let text = self.text();
        self.parser.screen_mut().set_scrollback(offset);
        text
    }

    /// Changes whenever the view may have changed (on output, a resize or a scroll) and only
    /// then: keep the value drawn last, and a screen whose generation is the same need not be
    /// drawn again. A counter read, so as cheap as a check can be.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Total bytes passed to [`feed`](Self::feed), markers included.
    pub fn bytes_fed(&self) -> u64 {
        self.bytes_fed
    }

    /// How many top rows a view `height` rows high leaves out: none when the screen fits;
    /// else enough that the cursor and the last row with text are shown.
    pub fn rows_cut_for(&self, height: u16) -> u16 {
        let (rows, cols) = self.size();
        if rows <= height {
            return 0;
        }
        let screen = self.parser.screen();
        let last_text = screen
            .rows(0, cols)
            .enumerate()
            .filter(|(_, r)| !r.trim().is_empty())
            .map(|(i, _)| i as u16)
            .last()
            .unwrap_or(0);
        let bottom = last_text.max(screen.cursor_position().0);
        (bottom + 1).saturating_sub(height).min(rows - height)
    }

    /// Where the cursor should be drawn: `(row, col)` on the view, or `None` when the program
    /// hid it or the view is scrolled back.
    pub fn cursor(&self) -> Option<(u16, u16)> {
        let screen = self.parser.screen();
        if screen.hide_cursor() || screen.scrollback() > 0 {
            return None;
        }
        Some(screen.cursor_position())
    }
}

/// A vt100 colour as a ratatui colour: the 16 ANSI colours by name (so they follow the user's
/// palette), the rest of the 256 by index, RGB as RGB, and the default as `Reset`.
pub fn ratatui_color(color: vt100::Color) -> Color {
    match color {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(i) => match i {
            0 => Color::Black,
            1 => Color::Red,
            2 => Color::Green,
            3 => Color::Yellow,
            4 => Color::Blue,
            5 => Color::Magenta,
            6 => Color::Cyan,
            7 => Color::Gray,
            8 => Color::DarkGray,
            9 => Color::LightRed,
            10 => Color::LightGreen,
            11 => Color::LightYellow,
            12 => Color::LightBlue,
            13 => Color::LightMagenta,
            14 => Color::LightCyan,
            15 => Color::White,
            i => Color::Indexed(i),
        },
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

fn modifiers(cell: &vt100::Cell) -> Modifier {
    let mut m = Modifier::empty();
    if cell.bold() {
        m |= Modifier::BOLD;
    }
    if cell.dim() {
        m |= Modifier::DIM;
    }
    if cell.italic() {
        m |= Modifier::ITALIC;
    }
    if cell.underline() {
        m |= Modifier::UNDERLINED;
    }
    if cell.inverse() {
        m |= Modifier::REVERSED;
    }
    m
}

fn copy_cell(out: &mut Cell, cell: &vt100::Cell, symbol: &str) {
    out.reset();
    out.set_symbol(symbol);
    out.fg = ratatui_color(cell.fgcolor());
    out.bg = ratatui_color(cell.bgcolor());
    out.modifier = modifiers(cell);
}

/// Draws a [`TermScreen`] (its current view, scrollback included) into the area at the
/// screen's own size: cut to the area (a taller screen loses its top rows, so that the cursor
/// and the last text, claude's prompt, stay in view), blank where the screen is smaller.
/// Never re-wrapped: the tty's size is another client's while that client is the latest.
pub struct TermView<'a> {
    screen: &'a TermScreen,
    show_cursor: bool,
}

impl<'a> TermView<'a> {
    /// A view that draws the cursor; see [`show_cursor`](Self::show_cursor).
    pub fn new(screen: &'a TermScreen) -> Self {
        Self {
            screen,
            show_cursor: true,
        }
    }

    /// Whether to draw the cursor (as a reversed cell) when the program shows it and the view
    /// is not scrolled back. Off for panes without focus.
    pub fn show_cursor(mut self, show: bool) -> Self {
        self.show_cursor = show;
        self
    }
}

impl Widget for TermView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let screen = self.screen.parser.screen();
        let (rows, cols) = self.screen.size();
        let top = self.screen.rows_cut_for(area.height);
        let width = usize::from(area.width);
        let drawn_cols = usize::from(cols).min(width);
        for y in 0..area.height {
            let start = buf.index_of(area.x, area.y + y);
            let line = &mut buf.content[start..start + width];
            if y + top >= rows {
                line.iter_mut().for_each(Cell::reset);
                continue;
            }
            let y = y + top;
            let mut x = 0;
            while x < drawn_cols {
                let Some(cell) = screen.cell(y, x as u16) else {
                    line[x].reset();
                    x += 1;
                    continue;
                };
                if cell.is_wide_continuation() {
                    // Only reached when the wide char's first half is not drawn.
                    line[x].reset();
                    x += 1;
                    continue;
                }
                let contents = cell.contents();
                let symbol = if contents.is_empty() { " " } else { contents };
                if cell.is_wide() {
                    if x + 1 < drawn_cols {
                        copy_cell(&mut line[x], cell, symbol);
                        // The glyph covers the next column; ratatui skips that cell.
                        line[x + 1].reset();
                        x += 2;
                    } else {
                        // Half a wide char does not fit: show a blank of its colour.
                        copy_cell(&mut line[x], cell, " ");
                        x += 1;
                    }
                    continue;
                }
                copy_cell(&mut line[x], cell, symbol);
                x += 1;
            }
            line[drawn_cols..].iter_mut().for_each(Cell::reset);
        }
        if self.show_cursor {
            if let Some((row, col)) = self.screen.cursor() {
                let row = row.wrapping_sub(top);
                if row < area.height && col < area.width.min(cols) {
                    let cell = &mut buf[(area.x + col, area.y + row)];
                    cell.modifier.toggle(Modifier::REVERSED);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_text_and_counts() {
        let mut s = TermScreen::new(5, 20);
        assert_eq!(s.size(), (5, 20));
        assert_eq!(s.generation(), 0);
        let events = s.feed(b"hello\r\nworld   ");
        assert!(events.is_empty());
        assert_eq!(s.text(), "hello\nworld");
        assert_eq!(s.bytes_fed(), 15);
        assert_eq!(s.generation(), 1);
        s.feed(b"!");
        assert_eq!(s.generation(), 2);
        assert_eq!(s.bytes_fed(), 16);
        assert_eq!(s.text(), "hello\nworld   !");
    }

    #[test]
    fn markers_are_stripped_across_feeds() {
        let mut s = TermScreen::new(3, 30);
        let marker = HookEvent::Notification.marker();
        let (a, b) = marker.as_bytes().split_at(7);
        assert!(s.feed(b"before ").is_empty());
        assert!(s.feed(a).is_empty());
        assert_eq!(
            s.feed(&[b, b"after"].concat()),
            vec![HookEvent::Notification]
        );
        assert_eq!(s.text(), "before after");
        assert_eq!(s.bytes_fed(), (7 + marker.len() + 5) as u64);
    }

    #[test]
    fn copies_are_caught_and_queries_answered_with_nothing() {
        let mut s = TermScreen::new(3, 30);
        s.feed(b"a\x1b]52;c;aGVsbG8=\x07b\x1b]52;c;?\x07c");
        assert_eq!(s.take_copy(), Some(Copied::Text(b"hello".to_vec())));
        assert_eq!(s.take_copy(), None);
        assert_eq!(s.clipboard_queries(), 1);
        assert_eq!(s.text(), "abc");
        // A parked screen comes back from its state, which holds no clipboard escapes.
        let state = s.state_formatted();
        assert!(!state.windows(3).any(|w| w == b"]52"));
    }

    #[test]
    fn input_modes_follow_the_program() {
        let mut s = TermScreen::new(3, 10);
        assert_eq!(s.input_modes(), InputModes::default());
        s.feed(b"\x1b[?1h");
        assert!(s.input_modes().application_cursor);
        assert!(!s.input_modes().bracketed_paste);
        s.feed(b"\x1b[?2004h\x1b[?1l");
        assert_eq!(
            s.input_modes(),
            InputModes {
                application_cursor: false,
                bracketed_paste: true
            }
        );
    }

    #[test]
    fn resize_changes_size_and_generation() {
        let mut s = TermScreen::new(3, 10);
        s.resize(10, 40);
        assert_eq!(s.size(), (10, 40));
        assert_eq!(s.generation(), 1);
        s.resize(10, 40);
        assert_eq!(s.generation(), 1, "the same size: nothing to redraw");
        s.feed(b"");
        assert_eq!(s.generation(), 1, "no output: nothing to redraw");
        s.resize(0, 0);
        assert_eq!(s.size(), (1, 1));
        assert_eq!(s.generation(), 2);
    }

    fn numbered(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| format!("line {i}\r\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn scrollback() {
        let mut s = TermScreen::new(3, 10);
        s.feed(&numbered(10));
        // 10 lines and the cursor on an empty 11th: lines 8 and 9 are on screen.
        assert_eq!(s.text(), "line 8\nline 9");
        assert_eq!(s.scrollback_len(), 8);
        let g = s.generation();
        s.scroll_up(2);
        assert_eq!(s.scrollback_offset(), 2);
        assert!(s.generation() > g);
        assert_eq!(s.text(), "line 6\nline 7\nline 8");
        assert_eq!(s.live_text(), "line 8\nline 9");
        assert_eq!(s.scrollback_offset(), 2);
        assert_eq!(s.cursor(), None);
        s.scroll_up(100);
        assert_eq!(s.scrollback_offset(), 8);
        assert_eq!(s.text(), "line 0\nline 1\nline 2");
        s.scroll_down(7);
        assert_eq!(s.scrollback_offset(), 1);
        s.scroll_to_bottom();
        assert_eq!(s.scrollback_offset(), 0);
        assert_eq!(s.text(), "line 8\nline 9");
        let g = s.generation();
        s.scroll_down(1);
        assert_eq!(s.generation(), g, "no change, no new generation");
    }

    #[test]
    fn scrolled_view_stays_put_while_output_arrives() {
        let mut s = TermScreen::new(3, 10);
        s.feed(&numbered(10));
        s.scroll_up(2);
        assert_eq!(s.text(), "line 6\nline 7\nline 8");
        s.feed(b"more 1\r\nmore 2\r\n");
        assert_eq!(s.scrollback_offset(), 4);
        assert_eq!(s.text(), "line 6\nline 7\nline 8");
        assert_eq!(s.live_text(), "more 1\nmore 2");
    }

    fn render(s: &TermScreen, w: u16, h: u16, cursor: bool) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        TermView::new(s)
            .show_cursor(cursor)
            .render(buf.area, &mut buf);
        buf
    }

    #[test]
    fn colours_and_attributes() {
        let mut s = TermScreen::new(2, 10);
        s.feed(b"\x1b[1;31ma\x1b[0;3;4;38;5;200;48;2;1;2;3mb\x1b[0;7;2;94;42mc\x1b[0md");
        let buf = render(&s, 10, 2, false);
        let a = &buf[(0, 0)];
        assert_eq!((a.symbol(), a.fg, a.bg), ("a", Color::Red, Color::Reset));
        assert_eq!(a.modifier, Modifier::BOLD);
        let b = &buf[(1, 0)];
        assert_eq!((b.fg, b.bg), (Color::Indexed(200), Color::Rgb(1, 2, 3)));
        assert_eq!(b.modifier, Modifier::ITALIC | Modifier::UNDERLINED);
        let c = &buf[(2, 0)];
        assert_eq!((c.fg, c.bg), (Color::LightBlue, Color::Green));
        assert_eq!(c.modifier, Modifier::REVERSED | Modifier::DIM);
        let d = &buf[(3, 0)];
        assert_eq!(
            (d.symbol(), d.fg, d.bg, d.modifier),
            ("d", Color::Reset, Color::Reset, Modifier::empty())
        );
    }

    #[test]
    fn cursor_is_a_reversed_cell() {
        let mut s = TermScreen::new(3, 10);
        s.feed(b"ab\x1b[7mc\x1b[0m\x1b[1;3H");
        let buf = render(&s, 10, 3, true);
        assert_eq!(buf[(2, 0)].symbol(), "c");
        // Already reversed text under the cursor shows un-reversed.
        assert_eq!(buf[(2, 0)].modifier, Modifier::empty());
        let buf = render(&s, 10, 3, false);
        assert_eq!(buf[(2, 0)].modifier, Modifier::REVERSED);
        s.feed(b"\x1b[2;5H");
        let buf = render(&s, 10, 3, true);
        assert_eq!(buf[(4, 1)].modifier, Modifier::REVERSED);
        assert_eq!(buf[(2, 0)].modifier, Modifier::REVERSED);
        // Hidden by the program.
        s.feed(b"\x1b[?25l");
        let buf = render(&s, 10, 3, true);
        assert_eq!(buf[(4, 1)].modifier, Modifier::empty());
    }

    #[test]
    fn wide_chars() {
        let mut s = TermScreen::new(2, 6);
        s.feed("a中b".as_bytes());
        let buf = render(&s, 6, 2, false);
        assert_eq!(buf[(0, 0)].symbol(), "a");
        assert_eq!(buf[(1, 0)].symbol(), "中");
        assert_eq!(buf[(3, 0)].symbol(), "b");
        assert_eq!(buf[(4, 0)].symbol(), " ");
        // Cut by a narrower area: half a wide char becomes a blank.
        let buf = render(&s, 2, 2, false);
        assert_eq!(buf[(0, 0)].symbol(), "a");
        assert_eq!(buf[(1, 0)].symbol(), " ");
    }

    #[test]
    fn a_screen_larger_than_the_area_is_cut_never_rewrapped() {
        // Drawn for another client's 6x12 tty; shown in a 3x8 area.
        let mut s = TermScreen::new(6, 12);
        s.feed("one\r\ntwo\r\n────────────\r\n> typed text".as_bytes());
        let buf = render(&s, 8, 3, false);
        let rows: Vec<String> = (0..3)
            .map(|y| (0..8).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect();
        // The prompt line stays in view; the rule is cut, not wrapped onto the next row.
        assert_eq!(rows, vec!["two     ", "────────", "> typed "]);
        // Fits: nothing cut.
        assert_eq!(s.rows_cut_for(6), 0);
        assert_eq!(s.rows_cut_for(3), 1);
    }

    #[test]
    fn area_larger_than_screen_is_blanked() {
        let mut s = TermScreen::new(2, 3);
        s.feed(b"abc\r\ndef");
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 4));
        for cell in buf.content.iter_mut() {
            cell.set_symbol("x");
        }
        TermView::new(&s)
            .show_cursor(false)
            .render(Rect::new(1, 1, 5, 3), &mut buf);
        let rows: Vec<String> = (0..4)
            .map(|y| (0..6).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect();
        assert_eq!(rows, vec!["xxxxxx", "xabc  ", "xdef  ", "x     "]);
    }
}
