//! The egress firewall, host side: the allowlist in force for a session (global rules,
//! presets, session additions), and the calls into `cctui-fw` in the session's network holder,
//! which applies and verifies it. The rule grammar itself is `config::allow`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, ExecSpec};
pub use crate::config::allow::{
    checks_text, parse_rule, preset_descriptions, preset_table, presets, valid_domain, Check,
    Preset, Rule, RuleError, Target, PRESETS,
};
use crate::config::{parse_toml, Config, Upstream};
use crate::error::{Error, Result};

/// Per-session additions, kept in cctui's config folder where the agent cannot write.
#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionAllow {
    pub allow: Vec<String>,
}

pub fn session_allow_file(config_dir: &Path, session: &str) -> PathBuf {
    config_dir.join("sessions").join(format!("{session}.toml"))
}

impl SessionAllow {
    pub fn load(config_dir: &Path, session: &str) -> Result<SessionAllow> {
        let path = session_allow_file(config_dir, session);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(parse_toml(&text, &path)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SessionAllow::default()),
            Err(e) => Err(Error::other(format!("{}: {e}", path.display()))),
        }
    }

    pub fn save(&self, config_dir: &Path, session: &str) -> Result<()> {
        let path = session_allow_file(config_dir, session);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::other(format!("{}: {e}", dir.display())))?;
        }
        let text = format!(
            "# Egress rules added for session `{session}` (cctui fw allow/deny).\n{}",
            toml::to_string(self).expect("serialises")
        );
        std::fs::write(&path, text).map_err(|e| Error::other(format!("{}: {e}", path.display())))
    }
}

/// The allowlist in force for one session: global rules, presets and session additions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allowlist {
    pub rules: Vec<Rule>,
    /// The credential broker's upstream: reachable by the broker's uid only, never the agent.
    pub broker_upstream: Option<Upstream>,
}

impl Allowlist {
    pub fn for_session(config: &Config, extra: &SessionAllow) -> Result<Allowlist> {
        let known = presets();
        let mut texts: Vec<String> = Vec::new();
        for p in &config.firewall.presets {
            let rules = known.get(p).ok_or_else(|| {
                Error::usage(format!(
                    "firewall.presets: unknown preset `{p}`; known: {}",
                    known.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
            texts.extend(rules.iter().cloned());
        }
        texts.extend(config.firewall.allow.iter().cloned());
        texts.extend(extra.allow.iter().cloned());
        let mut rules = texts
            .iter()
            .map(|t| parse_rule(t))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rules.sort();
        rules.dedup();
        let broker_upstream = Some(
            Upstream::parse(&config.broker.upstream)
                .map_err(|e| Error::usage(format!("broker.upstream: {e}")))?,
        );
        Ok(Allowlist {
            rules,
            broker_upstream,
        })
    }

    /// The text `cctui-fw apply` reads on stdin.
    pub fn script_input(&self) -> String {
        let mut out = String::from("# cctui allowlist\n");
        for r in &self.rules {
            let (kind, value) = match &r.target {
                Target::Domain(d) => ("domain", d),
                Target::Wildcard(d) => ("wildcard", d),
                Target::Cidr(c) => ("cidr", c),
            };
            out.push_str(&format!("{kind} {value} {}\n", r.port_list()));
        }
        if let Some(b) = &self.broker_upstream {
            out.push_str(&b.script_line());
            out.push('\n');
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum FirewallStatus {
    /// Every check passed at this Unix time.
    Verified {
        at: i64,
    },
    Degraded {
        why: String,
    },
    Off,
    Unknown,
}

impl FirewallStatus {
    pub fn label(&self) -> &'static str {
        match self {
            FirewallStatus::Verified { .. } => "verified",
            FirewallStatus::Degraded { .. } => "degraded",
            FirewallStatus::Off => "off",
            FirewallStatus::Unknown => "unknown",
        }
    }
}

fn root_exec(cmd: &[&str], stdin: Option<String>) -> ExecSpec {
    ExecSpec {
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        user: Some("0:0".into()),
        stdin: stdin.map(String::into_bytes),
        ..Default::default()
    }
}

/// Applies the allowlist in the holder. Fails with the script's own account of the step.
pub async fn apply<B: Backend>(backend: &B, holder: &str, list: &Allowlist) -> Result<Duration> {
    apply_input(backend, holder, list.script_input()).await
}

/// Applies the allowlist in a holder about to hold a credential: the broker's upstream is
/// then the broker's alone (the holder remembers this for later applies).
pub async fn apply_holding<B: Backend>(
    backend: &B,
    holder: &str,
    list: &Allowlist,
) -> Result<Duration> {
    apply_input(backend, holder, list.script_input() + "broker-held\n").await
}

async fn apply_input<B: Backend>(backend: &B, holder: &str, input: String) -> Result<Duration> {
    let started = Instant::now();
    let out = backend
        .exec(holder, &root_exec(&["cctui-fw", "apply"], Some(input)))
        .await?;
    if out.exit_code != 0 {
        return Err(Error::other(format!(
            "firewall setup failed: {}",
            first_line_or(&out.stderr_text(), &out.stdout_text())
        )));
    }
    Ok(started.elapsed())
}

/// Runs every check in the holder. `Ok(Err(why))` is a firewall that does not hold.
pub async fn verify<B: Backend>(
    backend: &B,
    holder: &str,
) -> Result<std::result::Result<(), String>> {
    let out = backend
        .exec(holder, &root_exec(&["cctui-fw", "verify"], None))
        .await?;
    if out.exit_code == 0 {
        return Ok(Ok(()));
    }
    let failures: Vec<String> = out
        .stdout_text()
        .lines()
        .filter(|l| l.starts_with("fail"))
        .map(str::to_string)
        .collect();
    Ok(Err(if failures.is_empty() {
        first_line_or(&out.stderr_text(), "verification failed")
    } else {
        failures.join("; ")
    }))
}

/// The holder's last verification (periodic, or asked for), from `cctui-fw status`.
pub async fn last_verification<B: Backend>(backend: &B, holder: &str) -> Result<FirewallStatus> {
    let out = backend
        .exec(holder, &root_exec(&["cctui-fw", "status"], None))
        .await?;
    Ok(parse_status(&out.stdout_text()))
}

pub fn parse_status(text: &str) -> FirewallStatus {
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.splitn(3, ' ');
    match (parts.next().and_then(|t| t.parse().ok()), parts.next()) {
        (Some(at), Some("ok")) => FirewallStatus::Verified { at },
        (Some(_), Some("fail")) => FirewallStatus::Degraded {
            why: parts
                .next()
                .unwrap_or("verification failed")
                .trim_end_matches(';')
                .to_string(),
        },
        _ => FirewallStatus::Unknown,
    }
}

fn first_line_or(text: &str, fallback: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(fallback)
        .trim()
        .to_string()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub rejected_packets: u64,
    pub rejected_bytes: u64,
    pub refused_names: u64,
    /// Connections the proxy refused for their TLS SNI or HTTP Host (or for carrying none).
    pub refused_by_name: u64,
}

pub async fn counters<B: Backend>(backend: &B, holder: &str) -> Result<Counters> {
    let out = backend
        .exec(holder, &root_exec(&["cctui-fw", "counters"], None))
        .await?;
    let mut c = Counters::default();
    for line in out.stdout_text().lines() {
        let mut parts = line.split_whitespace();
        let (Some(k), Some(v)) = (parts.next(), parts.next().and_then(|v| v.parse().ok())) else {
            continue;
        };
        match k {
            "rejected_packets" => c.rejected_packets = v,
            "rejected_bytes" => c.rejected_bytes = v,
            "refused_names" => c.refused_names = v,
            "refused_by_name" => c.refused_by_name = v,
            _ => {}
        }
    }
    Ok(c)
}

/// One blocked attempt: a refused name or a rejected packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocked {
    pub time: i64,
    /// "dns" (a refused name), "sni" or "host" (a connection refused by name; destination "-"
    /// when it carried none), or "tcp", "udp", "icmp" (a rejected packet).
    pub kind: String,
    pub destination: String,
    pub port: Option<u16>,
}

impl Blocked {
    /// One line, as the dashboard's Firewall tab and `cctui fw log` print it:
    /// `HH:MM:SS kind destination:port`, the time in UTC.
    pub fn line(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{} {:<4} {}{port}",
            clock(self.time),
            self.kind,
            self.destination
        )
    }
}

/// HH:MM:SS (UTC) of a Unix time.
pub fn clock(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

pub fn parse_log(text: &str) -> Vec<Blocked> {
    text.lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            let time = p.next()?.parse().ok()?;
            let kind = p.next()?.to_string();
            let destination = p.next()?.to_string();
            let port = p.next().and_then(|p| p.parse().ok());
            Some(Blocked {
                time,
                kind,
                destination,
                port,
            })
        })
        .collect()
}

pub async fn blocked_log<B: Backend>(
    backend: &B,
    holder: &str,
    lines: usize,
) -> Result<Vec<Blocked>> {
    let n = lines.to_string();
    let out = backend
        .exec(holder, &root_exec(&["cctui-fw", "log", &n], None))
        .await?;
    Ok(parse_log(&out.stdout_text()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_lines_print_times_in_the_cli_as_in_the_dashboard() {
        let b = Blocked {
            time: 1_700_000_000,
            kind: "tcp".into(),
            destination: "10.1.2.3".into(),
            port: Some(22),
        };
        assert_eq!(b.line(), "22:13:20 tcp  10.1.2.3:22");
    }

    #[test]
    fn reads_the_holders_status_line() {
        assert_eq!(
            parse_status("1700000000 ok\n"),
            FirewallStatus::Verified { at: 1700000000 }
        );
        assert_eq!(
            parse_status("1700000000 fail fail dnsmasq: not running;"),
            FirewallStatus::Degraded {
                why: "fail dnsmasq: not running".into()
            }
        );
        assert_eq!(parse_status(""), FirewallStatus::Unknown);
    }

    #[test]
    fn every_shipped_preset_parses() {
        // Every table of config/presets.toml, read on its own (not through `presets()`), is a
        // preset with rules that parse and that a session can use by name.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/presets.toml");
        let file = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            file, PRESETS,
            "the embedded presets are not the shipped file"
        );
        let tables: toml::Table = file.parse().unwrap();
        assert!(!tables.is_empty(), "no presets in {}", path.display());
        let known = presets();
        assert_eq!(
            known.keys().collect::<Vec<_>>(),
            tables.keys().collect::<Vec<_>>()
        );
        for (name, table) in &tables {
            let allow = table["allow"]
                .as_array()
                .unwrap_or_else(|| panic!("preset {name}: no allow list"));
            assert!(!allow.is_empty(), "preset {name} allows nothing");
            let mut rules: Vec<Rule> = allow
                .iter()
                .map(|r| {
                    let r = r.as_str().unwrap_or_else(|| panic!("preset {name}: {r}"));
                    parse_rule(r).unwrap_or_else(|e| panic!("preset {name}: {r}: {e}"))
                })
                .collect();
            rules.sort();
            rules.dedup();
            let mut c = Config::default();
            c.firewall.presets = vec![name.clone()];
            c.firewall.allow = vec![];
            let list = Allowlist::for_session(&c, &SessionAllow::default())
                .unwrap_or_else(|e| panic!("preset {name}: {e}"));
            assert_eq!(list.rules, rules, "preset {name}");
        }
    }

    #[test]
    fn unknown_presets_are_usage_errors() {
        let mut c = Config::default();
        c.firewall.presets = vec!["nope".into()];
        let e = Allowlist::for_session(&c, &SessionAllow::default()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
