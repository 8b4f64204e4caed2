//! The Docker CLI's contexts (`~/.docker/contexts`, or `$DOCKER_CONFIG/contexts`): each
//! `meta/<id>/meta.json` names a context and its `docker` endpoint's host; TLS files, when
//! the context has them, are in `tls/<id>/docker/` (ca.pem, cert.pem, key.pem).

use std::path::{Path, PathBuf};

use crate::backend::{EngineAddress, TlsFiles};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub name: String,
    pub address: EngineAddress,
}

/// The Docker CLI's config folder: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")),
    }
}

/// Every context under `dir/contexts` with a docker endpoint, sorted by name; the built-in
/// `default` context has no folder there. Unreadable or odd entries are skipped: the CLI's
/// folder is not ours to judge.
pub fn read(dir: &Path) -> Vec<Context> {
    let Ok(entries) = std::fs::read_dir(dir.join("contexts/meta")) else {
        return Vec::new();
    };
    let mut found: Vec<Context> = entries
        .flatten()
        .filter_map(|e| {
            let id = e.file_name();
            let text = std::fs::read_to_string(e.path().join("meta.json")).ok()?;
            let tls_dir = dir.join("contexts/tls").join(&id).join("docker");
            parse(&text, &tls_dir)
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn parse(meta_json: &str, tls_dir: &Path) -> Option<Context> {
    let meta: serde_json::Value = serde_json::from_str(meta_json).ok()?;
    let name = meta.get("Name")?.as_str()?.to_string();
    let host = meta
        .pointer("/Endpoints/docker/Host")?
        .as_str()?
        .to_string();
    if host.is_empty() {
        return None;
    }
    let tls = tls_dir
        .join("ca.pem")
        .exists()
        .then(|| TlsFiles::in_folder(tls_dir));
    Some(Context {
        name,
        address: EngineAddress {
            host,
            tls,
            ssh_key: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_gives_its_name_host_and_tls_folder() {
        let dir = std::env::temp_dir().join(format!("cctui-ctx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let meta = dir.join("contexts/meta/abc");
        let tls = dir.join("contexts/tls/abc/docker");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::create_dir_all(&tls).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"cloud","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://h:2376","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        std::fs::write(tls.join("ca.pem"), "x").unwrap();
        let other = dir.join("contexts/meta/def");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(
            other.join("meta.json"),
            r#"{"Name":"box","Endpoints":{"docker":{"Host":"ssh://me@box"}}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("contexts/meta/broken")).unwrap();
        let found = read(&dir);
        let names: Vec<_> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["box", "cloud"]);
        assert_eq!(found[0].address.tls, None);
        assert_eq!(found[1].address.host, "tcp://h:2376");
        assert_eq!(
            found[1].address.tls.as_ref().unwrap().key,
            tls.join("key.pem")
        );
        assert!(read(&dir.join("nowhere")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
