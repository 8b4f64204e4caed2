//! The user's config: TOML, every key optional, unknown keys rejected. Errors name the file,
//! the line and the key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The commented default config, shipped in the binary and printed by `cctui config`.
pub const DEFAULT_CONFIG: &str = include_str!("../config/config.toml");

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub engine: EngineConfig,
    pub image: ImageConfig,
    pub session: SessionConfig,
    pub firewall: FirewallConfig,
    pub secrets: SecretsConfig,
    pub broker: BrokerConfig,
    pub ui: UiConfig,
    pub keys: BTreeMap<String, String>,
    /// Where this config came from; None for built-in defaults.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    pub host: String,
    pub timeout_secs: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            host: String::new(),
            timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImageConfig {
    pub claude_code_version: String,
    pub extra_ca_certs: Vec<PathBuf>,
    pub timezone: String,
    /// An image build that prints nothing for this long is cancelled, naming its step.
    pub build_stall_secs: u64,
}

impl Default for ImageConfig {
    fn default() -> Self {
        ImageConfig {
            claude_code_version: "latest".into(),
            extra_ca_certs: Vec::new(),
            timezone: "Etc/UTC".into(),
            build_stall_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    pub profiles: Vec<String>,
    pub memory: String,
    pub cpus: f64,
    pub pids_limit: i64,
    pub claude_args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub networks: Vec<String>,
    pub trust_workspace: bool,
    /// Labels put on every container, network and volume cctui makes, beside its own
    /// (e.g. to find them for a sweep).
    pub labels: BTreeMap<String, String>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            profiles: Vec::new(),
            memory: "4g".into(),
            cpus: 2.0,
            pids_limit: 1024,
            claude_args: vec!["--dangerously-skip-permissions".into()],
            env: BTreeMap::new(),
            networks: Vec::new(),
            trust_workspace: true,
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum FirewallMode {
    #[default]
    On,
    Off,
}

impl FirewallMode {
    /// The word used in labels, `ls`, JSON and the config: "on" or "off".
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallMode::On => "on",
            FirewallMode::Off => "off",
        }
    }

    /// The mode a label names; anything but "off" is on, so a damaged label never reads open.
    pub fn from_label(label: Option<&str>) -> FirewallMode {
        match label {
            Some("off") => FirewallMode::Off,
            _ => FirewallMode::On,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FirewallConfig {
    pub mode: FirewallMode,
    pub presets: Vec<String>,
    pub allow: Vec<String>,
    pub verify_interval_secs: u64,
}

impl Default for FirewallConfig {
    fn default() -> Self {
        FirewallConfig {
            mode: FirewallMode::On,
            presets: vec!["anthropic".into()],
            allow: Vec::new(),
            verify_interval_secs: 300,
        }
    }
}

/// One way to get a secret on the host. Exactly one of the three is set.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SecretSource {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
    pub command: Option<String>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    pub anthropic_api_key: Option<SecretSource>,
    /// A long-lived token from `claude setup-token` (Claude Code's `CLAUDE_CODE_OAUTH_TOKEN`).
    pub claude_code_oauth_token: Option<SecretSource>,
    pub extra: BTreeMap<String, SecretSource>,
}

/// The credential broker in the network holder: where it forwards claude's API requests.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerConfig {
    /// `https://NAME[:PORT][/PATH]`: the Anthropic API, or an LLM gateway in front of it.
    pub upstream: String,
    /// CA certificates (PEM files on the host) trusted for the upstream only, besides the
    /// system store and `image.extra_ca_certs`.
    pub extra_ca_certs: Vec<PathBuf>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            upstream: "https://api.anthropic.com".into(),
            extra_ca_certs: Vec::new(),
        }
    }
}

impl SecretsConfig {
    /// Every environment variable a configured secret may be read from, `NAME_FILE` included.
    pub fn env_var_names(&self) -> Vec<String> {
        self.anthropic_api_key
            .iter()
            .chain(self.claude_code_oauth_token.iter())
            .chain(self.extra.values())
            .filter_map(|s| s.env.clone())
            .flat_map(|name| [format!("{name}_FILE"), name])
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    pub log_lines: usize,
    pub detach_key: String,
    pub bell: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            log_lines: 5000,
            detach_key: "ctrl-\\".into(),
            bell: false,
        }
    }
}

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

impl Config {
    /// Reads `path` and checks every value, so that every command, `doctor` and the dashboard
    /// accept and refuse the same files. A missing file means the defaults only at the default
    /// location; a file named by `--config` or `CCTUI_CONFIG` must exist.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && path == crate::paths::config_dir().join("config.toml") =>
            {
                Ok(Config::default())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ConfigError {
                file: path.to_path_buf(),
                line: None,
                key: None,
                message: "no such file (named by --config or CCTUI_CONFIG); create it, \
                          or leave both unset for the defaults"
                    .into(),
            }),
            Err(e) => Err(ConfigError {
                file: path.to_path_buf(),
                line: None,
                key: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = parse_toml(text, path)?;
        config.source = Some(path.to_path_buf());
        config.validate(text, path)?;
        Ok(config)
    }

    /// Checks that serde cannot express, reported against the key's line.
    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            Err(ConfigError {
                file: path.to_path_buf(),
                line: line_of_key(text, key),
                key: Some(key.to_string()),
                message,
            })
        };
        if let Err(e) = parse_memory(&self.session.memory) {
            return fail("session.memory", e);
        }
        if !(self.session.cpus > 0.0 && self.session.cpus <= 1024.0) {
            return fail(
                "session.cpus",
                format!("must be a positive number, got {}", self.session.cpus),
            );
        }
        if self.session.pids_limit < 16 {
            return fail("session.pids_limit", "must be at least 16".into());
        }
        if self.image.build_stall_secs == 0 {
            return fail("image.build_stall_secs", "must be at least 1".into());
        }
        if self.engine.timeout_secs == 0 {
            return fail("engine.timeout_secs", "must be at least 1".into());
        }
        for p in &self.session.profiles {
            if !crate::config::KNOWN_PROFILES.contains(&p.as_str()) {
                return fail(
                    "session.profiles",
                    format!(
                        "unknown profile `{p}`; known: {}",
                        KNOWN_PROFILES.join(", ")
                    ),
                );
            }
        }
        for key in self.session.labels.keys() {
            // cctui's own labels say what a container is; `cctui.test` it never sets.
            if key.is_empty() || (key.starts_with("cctui.") && key != "cctui.test") {
                return fail(
                    &format!("session.labels.{key}"),
                    "labels named cctui.* are cctui's own; choose another name".into(),
                );
            }
        }
        if let Some(src) = &self.secrets.anthropic_api_key {
            if let Err(e) = src.check() {
                return fail("secrets.anthropic_api_key", e);
            }
        }
        if let Some(src) = &self.secrets.claude_code_oauth_token {
            if let Err(e) = src.check() {
                return fail("secrets.claude_code_oauth_token", e);
            }
            if self.secrets.anthropic_api_key.is_some() {
                return fail(
                    "secrets.claude_code_oauth_token",
                    "set either anthropic_api_key or claude_code_oauth_token, not both".into(),
                );
            }
        }
        if let Err(e) = crate::sandbox::broker::Upstream::parse(&self.broker.upstream) {
            return fail("broker.upstream", e);
        }
        for (name, src) in &self.secrets.extra {
            if let Err(e) = src.check() {
                return fail(&format!("secrets.extra.{name}"), e);
            }
            if !is_secret_name(name) {
                return fail(
                    &format!("secrets.extra.{name}"),
                    "secret names use A-Z, 0-9 and _ only".into(),
                );
            }
        }
        if let Err((key, e)) = crate::keys::bindings(&self.keys) {
            return fail(&key, e);
        }
        if let Err(e) = crate::keys::parse_key_spec(&self.ui.detach_key) {
            return fail("ui.detach_key", e);
        }
        let presets = crate::sandbox::firewall::presets();
        for p in &self.firewall.presets {
            if !presets.contains_key(p) {
                let known: Vec<&str> = presets.keys().map(String::as_str).collect();
                return Err(ConfigError {
                    file: path.to_path_buf(),
                    line: line_of_value(text, "firewall.presets", p),
                    key: Some("firewall.presets".into()),
                    message: format!("unknown preset `{p}`; known: {}", known.join(", ")),
                });
            }
        }
        for rule in &self.firewall.allow {
            if let Err(e) = crate::sandbox::firewall::parse_rule(rule) {
                return Err(ConfigError {
                    file: path.to_path_buf(),
                    line: line_of_value(text, "firewall.allow", rule),
                    key: Some("firewall.allow".into()),
                    message: e.to_string(),
                });
            }
        }
        Ok(())
    }

    pub fn memory_bytes(&self) -> i64 {
        parse_memory(&self.session.memory).unwrap_or(4 << 30)
    }
}

pub const KNOWN_PROFILES: &[&str] = &["python", "rust", "go", "node", "java", "c"];

pub fn is_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl SecretSource {
    pub fn check(&self) -> Result<(), String> {
        let set = [
            self.env.is_some(),
            self.file.is_some(),
            self.command.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        match set {
            1 => Ok(()),
            0 => Err("set one of env, file or command".into()),
            _ => Err("set only one of env, file or command".into()),
        }
    }
}

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
fn line_of_key(text: &str, dotted: &str) -> Option<usize> {
    let (table, key) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let mut current = String::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if let Some(h) = t.strip_prefix('[') {
            current = h.trim_end_matches(']').trim().to_string();
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
fn line_of_value(text: &str, dotted: &str, value: &str) -> Option<usize> {
    let start = line_of_key(text, dotted)?;
    let quoted = [format!("\"{value}\""), format!("'{value}'")];
    text.lines()
        .enumerate()
        .skip(start - 1)
        .take_while(|(i, l)| *i + 1 == start || !l.trim_start().starts_with('['))
        .find(|(_, l)| quoted.iter().any(|q| l.contains(q.as_str())))
        .map(|(i, _)| i + 1)
        .or(Some(start))
}

/// "4g", "512m", "1073741824" -> bytes.
pub fn parse_memory(s: &str) -> Result<i64, String> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1i64 << 10),
        Some('m') => (&s[..s.len() - 1], 1 << 20),
        Some('g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a size; use e.g. \"4g\" or \"512m\""))?;
    let bytes = (n * mult as f64) as i64;
    if bytes < 64 << 20 {
        return Err(format!("`{s}` is too small; give a container at least 64m"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_default_parses_to_the_defaults() {
        let parsed = Config::parse(DEFAULT_CONFIG, Path::new("default.toml")).unwrap();
        let defaults = Config {
            source: parsed.source.clone(),
            ..Default::default()
        };
        assert_eq!(parsed, defaults);
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("4g"), Ok(4 << 30));
        assert_eq!(parse_memory("512m"), Ok(512 << 20));
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("1k").is_err());
    }
}
