//! `a`: a rule to add to a session's allowlist, checked before it is sent.

use crossterm::event::{KeyCode, KeyEvent};

use super::{edit_text, FormKey};
use crate::sandbox::firewall::parse_rule;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AllowForm {
    pub session: String,
    pub input: String,
    /// Why the last Enter was refused; the dialog shows it and stays open.
    pub error: Option<String>,
}

impl AllowForm {
    pub fn new(session: &str) -> AllowForm {
        AllowForm {
            session: session.to_string(),
            ..Default::default()
        }
    }

    /// Enter gives the rule in its canonical form, once it parses.
    pub fn on_key(&mut self, key: &KeyEvent) -> FormKey<String> {
        match key.code {
            KeyCode::Esc => FormKey::Cancelled,
            KeyCode::Enter => match parse_rule(&self.input) {
                Ok(rule) => FormKey::Submitted(rule.to_string()),
                Err(e) => {
                    self.error = Some(e.to_string());
                    FormKey::Editing
                }
            },
            _ => {
                edit_text(&mut self.input, key);
                self.error = None;
                FormKey::Editing
            }
        }
    }

    pub fn paste(&mut self, text: &str) {
        self.input.push_str(text.trim());
    }
}
