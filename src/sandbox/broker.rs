//! The credential broker, host side. The broker runs in the session's network holder (nginx,
//! as its own uid, 64996), listens on the session's loopback at 127.0.0.1:999, drops
//! whatever `x-api-key` and `Authorization` the agent sends, adds the real credential, and
//! forwards to one upstream over TLS verified against the holder's CA store. The credential
//! reaches the holder through `docker exec` stdin, onto a tmpfs that only the broker's uid
//! can read; the agent's container gets a placeholder and `ANTHROPIC_BASE_URL`.

use serde::Serialize;

use crate::backend::{Backend, ExecSpec};
pub use crate::config::Upstream;
use crate::error::{Error, Result};
pub use crate::sandbox::secrets::{Credential, CredentialKind};

/// The broker's uid in the holder (see config/recipe/net.Dockerfile).
pub const BROKER_UID: u32 = 64996;
/// Where the broker listens, on the session's shared loopback: below 1024, where the agent
/// (no capabilities) cannot bind (the holder's namespace starts unprivileged ports at 1024).
pub const BROKER_PORT: u16 = 999;
/// The broker's tmpfs in the holder: mode 0700, owned by its uid.
pub const BROKER_DIR: &str = "/run/cctui-broker";
/// What the agent's `apiKeyHelper` prints when the broker holds the key: not a credential.
pub const PLACEHOLDER: &str = "cctui-placeholder-the-broker-in-the-network-holder-adds-the-key";

/// The URL claude is pointed at (`ANTHROPIC_BASE_URL`).
pub fn base_url() -> String {
    format!("http://127.0.0.1:{BROKER_PORT}")
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
    /// The holder was given a credential (even if its broker no longer runs).
    pub held: bool,
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
            "held" => s.held = v == "yes",
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
            "  {} request{}, last status {}, {} bytes in, {} bytes out",
            s.requests,
            if s.requests == 1 { "" } else { "s" },
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
    use crate::sandbox::secrets::Secret;

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
