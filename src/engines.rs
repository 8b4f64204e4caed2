//! Which Docker engines the user has, each under a name. The rule, in order:
//!
//! 1. The `[[engines]]` of the config, in their order.
//! 2. None configured: the one local engine, `local` (`[engine] host`, then `DOCKER_HOST`,
//!    then the default socket), exactly as cctui behaved before it knew several. With
//!    `[[engines]]` configured, a set `DOCKER_HOST` is one more engine, named `DOCKER_HOST`.
//! 3. The Docker CLI's contexts (`~/.docker/contexts`), each under its own name, except the
//!    built-in `default`.
//!
//! A later entry whose name or address an earlier one already has is left out, so a context
//! for the local socket does not list the same engine twice. Nothing configured and no
//! contexts: one engine, as before.

mod contexts;

use std::path::{Path, PathBuf};

use crate::backend::{choose_host_from, EngineAddress, TlsFiles};
use crate::config::Config;

pub use contexts::Context;

/// The name of the engine cctui uses when none is configured.
pub const LOCAL: &str = "local";
/// The name `DOCKER_HOST` goes by beside configured engines.
pub const FROM_ENV: &str = "DOCKER_HOST";

/// Where an engine's entry came from, for `doctor` and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Config,
    Default,
    /// `DOCKER_HOST`, beside configured engines.
    Env,
    /// A Docker CLI context.
    Context,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Config => "[[engines]] in config.toml",
            Origin::Default => "the local engine",
            Origin::Env => "the DOCKER_HOST variable",
            Origin::Context => "a Docker CLI context",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    pub name: String,
    pub address: EngineAddress,
    pub origin: Origin,
}

/// What the environment says about the engine: `DOCKER_HOST`, and `DOCKER_TLS_VERIFY` with
/// `DOCKER_CERT_PATH` (default `~/.docker`) for a `tcp://` one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvView {
    pub docker_host: Option<String>,
    pub tls: Option<TlsFiles>,
}

impl EnvView {
    pub fn read() -> EnvView {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let cert_dir = var("DOCKER_CERT_PATH")
            .map(PathBuf::from)
            .or_else(contexts::docker_config_dir);
        EnvView {
            docker_host: var("DOCKER_HOST"),
            tls: var("DOCKER_TLS_VERIFY")
                .filter(|v| v != "0")
                .and(cert_dir)
                .map(|d| TlsFiles::in_folder(&d)),
        }
    }
}

/// Every engine, in the order the dashboard lists them; never empty.
pub fn resolve(config: &Config) -> Vec<Engine> {
    let contexts = contexts::docker_config_dir()
        .map(|d| contexts::read(&d))
        .unwrap_or_default();
    resolve_from(config, &EnvView::read(), contexts)
}

/// `resolve` with the environment and the contexts passed in.
pub fn resolve_from(config: &Config, env: &EnvView, contexts: Vec<Context>) -> Vec<Engine> {
    let mut engines: Vec<Engine> = config
        .engines
        .iter()
        .map(|e| Engine {
            name: e.name.clone(),
            address: EngineAddress {
                host: e.host.clone(),
                tls: e
                    .cert_path
                    .as_deref()
                    .map(|dir| TlsFiles::in_folder(&crate::paths::expand_home(dir))),
                ssh_key: e.ssh_key.as_deref().map(crate::paths::expand_home),
            },
            origin: Origin::Config,
        })
        .collect();
    let env_tls = |host: &str| env.tls.clone().filter(|_| host.starts_with("tcp://"));
    if engines.is_empty() {
        let configured = Some(config.engine.host.as_str()).filter(|h| !h.trim().is_empty());
        let host = choose_host_from(configured, env.docker_host.as_deref());
        let tls = if configured.is_none() {
            env_tls(&host)
        } else {
            None
        };
        engines.push(Engine {
            name: LOCAL.to_string(),
            address: EngineAddress {
                host,
                tls,
                ssh_key: None,
            },
            origin: Origin::Default,
        });
    } else if let Some(host) = &env.docker_host {
        let address = EngineAddress {
            host: host.clone(),
            tls: env_tls(host),
            ssh_key: None,
        };
        add_unless_listed(&mut engines, FROM_ENV, address, Origin::Env);
    }
    for c in contexts.into_iter().filter(|c| c.name != "default") {
        if crate::config::engines::check_name(&c.name).is_ok() {
            add_unless_listed(&mut engines, &c.name, c.address, Origin::Context);
        }
    }
    engines
}

fn add_unless_listed(
    engines: &mut Vec<Engine>,
    name: &str,
    address: EngineAddress,
    origin: Origin,
) {
    let same_place = |e: &Engine| same_host(&e.address.host, &address.host);
    if engines.iter().any(|e| e.name == name || same_place(e)) {
        return;
    }
    engines.push(Engine {
        name: name.to_string(),
        address,
        origin,
    });
}

/// Two addresses of one engine: equal, or unix sockets that are one file behind symlinks.
fn same_host(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.strip_prefix("unix://"), b.strip_prefix("unix://")) {
        (Some(x), Some(y)) => {
            let real = |p: &str| std::fs::canonicalize(Path::new(p)).ok();
            real(x).is_some() && real(x) == real(y)
        }
        _ => false,
    }
}

/// The engine called `name`, or a usage error that lists the known names.
pub fn named<'a>(engines: &'a [Engine], name: &str) -> crate::error::Result<&'a Engine> {
    engines.iter().find(|e| e.name == name).ok_or_else(|| {
        let known: Vec<&str> = engines.iter().map(|e| e.name.as_str()).collect();
        crate::error::Error::usage(format!(
            "no engine named `{name}`; known: {}",
            known.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_engines_replace_the_local_one_and_keep_their_order() {
        let text = "[[engines]]\nname = \"box\"\nhost = \"ssh://me@box\"\n\n[[engines]]\nname = \"cloud\"\nhost = \"tcp://h:2376\"\ncert_path = \"/certs\"\n";
        let config = Config::parse(text, std::path::Path::new("/c.toml")).unwrap();
        let engines = resolve_from(&config, &EnvView::default(), Vec::new());
        let names: Vec<_> = engines.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["box", "cloud"]);
        let tls = engines[1].address.tls.as_ref().unwrap();
        assert_eq!(tls.key, std::path::Path::new("/certs/key.pem"));
        assert!(named(&engines, "nope")
            .unwrap_err()
            .to_string()
            .contains("box, cloud"));
        let local = resolve_from(&Config::default(), &EnvView::default(), Vec::new());
        assert_eq!((local.len(), local[0].name.as_str()), (1, LOCAL));
    }

    fn context(name: &str, host: &str) -> Context {
        Context {
            name: name.into(),
            address: EngineAddress::plain(host),
        }
    }

    #[test]
    fn docker_host_and_contexts_join_under_their_own_names() {
        let env = EnvView {
            docker_host: Some("unix:///run/other.sock".into()),
            tls: None,
        };
        let contexts = vec![
            context("default", "unix:///var/run/docker.sock"),
            context("box", "ssh://me@box"),
            context("again", "unix:///run/other.sock"),
            context("bad name!", "tcp://x:1"),
        ];
        // Nothing configured: DOCKER_HOST is the local engine, as before; contexts follow.
        let engines = resolve_from(&Config::default(), &env, contexts.clone());
        let listed: Vec<_> = engines
            .iter()
            .map(|e| (e.name.as_str(), e.address.host.as_str(), e.origin))
            .collect();
        assert_eq!(
            listed,
            [
                (LOCAL, "unix:///run/other.sock", Origin::Default),
                ("box", "ssh://me@box", Origin::Context),
            ]
        );
        // Configured engines: DOCKER_HOST is one more, under its own name.
        let config = Config::parse(
            "[[engines]]\nname = \"box\"\nhost = \"ssh://me@box2\"\n",
            std::path::Path::new("/c.toml"),
        )
        .unwrap();
        let engines = resolve_from(&config, &env, contexts);
        let names: Vec<_> = engines.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["box", FROM_ENV]);
    }

    #[test]
    fn tls_from_the_environment_applies_to_a_tcp_docker_host_only() {
        let env = EnvView {
            docker_host: Some("tcp://h:2376".into()),
            tls: Some(TlsFiles::in_folder(std::path::Path::new("/certs"))),
        };
        let engines = resolve_from(&Config::default(), &env, Vec::new());
        assert!(engines[0].address.tls.is_some());
        let env = EnvView {
            docker_host: Some("ssh://me@h".into()),
            ..env
        };
        let engines = resolve_from(&Config::default(), &env, Vec::new());
        assert_eq!(engines[0].address.tls, None);
    }
}
