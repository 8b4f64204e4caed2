//! The user's config: TOML, every key optional, unknown keys rejected. Errors name the file,
//! the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod allow;
pub mod carry;
mod diagnostic;
pub mod engines;
mod secrets;
mod upstream;

use diagnostic::{line_of_key, line_of_value};
pub use diagnostic::{parse_toml, ConfigError};
pub use engines::EngineEntry;
pub use secrets::{is_secret_name, SecretSource, SecretsConfig};
pub use upstream::Upstream;

/// The commented default config, shipped in the binary and printed by `cctui config`.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/config.toml");

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub engine: EngineConfig,
    /// Further engines, each under its own name; none: only `engine` (the local one).
    pub engines: Vec<EngineEntry>,
    pub image: ImageConfig,
    pub session: SessionConfig,
    pub firewall: FirewallConfig,
    pub secrets: SecretsConfig,
    pub broker: BrokerConfig,
    pub ui: UiConfig,
    pub notify: NotifyConfig,
    pub clipboard: ClipboardConfig,
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
    /// Presets whose names a build from a repository's proposal may reach (fenced builds).
    pub build_presets: Vec<String>,
    /// Further names for fenced builds, in the allowlist's rule syntax (ports 443 and 80).
    pub build_allow: Vec<String>,
    /// Docker networks a fenced build's gate joins to look names up (none by default): a
    /// container there named like an allowlisted host would get the build's traffic.
    pub build_networks: Vec<String>,
}

impl Default for ImageConfig {
    fn default() -> Self {
        ImageConfig {
            claude_code_version: "latest".into(),
            extra_ca_certs: Vec::new(),
            timezone: "Etc/UTC".into(),
            build_stall_secs: 300,
            build_presets: ["debian", "npm", "pypi", "crates", "github"]
                .map(String::from)
                .to_vec(),
            build_allow: Vec::new(),
            build_networks: Vec::new(),
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
    /// Entries of the user's `~/.claude` copied, read-only, into every session at start.
    pub carry: Vec<String>,
    /// Labels put on every container, network and volume cctui makes, beside its own
    /// (e.g. to find them for a sweep).
    pub labels: BTreeMap<String, String>,
    /// The engine's log of each container's output: kept up to `log_max_size` per file, in
    /// `log_max_files` files, so that the agent's output cannot fill the host's disk.
    pub log_max_size: String,
    pub log_max_files: u32,
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
            carry: carry::CARRIABLE.map(String::from).to_vec(),
            labels: BTreeMap::new(),
            log_max_size: "10m".into(),
            log_max_files: 3,
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

/// Notifications outside the dashboard, per kind, with a quiet period per session and kind.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    pub waiting: bool,
    pub finished: bool,
    pub failed: bool,
    pub quiet_secs: u64,
    /// OSC 9 and OSC 777 to the outer terminal.
    pub osc: bool,
    /// Inside tmux: a message, and the `@cctui_queue` option for the status line.
    pub tmux: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            waiting: true,
            finished: true,
            failed: true,
            quiet_secs: 30,
            osc: true,
            tmux: true,
        }
    }
}

/// Copy and paste through the sandbox.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClipboardConfig {
    /// OSC 52 copies from the session the user is attached to, to the user's clipboard.
    pub copy: bool,
    /// The key that pastes an image from the host's clipboard; empty for none.
    pub paste_image_key: String,
}

impl Default for ClipboardConfig {
    fn default() -> Self {
        ClipboardConfig {
            copy: true,
            paste_image_key: "ctrl-v".into(),
        }
    }
}

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

    /// Checks that serde cannot express, reported against the key's line (or the line of
    /// the value, for one entry of a list).
    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        self.check_limits()
            .and_then(|()| self.secrets.check())
            .and_then(|()| self.check_broker())
            .and_then(|()| self.check_keys())
            .and_then(|()| self.check_carry())
            .and_then(|()| self.firewall.check())
            .and_then(|()| self.image.check())
            .and_then(|()| self.check_engines())
            .map_err(|p| ConfigError {
                file: path.to_path_buf(),
                line: match &p.value {
                    Some(value) => line_of_value(text, &p.key, value),
                    None => line_of_key(text, &p.key),
                },
                key: Some(p.key),
                message: p.message,
            })
    }

    fn check_limits(&self) -> Result<(), Problem> {
        if let Err(e) = parse_memory(&self.session.memory) {
            return Problem::at("session.memory", e);
        }
        if !(self.session.cpus > 0.0 && self.session.cpus <= 1024.0) {
            return Problem::at(
                "session.cpus",
                format!("must be a positive number, got {}", self.session.cpus),
            );
        }
        if self.session.pids_limit < 16 {
            return Problem::at("session.pids_limit", "must be at least 16".into());
        }
        if let Err(e) = parse_log_size(&self.session.log_max_size) {
            return Problem::at("session.log_max_size", e);
        }
        if !(1..=100).contains(&self.session.log_max_files) {
            return Problem::at("session.log_max_files", "must be from 1 to 100".into());
        }
        if self.image.build_stall_secs == 0 {
            return Problem::at("image.build_stall_secs", "must be at least 1".into());
        }
        if self.engine.timeout_secs == 0 {
            return Problem::at("engine.timeout_secs", "must be at least 1".into());
        }
        for p in &self.session.profiles {
            if !KNOWN_PROFILES.contains(&p.as_str()) {
                return Problem::at(
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
                return Problem::at(
                    &format!("session.labels.{key}"),
                    "labels named cctui.* are cctui's own; choose another name".into(),
                );
            }
        }
        Ok(())
    }

    fn check_broker(&self) -> Result<(), Problem> {
        match Upstream::parse(&self.broker.upstream) {
            Ok(_) => Ok(()),
            Err(e) => Problem::at("broker.upstream", e),
        }
    }

    fn check_keys(&self) -> Result<(), Problem> {
        if let Err((key, e)) = crate::keys::bindings(&self.keys) {
            return Problem::at(&key, e);
        }
        let detach = match crate::keys::parse_key_spec(&self.ui.detach_key) {
            Ok(k) => k,
            Err(e) => return Problem::at("ui.detach_key", e),
        };
        let paste = &self.clipboard.paste_image_key;
        if !paste.is_empty() {
            match crate::keys::parse_key_spec(paste) {
                Err(e) => return Problem::at("clipboard.paste_image_key", e),
                Ok(k) if k == detach => {
                    return Problem::at(
                        "clipboard.paste_image_key",
                        format!("`{paste}` is already ui.detach_key; choose another key"),
                    )
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    fn check_carry(&self) -> Result<(), Problem> {
        for name in &self.session.carry {
            carry::check_entry(name).or_else(|m| Problem::in_list("session.carry", name, m))?;
        }
        Ok(())
    }

    fn check_engines(&self) -> Result<(), Problem> {
        let mut seen = std::collections::BTreeSet::new();
        for e in &self.engines {
            engines::check_name(&e.name)
                .or_else(|m| Problem::in_list("engines.name", &e.name, m))?;
            engines::check_host(&e.host)
                .or_else(|m| Problem::in_list("engines.host", &e.host, m))?;
            engines::check_fields(e).or_else(|(key, value, m)| Problem::in_list(key, &value, m))?;
            if !seen.insert(e.name.as_str()) {
                return Problem::in_list(
                    "engines.name",
                    &e.name,
                    format!("two engines are named `{}`", e.name),
                );
            }
        }
        Ok(())
    }

    pub fn memory_bytes(&self) -> i64 {
        parse_memory(&self.session.memory).unwrap_or(4 << 30)
    }

    /// The log rotation every session container gets.
    pub fn log_limit(&self) -> crate::backend::LogLimit {
        crate::backend::LogLimit {
            max_size: self.session.log_max_size.trim().to_ascii_lowercase(),
            max_files: self.session.log_max_files,
        }
    }
}

/// What a check found wrong: the dotted key, the value in a list when one entry is wrong,
/// and why.
struct Problem {
    key: String,
    value: Option<String>,
    message: String,
}

impl Problem {
    fn at<T>(key: &str, message: String) -> Result<T, Problem> {
        Err(Problem {
            key: key.to_string(),
            value: None,
            message,
        })
    }

    fn in_list<T>(key: &str, value: &str, message: String) -> Result<T, Problem> {
        Err(Problem {
            key: key.to_string(),
            value: Some(value.to_string()),
            message,
        })
    }
}

impl FirewallConfig {
    /// Every preset is shipped and every rule parses, so that no session start finds them.
    fn check(&self) -> Result<(), Problem> {
        let presets = allow::presets();
        for p in &self.presets {
            if !presets.contains_key(p) {
                let known: Vec<&str> = presets.keys().map(String::as_str).collect();
                return Problem::in_list(
                    "firewall.presets",
                    p,
                    format!("unknown preset `{p}`; known: {}", known.join(", ")),
                );
            }
        }
        for rule in &self.allow {
            if let Err(e) = allow::parse_rule(rule) {
                return Problem::in_list("firewall.allow", rule, e.to_string());
            }
        }
        Ok(())
    }
}

impl ImageConfig {
    /// The build allowlist's presets are shipped and its rules are ones the gate carries.
    fn check(&self) -> Result<(), Problem> {
        let presets = allow::presets();
        if let Some(p) = self
            .build_presets
            .iter()
            .find(|p| !presets.contains_key(*p))
        {
            let known: Vec<&str> = presets.keys().map(String::as_str).collect();
            let why = format!("unknown preset `{p}`; known: {}", known.join(", "));
            return Problem::in_list("image.build_presets", p, why);
        }
        for rule in &self.build_allow {
            if let Err(why) = allow::build_rule(rule, false) {
                return Problem::in_list("image.build_allow", rule, format!("`{rule}`: {why}"));
            }
        }
        Ok(())
    }
}

pub const KNOWN_PROFILES: &[&str] = &["python", "rust", "go", "node", "java", "c"];

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

/// A log file's size, as Docker's `max-size` takes it: a number with k, m or g.
pub fn parse_log_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (&t[..], 1),
    };
    match num.parse::<u64>() {
        Ok(n) if n * mult >= 64 << 10 => Ok(n * mult),
        Ok(_) => Err(format!("`{s}` is too small; give at least 64k")),
        Err(_) => Err(format!("`{s}` is not a size; use e.g. \"10m\" or \"512k\"")),
    }
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
    fn bad_engines_name_the_line_and_the_key() {
        let path = Path::new("/c.toml");
        let text = "[engine]\ntimeout_secs = 5\n\n[[engines]]\nname = \"box\"\nhost = \"ssh://me@box\"\n\n[[engines]]\nname = \"cloud\"\nhost = \"ftp://x\"\n";
        let e = Config::parse(text, path).unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(10), Some("engines.host")));
        assert!(e.message.contains("ftp://x"), "{}", e.message);
        let twice = text
            .replace("cloud", "box")
            .replace("ftp://x", "tcp://h:2376");
        let e = Config::parse(&twice, path).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("engines.name"));
        assert!(e.message.contains("two engines"), "{}", e.message);
        assert!(Config::parse(&text.replace("ftp://x", "tcp://h:2376"), path).is_ok());
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("4g"), Ok(4 << 30));
        assert_eq!(parse_memory("512m"), Ok(512 << 20));
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("1k").is_err());
    }

    /// A bad rule is reported at load with the file, the rule's own line and the key, and a
    /// message about what is wrong with it (finding 13 of issue 13: these once all said
    /// "ports are numbers").
    #[test]
    fn bad_allow_rules_name_the_file_the_line_the_key_and_the_fault() {
        let path = Path::new("/etc/cctui/config.toml");
        let load = |rule: &str| {
            let text = format!("[session]\nmemory = \"4g\"\n\n[firewall]\nallow = [\n  \"a.example.com\",\n  \"{rule}\",\n]\n");
            Config::parse(&text, path).unwrap_err()
        };
        let url = load("http://pypi.org");
        assert_eq!(
            (url.file.as_path(), url.line, url.key.as_deref()),
            (path, Some(7), Some("firewall.allow"))
        );
        assert_eq!(
            url.message,
            "bad allowlist rule `http://pypi.org`: a rule is a name, not a URL; write \
             `pypi.org` (add `:PORT` for another port than 443)"
        );
        let port = load("pypi.org:99999");
        assert_eq!(
            (port.line, port.key.as_deref()),
            (Some(7), Some("firewall.allow"))
        );
        assert_eq!(
            port.message,
            "bad allowlist rule `pypi.org:99999`: port 99999 is out of range (1 to 65535)"
        );
        assert_eq!(
            port.to_string(),
            "/etc/cctui/config.toml:7: key `firewall.allow`: bad allowlist rule \
             `pypi.org:99999`: port 99999 is out of range (1 to 65535)"
        );
    }
}
