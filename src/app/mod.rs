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

use std::future::Future;

use crate::backend::Backend;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::session::ops::Ops;

fn initial_state(config: &Config, engine_host: &str) -> Result<state::State> {
    let keymap = keymap::Keymap::from_config(&config.keys, &config.ui.detach_key)
        .and_then(|k| k.with_paste_image(&config.clipboard.paste_image_key))
        .map_err(|e| {
            let file = config
                .source
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "config".into());
            Error::usage(format!("{file}: {e}"))
        })?;
    let settings = state::UiSettings {
        log_lines: config.ui.log_lines,
        bell: config.ui.bell,
        clipboard_copy: config.clipboard.copy,
        engine_host: engine_host.to_string(),
        profiles: config.session.profiles.clone(),
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        home: std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_default(),
        cwd: std::env::current_dir().unwrap_or_default(),
    };
    Ok(state::State::new(keymap, settings))
}

/// `cctui`: the dashboard. It starts whether or not the engine at `engine_host` answers:
/// `connect` is tried, with backoff, until it does; the header says so meanwhile, and the
/// list appears when it does.
pub async fn run<B, C, F>(
    config: &Config,
    engine_host: &str,
    connect: C,
    draw: runtime::Draw,
) -> Result<()>
where
    B: Backend,
    C: FnMut() -> F + Send + 'static,
    F: Future<Output = Result<Ops<B>>> + Send,
{
    let state = initial_state(config, engine_host)?;
    runtime::run_loop(state, connect, draw).await
}

/// `cctui attach NAME`: the session's terminal on the whole screen; the detach key quits.
pub async fn run_attached<B: Backend>(
    ops: Ops<B>,
    session: &str,
    draw: runtime::Draw,
) -> Result<()> {
    ops.running_agent(session).await?;
    let mut state = initial_state(&ops.config, ops.backend.host())?;
    state.mode = state::Mode::FullScreen(session.to_string());
    state.exit_on_detach = true;
    let connected = move || std::future::ready(Ok(ops.clone()));
    runtime::run_loop(state, connected, draw).await
}
