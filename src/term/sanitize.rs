//! The one gate for agent-derived bytes on their way to the user's terminal. Two
//! allowlists, one owner each:
//!
//! - [`text`]: for everything cctui prints as text (diffs, proposal reviews, logs, the
//!   firewall's log, `ls`, `watch`, errors that quote names or git). Printable UTF-8, `\n`
//!   and `\t` pass; every other byte or char is shown, visibly and distinctly (`^[`,
//!   `<U+202E>`, `\x9b`), never interpreted. cctui's own styling is added after this.
//! - [`StreamFilter`]: for the raw terminal stream of `exec`, `shell`, `run` and `login`. A VT
//!   parser that passes text and the CSI/ESC sequences on its allowlist (cursor, erase,
//!   colour, scrolling, a safe set of modes) and drops everything else whole: OSC, DCS, APC,
//!   PM, SOS, every C1 control (8-bit or UTF-8), every query or report request.

use std::io::IsTerminal;

use super::ignorable::default_ignorable;

/// How a refused byte or char is marked: in reverse video for a terminal, plain otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Reverse,
    Plain,
}

impl Mark {
    /// Reverse video if stdout is a terminal.
    pub fn stdout() -> Mark {
        Self::when(std::io::stdout().is_terminal())
    }

    /// Reverse video if stderr is a terminal.
    pub fn stderr() -> Mark {
        Self::when(std::io::stderr().is_terminal())
    }

    pub fn when(terminal: bool) -> Mark {
        if terminal {
            Mark::Reverse
        } else {
            Mark::Plain
        }
    }
}

/// A char that may reach a terminal as itself: not a control (C0, DEL, C1), not one drawn
/// as nothing or that reorders what is shown (Unicode's whole Default_Ignorable set: bidi
/// controls, zero-width chars, variation selectors, Hangul fillers, tags), not a line or
/// paragraph separator or an interlinear annotation mark.
pub fn printable(c: char) -> bool {
    if c == '\n' || c == '\t' {
        return true;
    }
    !c.is_control()
        && !default_ignorable(c)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FFF9}'..='\u{FFFB}')
}

/// `input` as text safe for a terminal: see the module. Invalid UTF-8 shows as `\xNN`.
pub fn text(input: &[u8], mark: Mark) -> String {
    let mut out = String::with_capacity(input.len());
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            if printable(c) {
                out.push(c);
            } else {
                marked(&mut out, &shown_char(c), mark);
            }
        }
        for b in chunk.invalid() {
            marked(&mut out, &format!("\\x{b:02x}"), mark);
        }
    }
    out
}

/// [`text`] of a `str`.
pub fn text_str(input: &str, mark: Mark) -> String {
    text(input.as_bytes(), mark)
}

/// [`text`] for a line bound for stdout.
pub fn for_stdout(input: &str) -> String {
    text_str(input, Mark::stdout())
}

/// [`text`] for a line bound for stderr.
pub fn for_stderr(input: &str) -> String {
    text_str(input, Mark::stderr())
}

/// Where `input` has a char that [`text`] would not pass as itself: (line, column), 1-based.
pub fn first_hidden(input: &[u8]) -> Option<(usize, usize)> {
    let mut line = 1;
    let mut column = 1;
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            if !printable(c) {
                return Some((line, column));
            }
            if c == '\n' {
                (line, column) = (line + 1, 1);
            } else {
                column += 1;
            }
        }
        if !chunk.invalid().is_empty() {
            return Some((line, column));
        }
    }
    None
}

fn shown_char(c: char) -> String {
    match c as u32 {
        n @ 0..=0x1f => format!("^{}", char::from(n as u8 + 0x40)),
        0x7f => "^?".into(),
        n => format!("<U+{n:04X}>"),
    }
}

fn marked(out: &mut String, shown: &str, mark: Mark) {
    match mark {
        Mark::Reverse => {
            out.push_str("\x1b[7m");
            out.push_str(shown);
            out.push_str("\x1b[27m");
        }
        Mark::Plain => out.push_str(shown),
    }
}

const ESC: u8 = 0x1b;
/// A CSI or ESC sequence longer than this is not one on the allowlist: dropped whole.
const MAX_SEQ: usize = 64;
/// `CSI ? Pm h/l` modes that change only how the screen is drawn or what the terminal sends
/// the program for keys and the mouse: cursor keys, autowrap, blink, cursor shown, the
/// alternate screen, mouse reports, focus, bracketed paste, synchronized output.
const SAFE_PRIVATE_MODES: &[u32] = &[
    1, 7, 12, 25, 47, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1047, 1048, 1049, 2004, 2026,
];

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    /// After ESC.
    Escape,
    /// After ESC and an intermediate byte: `ESC ( B`.
    EscapeIntermediate,
    /// In a CSI.
    Csi,
    /// In an OSC, DCS, APC, PM or SOS: all of it is dropped.
    Str,
    /// ESC inside a string: `\` ends it, anything else starts a new escape.
    StrEscape,
}

/// The interactive stream's filter: feed output in any pieces; split anywhere, the output
/// is the same. What it emits is only printable text, allowed C0 controls and complete
/// allowed sequences, so the terminal behind it is back in its ground state after each.
#[derive(Debug, Default)]
pub struct StreamFilter {
    state: State,
    /// The sequence being read (ESC included), up to [`MAX_SEQ`].
    seq: Vec<u8>,
    /// The sequence is dropped whatever it ends with (too long, or begun by a C1 byte).
    doomed: bool,
    /// The bytes of a UTF-8 char not yet complete.
    utf8: Vec<u8>,
    /// How many sequences or controls were held back, for a test or a status line.
    pub dropped: u64,
    /// The alternate screen was last set on by what passed: [`StreamFilter::reset`] leaves it.
    alternate_screen: bool,
}

/// Written to the user's terminal when a filtered stream ends, so no mode the sandbox set
/// outlives it: mouse reports, focus, bracketed paste, synchronized output, insert mode,
/// charsets, the scroll region (inside a cursor save, as DECSTBM homes the cursor),
/// colours, the cursor's look, cursor and keypad keys, autowrap.
pub const TERMINAL_RESET: &[u8] = b"\x1b[?1000l\x1b[?1001l\x1b[?1002l\x1b[?1003l\
\x1b[?1005l\x1b[?1006l\x1b[?1004l\x1b[?2004l\x1b[?2026l\x1b[4l\x1b(B\x1b)B\x0f\
\x1b7\x1b[r\x1b8\x1b[0m\x1b[?25h\x1b[?12l\x1b[0 q\x1b[?1l\x1b>\x1b[?7h";

/// Leaves the alternate screen (and restores the cursor saved on entering it); only sent
/// when the stream entered it, as on the main screen it would move the cursor.
const LEAVE_ALTERNATE_SCREEN: &[u8] = b"\x1b[?1049l";

/// The largest count a CSI may carry (REP `b`, ICH `@`, IL `L`, DL `M`, DCH `P`, ECH `X`,
/// SU `S`, SD `T`, ...): a bigger one makes the terminal do that much work per byte sent.
const MAX_CSI_PARAM: u32 = 1000;

impl StreamFilter {
    /// The part of `input` that may reach the outer terminal.
    pub fn pass(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            self.byte(b, &mut out);
        }
        out
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        if !self.utf8.is_empty() || b >= 0x80 {
            return self.utf8_byte(b, out);
        }
        match b {
            // CAN and SUB cancel a sequence, as in a VT.
            0x18 | 0x1a => self.abandon(),
            ESC => {
                if self.state != State::Ground && !matches!(self.state, State::Str) {
                    self.abandon();
                }
                if self.state == State::Str {
                    self.state = State::StrEscape;
                } else {
                    self.begin(State::Escape, b);
                }
            }
            _ => self.ascii(b, out),
        }
    }

    fn ascii(&mut self, b: u8, out: &mut Vec<u8>) {
        match self.state {
            State::Ground => match b {
                b'\r' | b'\n' | b'\t' | 0x08 | 0x07 | 0x20..=0x7e => out.push(b),
                _ => self.dropped += 1,
            },
            State::Str => {
                if b == 0x07 {
                    self.finish_str();
                }
            }
            State::StrEscape => {
                if b == b'\\' {
                    self.finish_str();
                } else {
                    // ESC ended the string and begins a new escape with `b`.
                    self.finish_str();
                    self.begin(State::Escape, ESC);
                    self.ascii(b, out);
                }
            }
            _ if b < 0x20 || b == 0x7f => self.dropped += 1,
            State::Escape => self.after_escape(b, out),
            State::EscapeIntermediate => {
                self.push_seq(b);
                if (0x30..=0x7e).contains(&b) {
                    let allowed = matches!(&self.seq[1..], b"(B" | b"(0" | b")B" | b")0");
                    self.finish(allowed, out);
                }
            }
            State::Csi => {
                self.push_seq(b);
                if (0x40..=0x7e).contains(&b) {
                    let allowed = csi_allowed(&self.seq[2..]);
                    self.finish(allowed, out);
                }
            }
        }
    }

    fn after_escape(&mut self, b: u8, out: &mut Vec<u8>) {
        self.push_seq(b);
        match b {
            b'[' => self.state = State::Csi,
            b']' | b'P' | b'_' | b'^' | b'X' => self.state = State::Str,
            0x20..=0x2f => self.state = State::EscapeIntermediate,
            b'7' | b'8' | b'M' | b'D' | b'E' | b'=' | b'>' => self.finish(true, out),
            _ => self.finish(false, out),
        }
    }

    /// A byte of 0x80 or more: part of a UTF-8 char, or a raw C1 control or stray byte.
    fn utf8_byte(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.utf8.is_empty() {
            if (0x80..=0xbf).contains(&b) {
                // Not a UTF-8 lead: a raw 8-bit byte; 0x80..0x9f are C1 controls.
                return self.non_text(u32::from(b));
            }
            self.utf8.push(b);
            return;
        }
        if !(0x80..=0xbf).contains(&b) {
            // The char was cut short: it is dropped, and `b` starts afresh.
            self.utf8.clear();
            self.dropped += 1;
            return self.byte(b, out);
        }
        self.utf8.push(b);
        let need = match self.utf8[0] {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 0,
        };
        if self.utf8.len() < need {
            return;
        }
        let bytes = std::mem::take(&mut self.utf8);
        match std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.chars().next())
        {
            Some(c) if !c.is_control() => {
                if self.state == State::Ground {
                    out.extend_from_slice(&bytes);
                } else if self.state != State::Str {
                    // Text inside an ESC or CSI sequence: the sequence is broken.
                    self.abandon();
                    out.extend_from_slice(&bytes);
                }
            }
            Some(c) => self.non_text(c as u32),
            None => self.dropped += 1,
        }
    }

    /// A C1 control (8-bit or UTF-8) or a byte that is no text: never passed. One that would
    /// open a sequence opens a dropped one, so what it carries is not shown as text either.
    fn non_text(&mut self, c: u32) {
        self.dropped += 1;
        if self.state == State::Str || self.state == State::StrEscape {
            if c == 0x9c {
                self.finish_str();
            }
            return;
        }
        self.seq.clear();
        self.doomed = true;
        self.state = match c {
            0x9b => State::Csi,
            0x90 | 0x98 | 0x9d | 0x9e | 0x9f => State::Str,
            _ => State::Ground,
        };
        if self.state == State::Csi {
            // Keeps the slice `seq[2..]` in range for the check that follows.
            self.seq.extend_from_slice(&[ESC, b'[']);
        }
    }

    fn begin(&mut self, state: State, b: u8) {
        self.state = state;
        self.seq.clear();
        self.seq.push(b);
        self.doomed = false;
    }

    fn push_seq(&mut self, b: u8) {
        if self.seq.len() < MAX_SEQ {
            self.seq.push(b);
        } else {
            self.doomed = true;
        }
    }

    /// What to write to the terminal when the stream ends: see [`TERMINAL_RESET`].
    pub fn reset(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.alternate_screen {
            out.extend_from_slice(LEAVE_ALTERNATE_SCREEN);
        }
        out.extend_from_slice(TERMINAL_RESET);
        out
    }

    fn finish(&mut self, allowed: bool, out: &mut Vec<u8>) {
        if allowed && !self.doomed {
            if let Some(on) = sets_alternate_screen(&self.seq) {
                self.alternate_screen = on;
            }
            out.extend_from_slice(&self.seq);
        } else {
            self.dropped += 1;
        }
        self.seq.clear();
        self.doomed = false;
        self.state = State::Ground;
    }

    fn finish_str(&mut self) {
        self.dropped += 1;
        self.seq.clear();
        self.doomed = false;
        self.state = State::Ground;
    }

    /// An unfinished sequence is given up: nothing of it is passed.
    fn abandon(&mut self) {
        if self.state != State::Ground {
            self.dropped += 1;
        }
        self.seq.clear();
        self.doomed = false;
        self.state = State::Ground;
    }
}

/// Whether `seq` (passed whole) turns the alternate screen on or off.
fn sets_alternate_screen(seq: &[u8]) -> Option<bool> {
    let body = seq.strip_prefix(b"\x1b[?")?;
    let (&last, params) = body.split_last()?;
    let on = match last {
        b'h' => true,
        b'l' => false,
        _ => return None,
    };
    params
        .split(|&b| b == b';')
        .any(|p| matches!(p, b"47" | b"1047" | b"1049"))
        .then_some(on)
}

/// Whether a CSI's body (parameters, intermediates, final) is on the allowlist: cursor
/// moves, erase, SGR, scroll region, insert/delete, tabs, the cursor's shape, and the safe
/// private modes. Every query or report request (DSR `n`, DA `c`, window ops `t`, DECRQM
/// `$p`, ...) is off it.
fn csi_allowed(body: &[u8]) -> bool {
    let Some((&last, rest)) = body.split_last() else {
        return false;
    };
    let (private, rest) = match rest.first() {
        Some(&p @ (b'?' | b'<' | b'=' | b'>')) => (Some(p), &rest[1..]),
        _ => (None, rest),
    };
    let inter_at = rest.iter().position(|b| (0x20..=0x2f).contains(b));
    let (params, inter) = rest.split_at(inter_at.unwrap_or(rest.len()));
    let colon_ok = last == b'm' && private.is_none();
    let params_ok = params
        .iter()
        .all(|&b| b.is_ascii_digit() || b == b';' || (colon_ok && b == b':'));
    if !params_ok || inter.iter().any(|b| !(0x20..=0x2f).contains(b)) {
        return false;
    }
    let count = params.split(|&b| b == b';').count();
    let small = params.split(|&b| b == b';' || b == b':').all(|p| {
        p.is_empty()
            || std::str::from_utf8(p)
                .ok()
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|n| n <= MAX_CSI_PARAM)
    });
    // Private modes are numbers, not counts: they are checked against their list below.
    if private.is_none() && !small {
        return false;
    }
    match (private, inter, last) {
        (None, b"", b'A'..=b'H' | b'J' | b'K' | b'L' | b'M' | b'P' | b'X' | b'@') => true,
        (None, b"", b'a' | b'b' | b'd' | b'e' | b'f' | b'g' | b'`' | b'm' | b'r') => true,
        (None, b"", b'I' | b'Z') => true,
        (None, b"", b'S' | b'T') => count == 1,
        (None, b"", b's' | b'u') => params.is_empty(),
        (None, b"", b'h' | b'l') => params == b"4",
        (None, b" ", b'q') => count == 1,
        (Some(b'?'), b"", b'h' | b'l') => params.split(|&b| b == b';').all(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|m| SAFE_PRIVATE_MODES.contains(&m))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(pieces: &[&[u8]]) -> (Vec<u8>, u64) {
        let mut f = StreamFilter::default();
        let out = pieces.iter().flat_map(|p| f.pass(p)).collect();
        (out, f.dropped)
    }

    /// The same output whatever the pieces: whole, byte by byte, and in threes.
    fn filtered(input: &[u8]) -> Vec<u8> {
        let whole = through(&[input]).0;
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let threes: Vec<&[u8]> = input.chunks(3).collect();
        assert_eq!(through(&bytes).0, whole, "split byte by byte");
        assert_eq!(through(&threes).0, whole, "split in threes");
        whole
    }

    #[test]
    fn text_colours_cursor_and_modes_pass_unchanged() {
        let text: &[u8] = "ls\r\n\x1b[1;32mok\x1b[0m é 日本 \x1b[2J\x1b[H\x1b[5;10H\x1b[K\
            \x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[?1000;1006h\x1b[38:2:1:2:3m\x1b[3 q\
            \x1b[1;24r\x1b7\x1b8\x1bM\x1b(B\x1b=\x08\x07\t"
            .as_bytes();
        assert_eq!(filtered(text), text);
        assert_eq!(through(&[text]).1, 0);
    }

    #[test]
    fn osc_of_every_ending_is_dropped() {
        for seq in [
            &b"\x1b]52;c;aGk=\x07"[..],
            b"\x1b]52;c;?\x1b\\",
            b"\x1b]0;title\x07",
            b"\x1b]8;;http://evil/\x1b\\",
            b"\x1b]52;c;aGk=\x9c",
            "\x1b]52;c;aGk=\u{9c}".as_bytes(),
            b"\x9d52;c;aGk=\x07",
            "\u{9d}52;c;aGk=\u{9c}".as_bytes(),
            b"\x1b]11;?\x1b\x1b[31m",
        ] {
            let mut input = b"a".to_vec();
            input.extend_from_slice(seq);
            input.extend_from_slice(b"b");
            let out = filtered(&input);
            assert!(!out.windows(2).any(|w| w == b"\x1b]"), "{seq:?} -> {out:?}");
            assert!(
                out.starts_with(b"a") && out.ends_with(b"b"),
                "{seq:?} -> {out:?}"
            );
            assert!(!out.iter().any(|&b| (0x80..0xa0).contains(&b)), "{seq:?}");
        }
        // No ending: nothing after it passes as text, and nothing of it.
        assert_eq!(filtered(b"a\x1b]52;c;aGk="), b"a");
    }

    #[test]
    fn dcs_apc_pm_sos_and_tmux_passthrough_are_dropped() {
        let input: &[u8] = b"a\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\b\x1bP$qm\x1b\\c\
            \x1b_Gf=100;AAAA\x1b\\d\x1b^pm\x1b\\e\x1bXsos\x1b\\f\x90tmux;x\x9cg";
        assert_eq!(filtered(input), b"abcdefg");
    }

    #[test]
    fn c1_controls_raw_or_utf8_never_pass() {
        // 8-bit CSI and its UTF-8 spelling open a sequence that is dropped whole.
        assert_eq!(filtered(b"a\x9b6nb\x9b31mc"), b"abc");
        assert_eq!(filtered("a\u{9b}6nb\u{85}c\u{8d}d".as_bytes()), b"abcd");
        // Invalid UTF-8 (stray, overlong C1, cut short) is dropped; good chars around it stay.
        assert_eq!(filtered(b"a\xc0\x9bb\xe0\x82\x9bc\xe2\x82d\xffe"), b"abcde");
    }

    #[test]
    fn queries_and_reports_are_dropped() {
        for q in [
            &b"\x1b[6n"[..],
            b"\x1b[5n",
            b"\x1b[c",
            b"\x1b[>c",
            b"\x1b[=c",
            b"\x1b[18t",
            b"\x1b[21t",
            b"\x1b[?2026$p",
            b"\x1b[2$p",
            b"\x1b[?u",
            b"\x1b[>1u",
            b"\x1b[?6n",
            b"\x1b[x",
            b"\x1b[?1049;2026;9999h",
            b"\x1b[?69h",
            b"\x1b[1;2;3;4;5T",
            b"\x1bc",
            b"\x1b#8",
            b"\x1bZ",
        ] {
            assert_eq!(filtered(q), b"", "{q:?}");
        }
    }

    #[test]
    fn a_count_over_the_cap_drops_the_sequence() {
        for last in ["b", "@", "L", "M", "P", "X", "S", "T", "A", "G", "m"] {
            let ok = format!("x\x1b[1000{last}");
            assert_eq!(filtered(ok.as_bytes()), ok.as_bytes(), "{last}");
            let big = format!("x\x1b[1001{last}y\x1b[2;99999999{last}z");
            assert_eq!(filtered(big.as_bytes()), b"xyz", "{last}");
        }
        assert_eq!(filtered(b"\x1b[38:2::1001:0:0m"), b"");
    }

    #[test]
    fn the_reset_undoes_every_mode_that_passes_and_leaves_only_a_used_alternate_screen() {
        let mut f = StreamFilter::default();
        f.pass(b"\x1b[?1000;1006h\x1b[?2004h\x1b(0\x1b[4h\x1b[2;10r");
        let reset = f.reset();
        assert_eq!(reset, TERMINAL_RESET, "no alternate screen was entered");
        for undo in [
            &b"\x1b[?1000l"[..],
            b"\x1b[?1006l",
            b"\x1b[?2004l",
            b"\x1b(B",
            b"\x1b[4l",
            b"\x1b[r",
        ] {
            assert!(reset.windows(undo.len()).any(|w| w == undo), "{undo:?}");
        }
        f.pass(b"\x1b[?1049h");
        assert!(f.reset().starts_with(LEAVE_ALTERNATE_SCREEN));
        f.pass(b"\x1b[?1049l");
        assert_eq!(f.reset(), TERMINAL_RESET);
        // Every mode the filter lets through is one the reset turns off.
        for &mode in SAFE_PRIVATE_MODES {
            let off = format!("\x1b[?{mode}l");
            let mut f = StreamFilter::default();
            f.pass(format!("\x1b[?{mode}h").as_bytes());
            let reset = String::from_utf8(f.reset()).unwrap();
            let kept_on = [7, 25].contains(&mode); // autowrap, cursor: on is their default
            assert!(
                kept_on || reset.contains(&off) || [47, 1047, 1048].contains(&mode),
                "{mode}"
            );
        }
    }

    #[test]
    fn a_sequence_longer_than_the_cap_is_dropped_whole() {
        let mut long = b"\x1b[".to_vec();
        long.extend(std::iter::repeat_n(b'1', MAX_SEQ + 10));
        long.extend(b"mafter");
        assert_eq!(filtered(&long), b"after");
        let mut osc = b"\x1b]0;".to_vec();
        osc.extend(std::iter::repeat_n(b'x', 100_000));
        osc.extend(b"\x07after");
        assert_eq!(filtered(&osc), b"after");
    }

    #[test]
    fn text_shows_every_control_visibly() {
        let input = "ok\t\x1b]52;c;aGk=\x07\r\x7f \u{9b}\u{202e}\u{2066}\u{200b}é\n".as_bytes();
        assert_eq!(
            text(input, Mark::Plain),
            "ok\t^[]52;c;aGk=^G^M^? <U+009B><U+202E><U+2066><U+200B>é\n"
        );
        let mut bad = b"a\x9bb\xff".to_vec();
        bad.extend_from_slice(b"\x1b[2K");
        assert_eq!(text(&bad, Mark::Plain), "a\\x9bb\\xff^[[2K");
        assert_eq!(
            text(b"\x1b", Mark::Reverse),
            "\x1b[7m^[\x1b[27m",
            "reverse video, closed so cctui's own colour goes on"
        );
        // The only ESC in a reverse-video result is cctui's own mark.
        let shown = text(input, Mark::Reverse);
        assert_eq!(shown.matches('\x1b').count(), 2 * 8);
    }

    #[test]
    fn chars_drawn_as_nothing_are_shown_and_found() {
        // The "invisible identifier" backdoor: a Hangul filler as a name, variation
        // selectors and musical format chars as blank text.
        for c in [
            '\u{3164}',
            '\u{115F}',
            '\u{1160}',
            '\u{FFA0}',
            '\u{034F}',
            '\u{17B4}',
            '\u{17B5}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{E0100}',
            '\u{E01EF}',
            '\u{1D173}',
            '\u{1D17A}',
        ] {
            let line = format!("if(\u{3164}x{c})");
            let shown = text_str(&line, Mark::Plain);
            assert!(shown.chars().all(printable), "{:x}: {shown}", c as u32);
            assert!(shown.contains(&format!("<U+{:04X}>", c as u32)), "{shown}");
            assert_eq!(first_hidden(line.as_bytes()), Some((1, 4)));
            assert_eq!(first_hidden(format!("ok{c}").as_bytes()), Some((1, 3)));
        }
    }

    #[test]
    fn first_hidden_names_line_and_column() {
        assert_eq!(first_hidden(b"a\nb\tc\n"), None);
        assert_eq!(first_hidden(b"a\nbc\x1b[2A"), Some((2, 3)));
        assert_eq!(first_hidden("x\n\u{202e}".as_bytes()), Some((2, 1)));
        assert_eq!(first_hidden(b"ab\xff"), Some((1, 3)));
    }
}
