//! Colours, with a plain variant for NO_COLOR. Every badge also reads without colour.

use ratatui::style::{Color, Modifier, Style};

use crate::backend::ContainerState;
use crate::sandbox::firewall::FirewallStatus;
use crate::term::state::ClaudeState;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn accent(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn focus_border(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// The list's short firewall badge: the symbol carries the meaning without colour.
    pub fn firewall_short(&self, s: &FirewallStatus) -> (&'static str, Style) {
        let (_, style) = self.firewall(s);
        let text = match s {
            FirewallStatus::Verified { .. } => "✔ fw",
            FirewallStatus::Degraded { .. } => "! fw",
            FirewallStatus::Off => "✖ OFF",
            FirewallStatus::Unknown => "? fw",
        };
        (text, style)
    }

    /// The firewall badge: a word that says it all, coloured when colour is on.
    pub fn firewall(&self, s: &FirewallStatus) -> (&'static str, Style) {
        match s {
            FirewallStatus::Verified { .. } => ("✔ fw ok", self.fg(Color::Green)),
            FirewallStatus::Degraded { .. } => (
                "! fw degraded",
                self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            FirewallStatus::Off => ("✖ fw OFF", self.fg(Color::Red).add_modifier(Modifier::BOLD)),
            FirewallStatus::Unknown => ("? fw unknown", self.dim()),
        }
    }

    pub fn container(&self, s: &ContainerState, busy: Option<&str>) -> (String, Style) {
        if let Some(b) = busy {
            return (format!("◌ {b}"), self.fg(Color::Cyan));
        }
        match s {
            ContainerState::Running => ("● running".into(), self.fg(Color::Green)),
            ContainerState::Created => ("○ created".into(), self.dim()),
            ContainerState::Exited(0 | 130 | 143) => ("○ stopped".into(), self.dim()),
            ContainerState::Exited(c) => (format!("✖ exited {c}"), self.fg(Color::Red)),
            ContainerState::Paused => ("‖ paused".into(), self.fg(Color::Yellow)),
            ContainerState::Restarting => ("◌ restarting".into(), self.fg(Color::Cyan)),
            ContainerState::Removing => ("◌ removing".into(), self.dim()),
            ContainerState::Dead => ("✖ error".into(), self.fg(Color::Red)),
            ContainerState::Unknown(u) => (format!("? {u}"), self.dim()),
        }
    }

    pub fn claude(&self, s: ClaudeState) -> (&'static str, Style) {
        match s {
            ClaudeState::WaitingForYou => (
                "▶ WAITING",
                self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            ),
            ClaudeState::Working => ("⋯ working", self.fg(Color::Cyan)),
            ClaudeState::Idle => ("· idle", self.ok()),
            ClaudeState::NotStarted => ("- not yet", self.dim()),
            ClaudeState::Exited => ("- exited", self.dim()),
        }
    }
}
