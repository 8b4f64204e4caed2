//! The detail tabs: their order, titles, and what each needs loaded while it is shown.
//! Adding a tab: a variant here, its `loads`, and its drawing in `ui/tabs/`.

use super::effect::Effect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Terminal,
    Logs,
    Firewall,
    Changes,
    Info,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Terminal,
        Tab::Logs,
        Tab::Firewall,
        Tab::Changes,
        Tab::Info,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Terminal => "Terminal",
            Tab::Logs => "Logs",
            Tab::Firewall => "Firewall",
            Tab::Info => "Info",
            Tab::Changes => "Changes",
        }
    }

    /// The next (or previous) tab, wrapping around.
    pub fn step(self, forward: bool) -> Tab {
        let n = Tab::ALL.len();
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0);
        Tab::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// What the tab needs loaded when it comes into view for `session` (with its agent
    /// container, if it has one). The terminal needs
    /// nothing: every running session is attached all the time.
    pub fn loads(self, session: &str, agent: Option<&str>) -> Vec<Effect> {
        let session = session.to_string();
        match (self, agent.map(String::from)) {
            (Tab::Logs, Some(container)) => vec![Effect::FollowLogs { session, container }],
            (Tab::Firewall, _) => vec![Effect::LoadFirewall(session)],
            (Tab::Changes, _) => vec![Effect::LoadChanges(session)],
            (Tab::Info, Some(container)) => vec![
                Effect::LoadUsage(session.clone()),
                Effect::LoadDetails { session, container },
            ],
            (Tab::Info, None) => vec![Effect::LoadUsage(session)],
            _ => Vec::new(),
        }
    }
}
