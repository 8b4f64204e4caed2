//! Config errors that name the file, the line and the key: serde's TOML errors placed, and
//! the lines of keys and values found for checks serde cannot express.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Parses TOML into `T`, turning serde's error into one that names the file, line and key.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, key) = match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                (Some(line), key_at(text, line, &text[span.clone()]))
            }
            None => (None, None),
        };
        ConfigError {
            file: path.to_path_buf(),
            line,
            key,
            message: e.message().trim().to_string(),
        }
    })
}

/// The dotted key at a 1-based line: the enclosing `[table]` plus the key before `=`.
fn key_at(text: &str, line: usize, spanned: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line - 1)?.trim();
    let header = |l: &str| {
        l.trim()
            .strip_prefix('[')
            .and_then(|l| l.split(']').next())
            .map(|h| h.trim_matches('[').trim().to_string())
    };
    if here.starts_with('[') {
        return header(here);
    }
    let table = lines[..line - 1]
        .iter()
        .rev()
        .find_map(|l| header(l).filter(|_| l.trim().starts_with('[')));
    let name = match here.split_once('=') {
        Some((k, _)) => k.trim().trim_matches('"').to_string(),
        None => spanned.trim().trim_matches('"').to_string(),
    };
    // An unknown key inside an inline table is the spanned text, not the line's key; a dotted
    // key (`session.memroy = 1`) already ends with it.
    let name = if spanned.contains('=')
        || spanned.is_empty()
        || here.starts_with(spanned.trim())
        || name.rsplit('.').next() == Some(spanned.trim().trim_matches('"'))
    {
        name
    } else if !spanned.contains(['{', '[', '"'])
        && spanned
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        format!("{name}.{}", spanned.trim())
    } else {
        name
    };
    Some(match table {
        Some(t) => format!("{t}.{name}"),
        None => name,
    })
}

/// The 1-based line that sets `dotted` (e.g. "session.memory"), if the text has it.
pub(super) fn line_of_key(text: &str, dotted: &str) -> Option<usize> {
    let (table, key) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let mut current = String::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            // `[table]` and `[[array.of.tables]]` alike.
            current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if current == dotted {
                return Some(i + 1);
            }
            continue;
        }
        if let Some((k, _)) = t.split_once('=') {
            let k = k.trim().trim_matches('"');
            if (current == table && k == key) || format!("{current}.{k}") == dotted {
                return Some(i + 1);
            }
        }
    }
    None
}

/// The line of one value in the array at `dotted` (which may span lines), else the key's.
pub(super) fn line_of_value(text: &str, dotted: &str, value: &str) -> Option<usize> {
    let start = line_of_key(text, dotted)?;
    let quoted = [format!("\"{value}\""), format!("'{value}'")];
    let table = dotted.rsplit_once('.').map_or("", |(t, _)| t);
    let same_array = format!("[[{table}]]");
    text.lines()
        .enumerate()
        .skip(start - 1)
        .take_while(|(i, l)| {
            let l = l.trim();
            *i + 1 == start || !l.starts_with('[') || l == same_array
        })
        .find(|(_, l)| quoted.iter().any(|q| l.contains(q.as_str())))
        .map(|(i, _)| i + 1)
        .or(Some(start))
}
