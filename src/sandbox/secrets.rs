//! Secrets: resolved on the host at each start, held only in memory, and delivered through
//! exec stdin: the credential (API key or setup token) to the broker in the network holder
//! (see `broker`), extra secrets as files on the agent's tmpfs. Never in an image, an env var,
//! argv, a label or a log.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;

use crate::config::{SecretSource, SecretsConfig};
use crate::error::{Error, Result};
use crate::paths::expand_home;

/// A secret value. Its Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which kind of credential the broker adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    /// `x-api-key: KEY`.
    ApiKey,
    /// `Authorization: Bearer TOKEN` (a `claude setup-token` token), with the OAuth beta flag.
    OauthToken,
}

impl CredentialKind {
    pub fn label(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "API key",
            CredentialKind::OauthToken => "setup token",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Credential {
    pub kind: CredentialKind,
    pub secret: Secret,
}

/// Environment variables that hold keys. cctui takes them out of its own environment at start
/// (see `take_key_env`) so that no process it starts inherits them.
pub const KEY_ENV_VARS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_API_KEY_FILE",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN_FILE",
];

static TAKEN_ENV: OnceLock<BTreeMap<String, String>> = OnceLock::new();

/// Moves key variables from the process environment into memory. Call first thing in main,
/// before any thread starts.
pub fn take_key_env(extra_names: &[String]) {
    let mut taken = BTreeMap::new();
    for name in KEY_ENV_VARS
        .iter()
        .map(|s| s.to_string())
        .chain(extra_names.iter().cloned())
    {
        if let Ok(v) = std::env::var(&name) {
            taken.insert(name.clone(), v);
            // SAFETY: called from main before any other thread exists.
            unsafe { std::env::remove_var(&name) };
        }
    }
    let _ = TAKEN_ENV.set(taken);
}

fn env_value(name: &str) -> Option<String> {
    TAKEN_ENV
        .get()
        .and_then(|m| m.get(name).cloned())
        .or_else(|| std::env::var(name).ok())
        .filter(|v| !v.is_empty())
}

/// `sk-ant-...` followed by enough key characters.
pub fn looks_like_key(value: &str) -> bool {
    value.match_indices("sk-ant-").any(|(i, _)| {
        value[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .count()
            >= 16
    })
}

fn read_secret_file(path: &Path, what: &str) -> Result<Secret> {
    let path = expand_home(path);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::usage(format!(
            "{what}: cannot read {}: {e}; fix the path or the file's permissions",
            path.display()
        ))
    })?;
    non_empty(text, what)
}

fn non_empty(text: String, what: &str) -> Result<Secret> {
    let value = text.trim().to_string();
    if value.is_empty() {
        return Err(Error::usage(format!(
            "{what}: the source gave an empty value"
        )));
    }
    Ok(Secret(value))
}

/// Resolves one source. `what` names it in errors, e.g. "secrets.anthropic_api_key".
pub async fn resolve(source: &SecretSource, what: &str) -> Result<Secret> {
    if let Some(var) = &source.env {
        if let Some(v) = env_value(var) {
            return non_empty(v, what);
        }
        // The Docker-secrets convention: NAME_FILE names a file that holds NAME.
        if let Some(file) = env_value(&format!("{var}_FILE")) {
            return read_secret_file(Path::new(&file), what);
        }
        return Err(Error::usage(format!(
            "{what}: the environment variable {var} (or {var}_FILE) is not set; export it, or \
             configure a file or command source in config.toml"
        )));
    }
    if let Some(file) = &source.file {
        return read_secret_file(file, what);
    }
    if let Some(command) = &source.command {
        let secs = source.timeout_secs.unwrap_or(15);
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| Error::other(format!("{what}: cannot run `{command}`: {e}")))?;
        let out = tokio::time::timeout(Duration::from_secs(secs), child.wait_with_output())
            .await
            .map_err(|_| {
                Error::other(format!(
                    "{what}: `{command}` did not finish within {secs} s (raise timeout_secs)"
                ))
            })?
            .map_err(|e| Error::other(format!("{what}: `{command}`: {e}")))?;
        if !out.status.success() {
            return Err(Error::other(format!(
                "{what}: `{command}` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        return non_empty(String::from_utf8_lossy(&out.stdout).into_owned(), what);
    }
    Err(Error::usage(format!(
        "{what}: set one of env, file or command"
    )))
}

/// The secrets for one session start: the credential (if any) and the extra ones, by file
/// name.
#[derive(Debug, Default)]
pub struct SessionSecrets {
    pub credential: Option<Credential>,
    pub extra: BTreeMap<String, Secret>,
}

/// Resolves every configured secret. With no credential source configured,
/// `ANTHROPIC_API_KEY` (or `ANTHROPIC_API_KEY_FILE`) is used when set, as Claude Code itself
/// does, then `CLAUDE_CODE_OAUTH_TOKEN` (or its `_FILE`); none at all means the session uses
/// Claude's own login.
pub async fn resolve_all(config: &SecretsConfig) -> Result<SessionSecrets> {
    let key = |secret| Credential {
        kind: CredentialKind::ApiKey,
        secret,
    };
    let token = |secret| Credential {
        kind: CredentialKind::OauthToken,
        secret,
    };
    let credential = match (&config.anthropic_api_key, &config.claude_code_oauth_token) {
        (Some(src), _) => Some(key(resolve(src, "secrets.anthropic_api_key").await?)),
        (None, Some(src)) => Some(token(
            resolve(src, "secrets.claude_code_oauth_token").await?,
        )),
        (None, None) => env_credential().await.map(|(_, c)| c),
    };
    let mut extra = BTreeMap::new();
    for (name, src) in &config.extra {
        extra.insert(
            name.clone(),
            resolve(src, &format!("secrets.extra.{name}")).await?,
        );
    }
    Ok(SessionSecrets { credential, extra })
}

/// The credential from the environment cctui started with, and the variable it came from:
/// `ANTHROPIC_API_KEY` (or its `_FILE`), then `CLAUDE_CODE_OAUTH_TOKEN` (or its `_FILE`).
pub async fn env_credential() -> Option<(&'static str, Credential)> {
    let from_env = |var: &str| SecretSource {
        env: Some(var.into()),
        ..Default::default()
    };
    let kinds = [
        ("ANTHROPIC_API_KEY", CredentialKind::ApiKey),
        ("CLAUDE_CODE_OAUTH_TOKEN", CredentialKind::OauthToken),
    ];
    for (var, kind) in kinds {
        if let Ok(secret) = resolve(&from_env(var), var).await {
            return Some((var, Credential { kind, secret }));
        }
    }
    None
}

/// `.env`-style files under `folder` (not descending into dependencies) that hold values that
/// look like keys. Returns the paths.
pub fn key_looking_env_files(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![(folder.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                if depth < 3
                    && !matches!(
                        name.as_str(),
                        "node_modules" | "target" | ".git" | ".venv" | "vendor"
                    )
                {
                    stack.push((path, depth + 1));
                }
            } else if kind.is_file()
                && (name == ".env" || name.starts_with(".env.") || name.ends_with(".env"))
                && std::fs::read_to_string(&path).is_ok_and(|t| looks_like_key(&t))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spots_keys() {
        assert!(looks_like_key("sk-ant-api03-abcdefghijklmnopqrstuv"));
        assert!(looks_like_key("KEY=sk-ant-api03-abcdefghijklmnopqrstuv\n"));
        assert!(!looks_like_key("sk-ant-"));
        assert!(!looks_like_key("just text"));
    }

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new("sk-ant-canary");
        assert!(!format!("{s:?}").contains("canary"));
    }

    #[tokio::test]
    async fn command_sources_report_their_stderr() {
        let src = SecretSource {
            command: Some("echo nope >&2; exit 3".into()),
            ..Default::default()
        };
        let err = resolve(&src, "x").await.unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
        let ok = SecretSource {
            command: Some("printf 'value\\n'".into()),
            ..Default::default()
        };
        assert_eq!(resolve(&ok, "x").await.unwrap().expose(), "value");
    }

    #[tokio::test]
    async fn command_sources_time_out() {
        let src = SecretSource {
            command: Some("sleep 5".into()),
            timeout_secs: Some(1),
            ..Default::default()
        };
        let err = resolve(&src, "x").await.unwrap_err().to_string();
        assert!(err.contains("did not finish"), "{err}");
    }
}
