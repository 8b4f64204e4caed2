//! Key names from the config ("ctrl-\\", "f12", "alt-x") parsed into matchers, and the
//! dashboard's actions with their default keys. A leaf: the config validates `[keys]` and
//! `ui.detach_key` with it at load, and the dashboard's keymap is built from it.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::{Deserialize, Serialize};

/// A key from the config, such as `ctrl-q`, `f12` or `?`, to compare with key events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub code: KeyCode,
    /// Only CONTROL, ALT and SHIFT are used.
    pub modifiers: KeyModifiers,
}

const SPEC_MODS: KeyModifiers = KeyModifiers::CONTROL
    .union(KeyModifiers::ALT)
    .union(KeyModifiers::SHIFT);

/// The digit crossterm reports for Ctrl+`c` on terminals that send the legacy control byte
/// (0x00 and 0x1c-0x1f arrive as Ctrl+Space and Ctrl+4..7).
fn ctrl_alias(c: char) -> Option<char> {
    Some(match c {
        '\\' => '4',
        ']' => '5',
        '^' => '6',
        '_' => '7',
        '@' => ' ',
        _ => return None,
    })
}

impl KeySpec {
    /// Whether `ev` is this key. Shift is implied by the character for printable keys ("?" is
    /// Shift+/ on most layouts), so it is ignored for them; Ctrl+letter ignores case.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if ev.kind == KeyEventKind::Release {
            return false;
        }
        let mut want = self.modifiers & SPEC_MODS;
        let mut got = ev.modifiers & SPEC_MODS;
        if ev.modifiers.contains(KeyModifiers::META) {
            got |= KeyModifiers::ALT;
        }
        match (self.code, ev.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) => {
                want.remove(KeyModifiers::SHIFT);
                got.remove(KeyModifiers::SHIFT);
                if want != got {
                    return false;
                }
                let ctrl = want.contains(KeyModifiers::CONTROL);
                a == b || (ctrl && a.eq_ignore_ascii_case(&b)) || (ctrl && ctrl_alias(a) == Some(b))
            }
            (KeyCode::BackTab, KeyCode::BackTab) => {
                want.remove(KeyModifiers::SHIFT);
                got.remove(KeyModifiers::SHIFT);
                want == got
            }
            (KeyCode::BackTab, KeyCode::Tab) => {
                want.remove(KeyModifiers::SHIFT);
                got.contains(KeyModifiers::SHIFT) && {
                    got.remove(KeyModifiers::SHIFT);
                    want == got
                }
            }
            (a, b) => a == b && want == got,
        }
    }
}

fn named_key(name: &str) -> Option<KeyCode> {
    Some(match name {
        "enter" | "return" | "ret" | "cr" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" | "bs" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" | "pgdown" => KeyCode::PageDown,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "space" | "spc" => KeyCode::Char(' '),
        "minus" => KeyCode::Char('-'),
        "plus" => KeyCode::Char('+'),
        _ => {
            let n = name.strip_prefix('f')?.parse::<u8>().ok()?;
            if !(1..=24).contains(&n) {
                return None;
            }
            KeyCode::F(n)
        }
    })
}

/// Parses a key name from the config: optional modifiers (`ctrl-`, `alt-`, `shift-`, also
/// spelled `c-`, `control-`, `m-`, `meta-`, `option-`, and `+` instead of `-`) followed
/// by one character or a key name (`enter`, `esc`, `tab`, `backspace`, `delete`, `insert`,
/// `home`, `end`, `pageup`, `pagedown`, `up`, `down`, `left`, `right`, `space`, `f1`-`f24`).
pub fn parse_key_spec(spec: &str) -> Result<KeySpec, String> {
    let spec_trimmed = spec.trim();
    if spec_trimmed.is_empty() {
        return Err("empty key".to_string());
    }
    let mut rest = spec_trimmed;
    let mut modifiers = KeyModifiers::NONE;
    while let Some(sep) = rest.find(['-', '+']) {
        // A separator at the very end belongs to the key itself ("ctrl--", "-").
        if sep == 0 || sep + 1 >= rest.len() {
            break;
        }
        let m = match rest[..sep].to_ascii_lowercase().as_str() {
            "ctrl" | "control" | "c" => KeyModifiers::CONTROL,
            "alt" | "meta" | "m" | "option" | "opt" => KeyModifiers::ALT,
            "shift" => KeyModifiers::SHIFT,
            other => {
                return Err(format!("unknown modifier {other:?} in key {spec:?}"));
            }
        };
        modifiers |= m;
        rest = &rest[sep + 1..];
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => KeyCode::Char(c),
        _ => named_key(&rest.to_ascii_lowercase())
            .ok_or_else(|| format!("unknown key {rest:?} in {spec:?}"))?,
    };
    let code = match code {
        // Ctrl+letter is the same key whatever the case; Shift+letter is the capital.
        KeyCode::Char(c)
            if c.is_ascii_alphabetic() && modifiers.contains(KeyModifiers::CONTROL) =>
        {
            KeyCode::Char(c.to_ascii_lowercase())
        }
        KeyCode::Char(c) if c.is_ascii_lowercase() && modifiers.contains(KeyModifiers::SHIFT) => {
            modifiers.remove(KeyModifiers::SHIFT);
            KeyCode::Char(c.to_ascii_uppercase())
        }
        KeyCode::Char(_) => {
            modifiers.remove(KeyModifiers::SHIFT);
            code
        }
        KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
            modifiers.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        other => other,
    };
    Ok(KeySpec { code, modifiers })
}

impl std::str::FromStr for KeySpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_key_spec(s)
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Everything a key can do in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAction {
    Up,
    Down,
    Top,
    Bottom,
    NextTab,
    PrevTab,
    New,
    Start,
    Stop,
    Restart,
    Remove,
    Rebuild,
    Attach,
    Fullscreen,
    Allow,
    TmuxPane,
    TmuxWindow,
    Search,
    Help,
    Quit,
    Import,
    Merge,
    ApplyChanges,
    Push,
    PrevFile,
    NextFile,
    Queue,
}

impl KeyAction {
    pub const ALL: [KeyAction; 27] = [
        KeyAction::Up,
        KeyAction::Down,
        KeyAction::Top,
        KeyAction::Bottom,
        KeyAction::NextTab,
        KeyAction::PrevTab,
        KeyAction::New,
        KeyAction::Start,
        KeyAction::Stop,
        KeyAction::Restart,
        KeyAction::Remove,
        KeyAction::Rebuild,
        KeyAction::Attach,
        KeyAction::Fullscreen,
        KeyAction::Allow,
        KeyAction::TmuxPane,
        KeyAction::TmuxWindow,
        KeyAction::Search,
        KeyAction::Import,
        KeyAction::Merge,
        KeyAction::ApplyChanges,
        KeyAction::Push,
        KeyAction::PrevFile,
        KeyAction::NextFile,
        KeyAction::Queue,
        KeyAction::Help,
        KeyAction::Quit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyAction::Up => "up",
            KeyAction::Down => "down",
            KeyAction::Top => "top",
            KeyAction::Bottom => "bottom",
            KeyAction::NextTab => "next_tab",
            KeyAction::PrevTab => "prev_tab",
            KeyAction::New => "new",
            KeyAction::Start => "start",
            KeyAction::Stop => "stop",
            KeyAction::Restart => "restart",
            KeyAction::Remove => "remove",
            KeyAction::Rebuild => "rebuild",
            KeyAction::Attach => "attach",
            KeyAction::Fullscreen => "fullscreen",
            KeyAction::Allow => "allow",
            KeyAction::TmuxPane => "tmux_pane",
            KeyAction::TmuxWindow => "tmux_window",
            KeyAction::Search => "search",
            KeyAction::Help => "help",
            KeyAction::Quit => "quit",
            KeyAction::Import => "import",
            KeyAction::Merge => "merge",
            KeyAction::ApplyChanges => "apply_changes",
            KeyAction::Push => "push",
            KeyAction::PrevFile => "prev_file",
            KeyAction::NextFile => "next_file",
            KeyAction::Queue => "queue",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            KeyAction::Up => "select the session above",
            KeyAction::Down => "select the session below",
            KeyAction::Top => "first session",
            KeyAction::Bottom => "last session",
            KeyAction::NextTab => "next tab (terminal, logs, firewall, changes, info)",
            KeyAction::PrevTab => "previous tab",
            KeyAction::New => "new session",
            KeyAction::Start => "start the session",
            KeyAction::Stop => "stop the session",
            KeyAction::Restart => "restart the session",
            KeyAction::Remove => "remove the session (asks first)",
            KeyAction::Rebuild => "rebuild the session's images",
            KeyAction::Attach => "type into claude (detach key leaves)",
            KeyAction::Fullscreen => "full-screen terminal",
            KeyAction::Allow => "allow a domain for this session",
            KeyAction::TmuxPane => "open in a new tmux pane",
            KeyAction::TmuxWindow => "open in a new tmux window",
            KeyAction::Search => "search the logs",
            KeyAction::Help => "this help",
            KeyAction::Quit => "quit (sessions keep running)",
            KeyAction::Import => "import the session's work (cctui/NAME)",
            KeyAction::Merge => "merge its branch into yours (asks)",
            KeyAction::ApplyChanges => "apply its changes, uncommitted (asks)",
            KeyAction::Push => "push its branch to your remote",
            KeyAction::PrevFile => "previous file (Changes tab)",
            KeyAction::NextFile => "next file (Changes tab)",
            KeyAction::Queue => "the queue: what needs you",
        }
    }

    pub fn defaults(self) -> &'static [&'static str] {
        match self {
            KeyAction::Up => &["k", "up"],
            KeyAction::Down => &["j", "down"],
            KeyAction::Top => &["g", "home"],
            KeyAction::Bottom => &["G", "end"],
            KeyAction::NextTab => &["tab", "l", "right"],
            KeyAction::PrevTab => &["backtab", "h", "left"],
            KeyAction::New => &["n"],
            KeyAction::Start => &["s"],
            KeyAction::Stop => &["x"],
            KeyAction::Restart => &["r"],
            KeyAction::Remove => &["d"],
            KeyAction::Rebuild => &["b"],
            KeyAction::Attach => &["enter"],
            KeyAction::Fullscreen => &["f"],
            KeyAction::Allow => &["a"],
            KeyAction::TmuxPane => &["t"],
            KeyAction::TmuxWindow => &["T"],
            KeyAction::Search => &["/"],
            KeyAction::Help => &["?"],
            KeyAction::Quit => &["q", "ctrl-c"],
            KeyAction::Import => &["i"],
            KeyAction::Merge => &["m"],
            KeyAction::ApplyChanges => &["A"],
            KeyAction::Push => &["P"],
            KeyAction::PrevFile => &["["],
            KeyAction::NextFile => &["]"],
            KeyAction::Queue => &["w"],
        }
    }
}

/// Every dashboard binding: the defaults, with `[keys]` overrides (action = "key" or
/// "key1,key2"). An error names the dotted key (`keys.stop`) and what is wrong with it: an
/// unknown action, a key that does not parse, or a key bound to two actions (a default
/// binding included, since it would shadow or be shadowed).
pub fn bindings(
    keys: &BTreeMap<String, String>,
) -> Result<Vec<(KeySpec, KeyAction)>, (String, String)> {
    for name in keys.keys() {
        if !KeyAction::ALL.iter().any(|a| a.name() == name) {
            let known: Vec<&str> = KeyAction::ALL.iter().map(|a| a.name()).collect();
            return Err((
                format!("keys.{name}"),
                format!("unknown action; known: {}", known.join(", ")),
            ));
        }
    }
    let mut out: Vec<(KeySpec, KeyAction)> = Vec::new();
    // Overridden actions go last, so that a clash is reported against the user's line.
    let (overridden, defaults): (Vec<KeyAction>, Vec<KeyAction>) = KeyAction::ALL
        .iter()
        .partition(|a| keys.contains_key(a.name()));
    for action in defaults.into_iter().chain(overridden) {
        let specs: Vec<String> = match keys.get(action.name()) {
            Some(v) => v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            None => action.defaults().iter().map(|s| s.to_string()).collect(),
        };
        let dotted = || format!("keys.{}", action.name());
        if specs.is_empty() {
            return Err((dotted(), "no key given".into()));
        }
        for s in specs {
            let spec = parse_key_spec(&s).map_err(|e| (dotted(), e))?;
            match out.iter().find(|(k, _)| *k == spec) {
                Some((_, a)) if *a == action => {}
                Some((_, other)) => {
                    let whose = if keys.contains_key(other.name()) {
                        format!("`{}`", other.name())
                    } else {
                        format!("`{}` by default; rebind {} too", other.name(), other.name())
                    };
                    return Err((dotted(), format!("`{spec}` is already bound to {whose}")));
                }
                None => out.push((spec, action)),
            }
        }
    }
    // The help overlay lists actions in their usual order.
    out.sort_by_key(|(_, a)| KeyAction::ALL.iter().position(|b| b == a));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;

    const NONE: KeyModifiers = KeyModifiers::NONE;
    const CTRL: KeyModifiers = KeyModifiers::CONTROL;
    const ALT: KeyModifiers = KeyModifiers::ALT;
    const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

    fn keys(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_defaults_bind_every_action_and_no_key_twice() {
        let b = bindings(&BTreeMap::new()).unwrap();
        for a in KeyAction::ALL {
            assert!(b.iter().any(|(_, x)| *x == a), "{a:?} unbound");
        }
        for (i, (k, _)) in b.iter().enumerate() {
            assert!(!b[i + 1..].iter().any(|(o, _)| o == k), "{k} twice");
        }
    }

    #[test]
    fn clashes_are_found_however_the_key_is_spelled() {
        // "S" and "shift-s" are one key; so are "ctrl-Q" and "ctrl-q".
        let e = bindings(&keys(&[("stop", "shift-s"), ("start", "S")])).unwrap_err();
        assert_eq!(e.0, "keys.stop");
        assert!(bindings(&keys(&[("stop", "ctrl-Q"), ("quit", "ctrl-q")])).is_err());
        // Swapping two defaults is fine: the old bindings are gone.
        let b = bindings(&keys(&[("stop", "s"), ("start", "x")])).unwrap();
        assert!(b.contains(&(parse_key_spec("s").unwrap(), KeyAction::Stop)));
        // The same key twice for one action is not a clash.
        assert!(bindings(&keys(&[("stop", "X,shift-x")])).is_ok());
        assert_eq!(
            bindings(&keys(&[("stop", " , ")])).unwrap_err().0,
            "keys.stop"
        );
    }

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parse_specs() {
        let p = |s: &str| parse_key_spec(s).unwrap();
        assert_eq!(
            p("ctrl-\\"),
            KeySpec {
                code: KeyCode::Char('\\'),
                modifiers: CTRL
            }
        );
        assert_eq!(
            p("ctrl-q"),
            KeySpec {
                code: KeyCode::Char('q'),
                modifiers: CTRL
            }
        );
        assert_eq!(
            p("Ctrl+Q"),
            KeySpec {
                code: KeyCode::Char('q'),
                modifiers: CTRL
            }
        );
        assert_eq!(
            p("f12"),
            KeySpec {
                code: KeyCode::F(12),
                modifiers: NONE
            }
        );
        assert_eq!(
            p("alt-x"),
            KeySpec {
                code: KeyCode::Char('x'),
                modifiers: ALT
            }
        );
        assert_eq!(
            p("q"),
            KeySpec {
                code: KeyCode::Char('q'),
                modifiers: NONE
            }
        );
        assert_eq!(
            p("Q"),
            KeySpec {
                code: KeyCode::Char('Q'),
                modifiers: NONE
            }
        );
        assert_eq!(
            p("shift-q"),
            KeySpec {
                code: KeyCode::Char('Q'),
                modifiers: NONE
            }
        );
        assert_eq!(
            p("enter"),
            KeySpec {
                code: KeyCode::Enter,
                modifiers: NONE
            }
        );
        assert_eq!(
            p("esc"),
            KeySpec {
                code: KeyCode::Esc,
                modifiers: NONE
            }
        );
        assert_eq!(
            p("?"),
            KeySpec {
                code: KeyCode::Char('?'),
                modifiers: NONE
            }
        );
        assert_eq!(
            p("-"),
            KeySpec {
                code: KeyCode::Char('-'),
                modifiers: NONE
            }
        );
        assert_eq!(
            p("ctrl--"),
            KeySpec {
                code: KeyCode::Char('-'),
                modifiers: CTRL
            }
        );
        assert_eq!(
            p("ctrl-alt-delete"),
            KeySpec {
                code: KeyCode::Delete,
                modifiers: CTRL | ALT
            }
        );
        assert_eq!(
            p("shift-tab"),
            KeySpec {
                code: KeyCode::BackTab,
                modifiers: NONE
            }
        );
        assert_eq!(
            p("space"),
            KeySpec {
                code: KeyCode::Char(' '),
                modifiers: NONE
            }
        );
        assert_eq!(
            p(" pgup "),
            KeySpec {
                code: KeyCode::PageUp,
                modifiers: NONE
            }
        );
        assert!(parse_key_spec("").is_err());
        assert!(parse_key_spec("hyper-x").is_err());
        assert!(parse_key_spec("f0").is_err());
        assert!(parse_key_spec("f25").is_err());
        assert!(parse_key_spec("ctrl-nonsense").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "ctrl-\\",
            "ctrl-q",
            "f12",
            "alt-x",
            "q",
            "Q",
            "enter",
            "esc",
            "?",
            "ctrl-alt-delete",
            "backtab",
            "space",
            "ctrl-space",
            "-",
            "ctrl--",
            "shift-up",
            "pagedown",
            "+",
        ] {
            let spec = parse_key_spec(s).unwrap();
            assert_eq!(spec.to_string(), s, "canonical form of {s:?}");
            assert_eq!(parse_key_spec(&spec.to_string()).unwrap(), spec);
        }
        assert_eq!(
            parse_key_spec("Control+Shift+Tab").unwrap().to_string(),
            "ctrl-backtab"
        );
        assert_eq!("M-x".parse::<KeySpec>().unwrap().to_string(), "alt-x");
    }

    #[test]
    fn matching() {
        let spec = parse_key_spec("ctrl-\\").unwrap();
        assert!(spec.matches(&key(KeyCode::Char('\\'), CTRL)));
        assert!(spec.matches(&key(KeyCode::Char('4'), CTRL)));
        assert!(!spec.matches(&key(KeyCode::Char('\\'), NONE)));
        assert!(!spec.matches(&key(KeyCode::Char('4'), NONE)));
        assert!(!spec.matches(&key(KeyCode::Char('\\'), CTRL | ALT)));

        let q = parse_key_spec("ctrl-q").unwrap();
        assert!(q.matches(&key(KeyCode::Char('q'), CTRL)));
        assert!(q.matches(&key(KeyCode::Char('Q'), CTRL | SHIFT)));
        assert!(!q.matches(&key(KeyCode::Char('q'), NONE)));
        assert!(!q.matches(&key(KeyCode::Char('w'), CTRL)));
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            state: KeyEventState::NONE,
            ..key(KeyCode::Char('q'), CTRL)
        };
        assert!(!q.matches(&release));

        let question = parse_key_spec("?").unwrap();
        assert!(question.matches(&key(KeyCode::Char('?'), SHIFT)));
        assert!(question.matches(&key(KeyCode::Char('?'), NONE)));
        assert!(!question.matches(&key(KeyCode::Char('/'), NONE)));

        let plain_q = parse_key_spec("q").unwrap();
        assert!(plain_q.matches(&key(KeyCode::Char('q'), NONE)));
        assert!(!plain_q.matches(&key(KeyCode::Char('Q'), SHIFT)));
        assert!(!plain_q.matches(&key(KeyCode::Char('q'), CTRL)));

        let f12 = parse_key_spec("f12").unwrap();
        assert!(f12.matches(&key(KeyCode::F(12), NONE)));
        assert!(!f12.matches(&key(KeyCode::F(12), SHIFT)));
        assert!(!f12.matches(&key(KeyCode::F(11), NONE)));

        let alt_x = parse_key_spec("alt-x").unwrap();
        assert!(alt_x.matches(&key(KeyCode::Char('x'), ALT)));
        assert!(alt_x.matches(&key(KeyCode::Char('x'), KeyModifiers::META)));
        assert!(!alt_x.matches(&key(KeyCode::Char('x'), NONE)));

        let backtab = parse_key_spec("shift-tab").unwrap();
        assert!(backtab.matches(&key(KeyCode::BackTab, SHIFT)));
        assert!(backtab.matches(&key(KeyCode::BackTab, NONE)));
        assert!(backtab.matches(&key(KeyCode::Tab, SHIFT)));
        assert!(!backtab.matches(&key(KeyCode::Tab, NONE)));

        let ctrl_space = parse_key_spec("ctrl-@").unwrap();
        assert!(ctrl_space.matches(&key(KeyCode::Char(' '), CTRL)));
    }
}
