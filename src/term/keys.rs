//! Turning crossterm key events into the bytes an xterm-compatible terminal would send, and
//! parsing key names from the config ("ctrl-\\", "f12", "alt-x") into matchers.
//!
//! The encoder follows xterm's defaults: legacy control bytes for Ctrl+key, an ESC prefix for
//! Alt, `CSI 1 ; m X` / `CSI n ; m ~` with the modifier parameter `m = 1 + shift + 2*alt +
//! 4*ctrl` for modified cursor and function keys, and SS3 (`ESC O X`) for unmodified cursor
//! keys in application-cursor mode and for F1-F4.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// The terminal modes that change what a key sends, as last set by the program inside.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputModes {
    /// DECCKM (`CSI ? 1 h`): unmodified arrows, Home and End send `ESC O X` instead of `CSI X`.
    pub application_cursor: bool,
    /// Mode 2004: pasted text is wrapped in `CSI 200 ~` ... `CSI 201 ~`.
    pub bracketed_paste: bool,
}

const ESC: u8 = 0x1b;

/// The xterm modifier parameter for `mods`, or `None` when no modifier applies.
fn modifier_param(mods: KeyModifiers) -> Option<u8> {
    let mut m = 1;
    if mods.contains(KeyModifiers::SHIFT) {
        m += 1;
    }
    if mods.intersects(KeyModifiers::ALT | KeyModifiers::META) {
        m += 2;
    }
    if mods.contains(KeyModifiers::CONTROL) {
        m += 4;
    }
    (m > 1).then_some(m)
}

/// The legacy control byte for Ctrl+`c`, if the terminal has one.
fn control_byte(c: char) -> Option<u8> {
    Some(match c {
        'a'..='z' => c as u8 - b'a' + 1,
        'A'..='Z' => c as u8 - b'A' + 1,
        '@' | ' ' | '2' => 0x00,
        '[' | '3' => 0x1b,
        '\\' | '4' => 0x1c,
        ']' | '5' => 0x1d,
        '^' | '~' | '6' => 0x1e,
        '_' | '-' | '/' | '7' => 0x1f,
        '?' | '8' => 0x7f,
        _ => return None,
    })
}

/// `CSI 1 ; m final` when modified, otherwise `CSI final` or (application mode) `SS3 final`.
fn cursor_key(out: &mut Vec<u8>, fin: u8, mods: KeyModifiers, application: bool) {
    match modifier_param(mods) {
        Some(m) => {
            out.extend_from_slice(b"\x1b[1;");
            push_num(out, m);
            out.push(fin);
        }
        None if application => out.extend_from_slice(&[ESC, b'O', fin]),
        None => out.extend_from_slice(&[ESC, b'[', fin]),
    }
}

/// `CSI n ~` or, modified, `CSI n ; m ~`.
fn tilde_key(out: &mut Vec<u8>, n: u8, mods: KeyModifiers) {
    out.extend_from_slice(b"\x1b[");
    push_num(out, n);
    if let Some(m) = modifier_param(mods) {
        out.push(b';');
        push_num(out, m);
    }
    out.push(b'~');
}

fn push_num(out: &mut Vec<u8>, n: u8) {
    if n >= 100 {
        out.push(b'0' + n / 100);
    }
    if n >= 10 {
        out.push(b'0' + (n / 10) % 10);
    }
    out.push(b'0' + n % 10);
}

/// The bytes a terminal sends for `key`, or `None` for keys that send nothing (releases,
/// lone modifiers, media keys, ...).
///
/// Shift+Enter sends `ESC CR` (the same as Alt+Enter), which Claude Code's input box reads as
/// "insert a newline"; a plain xterm would send a bare CR and lose the distinction.
pub fn encode_key(key: &KeyEvent, modes: &InputModes) -> Option<Vec<u8>> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let mods = key.modifiers;
    let ctrl = mods.contains(KeyModifiers::CONTROL);
    let alt = mods.intersects(KeyModifiers::ALT | KeyModifiers::META);
    let shift = mods.contains(KeyModifiers::SHIFT);
    let mut out = Vec::with_capacity(8);
    // Keys whose legacy encoding is a single byte or a UTF-8 char take Alt as an ESC prefix.
    let alt_prefix = |out: &mut Vec<u8>| {
        if alt {
            out.push(ESC);
        }
    };
    match key.code {
        KeyCode::Char(c) => {
            alt_prefix(&mut out);
            match (ctrl, control_byte(c)) {
                (true, Some(b)) => out.push(b),
                _ => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        KeyCode::Null => {
            alt_prefix(&mut out);
            out.push(0);
        }
        KeyCode::Enter => {
            if alt || shift {
                out.push(ESC);
            }
            out.push(b'\r');
        }
        KeyCode::Tab if shift => out.extend_from_slice(b"\x1b[Z"),
        KeyCode::BackTab => out.extend_from_slice(b"\x1b[Z"),
        KeyCode::Tab => {
            alt_prefix(&mut out);
            out.push(b'\t');
        }
        KeyCode::Backspace => {
            alt_prefix(&mut out);
            out.push(if ctrl { 0x08 } else { 0x7f });
        }
        KeyCode::Esc => {
            alt_prefix(&mut out);
            out.push(ESC);
        }
        KeyCode::Up => cursor_key(&mut out, b'A', mods, modes.application_cursor),
        KeyCode::Down => cursor_key(&mut out, b'B', mods, modes.application_cursor),
        KeyCode::Right => cursor_key(&mut out, b'C', mods, modes.application_cursor),
        KeyCode::Left => cursor_key(&mut out, b'D', mods, modes.application_cursor),
        KeyCode::Home => cursor_key(&mut out, b'H', mods, modes.application_cursor),
        KeyCode::End => cursor_key(&mut out, b'F', mods, modes.application_cursor),
        KeyCode::KeypadBegin => cursor_key(&mut out, b'E', mods, false),
        KeyCode::Insert => tilde_key(&mut out, 2, mods),
        KeyCode::Delete => tilde_key(&mut out, 3, mods),
        KeyCode::PageUp => tilde_key(&mut out, 5, mods),
        KeyCode::PageDown => tilde_key(&mut out, 6, mods),
        KeyCode::F(n) => function_key(&mut out, n, mods)?,
        _ => return None,
    }
    Some(out)
}

/// F1-F4 as SS3 or `CSI 1 ; m P..S`, F5-F12 as `CSI n ~`; F13-F24 as xterm's Shift+F1-F12.
fn function_key(out: &mut Vec<u8>, n: u8, mods: KeyModifiers) -> Option<()> {
    let (n, mods) = match n {
        13..=24 => (n - 12, mods | KeyModifiers::SHIFT),
        _ => (n, mods),
    };
    match n {
        1..=4 => {
            let fin = b'P' + (n - 1);
            match modifier_param(mods) {
                Some(m) => {
                    out.extend_from_slice(b"\x1b[1;");
                    push_num(out, m);
                    out.push(fin);
                }
                None => out.extend_from_slice(&[ESC, b'O', fin]),
            }
        }
        5..=12 => {
            const CODES: [u8; 8] = [15, 17, 18, 19, 20, 21, 23, 24];
            tilde_key(out, CODES[usize::from(n - 5)], mods);
        }
        _ => return None,
    }
    Some(())
}

/// The bytes for pasting `text`: wrapped in bracketed-paste markers when the program asked for
/// them (with any ESC removed from the text, so a paste cannot end the bracket early or smuggle
/// in escape sequences), otherwise with line breaks turned into CR like a typed Enter.
pub fn encode_paste(text: &str, modes: &InputModes) -> Vec<u8> {
    if modes.bracketed_paste {
        let mut out = Vec::with_capacity(text.len() + 12);
        out.extend_from_slice(b"\x1b[200~");
        out.extend(text.bytes().filter(|&b| b != ESC));
        out.extend_from_slice(b"\x1b[201~");
        out
    } else {
        text.replace("\r\n", "\r").replace('\n', "\r").into_bytes()
    }
}

pub use crate::keys::{parse_key_spec, KeySpec};

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: KeyModifiers = KeyModifiers::NONE;
    const CTRL: KeyModifiers = KeyModifiers::CONTROL;
    const ALT: KeyModifiers = KeyModifiers::ALT;
    const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

    fn enc(code: KeyCode, mods: KeyModifiers) -> Vec<u8> {
        encode_key(&KeyEvent::new(code, mods), &InputModes::default())
            .unwrap_or_else(|| panic!("{code:?} {mods:?} encodes to nothing"))
    }

    fn enc_app(code: KeyCode, mods: KeyModifiers) -> Vec<u8> {
        let modes = InputModes {
            application_cursor: true,
            bracketed_paste: false,
        };
        encode_key(&KeyEvent::new(code, mods), &modes).unwrap()
    }

    #[test]
    fn printable_chars_are_utf8() {
        assert_eq!(enc(KeyCode::Char('a'), NONE), b"a");
        assert_eq!(enc(KeyCode::Char('A'), SHIFT), b"A");
        assert_eq!(enc(KeyCode::Char('?'), SHIFT), b"?");
        assert_eq!(enc(KeyCode::Char('é'), NONE), "é".as_bytes());
        assert_eq!(enc(KeyCode::Char('❯'), NONE), "❯".as_bytes());
        assert_eq!(enc(KeyCode::Char('😀'), NONE), "😀".as_bytes());
    }

    #[test]
    fn basic_keys() {
        assert_eq!(enc(KeyCode::Enter, NONE), b"\r");
        assert_eq!(enc(KeyCode::Enter, ALT), b"\x1b\r");
        assert_eq!(enc(KeyCode::Enter, SHIFT), b"\x1b\r");
        assert_eq!(enc(KeyCode::Tab, NONE), b"\t");
        assert_eq!(enc(KeyCode::Tab, SHIFT), b"\x1b[Z");
        assert_eq!(enc(KeyCode::BackTab, SHIFT), b"\x1b[Z");
        assert_eq!(enc(KeyCode::BackTab, NONE), b"\x1b[Z");
        assert_eq!(enc(KeyCode::Backspace, NONE), b"\x7f");
        assert_eq!(enc(KeyCode::Backspace, CTRL), b"\x08");
        assert_eq!(enc(KeyCode::Backspace, ALT), b"\x1b\x7f");
        assert_eq!(enc(KeyCode::Esc, NONE), b"\x1b");
        assert_eq!(enc(KeyCode::Esc, ALT), b"\x1b\x1b");
        assert_eq!(enc(KeyCode::Null, NONE), b"\x00");
    }

    #[test]
    fn ctrl_letters_and_symbols() {
        for (i, c) in ('a'..='z').enumerate() {
            assert_eq!(enc(KeyCode::Char(c), CTRL), vec![i as u8 + 1], "ctrl-{c}");
            let upper = c.to_ascii_uppercase();
            assert_eq!(enc(KeyCode::Char(upper), CTRL | SHIFT), vec![i as u8 + 1]);
        }
        assert_eq!(enc(KeyCode::Char(' '), CTRL), b"\x00");
        assert_eq!(enc(KeyCode::Char('@'), CTRL), b"\x00");
        assert_eq!(enc(KeyCode::Char('['), CTRL), b"\x1b");
        assert_eq!(enc(KeyCode::Char('\\'), CTRL), b"\x1c");
        assert_eq!(enc(KeyCode::Char(']'), CTRL), b"\x1d");
        assert_eq!(enc(KeyCode::Char('^'), CTRL), b"\x1e");
        assert_eq!(enc(KeyCode::Char('_'), CTRL), b"\x1f");
        // What crossterm reports for those bytes on legacy terminals must round-trip.
        assert_eq!(enc(KeyCode::Char('4'), CTRL), b"\x1c");
        assert_eq!(enc(KeyCode::Char('5'), CTRL), b"\x1d");
        assert_eq!(enc(KeyCode::Char('6'), CTRL), b"\x1e");
        assert_eq!(enc(KeyCode::Char('7'), CTRL), b"\x1f");
        // No control byte: the char goes through unchanged.
        assert_eq!(enc(KeyCode::Char('1'), CTRL), b"1");
    }

    #[test]
    fn alt_prefixes_escape() {
        assert_eq!(enc(KeyCode::Char('x'), ALT), b"\x1bx");
        assert_eq!(enc(KeyCode::Char('X'), ALT | SHIFT), b"\x1bX");
        assert_eq!(enc(KeyCode::Char('c'), ALT | CTRL), b"\x1b\x03");
        assert_eq!(enc(KeyCode::Char('b'), KeyModifiers::META), b"\x1bb");
        assert_eq!(enc(KeyCode::Tab, ALT), b"\x1b\t");
    }

    #[test]
    fn arrows_normal_and_application() {
        let keys = [
            (KeyCode::Up, b'A'),
            (KeyCode::Down, b'B'),
            (KeyCode::Right, b'C'),
            (KeyCode::Left, b'D'),
            (KeyCode::Home, b'H'),
            (KeyCode::End, b'F'),
        ];
        for (code, fin) in keys {
            assert_eq!(enc(code, NONE), vec![0x1b, b'[', fin], "{code:?}");
            assert_eq!(enc_app(code, NONE), vec![0x1b, b'O', fin], "{code:?}");
            // Modified keys use CSI in both modes.
            assert_eq!(
                enc(code, CTRL),
                format!("\x1b[1;5{}", fin as char).into_bytes()
            );
            assert_eq!(
                enc_app(code, CTRL),
                format!("\x1b[1;5{}", fin as char).into_bytes()
            );
        }
    }

    #[test]
    fn xterm_modifier_parameter() {
        assert_eq!(enc(KeyCode::Up, SHIFT), b"\x1b[1;2A");
        assert_eq!(enc(KeyCode::Up, ALT), b"\x1b[1;3A");
        assert_eq!(enc(KeyCode::Up, SHIFT | ALT), b"\x1b[1;4A");
        assert_eq!(enc(KeyCode::Up, CTRL), b"\x1b[1;5A");
        assert_eq!(enc(KeyCode::Up, CTRL | SHIFT), b"\x1b[1;6A");
        assert_eq!(enc(KeyCode::Up, CTRL | ALT), b"\x1b[1;7A");
        assert_eq!(enc(KeyCode::Up, CTRL | ALT | SHIFT), b"\x1b[1;8A");
    }

    #[test]
    fn tilde_keys() {
        assert_eq!(enc(KeyCode::Insert, NONE), b"\x1b[2~");
        assert_eq!(enc(KeyCode::Delete, NONE), b"\x1b[3~");
        assert_eq!(enc(KeyCode::PageUp, NONE), b"\x1b[5~");
        assert_eq!(enc(KeyCode::PageDown, NONE), b"\x1b[6~");
        assert_eq!(enc(KeyCode::PageUp, SHIFT), b"\x1b[5;2~");
        assert_eq!(enc(KeyCode::Delete, CTRL), b"\x1b[3;5~");
        assert_eq!(enc_app(KeyCode::PageDown, NONE), b"\x1b[6~");
    }

    #[test]
    fn function_keys() {
        assert_eq!(enc(KeyCode::F(1), NONE), b"\x1bOP");
        assert_eq!(enc(KeyCode::F(2), NONE), b"\x1bOQ");
        assert_eq!(enc(KeyCode::F(3), NONE), b"\x1bOR");
        assert_eq!(enc(KeyCode::F(4), NONE), b"\x1bOS");
        let tildes = [15, 17, 18, 19, 20, 21, 23, 24];
        for (i, n) in tildes.iter().enumerate() {
            let f = i as u8 + 5;
            assert_eq!(
                enc(KeyCode::F(f), NONE),
                format!("\x1b[{n}~").into_bytes(),
                "F{f}"
            );
            assert_eq!(
                enc(KeyCode::F(f), CTRL),
                format!("\x1b[{n};5~").into_bytes(),
                "F{f}"
            );
        }
        assert_eq!(enc(KeyCode::F(1), CTRL), b"\x1b[1;5P");
        assert_eq!(enc(KeyCode::F(4), SHIFT), b"\x1b[1;2S");
        assert_eq!(enc(KeyCode::F(13), NONE), b"\x1b[1;2P");
        assert_eq!(enc(KeyCode::F(24), NONE), b"\x1b[24;2~");
        assert_eq!(
            encode_key(&KeyEvent::new(KeyCode::F(25), NONE), &InputModes::default()),
            None
        );
    }

    #[test]
    fn releases_and_unknown_keys_send_nothing() {
        let modes = InputModes::default();
        let release = KeyEvent::new_with_kind(KeyCode::Char('a'), NONE, KeyEventKind::Release);
        assert_eq!(encode_key(&release, &modes), None);
        let repeat = KeyEvent::new_with_kind(KeyCode::Char('a'), NONE, KeyEventKind::Repeat);
        assert_eq!(encode_key(&repeat, &modes), Some(b"a".to_vec()));
        assert_eq!(
            encode_key(&KeyEvent::new(KeyCode::CapsLock, NONE), &modes),
            None
        );
    }

    #[test]
    fn paste() {
        let plain = InputModes::default();
        let bracketed = InputModes {
            bracketed_paste: true,
            ..InputModes::default()
        };
        assert_eq!(encode_paste("a\nb\r\nc", &plain), b"a\rb\rc");
        assert_eq!(
            encode_paste("héllo\nx", &bracketed),
            "\x1b[200~héllo\nx\x1b[201~".as_bytes()
        );
        // A paste cannot close the bracket early.
        assert_eq!(
            encode_paste("a\x1b[201~b", &bracketed),
            b"\x1b[200~a[201~b\x1b[201~"
        );
    }
}
