//! `n`: a new session for a folder, with its name, profiles and extra networks.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};

use super::{edit_text, FormKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewField {
    #[default]
    Path,
    Name,
    Profiles,
    Networks,
    /// Which engine runs it; only offered when there are several.
    Engine,
}

impl NewField {
    const ORDER: [NewField; 5] = [
        NewField::Path,
        NewField::Name,
        NewField::Profiles,
        NewField::Networks,
        NewField::Engine,
    ];

    /// The next field (or the one before), among the first `fields` of ORDER.
    fn step(self, forward: bool, fields: usize) -> NewField {
        let n = fields;
        let i = Self::ORDER[..n]
            .iter()
            .position(|f| *f == self)
            .unwrap_or(0);
        Self::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewForm {
    pub path: String,
    pub name: String,
    /// (profile, chosen)
    pub profiles: Vec<(String, bool)>,
    /// False until the user toggles one: then the session layer picks the profiles (the
    /// project's earlier sessions', else the config's).
    pub profiles_touched: bool,
    /// Extra Docker networks to join, separated by spaces or commas.
    pub networks: String,
    pub field: NewField,
    /// Index into `profiles` when that field has focus.
    pub profile_cursor: usize,
    /// Completions offered for the path, if more than one.
    pub completions: Vec<String>,
    /// Why the last try failed; the dialog shows it, with what was typed kept.
    pub error: Option<String>,
    /// The engines to choose from, by name, and the chosen one (an index).
    pub engines: Vec<String>,
    pub engine: usize,
}

/// What the dialog asks for: the same request `cctui new` makes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub path: String,
    pub name: Option<String>,
    /// `None`: as the project's sessions have them (see `profiles_touched`).
    pub profiles: Option<Vec<String>>,
    pub networks: Vec<String>,
    /// The engine to run it on, by name; `None`: the first one.
    pub engine: Option<String>,
}

impl NewRequest {
    /// The session's name as the list will show it.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            crate::session::SessionName::from_folder(Path::new(&self.path)).to_string()
        })
    }
}

impl NewForm {
    /// A form for `folder`, with the known profiles and the default ones ticked.
    pub fn new(folder: &Path, known: &[&str], defaults: &[String]) -> NewForm {
        NewForm {
            path: folder.display().to_string(),
            profiles: known
                .iter()
                .map(|p| (p.to_string(), defaults.iter().any(|d| d == p)))
                .collect(),
            ..Default::default()
        }
    }

    /// The form offering these engines (the first is chosen); with one, no engine field.
    pub fn with_engines(mut self, engines: Vec<String>) -> NewForm {
        self.engines = engines;
        self.engine = 0;
        self
    }

    /// How many of NewField::ORDER the form shows.
    fn fields(&self) -> usize {
        if self.engines.len() > 1 {
            5
        } else {
            4
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent, home: &Path) -> FormKey<NewRequest> {
        let fields = self.fields();
        match key.code {
            KeyCode::Esc => return FormKey::Cancelled,
            KeyCode::Enter => return FormKey::Submitted(self.request(home)),
            KeyCode::Up | KeyCode::BackTab => self.field = self.field.step(false, fields),
            KeyCode::Down => self.field = self.field.step(true, fields),
            KeyCode::Tab if self.field == NewField::Path => {
                return FormKey::Complete(expand_tilde(&self.path, home))
            }
            KeyCode::Tab => self.field = self.field.step(true, fields),
            _ => self.edit(key),
        }
        FormKey::Editing
    }

    /// Left, right or space cycle through the engines.
    fn cycle_engine(&mut self, key: &KeyEvent) {
        let n = self.engines.len().max(1);
        match key.code {
            KeyCode::Left => self.engine = (self.engine + n - 1) % n,
            KeyCode::Right | KeyCode::Char(' ') => self.engine = (self.engine + 1) % n,
            _ => {}
        }
    }

    fn edit(&mut self, key: &KeyEvent) {
        self.error = None;
        match self.field {
            NewField::Path => {
                edit_text(&mut self.path, key);
                self.completions.clear();
            }
            NewField::Name => edit_text(&mut self.name, key),
            NewField::Networks => edit_text(&mut self.networks, key),
            NewField::Engine => self.cycle_engine(key),
            NewField::Profiles => match key.code {
                KeyCode::Left => self.profile_cursor = self.profile_cursor.saturating_sub(1),
                KeyCode::Right => {
                    self.profile_cursor =
                        (self.profile_cursor + 1).min(self.profiles.len().saturating_sub(1))
                }
                KeyCode::Char(' ') => {
                    if let Some(p) = self.profiles.get_mut(self.profile_cursor) {
                        p.1 = !p.1;
                        self.profiles_touched = true;
                    }
                }
                _ => {}
            },
        }
    }

    pub fn paste(&mut self, text: &str) {
        match self.field {
            NewField::Path => self.path.push_str(text.trim()),
            NewField::Name => self.name.push_str(text.trim()),
            NewField::Networks => self.networks.push_str(text.trim()),
            NewField::Profiles | NewField::Engine => {}
        }
    }

    /// Path completions arrived: one is taken, several extend the path to what they share.
    pub fn complete(&mut self, list: Vec<String>) {
        if list.len() == 1 {
            self.path = list[0].clone();
            self.completions.clear();
            return;
        }
        if let Some(prefix) = common_prefix(&list) {
            if prefix.len() > self.path.len() {
                self.path = prefix;
            }
        }
        self.completions = list;
    }

    /// The request the form makes as it stands.
    pub fn request(&self, home: &Path) -> NewRequest {
        NewRequest {
            path: expand_tilde(self.path.trim(), home),
            name: Some(self.name.trim().to_string()).filter(|n| !n.is_empty()),
            profiles: self.profiles_touched.then(|| {
                self.profiles
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(p, _)| p.clone())
                    .collect()
            }),
            networks: self
                .networks
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(String::from)
                .collect(),
            engine: self.engines.get(self.engine).cloned(),
        }
    }
}

fn expand_tilde(path: &str, home: &Path) -> String {
    match path.strip_prefix('~') {
        Some(rest) => format!("{}{rest}", home.display()),
        None => path.to_string(),
    }
}

fn common_prefix(list: &[String]) -> Option<String> {
    let first = list.first()?;
    let mut len = first.len();
    for s in &list[1..] {
        len = len.min(
            first
                .bytes()
                .zip(s.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    Some(first[..len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn press(form: &mut NewForm, code: KeyCode) -> FormKey<NewRequest> {
        form.on_key(
            &KeyEvent::new(code, KeyModifiers::NONE),
            Path::new("/home/u"),
        )
    }

    #[test]
    fn the_form_asks_for_what_was_typed() {
        let mut form = NewForm::new(Path::new("/srv"), &["rust", "python"], &["rust".into()]);
        press(&mut form, KeyCode::Char('/'));
        press(&mut form, KeyCode::Char('x'));
        let FormKey::Submitted(untouched) = press(&mut form, KeyCode::Enter) else {
            panic!("Enter submits");
        };
        assert_eq!(untouched.path, "/srv/x");
        assert_eq!(
            untouched.profiles, None,
            "untouched profiles are left to the session layer"
        );
        press(&mut form, KeyCode::Down);
        for c in "web-2".chars() {
            press(&mut form, KeyCode::Char(c));
        }
        press(&mut form, KeyCode::Down);
        press(&mut form, KeyCode::Right);
        press(&mut form, KeyCode::Char(' '));
        press(&mut form, KeyCode::Down);
        for c in "db, cache".chars() {
            press(&mut form, KeyCode::Char(c));
        }
        let FormKey::Submitted(req) = press(&mut form, KeyCode::Enter) else {
            panic!("Enter submits");
        };
        assert_eq!(req.name.as_deref(), Some("web-2"));
        assert_eq!(
            req.profiles,
            Some(vec!["rust".to_string(), "python".to_string()])
        );
        assert_eq!(req.networks, ["db", "cache"]);
        assert_eq!(req.label(), "web-2");
    }

    #[test]
    fn the_engine_field_cycles_through_the_engines_and_is_asked_for() {
        let mut form = NewForm::new(Path::new("/srv"), &[], &[]);
        for _ in 0..4 {
            press(&mut form, KeyCode::Down);
        }
        assert_eq!(form.field, NewField::Path, "one engine: no engine field");
        let mut form = form.with_engines(vec!["local".into(), "box".into(), "cloud".into()]);
        let FormKey::Submitted(first) = press(&mut form, KeyCode::Enter) else {
            panic!("Enter submits");
        };
        assert_eq!(
            first.engine.as_deref(),
            Some("local"),
            "the first by default"
        );
        for _ in 0..4 {
            press(&mut form, KeyCode::Down);
        }
        assert_eq!(form.field, NewField::Engine);
        press(&mut form, KeyCode::Right);
        press(&mut form, KeyCode::Char(' '));
        assert_eq!(form.engine, 2);
        press(&mut form, KeyCode::Right);
        assert_eq!(form.engine, 0, "it wraps");
        press(&mut form, KeyCode::Left);
        let FormKey::Submitted(req) = press(&mut form, KeyCode::Enter) else {
            panic!("Enter submits");
        };
        assert_eq!(req.engine.as_deref(), Some("cloud"));
        press(&mut form, KeyCode::Down);
        assert_eq!(form.field, NewField::Path, "the engine is the last field");
    }

    #[test]
    fn tab_on_the_path_asks_for_completions_with_the_home_expanded() {
        let mut form = NewForm::new(Path::new("~/pro"), &[], &[]);
        assert_eq!(
            press(&mut form, KeyCode::Tab),
            FormKey::Complete("/home/u/pro".into())
        );
        form.complete(vec!["/home/u/proj-a/".into(), "/home/u/proj-b/".into()]);
        assert_eq!(form.path, "/home/u/proj-");
        assert_eq!(form.completions.len(), 2);
    }
}
