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

/// One engine the dashboard shows: its name, its host (for the header), and how to reach
/// it.
pub use runtime::Connector;

/// `cctui`: the dashboard over these engines (`hosts`: each engine's name and host, in the
/// order the list groups them). It starts whether or not they answer: each one's `connect`
/// is tried, with backoff, until it does; its header says so meanwhile, and its sessions
/// appear when it does.
pub async fn run<B, C, F>(
    config: &Config,
    hosts: &[(&str, &str)],
    connectors: Vec<Connector<C>>,
    draw: runtime::Draw,
) -> Result<()>
where
    B: Backend,
    C: FnMut() -> F + Send + 'static,
    F: Future<Output = Result<Ops<B>>> + Send,
{
    let first = hosts.first().map_or("", |h| h.1);
    let mut state = initial_state(config, first)?;
    state.set_engines(hosts);
    runtime::run_loop(state, config, connectors, draw).await
}

/// `cctui attach NAME`: the session's terminal on the whole screen; the detach key quits.
/// `engine` names the engine `ops` reaches.
pub async fn run_attached<B: Backend>(
    ops: Ops<B>,
    engine: &str,
    session: &str,
    draw: runtime::Draw,
) -> Result<()> {
    ops.running_agent(session).await?;
    let host = ops.backend.host().to_string();
    let mut state = initial_state(&ops.config, &host)?;
    state.set_engines(&[(engine, &host)]);
    state.mode = state::Mode::FullScreen(session.to_string());
    state.exit_on_detach = true;
    let config = ops.config.clone();
    let connected = move || std::future::ready(Ok(ops.clone()));
    let connector = Connector {
        engine: engine.to_string(),
        connect: connected,
    };
    runtime::run_loop(state, &config, vec![connector], draw).await
}
