//! The credential broker's upstream (`broker.upstream`): where the broker in the network
//! holder forwards claude's API requests.

use serde::Serialize;

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
        if !super::allow::valid_domain(&host) {
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
}
