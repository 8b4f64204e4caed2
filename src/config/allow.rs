//! The allowlist's rule grammar and the shipped presets: pure parsing, shared by the config
//! check, the firewall and the CLI. Imports nothing from the rest of cctui.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    pub fn port_list(&self) -> String {
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
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
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

/// A rule that does not parse, and why, in words that say what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad allowlist rule `{rule}`: {why}")]
pub struct RuleError {
    pub rule: String,
    pub why: String,
}

/// A rule's ports and their marks, sorted and without repeats.
#[derive(Debug, PartialEq, Eq)]
struct Ports {
    all: Vec<u16>,
    tls: Vec<u16>,
    http: Vec<u16>,
}

/// Parses `name`, `*.name` or `A.B.C.D/N`, each with optional `:PORT[,PORT]` (default 443).
pub fn parse_rule(text: &str) -> Result<Rule, RuleError> {
    let text = text.trim();
    let bad = |why: String| RuleError {
        rule: text.to_string(),
        why,
    };
    if let Some((_, rest)) = text.split_once("://") {
        return Err(bad(not_a_url(rest)));
    }
    let (host, ports) = match text.rsplit_once(':') {
        Some((host, list)) => (host, parse_ports(list).map_err(bad)?),
        None => (
            text,
            Ports {
                all: vec![443],
                tls: Vec::new(),
                http: Vec::new(),
            },
        ),
    };
    let target = parse_target(host, &ports).map_err(bad)?;
    Ok(Rule {
        target,
        ports: ports.all,
        tls: ports.tls,
        http: ports.http,
    })
}

/// What to write for a URL: its name and port, without the scheme and path.
fn not_a_url(after_scheme: &str) -> String {
    let name = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let write = if name.is_empty() {
        "write the name alone".to_string()
    } else {
        format!("write `{name}`")
    };
    format!("a rule is a name, not a URL; {write} (add `:PORT` for another port than 443)")
}

/// `22,443/tls,8080/http`: numbers from 1 to 65535, each optionally marked.
fn parse_ports(list: &str) -> Result<Ports, String> {
    let mut ports = Ports {
        all: Vec::new(),
        tls: Vec::new(),
        http: Vec::new(),
    };
    for item in list.split(',') {
        let item = item.trim();
        let (num, mark) = match item.split_once('/') {
            Some((n, m)) => (n, Some(m)),
            None => (item, None),
        };
        let port = match num.parse::<u64>() {
            Ok(n) => {
                u16::try_from(n).map_err(|_| format!("port {n} is out of range (1 to 65535)"))?
            }
            Err(_) => {
                return Err(
                    "ports are numbers, e.g. `:443` or `:22,443`, optionally marked \
                            `/tls` or `/http`"
                        .into(),
                )
            }
        };
        match mark {
            None => {}
            // A mark that says what the port's default already is changes nothing.
            Some("tls") if port != 443 => ports.tls.push(port),
            Some("http") if port != 80 => ports.http.push(port),
            Some("tls") | Some("http") => {}
            Some(m) => {
                return Err(format!(
                    "`/{m}` is not a check; mark a port `/tls` or `/http`"
                ))
            }
        }
        ports.all.push(port);
    }
    if ports.all.contains(&0) {
        return Err("port 0 is not a port".into());
    }
    if ports.all.len() > MAX_PORTS {
        return Err("at most 15 ports per rule".into());
    }
    if ports.tls.iter().any(|p| ports.http.contains(p)) {
        return Err("a port is marked both `/tls` and `/http`".into());
    }
    for list in [&mut ports.all, &mut ports.tls, &mut ports.http] {
        list.sort_unstable();
        list.dedup();
    }
    Ok(ports)
}

/// `name`, `*.name` or an IPv4 address or network; CIDR rules take no `/tls` or `/http`.
fn parse_target(host: &str, ports: &Ports) -> Result<Target, String> {
    let host = host.trim().to_ascii_lowercase();
    if let Some(d) = host.strip_prefix("*.") {
        if !valid_domain(d) {
            return Err("not a domain".into());
        }
        return Ok(Target::Wildcard(d.to_string()));
    }
    let looks_numeric = host.chars().next().is_some_and(|c| c.is_ascii_digit())
        && host
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '/');
    if !looks_numeric {
        if !valid_domain(&host) {
            return Err("not a domain, `*.domain` or IPv4 CIDR".into());
        }
        return Ok(Target::Domain(host));
    }
    if !valid_cidr(&host) {
        return Err("not an IPv4 address or CIDR".into());
    }
    if !ports.tls.is_empty() || !ports.http.is_empty() {
        return Err(
            "CIDR rules name no host, so they are checked by address: `/tls` and \
                    `/http` apply to name rules"
                .into(),
        );
    }
    Ok(Target::Cidr(if host.contains('/') {
        host
    } else {
        format!("{host}/32")
    }))
}

/// The ports a fenced build may reach names on: TLS (checked by SNI) and HTTP (by Host).
pub const BUILD_PORTS: [u16; 2] = [443, 80];

/// A rule of the build allowlist (`image.build_allow`) as the build gate carries it: its
/// name (`.name` for a wildcard, as nginx's `hostnames` reads it) on each of its ports, all
/// of which must be 443 or 80 (`lenient`, for presets: other ports are left out); an
/// address rule is refused (the gate goes by name).
pub fn build_rule(text: &str, lenient: bool) -> Result<Vec<(String, u16)>, String> {
    let rule = parse_rule(text).map_err(|e| e.why)?;
    let key = match rule.target {
        Target::Domain(d) => d,
        Target::Wildcard(d) => format!(".{d}"),
        Target::Cidr(_) => return Err("a build reaches names only, not addresses".into()),
    };
    if !lenient && rule.ports.iter().any(|p| !BUILD_PORTS.contains(p)) {
        return Err("a build reaches names on ports 443 (TLS) and 80 (HTTP) only".into());
    }
    let carried = rule.ports.iter().filter(|p| BUILD_PORTS.contains(p));
    Ok(carried.map(|p| (key.clone(), *p)).collect())
}

/// One shipped preset: a named set of rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// What the preset is for, in one line (for `cctui fw` and the allowlist dialog).
    #[serde(default)]
    pub description: String,
    pub allow: Vec<String>,
}

/// The presets shipped in the binary, by name, with their descriptions.
pub fn preset_table() -> BTreeMap<String, Preset> {
    toml::from_str(PRESETS).unwrap_or_else(|e| panic!("the shipped presets parse: {e}"))
}

/// Each shipped preset's description, for `cctui fw presets`.
pub fn preset_descriptions() -> BTreeMap<String, String> {
    preset_table()
        .into_iter()
        .map(|(k, v)| (k, v.description))
        .collect()
}

/// The presets shipped in the binary: each name's rules.
pub fn presets() -> BTreeMap<String, Vec<String>> {
    preset_table()
        .into_iter()
        .map(|(k, v)| (k, v.allow))
        .collect()
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
        // A URL's port is kept, its scheme and path dropped.
        assert!(why("http://pypi.org:8080/simple").contains("write `pypi.org:8080`"));
        assert!(why("https://").contains("write the name alone"));
        assert!(why("pypi.org:99999").contains("port 99999 is out of range (1 to 65535)"));
        assert!(!why("pypi.org:99999").contains("ports are numbers"));
        assert!(!why("http://pypi.org").contains("ports are numbers"));
        assert!(why("pypi.org:22,70000").contains("port 70000 is out of range"));
        assert!(why("pypi.org:ssh").contains("ports are numbers"));
        assert!(why("pypi.org:0").contains("port 0 is not a port"));
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
}
