//! What a session's firewall is, from its containers' states and what its holder says. The
//! rules live here once: `cctui fw status`, the Firewall tab and the list's badge all use them.

use serde::Serialize;

use super::broker::BrokerStats;
use super::firewall::{Allowlist, Blocked, Counters, FirewallStatus};
use crate::config::FirewallMode;

/// Why a firewalled session whose agent runs without its holder is degraded.
pub const HOLDER_DOWN: &str = "the network holder is not running; egress is blocked";

/// The states that decide a firewall's status before anything is read from the holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxStates {
    pub firewall: FirewallMode,
    pub holder_running: bool,
    pub agent_running: bool,
}

/// What the containers' states alone say about the firewall: `Some` when that is the whole
/// answer (off; or the holder down: degraded while the agent runs, since its egress is
/// blocked, unknown otherwise), `None` when only the running holder can tell.
pub fn status_from(states: SandboxStates) -> Option<FirewallStatus> {
    match states {
        SandboxStates {
            firewall: FirewallMode::Off,
            ..
        } => Some(FirewallStatus::Off),
        SandboxStates {
            holder_running: true,
            ..
        } => None,
        SandboxStates {
            agent_running: true,
            ..
        } => Some(FirewallStatus::Degraded {
            why: HOLDER_DOWN.into(),
        }),
        _ => Some(FirewallStatus::Unknown),
    }
}

/// True when the agent runs behind a holder that does not: degraded, egress blocked.
pub fn holder_down(states: SandboxStates) -> bool {
    matches!(status_from(states), Some(FirewallStatus::Degraded { .. }))
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
    pub broker: Option<BrokerStats>,
    /// Whether a running holder was read: without it, nothing is known about a broker.
    #[serde(skip)]
    pub holder_read: bool,
}

/// What a running holder says about its firewall.
#[derive(Debug, Clone)]
pub struct HolderReading {
    pub status: FirewallStatus,
    pub counters: Counters,
    pub recent: Vec<Blocked>,
    pub broker: Option<BrokerStats>,
}

impl FirewallReport {
    /// The report on `session`: by `status_from` where the states decide; otherwise what the
    /// holder said (`reading`, which is taken only from a running holder of a firewalled
    /// session and ignored otherwise). Without a reading there are no counters or blocks.
    pub fn of(
        session: &str,
        states: SandboxStates,
        allowlist: Allowlist,
        reading: Option<HolderReading>,
    ) -> FirewallReport {
        let mut report = FirewallReport {
            session: session.to_string(),
            status: FirewallStatus::Unknown,
            allowlist,
            counters: Counters::default(),
            recent: Vec::new(),
            broker: None,
            holder_read: false,
        };
        match (status_from(states), reading) {
            (Some(status), _) => report.status = status,
            (None, Some(r)) => {
                report.status = r.status;
                report.counters = r.counters;
                report.recent = r.recent;
                report.broker = r.broker;
                report.holder_read = true;
            }
            (None, None) => {}
        }
        report
    }

    /// The broker's lines for `fw status` and the Firewall tab: "none" only when a running
    /// holder said so; a holder that is down cannot say whether it held a credential.
    pub fn broker_lines(&self) -> Vec<String> {
        match (&self.broker, &self.status) {
            (Some(s), _) => super::broker::report_lines(Some(s)),
            (None, FirewallStatus::Off) => vec!["broker: none (the firewall is off)".into()],
            (None, _) if !self.holder_read => {
                vec!["broker: unknown (the network holder is not running)".into()]
            }
            (None, _) => super::broker::report_lines(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(firewall: FirewallMode, holder_running: bool, agent_running: bool) -> SandboxStates {
        SandboxStates {
            firewall,
            holder_running,
            agent_running,
        }
    }

    #[test]
    fn the_holder_down_while_the_agent_runs_is_degraded() {
        use FirewallMode::{Off, On};
        let degraded = Some(FirewallStatus::Degraded {
            why: HOLDER_DOWN.into(),
        });
        assert_eq!(status_from(states(On, false, true)), degraded);
        assert!(holder_down(states(On, false, true)));
        assert_eq!(
            status_from(states(On, false, false)),
            Some(FirewallStatus::Unknown)
        );
        assert_eq!(status_from(states(On, true, true)), None);
        assert!(!holder_down(states(On, true, true)));
        for (h, a) in [(false, false), (false, true), (true, true)] {
            assert_eq!(status_from(states(Off, h, a)), Some(FirewallStatus::Off));
            assert!(!holder_down(states(Off, h, a)));
        }
    }

    #[test]
    fn a_reading_counts_only_from_a_running_holder() {
        let reading = HolderReading {
            status: FirewallStatus::Verified { at: 7 },
            counters: Counters {
                rejected_packets: 3,
                ..Default::default()
            },
            recent: vec![],
            broker: None,
        };
        let list = || Allowlist {
            rules: vec![],
            broker_upstream: None,
        };
        let up = FirewallReport::of(
            "s",
            states(FirewallMode::On, true, true),
            list(),
            Some(reading.clone()),
        );
        assert_eq!(up.status, FirewallStatus::Verified { at: 7 });
        assert_eq!(up.counters.rejected_packets, 3);
        let down = FirewallReport::of(
            "s",
            states(FirewallMode::On, false, true),
            list(),
            Some(reading),
        );
        assert!(matches!(down.status, FirewallStatus::Degraded { .. }));
        assert_eq!(down.counters.rejected_packets, 0);
    }
}
