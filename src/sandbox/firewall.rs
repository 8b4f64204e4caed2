//! The egress firewall, host side: the allowlist (global, presets, per session), and the
//! calls into `cctui-fw` in the session's network holder, which applies and verifies it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, ExecSpec};
use crate::config::{parse_toml, Config};
use crate::error::{Error, Result};

pub const PRESETS: &str = include_str!("../../config/presets.toml");

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Target {
    /// Exactly this name.
    Domain(String),
    /// This name and every subdomain (`*.name` in config).
    Wildcard(String),
    /// An IPv4 network.
    Cidr(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub target: Target,
    pub ports: Vec<u16>,
    /// Ports of a name rule marked `/tls` (checked by SNI), beyond the default 443.
    pub tls: Vec<u16>,
    /// Ports of a name rule marked `/http` (checked by Host), beyond the default 80.
    pub http: Vec<u16>,
}

/// How the holder checks a rule's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// By the TLS ClientHello's server name, through the proxy.
    Sni,
    /// By the HTTP Host header, through the proxy.
    Host,
    /// By address only: CIDR rules, and ports that carry no name (SSH, databases).
    Address,
}

impl Check {
    pub fn label(self) -> &'static str {
        match self {
            Check::Sni => "by name (TLS SNI)",
            Check::Host => "by name (HTTP Host)",
            Check::Address => "by address",
        }
    }
}

impl Rule {
    /// How `port` of this rule is checked.
    pub fn check(&self, port: u16) -> Check {
        if matches!(self.target, Target::Cidr(_)) {
            Check::Address
        } else if self.tls.contains(&port) {
            Check::Sni
        } else if self.http.contains(&port) {
            Check::Host
        } else if port == 443 {
            Check::Sni
        } else if port == 80 {
            Check::Host
        } else {
            Check::Address
        }
    }

    /// Each port with how it is checked.
    pub fn checks(&self) -> Vec<(u16, Check)> {
        self.ports.iter().map(|p| (*p, self.check(*p))).collect()
    }

    /// `22,443/tls` as the holder's script reads it: only non-default marks are written.
    fn port_list(&self) -> String {
        let ports: Vec<String> = self
            .ports
            .iter()
            .map(|p| {
                if self.tls.contains(p) {
                    format!("{p}/tls")
                } else if self.http.contains(p) {
                    format!("{p}/http")
                } else {
                    p.to_string()
                }
            })
            .collect();
        ports.join(",")
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(Serialize)]
        struct PortCheck {
            port: u16,
            checked: Check,
        }
        let checks: Vec<PortCheck> = self
            .checks()
            .into_iter()
            .map(|(port, checked)| PortCheck { port, checked })
            .collect();
        let mut st = s.serialize_struct("Rule", 4)?;
        st.serialize_field("rule", &self.to_string())?;
        st.serialize_field("target", &self.target)?;
        st.serialize_field("ports", &self.ports)?;
        st.serialize_field("checks", &checks)?;
        st.end()
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.target {
            Target::Domain(d) | Target::Cidr(d) => write!(f, "{d}")?,
            Target::Wildcard(d) => write!(f, "*.{d}")?,
        }
        if self.ports != [443] || !self.tls.is_empty() || !self.http.is_empty() {
            write!(f, ":{}", self.port_list())?;
        }
        Ok(())
    }
}

/// How a rule's ports are checked, in words: "443 by name (TLS SNI), 22 by address".
pub fn checks_text(rule: &Rule) -> String {
    rule.checks()
        .iter()
        .map(|(p, c)| format!("{p} {}", c.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same rules `cctui-fw apply` enforces, so that a rule accepted here is applied there.
pub fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && !d
            .rsplit('.')
            .next()
            .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()))
}

/// iptables' multiport match takes at most 15 ports.
const MAX_PORTS: usize = 15;

fn valid_cidr(c: &str) -> bool {
    let (ip, bits) = c.split_once('/').unwrap_or((c, "32"));
    ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32)
}

/// Parses `name`, `*.name` or `A.B.C.D/N`, each with optional `:PORT[,PORT]` (default 443).
pub fn parse_rule(text: &str) -> Result<Rule> {
    let text = text.trim();
    let bad = |why: &str| Error::usage(format!("bad allowlist rule `{text}`: {why}"));
    if let Some((_, rest)) = text.split_once("://") {
        let name = rest.split(['/', '?', '#']).next().unwrap_or_default();
        return Err(bad(&format!(
            "a rule is a name, not a URL; write `{name}` (add `:PORT` for another port than 443)"
        )));
    }
    let mut tls = Vec::new();
    let mut http = Vec::new();
    let (host, ports) = match text.rsplit_once(':') {
        Some((h, p)) => {
            let mut ports = Vec::new();
            for item in p.split(',') {
                let item = item.trim();
                let (num, mark) = match item.split_once('/') {
                    Some((n, m)) => (n, Some(m)),
                    None => (item, None),
                };
                let port = match num.parse::<u64>() {
                    Ok(n) => u16::try_from(n)
                        .map_err(|_| bad(&format!("port {n} is out of range (1 to 65535)")))?,
                    Err(_) => return Err(bad(
                        "ports are numbers, e.g. `:443` or `:22,443`, optionally marked `/tls` or `/http`",
                    )),
                };
                match mark {
                    None => {}
                    // A mark that says what the port's default already is changes nothing.
                    Some("tls") if port != 443 => tls.push(port),
                    Some("http") if port != 80 => http.push(port),
                    Some("tls") | Some("http") => {}
                    Some(m) => {
                        return Err(bad(&format!(
                            "`/{m}` is not a check; mark a port `/tls` or `/http`"
                        )))
                    }
                }
                ports.push(port);
            }
            if ports.contains(&0) {
                return Err(bad("port 0 is not a port"));
            }
            if ports.len() > MAX_PORTS {
                return Err(bad("at most 15 ports per rule"));
            }
            if tls.iter().any(|p| http.contains(p)) {
                return Err(bad("a port is marked both `/tls` and `/http`"));
            }
            (h, ports)
        }
        None => (text, vec![443]),
    };
    let host = host.trim().to_ascii_lowercase();
    let target = if let Some(d) = host.strip_prefix("*.") {
        if !valid_domain(d) {
            return Err(bad("not a domain"));
        }
        Target::Wildcard(d.to_string())
    } else if host.chars().next().is_some_and(|c| c.is_ascii_digit())
        && host
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '/')
    {
        if !valid_cidr(&host) {
            return Err(bad("not an IPv4 address or CIDR"));
        }
        if !tls.is_empty() || !http.is_empty() {
            return Err(bad(
                "CIDR rules name no host, so they are checked by address: `/tls` and `/http` \
                 apply to name rules",
            ));
        }
        Target::Cidr(if host.contains('/') {
            host
        } else {
            format!("{host}/32")
        })
    } else {
        if !valid_domain(&host) {
            return Err(bad("not a domain, `*.domain` or IPv4 CIDR"));
        }
        Target::Domain(host)
    };
    let mut ports = ports;
    ports.sort_unstable();
    ports.dedup();
    tls.sort_unstable();
    tls.dedup();
    http.sort_unstable();
    http.dedup();
    Ok(Rule {
        target,
        ports,
        tls,
        http,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Preset {
    #[serde(default)]
    description: String,
    allow: Vec<String>,
}

/// The named presets shipped in the binary.
pub fn presets() -> BTreeMap<String, Vec<String>> {
    let parsed: BTreeMap<String, Preset> =
        parse_toml(PRESETS, Path::new("config/presets.toml")).expect("the shipped presets parse");
    parsed.into_iter().map(|(k, v)| (k, v.allow)).collect()
}

/// What each shipped preset is for, in its own words.
pub fn preset_descriptions() -> BTreeMap<String, String> {
    let parsed: BTreeMap<String, Preset> =
        parse_toml(PRESETS, Path::new("config/presets.toml")).expect("the shipped presets parse");
    parsed
        .into_iter()
        .map(|(k, v)| (k, v.description))
        .collect()
}

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
    pub broker_upstream: Option<crate::sandbox::broker::Upstream>,
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
            .collect::<Result<Vec<_>>>()?;
        rules.sort();
        rules.dedup();
        let broker_upstream = Some(
            crate::sandbox::broker::Upstream::parse(&config.broker.upstream)
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
    let started = Instant::now();
    let out = backend
        .exec(
            holder,
            &root_exec(&["cctui-fw", "apply"], Some(list.script_input())),
        )
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
    fn parses_rules() {
        assert_eq!(
            parse_rule("API.example.com").unwrap(),
            Rule {
                target: Target::Domain("api.example.com".into()),
                ports: vec![443],
                tls: vec![],
                http: vec![],
            }
        );
        assert_eq!(
            parse_rule("*.github.com:443,22").unwrap(),
            Rule {
                target: Target::Wildcard("github.com".into()),
                ports: vec![22, 443],
                tls: vec![],
                http: vec![],
            }
        );
        let marked = parse_rule("x.test:8443/tls,8080/http,22,80,443/tls").unwrap();
        assert_eq!(marked.ports, vec![22, 80, 443, 8080, 8443]);
        assert_eq!(
            marked.checks(),
            vec![
                (22, Check::Address),
                (80, Check::Host),
                (443, Check::Sni),
                (8080, Check::Host),
                (8443, Check::Sni)
            ]
        );
        assert_eq!(marked.to_string(), "x.test:22,80,443,8080/http,8443/tls");
        assert_eq!(
            parse_rule("10.0.0.0/8:443").unwrap().check(443),
            Check::Address
        );
        assert_eq!(
            parse_rule("10.1.2.3").unwrap().target,
            Target::Cidr("10.1.2.3/32".into())
        );
        for bad in [
            "",
            "a..b",
            "*.",
            "1.2.3.4/40",
            "x.com:http",
            "x.com:0",
            "-x.com",
            "10.0.0.0/8:8443/tls",
            "x.com:8443/udp",
            "x.com:81/tls,81/http",
        ] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rule_errors_name_what_is_wrong() {
        let why = |t: &str| parse_rule(t).unwrap_err().to_string();
        assert!(
            why("http://pypi.org").contains("a rule is a name, not a URL; write `pypi.org`"),
            "{}",
            why("http://pypi.org")
        );
        assert!(why("https://x.com/simple/").contains("write `x.com`"));
        assert!(why("pypi.org:99999").contains("port 99999 is out of range"));
        assert!(why("pypi.org:22,70000").contains("port 70000 is out of range"));
        assert!(why("pypi.org:ssh").contains("ports are numbers"));
        assert!(why("pypi.org:0").contains("port 0 is not a port"));
    }

    #[test]
    fn blocked_lines_print_times_in_the_cli_as_in_the_dashboard() {
        let b = Blocked {
            time: 1_700_000_000,
            kind: "tcp".into(),
            destination: "10.1.2.3".into(),
            port: Some(22),
        };
        assert_eq!(b.line(), "22:13:20 tcp  10.1.2.3:22");
        assert_eq!(crate::cli::blocked_line(&b), b.line());
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
    fn rules_print_as_they_are_written() {
        for text in [
            "a.com",
            "*.b.com:22,443",
            "10.0.0.0/8:5432",
            "c.com:443,8443/tls",
        ] {
            assert_eq!(parse_rule(text).unwrap().to_string(), text);
        }
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
