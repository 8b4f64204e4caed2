//! A container's log as a person reads it: the byte stream played through a terminal
//! emulator, and the lines it leaves (scrollback, then the screen). A full-screen program's
//! redraws land on the same rows instead of repeating, so `cctui logs --tail N` shows N
//! lines of what the screen said, not N redraws.

use std::num::NonZeroU16;

/// Columns of the emulated terminal: wide, so that no line of a program sized to another
/// terminal wraps.
const COLS: NonZeroU16 = NonZeroU16::new(400).unwrap();
/// Rows of the emulated screen.
const ROWS: NonZeroU16 = NonZeroU16::new(60).unwrap();
/// Lines kept above the screen: a bound on what the agent's output costs to render.
const SCROLLBACK: usize = 20_000;

/// Renders a log stream as text lines.
pub struct LogText {
    parser: vt100::Parser,
}

impl Default for LogText {
    fn default() -> Self {
        Self::new()
    }
}

impl LogText {
    pub fn new() -> Self {
        LogText {
            parser: vt100::Parser::new(ROWS, COLS, SCROLLBACK),
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
    }

    /// The last `n` lines of what the terminal holds (scrollback, then the screen), trailing
    /// blanks removed, empty rows at the end dropped. Still raw: the caller sanitizes.
    pub fn last_lines(&mut self, n: usize) -> Vec<String> {
        let mut lines = self.all_lines();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let start = lines.len().saturating_sub(n);
        lines.split_off(start)
    }

    fn all_lines(&mut self) -> Vec<String> {
        let screen = self.parser.screen_mut();
        screen.set_scrollback(usize::MAX);
        let held = screen.scrollback();
        let mut lines = Vec::with_capacity(held + ROWS.get() as usize);
        // Each view shows ROWS lines starting `offset` lines above the screen's top.
        let mut offset = held;
        loop {
            self.parser.screen_mut().set_scrollback(offset);
            let rows = if offset == 0 {
                ROWS.get() as usize
            } else {
                offset.min(ROWS.get() as usize)
            };
            lines.extend(
                self.parser
                    .screen()
                    .rows(0, COLS.get())
                    .take(rows)
                    .map(|r| r.trim_end().to_string()),
            );
            if offset == 0 {
                break;
            }
            offset -= rows;
        }
        self.parser.screen_mut().set_scrollback(0);
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redraws_by_cursor_moves_read_as_one_screen() {
        let mut t = LogText::new();
        for i in 0..16 {
            t.feed(format!("\x1b[2J\x1b[1;1Hsplash {i}\x1b[2;1Hprompt >").as_bytes());
        }
        assert_eq!(t.last_lines(5), vec!["splash 15", "prompt >"]);
    }

    #[test]
    fn scrolled_lines_come_before_the_screen_in_order() {
        let mut t = LogText::new();
        for i in 0..150 {
            t.feed(format!("line {i}\r\n").as_bytes());
        }
        let all = t.last_lines(1000);
        assert_eq!(all.len(), 150);
        assert_eq!(all[0], "line 0");
        assert_eq!(all[149], "line 149");
        assert_eq!(t.last_lines(3), vec!["line 147", "line 148", "line 149"]);
    }
}
