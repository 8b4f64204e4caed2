//! `/` in the logs: the text to find.

use crossterm::event::{KeyCode, KeyEvent};

use super::{edit_text, FormKey};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchForm {
    pub text: String,
}

impl SearchForm {
    /// Enter gives the query (`None` clears the search).
    pub fn on_key(&mut self, key: &KeyEvent) -> FormKey<Option<String>> {
        match key.code {
            KeyCode::Esc => FormKey::Cancelled,
            KeyCode::Enter => FormKey::Submitted(Some(self.text.clone()).filter(|t| !t.is_empty())),
            _ => {
                edit_text(&mut self.text, key);
                FormKey::Editing
            }
        }
    }

    pub fn paste(&mut self, text: &str) {
        self.text.push_str(text.trim());
    }
}
