//! What a sandbox's raw output may pass on to the user's own terminal (`cctui exec`, `shell`,
//! `run` and `login` write it unrendered): everything but the sequences that reach the
//! clipboard or ask the terminal for an answer it would type back into the sandbox. Dropped:
//! every OSC 52 (a read would carry the host's clipboard in; a write is the dashboard's to
//! make, as its own), every OSC that asks (`?`), and every DCS (tmux passthrough could
//! smuggle either past tmux).

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
/// An OSC longer than this is not a title or a link: it is dropped whole.
const MAX_OSC: usize = 4096;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    Escape,
    Osc,
    OscEscape,
    Dcs,
    DcsEscape,
}

/// A streaming filter: feed it output in any pieces; a sequence split across pieces is
/// decided when it ends.
#[derive(Debug, Default)]
pub struct OutwardFilter {
    state: State,
    osc: Vec<u8>,
    osc_too_long: bool,
    /// How many sequences were held back, for a test or a status line.
    pub dropped: u64,
}

impl OutwardFilter {
    /// The part of `input` that may reach the outer terminal.
    pub fn pass(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            self.state = match (self.state, b) {
                (State::Ground, ESC) => State::Escape,
                (State::Ground, _) => {
                    out.push(b);
                    State::Ground
                }
                (State::Escape, b']') => {
                    self.osc.clear();
                    self.osc_too_long = false;
                    State::Osc
                }
                (State::Escape, b'P') => State::Dcs,
                (State::Escape, ESC) => {
                    out.push(ESC);
                    State::Escape
                }
                (State::Escape, _) => {
                    out.extend_from_slice(&[ESC, b]);
                    State::Ground
                }
                (State::Osc, BEL) => self.end_osc(&mut out, &[BEL]),
                (State::Osc, ESC) => State::OscEscape,
                (State::Osc, _) => {
                    self.keep_osc(b);
                    State::Osc
                }
                (State::OscEscape, b'\\') => self.end_osc(&mut out, b"\x1b\\"),
                (State::OscEscape, _) => {
                    self.keep_osc(ESC);
                    self.keep_osc(b);
                    State::Osc
                }
                (State::Dcs, ESC) => State::DcsEscape,
                (State::Dcs, _) => State::Dcs,
                (State::DcsEscape, b'\\') => {
                    self.dropped += 1;
                    State::Ground
                }
                (State::DcsEscape, _) => State::Dcs,
            };
        }
        out
    }

    fn keep_osc(&mut self, b: u8) {
        if self.osc.len() < MAX_OSC {
            self.osc.push(b);
        } else {
            self.osc_too_long = true;
        }
    }

    fn end_osc(&mut self, out: &mut Vec<u8>, terminator: &[u8]) -> State {
        let body = &self.osc;
        let clipboard = body.starts_with(b"52;");
        let asks = body.split(|&c| c == b';').skip(1).any(|p| p == b"?");
        if clipboard || asks || self.osc_too_long {
            self.dropped += 1;
        } else {
            out.extend_from_slice(b"\x1b]");
            out.extend_from_slice(body);
            out.extend_from_slice(terminator);
        }
        State::Ground
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(pieces: &[&[u8]]) -> (Vec<u8>, u64) {
        let mut f = OutwardFilter::default();
        let out = pieces.iter().flat_map(|p| f.pass(p)).collect();
        (out, f.dropped)
    }

    #[test]
    fn text_colours_titles_and_links_pass_unchanged() {
        let text: &[u8] =
            b"ls\r\n\x1b[1;32mok\x1b[0m \x1b]0;title\x07\x1b]8;;http://x\x1b\\x\x1b]8;;\x1b\\";
        assert_eq!(through(&[text]), (text.to_vec(), 0));
        // Split anywhere, the same.
        let halves: Vec<&[u8]> = text.chunks(3).collect();
        assert_eq!(through(&halves).0, text);
    }

    #[test]
    fn clipboard_reads_writes_queries_and_dcs_never_pass() {
        let (out, dropped) = through(&[
            b"a\x1b]52;c;?\x07b\x1b]52;c;aGk=\x1b\\c\x1b]11;?\x07d",
            b"\x1bPtmux;\x1b\x1b]52;c;?\x07\x1b\\e\x1bP$qm\x1b\\f",
        ]);
        assert_eq!(String::from_utf8(out).unwrap(), "abcdef");
        assert_eq!(dropped, 5);
        // A clipboard read split across pieces is caught too.
        let (out, _) = through(&[b"x\x1b]5", b"2;c;", b"?\x1b", b"\\y"]);
        assert_eq!(out, b"xy");
    }

    #[test]
    fn an_endless_osc_is_dropped_whole() {
        let mut long = b"\x1b]0;".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_OSC + 10));
        long.extend(b"\x07after");
        assert_eq!(through(&[&long]).0, b"after");
    }
}
