//! The dashboard.

use serde::Serialize;

use crate::backend::Backend;
use crate::config::FirewallMode;
use crate::error::{Error, Result};
use crate::sandbox::firewall::{self, Allowlist, Blocked, Counters, FirewallStatus};
use crate::session::ops::Ops;

pub async fn run<B: Backend>(_ops: Ops<B>) -> Result<()> {
    Err(Error::other(
        "the dashboard is not in this build yet; use the commands (cctui --help)",
    ))
}

/// Everything known about one session's firewall.
#[derive(Debug, Clone, Serialize)]
pub struct FirewallReport {
    pub session: String,
    pub status: FirewallStatus,
    pub allowlist: Allowlist,
    pub counters: Counters,
    pub recent: Vec<Blocked>,
}

pub async fn firewall_report<B: Backend>(ops: &Ops<B>, name: &str) -> Result<FirewallReport> {
    let session = ops.find(name).await?;
    let allowlist = ops.allowlist(name)?;
    let mut report = FirewallReport {
        session: name.to_string(),
        status: FirewallStatus::Unknown,
        allowlist,
        counters: Counters::default(),
        recent: Vec::new(),
    };
    if session.firewall == FirewallMode::Off {
        report.status = FirewallStatus::Off;
        return Ok(report);
    }
    let agent_running = session.agent.as_ref().is_some_and(|a| a.state.is_running());
    let holder = session.holder.filter(|h| h.state.is_running());
    report.status = match (&holder, agent_running) {
        (None, true) => FirewallStatus::Degraded {
            why: "the network holder is not running; egress is blocked".into(),
        },
        (None, false) => FirewallStatus::Unknown,
        (Some(h), _) => match firewall::verify(&ops.backend, &h.id).await? {
            Ok(()) => FirewallStatus::Verified {
                at: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or_default(),
            },
            Err(why) => FirewallStatus::Degraded { why },
        },
    };
    if let Some(h) = holder {
        report.counters = firewall::counters(&ops.backend, &h.id).await?;
        report.recent = firewall::blocked_log(&ops.backend, &h.id, 50).await?;
    }
    Ok(report)
}
