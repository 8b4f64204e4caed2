//! The credential broker, host side. The broker runs in the session's network holder (nginx,
//! as its own uid, 64996), listens on the session's loopback at 127.0.0.1:15480, drops
//! whatever `x-api-key` and `Authorization` the agent sends, adds the real credential, and
//! forwards to one upstream over TLS verified against the holder's CA store. The credential
//! reaches the holder through `docker exec` stdin, onto a tmpfs that only the broker's uid
//! can read; the agent's container gets a placeholder and `ANTHROPIC_BASE_URL`.

use serde::Serialize;

use crate::backend::{Backend, ExecSpec};
use crate::error::{Error, Result};
use crate::sandbox::secrets::Secret;

/// The broker's uid in the holder (see config/recipe/net.Dockerfile).
pub const BROKER_UID: u32 = 64996;
/// Where the broker listens, on the session's shared loopback.
pub const BROKER_PORT: u16 = 15480;
/// The broker's tmpfs in the holder: mode 0700, owned by its uid.
pub const BROKER_DIR: &str = "/run/cctui-broker";
/// What the agent's `apiKeyHelper` prints when the broker holds the key: not a credential.
pub const PLACEHOLDER: &str = "cctui-placeholder-the-broker-in-the-network-holder-adds-the-key";

/// The URL claude is pointed at (`ANTHROPIC_BASE_URL`).
pub fn base_url() -> String {
    format!("http://127.0.0.1:{BROKER_PORT}")
}

/// The broker's upstream: `https://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
    /// A path prefix (no trailing slash), e.g. `/anthropic` for a gateway; empty for none.
    pub prefix: String,
}

impl Upstream {
    pub fn parse(url: &str) -> std::result::Result<Upstream, String> {
        let rest = url.trim().strip_prefix("https://").ok_or_else(|| {
            format!("`{url}`: the upstream must be an https:// URL (the broker verifies its TLS)")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("`{url}`: `{p}` is not a port"))?,
            ),
            None => (authority, 443),
        };
        let host = host.to_ascii_lowercase();
        if !crate::sandbox::firewall::valid_domain(&host) {
            return Err(format!(
                "`{url}`: `{host}` is not a host name (the broker checks the upstream's \
                 certificate by name)"
            ));
        }
        let prefix = path.trim_end_matches('/').to_string();
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~/-".contains(c))
        {
            return Err(format!(
                "`{url}`: the path may use letters, digits and . _ ~ / - only"
            ));
        }
        Ok(Upstream { host, port, prefix })
    }

    pub fn url(&self) -> String {
        let port = if self.port == 443 {
            String::new()
        } else {
            format!(":{}", self.port)
        };
        format!("https://{}{port}{}", self.host, self.prefix)
    }

    /// The line `cctui-fw apply` reads.
    pub fn script_line(&self) -> String {
        let mut line = format!("broker {} {}", self.host, self.port);
        if !self.prefix.is_empty() {
            line.push(' ');
            line.push_str(&self.prefix);
        }
        line
    }
}

/// Which kind of credential the broker adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    /// `x-api-key: KEY`.
    ApiKey,
    /// `Authorization: Bearer TOKEN` (a `claude setup-token` token), with the OAuth beta flag.
    OauthToken,
}

impl CredentialKind {
    pub fn label(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "API key",
            CredentialKind::OauthToken => "setup token",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Credential {
    pub kind: CredentialKind,
    pub secret: Secret,
}

/// The nginx directives that add the credential, for the broker's tmpfs. The value goes in a
/// quoted nginx string, so only characters keys and tokens use are accepted.
pub fn credential_conf(c: &Credential) -> Result<String> {
    let v = c.secret.expose();
    if v.is_empty()
        || !v
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.~+/=:".contains(ch))
    {
        return Err(Error::usage(format!(
            "the {} has characters no key or token uses (spaces, quotes, ...); check its source",
            c.kind.label()
        )));
    }
    Ok(match c.kind {
        CredentialKind::ApiKey => {
            format!("proxy_set_header x-api-key \"{v}\";\nproxy_set_header Authorization \"\";\n")
        }
        CredentialKind::OauthToken => format!(
            "proxy_set_header x-api-key \"\";\nproxy_set_header Authorization \"Bearer {v}\";\n\
             proxy_set_header anthropic-beta $cctui_oauth_beta;\n"
        ),
    })
}

/// Puts the credential on the broker's tmpfs (through stdin, written there as the broker's
/// uid) and (re)starts the broker, which first checks the upstream's certificate. `extra_ca` is PEM
/// trusted for the upstream besides the holder's store. Errors name the step.
pub async fn install<B: Backend>(
    backend: &B,
    holder: &str,
    credential: &Credential,
    extra_ca: Vec<u8>,
) -> Result<()> {
    let conf = credential_conf(credential)?;
    let mut stdin = format!("credential {}\n{conf}", conf.lines().count()).into_bytes();
    stdin.extend_from_slice(&extra_ca);
    let out = backend
        .exec(
            holder,
            &ExecSpec {
                cmd: vec!["cctui-fw".into(), "broker".into()],
                user: Some("0:0".into()),
                stdin: Some(stdin),
                ..Default::default()
            },
        )
        .await?;
    if out.exit_code != 0 {
        let text = out.stderr_text();
        let line = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("the broker did not start")
            .trim()
            .trim_start_matches("cctui-fw: ");
        return Err(Error::other(format!("credential {line}")));
    }
    Ok(())
}

/// The broker's traffic in one session, from its access log (no headers are logged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BrokerStats {
    pub running: bool,
    pub upstream: Option<String>,
    pub requests: u64,
    pub last_status: Option<u16>,
    pub last_time: Option<i64>,
    /// Bytes the agent sent through the broker (requests, headers included).
    pub bytes_in: u64,
    /// Bytes the agent received from it.
    pub bytes_out: u64,
}

pub fn parse_stats(text: &str) -> BrokerStats {
    let mut s = BrokerStats::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(' ') else {
            continue;
        };
        let v = v.trim();
        match k {
            "requests" => s.requests = v.parse().unwrap_or(0),
            "last_status" => s.last_status = v.parse().ok(),
            "last_time" => s.last_time = v.parse().ok(),
            "bytes_in" => s.bytes_in = v.parse().unwrap_or(0),
            "bytes_out" => s.bytes_out = v.parse().unwrap_or(0),
            "running" => s.running = v == "yes",
            "upstream" => s.upstream = Some(v.to_string()),
            _ => {}
        }
    }
    s
}

pub async fn stats<B: Backend>(backend: &B, holder: &str) -> Result<BrokerStats> {
    let out = backend
        .exec(
            holder,
            &ExecSpec {
                cmd: vec!["cctui-fw".into(), "broker-stats".into()],
                user: Some("0:0".into()),
                ..Default::default()
            },
        )
        .await?;
    Ok(parse_stats(&out.stdout_text()))
}

/// The broker's lines for `fw status` and the firewall tab.
pub fn report_lines(stats: Option<&BrokerStats>) -> Vec<String> {
    let Some(s) = stats else {
        return vec!["broker: none (no credential held in the holder)".into()];
    };
    vec![
        format!(
            "broker: {} -> {}",
            if s.running { "running" } else { "NOT running" },
            s.upstream.as_deref().unwrap_or("?")
        ),
        format!(
            "  {} requests, last status {}, {} bytes in, {} bytes out",
            s.requests,
            s.last_status
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            s.bytes_in,
            s.bytes_out
        ),
    ]
}

/// Where a session's credential is held, in words for the info tab and `fw status`.
pub fn where_held(firewall_on: bool, kind: Option<CredentialKind>) -> String {
    match (kind, firewall_on) {
        (Some(k), true) => format!(
            "{}: held by the broker in the network holder; the agent has a placeholder",
            k.label()
        ),
        (Some(CredentialKind::ApiKey), false) => {
            "API key: a file on the agent's tmpfs (firewall off: no broker)".into()
        }
        (Some(CredentialKind::OauthToken), false) => {
            "setup token: refused (it needs the broker, which needs the firewall)".into()
        }
        (None, _) => "none given: claude's own login, stored in the project's volume".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_parse() {
        assert_eq!(
            Upstream::parse("https://api.anthropic.com").unwrap(),
            Upstream {
                host: "api.anthropic.com".into(),
                port: 443,
                prefix: String::new()
            }
        );
        let u = Upstream::parse("https://LLM.corp.example:8443/anthropic/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("llm.corp.example", 8443, "/anthropic")
        );
        assert_eq!(u.url(), "https://llm.corp.example:8443/anthropic");
        assert_eq!(u.script_line(), "broker llm.corp.example 8443 /anthropic");
        for bad in [
            "http://api.anthropic.com",
            "api.anthropic.com",
            "https://10.0.0.1",
            "https://x.com:0",
            "https://x.com/a b",
            "https://x.com/$x",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_become_header_directives_and_odd_values_are_refused() {
        let key = Credential {
            kind: CredentialKind::ApiKey,
            secret: Secret::new("sk-ant-api03-abc_DEF-123"),
        };
        let conf = credential_conf(&key).unwrap();
        assert!(
            conf.contains("x-api-key \"sk-ant-api03-abc_DEF-123\""),
            "{conf}"
        );
        assert!(conf.contains("Authorization \"\""), "{conf}");
        let tok = Credential {
            kind: CredentialKind::OauthToken,
            secret: Secret::new("sk-ant-oat01-xyz"),
        };
        let conf = credential_conf(&tok).unwrap();
        assert!(
            conf.contains("Authorization \"Bearer sk-ant-oat01-xyz\""),
            "{conf}"
        );
        assert!(conf.contains("x-api-key \"\""), "{conf}");
        for bad in ["a\"b", "a b", "a;b", "a$b", "a\\b", "a\nb", ""] {
            let c = Credential {
                kind: CredentialKind::ApiKey,
                secret: Secret::new(bad),
            };
            let e = credential_conf(&c).unwrap_err().to_string();
            assert!(!bad.is_empty() && !e.contains(bad) || bad.is_empty(), "{e}");
        }
    }

    #[test]
    fn stats_parse() {
        let s = parse_stats(
            "requests 3\nlast_status 200\nlast_time 1700000000\nbytes_in 10\nbytes_out 20\n\
             running yes\nupstream https://api.anthropic.com:443\n",
        );
        assert_eq!(s.requests, 3);
        assert_eq!(s.last_status, Some(200));
        assert!(s.running);
        let none = parse_stats(
            "requests 0\nlast_status -\nlast_time -\nbytes_in 0\nbytes_out 0\nrunning no\n",
        );
        assert_eq!(none.last_status, None);
        assert!(!none.running);
    }
}
