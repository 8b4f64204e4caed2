//! Fenced image builds. A build whose Dockerfile or steps came from a repository (an accepted
//! devcontainer proposal) runs its `RUN` steps in the network namespace of a "fence"
//! container, which sits only on an internal network of its own and whose rules (set with
//! NET_ADMIN, which the build lacks) drop everything but the "gate": a second container on
//! that network and on the way out, whose resolver answers only the build allowlist's names
//! (with its own address, asking no one) and whose nginx forwards TLS by SNI and HTTP by Host
//! to those names only. Fail-closed: if either cannot be set up, the build does not run.

use std::collections::BTreeSet;

use super::ImagePlan;
use crate::backend::{
    labels, Backend, ContainerSpec, ExecSpec, Labels, NetworkAttach, NetworkSpec,
};
use crate::config::allow::{build_rule, presets};
use crate::config::Config;
use crate::error::{Error, Result};

const GATE_SCRIPT: &str = include_str!("fence/gate.sh");
const RULES_SCRIPT: &str = include_str!("fence/rules.sh");

/// What a fenced build may reach, and what its gate needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FenceSpec {
    /// The holder image (nginx, dnsmasq, iptables), built first if missing: cctui's own.
    pub gate_image: Box<ImagePlan>,
    /// (nginx `hostnames` key: `name` or `.name` for a wildcard, port 443 or 80).
    pub rules: Vec<(String, u16)>,
    /// Networks the gate reaches names on besides the engine's default bridge
    /// (`image.build_networks`). Docker's resolver there answers container names first, so
    /// a container named like an allowlisted host gets its traffic: see the README.
    pub networks: Vec<String>,
    pub labels: Labels,
}

/// The build allowlist of `config`: `image.build_presets`' name rules on ports 443 and 80
/// (addresses and other ports skipped: the gate carries only names on those), then
/// `image.build_allow`, where anything the gate cannot carry is an error.
pub fn build_allowlist(config: &Config) -> Result<Vec<(String, u16)>> {
    let known = presets();
    let mut out = BTreeSet::new();
    for name in &config.image.build_presets {
        let rules = known.get(name).ok_or_else(|| {
            Error::usage(format!(
                "image.build_presets: unknown preset `{name}`; known: {}",
                known.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        for text in rules {
            // Address rules and other ports are a session's, not a build's.
            out.extend(build_rule(text, true).unwrap_or_default());
        }
    }
    for text in &config.image.build_allow {
        let rules = build_rule(text, false)
            .map_err(|why| Error::usage(format!("image.build_allow: `{text}`: {why}")))?;
        out.extend(rules);
    }
    Ok(out.into_iter().collect())
}

/// A fence and its gate, up; `down` removes them.
pub(super) struct Fence {
    network: String,
    gate: Option<String>,
    fence: Option<String>,
}

impl Fence {
    /// Makes the network, the gate and the fence, and checks each is up; on any failure
    /// removes what it made and says which part failed.
    pub async fn up<B: Backend>(backend: &B, spec: &FenceSpec, build: &str) -> Result<Fence> {
        let name = format!("cctui-fence-{build}-{}", unique());
        let mut fence = Fence {
            network: name.clone(),
            gate: None,
            fence: None,
        };
        match fence.make(backend, spec, &name).await {
            Ok(()) => Ok(fence),
            Err(e) => {
                fence.down(backend).await;
                Err(Error::other(format!(
                    "could not set up the network fence for the build, so it did not run: {e}"
                )))
            }
        }
    }

    async fn make<B: Backend>(&mut self, backend: &B, spec: &FenceSpec, name: &str) -> Result<()> {
        let net = NetworkSpec {
            name: name.to_string(),
            labels: role_labels(spec, "build-fence"),
            internal: true,
            ..Default::default()
        };
        backend.create_network(&net).await?;
        let gate_name = format!("{name}-gate");
        let mut gate = holder_spec(spec, &gate_name, name, "build-gate");
        gate.user = Some("64997:64997".into());
        gate.sysctls = [
            ("net.ipv4.ip_unprivileged_port_start", "0"),
            // Never route what arrives from the fence: the gate only proxies.
            ("net.ipv4.ip_forward", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let id = backend.create_container(&gate).await?;
        self.gate = Some(id.clone());
        backend.connect_network("bridge", &id, &[]).await?;
        for n in &spec.networks {
            backend.connect_network(n, &id, &[]).await?;
        }
        backend.start_container(&id).await?;
        let mut fence = holder_spec(spec, &format!("{name}-ns"), name, "build-fence");
        fence.cap_add = vec!["NET_ADMIN".into()];
        let fence_id = backend.create_container(&fence).await?;
        self.fence = Some(fence_id.clone());
        backend.start_container(&fence_id).await?;
        let out = run(backend, &fence_id, RULES_SCRIPT, &gate_name, None).await?;
        let gate_ip = out
            .strip_prefix("fence-up ")
            .ok_or_else(|| Error::other(format!("the fence's rules: {out}")))?;
        let input: String = spec
            .rules
            .iter()
            .map(|(k, p)| format!("{k} {p}\n"))
            .collect();
        let out = run(backend, &id, GATE_SCRIPT, gate_ip, Some(input)).await?;
        if out != "gate-up" {
            return Err(Error::other(format!("the gate: {out}")));
        }
        Ok(())
    }

    /// The build's network mode: the fence's namespace.
    pub fn network_mode(&self) -> String {
        format!("container:{}", self.fence.as_deref().unwrap_or_default())
    }

    /// The names the gate refused (not on the build allowlist), as its logs tell.
    pub async fn refused<B: Backend>(&self, backend: &B, allowed: &[(String, u16)]) -> Vec<String> {
        let Some(gate) = &self.gate else {
            return Vec::new();
        };
        let spec = ExecSpec {
            cmd: vec![
                "sh".into(),
                "-c".into(),
                "tail -c 65536 /tmp/gate/dns.log; tail -c 65536 /tmp/gate/access.log".into(),
            ],
            ..Default::default()
        };
        match backend.exec(gate, &spec).await {
            Ok(out) => refused_names(&out.stdout_text(), allowed),
            Err(_) => Vec::new(),
        }
    }

    /// Removes the fence, the gate and their network, one at a time.
    pub async fn down<B: Backend>(self, backend: &B) {
        for id in [self.fence, self.gate].into_iter().flatten() {
            let _ = backend.remove_container(&id).await;
        }
        let _ = backend.remove_network(&self.network).await;
    }
}

/// A holder-image container on the fence network that only idles; setup comes by exec.
fn holder_spec(spec: &FenceSpec, name: &str, network: &str, role: &str) -> ContainerSpec {
    let mut c = ContainerSpec::hardened(name, spec.gate_image.tag.clone());
    c.labels = role_labels(spec, role);
    c.cmd = vec!["sleep".into(), "infinity".into()];
    c.network = NetworkAttach::Network {
        name: network.to_string(),
        aliases: Vec::new(),
    };
    c.pids_limit = Some(256);
    c
}

fn role_labels(spec: &FenceSpec, role: &str) -> Labels {
    let mut l = spec.labels.clone();
    l.insert(labels::ROLE.to_string(), role.to_string());
    l
}

/// Runs a setup script in `id` as its user and returns its last line, or its error.
async fn run<B: Backend>(
    backend: &B,
    id: &str,
    script: &str,
    arg: &str,
    stdin: Option<String>,
) -> Result<String> {
    let spec = ExecSpec {
        cmd: vec![
            "sh".into(),
            "-c".into(),
            script.into(),
            "cctui-fence".into(),
            arg.into(),
        ],
        stdin: Some(stdin.unwrap_or_default().into_bytes()),
        ..Default::default()
    };
    let out = backend.exec(id, &spec).await?;
    let last = out
        .stdout_text()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    if out.exit_code != 0 {
        return Err(Error::other(format!(
            "exit {}: {}",
            out.exit_code,
            out.stderr_text().trim()
        )));
    }
    Ok(last)
}

/// Names in the gate's logs that the allowlist does not cover: queried of its resolver,
/// or refused by its proxy.
pub fn refused_names(log: &str, allowed: &[(String, u16)]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for line in log.lines() {
        let name = if let Some((_, rest)) = line.split_once("]: query[") {
            rest.split_whitespace().nth(1)
        } else if let Some(rest) = line.strip_prefix("tls ") {
            rest.split_whitespace()
                .next()
                .filter(|_| line.ends_with(" refused"))
        } else if let Some(rest) = line.strip_prefix("http ") {
            rest.split_whitespace().next()
        } else {
            None
        };
        if let Some(n) = name.filter(|n| !covered(n, allowed)) {
            // Names come from the build: keep only what a name may hold.
            let n: String = n
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-._".contains(*c))
                .take(253)
                .collect();
            if !n.is_empty() {
                out.insert(n.to_ascii_lowercase());
            }
        }
    }
    out.into_iter().take(10).collect()
}

fn covered(name: &str, allowed: &[(String, u16)]) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    allowed.iter().any(|(key, _)| match key.strip_prefix('.') {
        Some(d) => name == d || name.ends_with(&format!(".{d}")),
        None => name == *key,
    })
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{}-{nanos:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_build_allowlist_has_the_registries_on_443() {
        let rules = build_allowlist(&Config::default()).unwrap();
        for name in [
            "registry.npmjs.org",
            "pypi.org",
            "deb.debian.org",
            "static.crates.io",
        ] {
            assert!(
                rules.contains(&(name.to_string(), 443)),
                "{name}: {rules:?}"
            );
        }
        assert!(rules.contains(&("deb.debian.org".to_string(), 80)));
        assert!(rules.contains(&(".githubusercontent.com".to_string(), 443)));
        assert!(rules.contains(&("github.com".to_string(), 443)));
        assert!(!rules.iter().any(|(_, p)| *p == 22));
    }

    #[test]
    fn build_allow_refuses_what_the_gate_cannot_carry() {
        let mut config = Config::default();
        config.image.build_allow = vec!["10.0.0.0/8".into()];
        let err = build_allowlist(&config).unwrap_err().to_string();
        assert!(err.contains("image.build_allow: `10.0.0.0/8`"), "{err}");
        config.image.build_allow = vec!["git.example:22".into()];
        assert!(build_allowlist(&config).is_err());
        config.image.build_allow = vec!["*.example.test:80,443".into()];
        let rules = build_allowlist(&config).unwrap();
        assert!(rules.contains(&(".example.test".to_string(), 80)));
    }

    #[test]
    fn refused_names_come_from_both_logs_and_skip_allowed_ones() {
        let allowed = vec![("ok.test".to_string(), 443), (".good.test".to_string(), 80)];
        let log = "Dec  4 16:40:41 dnsmasq[18]: query[A] blocked.test from 172.18.0.2\n\
                   Dec  4 16:40:41 dnsmasq[18]: query[A] ok.test from 172.18.0.2\n\
                   Dec  4 16:40:41 dnsmasq[18]: query[A] a.good.test from 172.18.0.2\n\
                   tls evil\x1b[2J.test refused\n\
                   tls ok.test ok.test:443\n\
                   http other.test 403\n";
        assert_eq!(
            refused_names(log, &allowed),
            vec!["blocked.test", "evil2j.test", "other.test"]
        );
    }
}
