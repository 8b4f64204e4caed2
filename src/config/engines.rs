//! `[[engines]]`: the Docker engines the dashboard shows besides (or instead of) the local one.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One configured engine. `host` is `unix:///path`, `ssh://user@host[:port]` or
/// `tcp://host:port`; `cert_path` is a folder in Docker's `DOCKER_CERT_PATH` layout
/// (`ca.pem`, `cert.pem`, `key.pem`) and makes a `tcp://` host speak TLS; `ssh_key` is a
/// private key for an `ssh://` host (without it, the ssh agent and ~/.ssh/config apply).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngineEntry {
    pub name: String,
    pub host: String,
    pub cert_path: Option<PathBuf>,
    pub ssh_key: Option<PathBuf>,
}

/// Names the list, the CLI and `--engine` use: short, and safe in a label.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "engine name `{name}`: use 1 to 32 of a-z, 0-9, '.', '-' and '_', starting with a letter or digit"
        ))
    }
}

pub fn check_host(host: &str) -> Result<(), String> {
    const SCHEMES: [&str; 4] = ["unix://", "ssh://", "tcp://", "http://"];
    if SCHEMES
        .iter()
        .any(|s| host.starts_with(s) && host.len() > s.len())
    {
        Ok(())
    } else {
        Err(format!(
            "host `{host}`: use unix:///path, ssh://user@host[:port] or tcp://host:port"
        ))
    }
}

/// `cert_path` belongs to a `tcp://` host and `ssh_key` to an `ssh://` one: else the key,
/// its value and why.
pub fn check_fields(e: &EngineEntry) -> Result<(), (&'static str, String, String)> {
    let shown = |p: &Option<PathBuf>| {
        p.as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display()
            .to_string()
    };
    if e.cert_path.is_some() && !e.host.starts_with("tcp://") {
        return Err((
            "engines.cert_path",
            shown(&e.cert_path),
            format!("engine `{}`: cert_path is for tcp:// hosts only", e.name),
        ));
    }
    if e.ssh_key.is_some() && !e.host.starts_with("ssh://") {
        return Err((
            "engines.ssh_key",
            shown(&e.ssh_key),
            format!("engine `{}`: ssh_key is for ssh:// hosts only", e.name),
        ));
    }
    Ok(())
}
