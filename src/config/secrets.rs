//! `[secrets]`: where each secret comes from on the host, and the names they may have.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Problem;

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

impl SecretsConfig {
    pub(super) fn check(&self) -> Result<(), Problem> {
        if let Some(src) = &self.anthropic_api_key {
            if let Err(e) = src.check() {
                return Problem::at("secrets.anthropic_api_key", e);
            }
        }
        if let Some(src) = &self.claude_code_oauth_token {
            if let Err(e) = src.check() {
                return Problem::at("secrets.claude_code_oauth_token", e);
            }
            if self.anthropic_api_key.is_some() {
                return Problem::at(
                    "secrets.claude_code_oauth_token",
                    "set either anthropic_api_key or claude_code_oauth_token, not both".into(),
                );
            }
        }
        for (name, src) in &self.extra {
            let key = format!("secrets.extra.{name}");
            if let Err(e) = src.check() {
                return Problem::at(&key, e);
            }
            if !is_secret_name(name) {
                return Problem::at(&key, "secret names use A-Z, 0-9 and _ only".into());
            }
        }
        Ok(())
    }
}

pub fn is_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}
