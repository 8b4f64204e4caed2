//! The dashboard: one state (`state`), changed only by `update` (action in, effects out),
//! drawn by `ui::draw`, with all I/O in `runtime`.

pub mod action;
pub mod effect;
pub mod forms;
pub mod jobs;
pub mod keymap;
pub mod layout;
pub mod queue;
pub mod runtime;
pub mod state;
pub mod tabs;
pub mod update;
pub mod view;
pub mod watch;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::session::ops::Ops;

fn initial_state<B: Backend>(ops: &Ops<B>) -> Result<state::State> {
    let keymap =
        keymap::Keymap::from_config(&ops.config.keys, &ops.config.ui.detach_key).map_err(|e| {
            let file = ops
                .config
                .source
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "config".into());
            Error::usage(format!("{file}: {e}"))
        })?;
    let settings = state::UiSettings {
        log_lines: ops.config.ui.log_lines,
        bell: ops.config.ui.bell,
        engine_host: ops.backend.host().to_string(),
        profiles: ops.config.session.profiles.clone(),
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        home: std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_default(),
        cwd: std::env::current_dir().unwrap_or_default(),
    };
    Ok(state::State::new(keymap, settings))
}

/// `cctui`: the dashboard.
pub async fn run<B: Backend>(ops: Ops<B>, draw: runtime::Draw) -> Result<()> {
    let state = initial_state(&ops)?;
    runtime::run_loop(state, ops, draw).await
}

/// `cctui attach NAME`: the session's terminal on the whole screen; the detach key quits.
pub async fn run_attached<B: Backend>(
    ops: Ops<B>,
    session: &str,
    draw: runtime::Draw,
) -> Result<()> {
    ops.running_agent(session).await?;
    let mut state = initial_state(&ops)?;
    state.mode = state::Mode::FullScreen(session.to_string());
    state.exit_on_detach = true;
    runtime::run_loop(state, ops, draw).await
}
