//! The names `[session] carry` may list: an allowlist, so that settings (which run commands)
//! and credentials can never be named. `session::carry` says where each lands and copies it.

/// Every entry of the user's Claude folder that may be carried.
pub const CARRIABLE: [&str; 5] = ["CLAUDE.md", "skills", "commands", "agents", "output-styles"];

/// Why a `[session] carry` entry cannot be carried, naming what may be.
pub fn check_entry(name: &str) -> Result<(), String> {
    if CARRIABLE.contains(&name) {
        return Ok(());
    }
    let why = if name.starts_with("settings") || name == ".claude.json" {
        " (settings run commands on start: apiKeyHelper, hooks)"
    } else if name.contains("credentials") {
        " (credentials never leave the host)"
    } else {
        ""
    };
    Err(format!(
        "`{name}` cannot be carried{why}; carry only {}",
        CARRIABLE.join(", ")
    ))
}
