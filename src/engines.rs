//! Which Docker engines the user has, each under a name: the `[[engines]]` of the config,
//! else the one local engine (`[engine] host`, then `DOCKER_HOST`, then the default socket),
//! exactly as cctui behaved before it knew several.

use crate::backend::{choose_host, EngineAddress, TlsFiles};
use crate::config::Config;

/// The name of the engine cctui uses when none is configured.
pub const LOCAL: &str = "local";

/// Where an engine's entry came from, for `doctor` and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Config,
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    pub name: String,
    pub address: EngineAddress,
    pub origin: Origin,
}

/// Every engine, in the order the dashboard lists them; never empty.
pub fn resolve(config: &Config) -> Vec<Engine> {
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
            },
            origin: Origin::Config,
        })
        .collect();
    if engines.is_empty() {
        engines.push(Engine {
            name: LOCAL.to_string(),
            address: EngineAddress {
                host: choose_host(Some(&config.engine.host)),
                tls: None,
            },
            origin: Origin::Default,
        });
    }
    engines
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
        let engines = resolve(&config);
        let names: Vec<_> = engines.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["box", "cloud"]);
        let tls = engines[1].address.tls.as_ref().unwrap();
        assert_eq!(tls.key, std::path::Path::new("/certs/key.pem"));
        assert!(named(&engines, "nope")
            .unwrap_err()
            .to_string()
            .contains("box, cloud"));
        let local = resolve(&Config::default());
        assert_eq!((local.len(), local[0].name.as_str()), (1, LOCAL));
    }
}
