//! Dashboard keys: defaults, overridden from the config's `[keys]` table.

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;

pub use crate::keys::KeyAction;
use crate::keys::{parse_key_spec, KeySpec};

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(KeySpec, KeyAction)>,
    pub detach: KeySpec,
    /// While typing into a session: paste an image from the host's clipboard.
    pub paste_image: Option<KeySpec>,
}

impl Keymap {
    /// Defaults, with `[keys]` overrides (action = "key" or "key1,key2") and the detach key.
    /// `Config::load` has already checked both, so a loaded config never fails here.
    pub fn from_config(keys: &BTreeMap<String, String>, detach: &str) -> Result<Keymap, String> {
        let bindings = crate::keys::bindings(keys).map_err(|(key, e)| format!("{key}: {e}"))?;
        let detach = parse_key_spec(detach).map_err(|e| format!("ui.detach_key: {e}"))?;
        let paste_image = Some(parse_key_spec("ctrl-v").expect("the default parses"));
        Ok(Keymap {
            bindings,
            detach,
            paste_image,
        })
    }

    /// The paste-image key from `clipboard.paste_image_key` ("" for none).
    pub fn with_paste_image(mut self, key: &str) -> Result<Keymap, String> {
        self.paste_image = match key {
            "" => None,
            k => Some(parse_key_spec(k).map_err(|e| format!("clipboard.paste_image_key: {e}"))?),
        };
        Ok(self)
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
