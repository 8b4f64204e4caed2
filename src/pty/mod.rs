//! Attaching a terminal to a session's `claude`.

use std::process::ExitCode;

use crate::backend::Backend;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::session::ops::Ops;

/// Docker's detach-key syntax for a config key like "ctrl-\\".
pub fn docker_detach_keys(key: &str) -> String {
    key.to_ascii_lowercase()
}

/// Hands the whole terminal to the session's claude until the detach key.
pub async fn attach_full_screen<B: Backend>(
    ops: &Ops<B>,
    id: &str,
    config: &Config,
) -> Result<ExitCode> {
    let status = std::process::Command::new("docker")
        .env("DOCKER_HOST", ops.backend.host())
        .args([
            "attach",
            "--sig-proxy=false",
            "--detach-keys",
            &docker_detach_keys(&config.ui.detach_key),
            id,
        ])
        .status()
        .map_err(|e| Error::other(format!("cannot run the docker CLI: {e}")))?;
    Ok(ExitCode::from(
        status.code().unwrap_or(0).clamp(0, 255) as u8
    ))
}
