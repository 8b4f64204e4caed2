//! OSC 52, the clipboard escape, as the session's screen sees it: copies (`ESC ] 52 ; c ;
//! <base64> BEL`) are caught and decoded, queries (`ESC ] 52 ; c ; ?`) are counted and
//! answered with nothing. Nothing the program printed is ever passed on as it was: a copy
//! that goes out is cctui's own escape, built by [`set_clipboard`] from the decoded bytes.

use base64::Engine;

/// The most bytes one copy may carry (decoded). A larger one is not forwarded.
pub const MAX_COPY_BYTES: usize = 1 << 20;

/// What a program copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copied {
    /// The decoded bytes, at most [`MAX_COPY_BYTES`].
    Text(Vec<u8>),
    /// A copy over the cap, by its decoded size: dropped.
    TooLarge(usize),
}

/// The vt100 callbacks that catch OSC 52: the latest copy since it was last taken, and how
/// many clipboard reads were asked for (and refused).
#[derive(Debug, Default)]
pub struct ClipboardCatcher {
    copy: Option<Copied>,
    queries: u64,
}

impl ClipboardCatcher {
    /// The latest copy since the last call: a clipboard holds one thing, so an earlier copy
    /// in the same output is superseded.
    pub fn take(&mut self) -> Option<Copied> {
        self.copy.take()
    }

    pub fn queries(&self) -> u64 {
        self.queries
    }
}

impl vt100::Callbacks for ClipboardCatcher {
    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, _ty: &[u8], data: &[u8]) {
        // Base64 is 4 bytes per 3: no need to decode what is over the cap anyway.
        let decoded_len = data.len() / 4 * 3;
        if decoded_len > MAX_COPY_BYTES + 3 {
            self.copy = Some(Copied::TooLarge(decoded_len));
            return;
        }
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
            return;
        };
        self.copy = match bytes.len() {
            0 => None,
            n if n > MAX_COPY_BYTES => Some(Copied::TooLarge(n)),
            _ => Some(Copied::Text(bytes)),
        };
    }

    /// A read of the user's clipboard would carry it into the sandbox: never answered.
    fn paste_from_clipboard(&mut self, _: &mut vt100::Screen, _ty: &[u8]) {
        self.queries += 1;
    }
}

/// cctui's own OSC 52 that sets the clipboard to `bytes`, BEL-terminated (understood by
/// every terminal that knows OSC 52, tmux included).
pub fn set_clipboard(bytes: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("\x1b]52;c;{encoded}\x07").into_bytes()
}

/// [`set_clipboard`] inside tmux's passthrough (`allow-passthrough on`): for when tmux's own
/// `load-buffer -w` is not there.
pub fn set_clipboard_through_tmux(bytes: &[u8]) -> Vec<u8> {
    let inner = String::from_utf8(set_clipboard(bytes)).expect("base64 is ASCII");
    format!("\x1bPtmux;{}\x1b\\", inner.replace('\x1b', "\x1b\x1b")).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> vt100::Parser<ClipboardCatcher> {
        let n = std::num::NonZeroU16::new(10).unwrap();
        vt100::Parser::new_with_callbacks(n, n, 0, ClipboardCatcher::default())
    }

    #[test]
    fn a_copy_is_decoded_and_the_latest_wins() {
        let mut p = parser();
        p.process(b"\x1b]52;c;Zmlyc3Q=\x07\x1b]52;c;aGVsbG8=\x1b\\");
        assert_eq!(
            p.callbacks_mut().take(),
            Some(Copied::Text(b"hello".to_vec()))
        );
        assert_eq!(p.callbacks_mut().take(), None, "taken once");
        // Split across two pieces of output.
        p.process(b"\x1b]52;p;aG");
        assert_eq!(p.callbacks_mut().take(), None);
        p.process(b"k=\x07");
        assert_eq!(p.callbacks_mut().take(), Some(Copied::Text(b"hi".to_vec())));
    }

    #[test]
    fn queries_bad_base64_and_empty_copies_give_nothing() {
        let mut p = parser();
        p.process(b"\x1b]52;c;?\x07\x1b]52;;?\x1b\\\x1b]52;c;!!!\x07\x1b]52;c;\x07");
        assert_eq!(p.callbacks_mut().take(), None);
        assert_eq!(p.callbacks().queries(), 2);
        assert_eq!(p.screen().contents(), "", "nothing drawn");
    }

    #[test]
    fn a_copy_over_the_cap_is_dropped_by_size() {
        let mut p = parser();
        let big = set_clipboard(&vec![b'x'; MAX_COPY_BYTES + 1]);
        p.process(&big);
        assert_eq!(
            p.callbacks_mut().take(),
            Some(Copied::TooLarge(MAX_COPY_BYTES + 1))
        );
        p.process(&set_clipboard(&vec![b'y'; MAX_COPY_BYTES]));
        assert!(
            matches!(p.callbacks_mut().take(), Some(Copied::Text(t)) if t.len() == MAX_COPY_BYTES)
        );
    }

    #[test]
    fn cctuis_own_escape_round_trips_and_carries_no_control_bytes() {
        let raw = b"a\x1b]52;c;?\x07\x9b\nz";
        let out = set_clipboard(raw);
        assert!(out.starts_with(b"\x1b]52;c;") && out.ends_with(b"\x07"));
        let body = &out[7..out.len() - 1];
        assert!(body
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)));
        let mut p = parser();
        p.process(&out);
        assert_eq!(p.callbacks_mut().take(), Some(Copied::Text(raw.to_vec())));
        let wrapped = set_clipboard_through_tmux(b"hi");
        assert_eq!(wrapped, b"\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\".to_vec());
    }
}
