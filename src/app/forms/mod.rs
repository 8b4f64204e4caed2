//! The dialogs' forms. Each owns its fields and its keys: a key either edits the form, or
//! ends it with what it asks for.

mod allow;
mod new_session;
mod search;

pub use allow::AllowForm;
pub use new_session::{NewField, NewForm, NewRequest};
pub use search::SearchForm;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key did to a form.
#[derive(Debug, PartialEq)]
pub enum FormKey<T> {
    /// Still editing (the key changed the form, or nothing).
    Editing,
    /// Still editing, and the form wants the folders that complete this path.
    Complete(String),
    Cancelled,
    Submitted(T),
}

/// Line editing shared by every text field: typing, Backspace, Ctrl-U clears, Ctrl-W cuts
/// back to the last `/`.
pub fn edit_text(text: &mut String, key: &KeyEvent) {
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
        KeyCode::Char('w') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            let trimmed = text.trim_end_matches('/').len();
            let cut = text[..trimmed].rfind('/').map(|i| i + 1).unwrap_or(0);
            text.truncate(cut);
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => {}
    }
}
