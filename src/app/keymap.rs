//! Dashboard keys: defaults, overridden from the config's `[keys]` table.

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;
use serde::{Deserialize, Serialize};

use crate::term::keys::{parse_key_spec, KeySpec};

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
}

impl KeyAction {
    pub const ALL: [KeyAction; 20] = [
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
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            KeyAction::Up => "select the session above",
            KeyAction::Down => "select the session below",
            KeyAction::Top => "first session",
            KeyAction::Bottom => "last session",
            KeyAction::NextTab => "next tab (terminal, logs, firewall, info)",
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
        }
    }

    fn defaults(self) -> &'static [&'static str] {
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
        }
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(KeySpec, KeyAction)>,
    pub detach: KeySpec,
}

impl Keymap {
    /// Defaults, with `[keys]` overrides (action = "key" or "key1,key2") and the detach key.
    pub fn from_config(keys: &BTreeMap<String, String>, detach: &str) -> Result<Keymap, String> {
        let mut bindings = Vec::new();
        for action in KeyAction::ALL {
            let specs: Vec<String> = match keys.get(action.name()) {
                Some(v) => v
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                None => action.defaults().iter().map(|s| s.to_string()).collect(),
            };
            for s in specs {
                let spec =
                    parse_key_spec(&s).map_err(|e| format!("keys.{}: {e}", action.name()))?;
                bindings.push((spec, action));
            }
        }
        for name in keys.keys() {
            if !KeyAction::ALL.iter().any(|a| a.name() == name) {
                let known: Vec<&str> = KeyAction::ALL.iter().map(|a| a.name()).collect();
                return Err(format!(
                    "keys.{name}: unknown action; known: {}",
                    known.join(", ")
                ));
            }
        }
        let detach = parse_key_spec(detach).map_err(|e| format!("ui.detach_key: {e}"))?;
        Ok(Keymap { bindings, detach })
    }

    pub fn action(&self, key: &KeyEvent) -> Option<KeyAction> {
        self.bindings
            .iter()
            .find(|(spec, _)| spec.matches(key))
            .map(|(_, a)| *a)
    }

    /// The keys bound to each action, for the help overlay: always the live map.
    pub fn describe(&self) -> Vec<(String, &'static str)> {
        KeyAction::ALL
            .iter()
            .map(|a| {
                let keys: Vec<String> = self
                    .bindings
                    .iter()
                    .filter(|(_, b)| b == a)
                    .map(|(s, _)| s.to_string())
                    .collect();
                (keys.join(" "), a.describe())
            })
            .collect()
    }

    /// The first key bound to an action, for hints.
    pub fn key_for(&self, action: KeyAction) -> String {
        self.bindings
            .iter()
            .find(|(_, a)| *a == action)
            .map(|(s, _)| s.to_string())
            .unwrap_or_default()
    }
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::from_config(&BTreeMap::new(), "ctrl-\\").expect("the defaults parse")
    }
}
