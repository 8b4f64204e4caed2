//! What the commands print: session tables, the stable `ls --json` shape, and build and
//! start progress.

use std::io::{IsTerminal, Write};

use crate::config::FirewallMode;
use crate::image::BuildProgress;
use crate::session::ops::Progress;
use crate::session::Session;
use crate::term::sanitize::for_stderr;
use crate::term::sanitize::for_stdout;

pub fn state_word(s: &Session) -> String {
    use crate::backend::ContainerState as S;
    match s.state() {
        S::Created => "created".into(),
        S::Running => "running".into(),
        S::Paused => "paused".into(),
        S::Restarting => "restarting".into(),
        S::Removing => "removing".into(),
        // A stop sends SIGTERM: 143 (or 130 for SIGINT) is a clean stop, not a crash.
        S::Exited(0 | 130 | 143) => "stopped".into(),
        S::Exited(code) => format!("exited ({code})"),
        S::Dead => "error".into(),
        S::Unknown(u) => u,
    }
}

/// The stable `ls --json` shape: documented in the README; add fields, never rename.
pub fn ls_json(sessions: &[Session]) -> serde_json::Value {
    serde_json::Value::Array(
        sessions
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "project": s.project,
                    "state": state_word(s),
                    "running": s.state().is_running(),
                    "exit_code": match s.state() { crate::backend::ContainerState::Exited(c) => Some(c), _ => None },
                    "profiles": s.profiles,
                    "firewall": s.firewall.as_str(),
                    "firewall_state": s.firewall_from_states().map(|f| f.label()),
                    "container": s.agent.as_ref().map(|a| a.name.clone()),
                    "image": s.agent.as_ref().map(|a| a.image.clone()),
                    "created": s.agent.as_ref().map(|a| a.created),
                    "environment": s.agent.as_ref().and_then(|a| a.labels.get(crate::devcontainer::ENVIRONMENT_LABEL)),
                    "ports": ports_json(&s.name),
                    "carried": carried_json(s),
                })
            })
            .collect(),
    )
}

/// The session's live forwards (`cctui port`), as `[{port, host_port, bind}]`.
fn ports_json(name: &str) -> serde_json::Value {
    let forwards = crate::session::ports::list(name).unwrap_or_default();
    forwards
        .iter()
        .map(|f| serde_json::json!({"port": f.port, "host_port": f.host_port, "bind": f.bind.to_string()}))
        .collect()
}

/// What the session's last start carried of the user's Claude setup, and what it cut.
fn carried_json(s: &Session) -> serde_json::Value {
    let Some(agent) = &s.agent else {
        return serde_json::Value::Null;
    };
    let (carried, cut) = crate::session::ops::carried_report(&agent.id);
    serde_json::json!({ "entries": carried, "cut": cut })
}

/// Each entry of an `ls --json` list gets the `engine` it lives on.
pub fn name_engine(list: &mut serde_json::Value, engine: &str) {
    for item in list.as_array_mut().into_iter().flatten() {
        item["engine"] = serde_json::json!(engine);
    }
}

/// The sessions, each with the name of its engine.
pub fn print_table(sessions: &[(&str, &Session)]) {
    if sessions.is_empty() {
        println!("no sessions; create one with `cctui new PATH`");
        return;
    }
    let width = sessions
        .iter()
        .map(|(e, _)| e.len())
        .max()
        .unwrap_or(0)
        .max(6);
    println!(
        "{:<20} {:<12} {:<8} {:<16} {:<width$} PROJECT",
        "NAME", "STATE", "FIREWALL", "PROFILES", "ENGINE"
    );
    for (engine, s) in sessions {
        let row = format!(
            "{:<20} {:<12} {:<8} {:<16} {engine:<width$} {}",
            s.name,
            state_word(s),
            firewall_word(s),
            if s.profiles.is_empty() {
                "-".to_string()
            } else {
                s.profiles.join(",")
            },
            s.project
        );
        println!("{}", for_stdout(&row));
        if crate::session::work::host_git_exposed(s) {
            println!("  ✖ host git exposed: made with --in-place; its agent can write the repository's .git");
        }
    }
}

/// The firewall column: off is shouted, since egress is open; a holder that is down while
/// the agent runs (it failed closed: a failed apply or check) is "degraded", never "on".
pub fn firewall_word(s: &Session) -> String {
    match (s.firewall, s.firewall_from_states()) {
        (FirewallMode::Off, _) => s.firewall.as_str().to_uppercase(),
        (_, Some(crate::sandbox::firewall::FirewallStatus::Degraded { .. })) => "degraded".into(),
        (FirewallMode::On, _) => s.firewall.as_str().to_string(),
    }
}

/// Build and start progress on stderr: one updating line on a terminal, plain lines otherwise.
pub struct ProgressPrinter {
    tty: bool,
    open_line: bool,
}

impl ProgressPrinter {
    pub fn new() -> Self {
        ProgressPrinter {
            tty: std::io::stderr().is_terminal(),
            open_line: false,
        }
    }

    pub fn show(&mut self, p: &Progress) {
        let mut err = std::io::stderr().lock();
        match p {
            Progress::Build(BuildProgress::Step {
                layer,
                index,
                total,
                text,
            }) => {
                let width = 20usize;
                let filled = (*index as usize * width) / (*total).max(1) as usize;
                let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
                // The step's text is the Dockerfile's (a repository may propose it).
                let text: String = text.chars().take(60).collect();
                let text = for_stderr(&text);
                if self.tty {
                    let _ = write!(err, "\r\x1b[2K[{layer}] [{bar}] {index}/{total} {text}");
                    self.open_line = true;
                } else {
                    let _ = writeln!(err, "[{layer}] {index}/{total} {text}");
                }
            }
            Progress::Build(BuildProgress::Output { .. }) => {}
            other => {
                if self.open_line {
                    let _ = writeln!(err);
                    self.open_line = false;
                }
                let line = match other {
                    Progress::Build(BuildProgress::Cached { layer, tag }) => {
                        format!("[{layer}] {tag} (cached)")
                    }
                    Progress::Build(BuildProgress::Started { layer, tag }) => {
                        format!("[{layer}] building {tag}")
                    }
                    Progress::Build(BuildProgress::Finished { layer, tag }) => {
                        format!("[{layer}] built {tag}")
                    }
                    Progress::Note(n) => n.clone(),
                    _ => String::new(),
                };
                let _ = writeln!(err, "{}", for_stderr(&line));
            }
        }
    }

    pub fn finish(&mut self) {
        if self.open_line {
            eprintln!();
            self.open_line = false;
        }
    }
}
