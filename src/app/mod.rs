//! The dashboard: one state (`state`), changed only by `update` (action in, effects out),
//! drawn by `ui::draw`, with all I/O in `runtime`.

pub mod action;
pub mod effect;
pub mod forms;
pub mod keymap;
pub mod layout;
pub mod runtime;
pub mod state;
pub mod tabs;
pub mod update;
pub mod view;

use serde::Serialize;

use crate::backend::Backend;
use crate::config::FirewallMode;
use crate::error::{Error, Result};
use crate::sandbox::firewall::{self, Allowlist, Blocked, Counters, FirewallStatus};
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
pub async fn run<B: Backend>(ops: Ops<B>) -> Result<()> {
    let state = initial_state(&ops)?;
    runtime::run_loop(state, ops).await
}

/// `cctui attach NAME`: the session's terminal on the whole screen; the detach key quits.
pub async fn run_attached<B: Backend>(ops: Ops<B>, session: &str) -> Result<()> {
    ops.running_agent(session).await?;
    let mut state = initial_state(&ops)?;
    state.mode = state::Mode::FullScreen(session.to_string());
    state.exit_on_detach = true;
    runtime::run_loop(state, ops).await
}

/// Everything known about one session's firewall.
#[derive(Debug, Clone, Serialize)]
pub struct FirewallReport {
    pub session: String,
    pub status: FirewallStatus,
    pub allowlist: Allowlist,
    pub counters: Counters,
    pub recent: Vec<Blocked>,
    /// The credential broker's traffic, where the holder runs one.
    pub broker: Option<crate::sandbox::broker::BrokerStats>,
}

/// What a running holder says about its firewall.
#[derive(Debug, Clone)]
pub struct HolderReading {
    pub status: FirewallStatus,
    pub counters: Counters,
    pub recent: Vec<Blocked>,
    pub broker: Option<crate::sandbox::broker::BrokerStats>,
}

impl FirewallReport {
    /// The report on `session`, by the rules `cctui fw status` and the Firewall tab share: a
    /// session with the firewall off is "off" and nothing else; without a running holder there
    /// is nothing to read, so no counters or blocks, and the firewall is degraded while the
    /// agent runs (unknown otherwise); with one, it is what the holder said (`reading`, which
    /// is read only from a running holder and ignored otherwise).
    pub fn of(
        session: &crate::session::Session,
        allowlist: Allowlist,
        reading: Option<HolderReading>,
    ) -> FirewallReport {
        let mut report = FirewallReport {
            session: session.name.clone(),
            status: FirewallStatus::Unknown,
            allowlist,
            counters: Counters::default(),
            recent: Vec::new(),
            broker: None,
        };
        if session.firewall == FirewallMode::Off {
            report.status = FirewallStatus::Off;
            return report;
        }
        let agent_running = session.agent.as_ref().is_some_and(|a| a.state.is_running());
        match (running_holder(session), reading) {
            (Some(_), Some(r)) => {
                report.status = r.status;
                report.counters = r.counters;
                report.recent = r.recent;
                report.broker = r.broker;
            }
            (Some(_), None) => {}
            (None, _) if agent_running => {
                report.status = FirewallStatus::Degraded {
                    why: "the network holder is not running; egress is blocked".into(),
                }
            }
            (None, _) => {}
        }
        report
    }
}

/// The session's holder, if it is running (only a running holder can be read).
pub fn running_holder(
    session: &crate::session::Session,
) -> Option<&crate::backend::ContainerSummary> {
    session.holder.as_ref().filter(|h| h.state.is_running())
}

pub async fn firewall_report<B: Backend>(ops: &Ops<B>, name: &str) -> Result<FirewallReport> {
    let session = ops.find(name).await?;
    let allowlist = ops.allowlist(std::path::Path::new(&session.project), name)?;
    let reading = match running_holder(&session) {
        Some(h) if session.firewall == FirewallMode::On => {
            let stats = crate::sandbox::broker::stats(&ops.backend, &h.id).await?;
            Some(HolderReading {
                status: firewall::last_verification(&ops.backend, &h.id).await?,
                counters: firewall::counters(&ops.backend, &h.id).await?,
                recent: firewall::blocked_log(&ops.backend, &h.id, 50).await?,
                broker: (stats.running || stats.requests > 0).then_some(stats),
            })
        }
        _ => None,
    };
    Ok(FirewallReport::of(&session, allowlist, reading))
}
