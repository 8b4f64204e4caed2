//! Opening a client for one engine address: a unix socket, plain `tcp://`, `tcp://` with the
//! client TLS files of a `DOCKER_CERT_PATH` folder, or `ssh://` (bollard's transport: `ssh`
//! runs `docker system dial-stdio` on the far side, with the user's ssh config and agent).

use bollard::{Docker, API_DEFAULT_VERSION};

use super::errors::{transport_cause, unreachable};
use crate::backend::{BackendError, EngineAddress, TlsFiles};

/// A client for `address`; nothing is sent yet. Files that must exist are checked here, so
/// that a missing one is named rather than failing the first call.
pub(super) fn client(address: &EngineAddress, secs: u64) -> Result<Docker, BackendError> {
    let host = address.host.as_str();
    let opened = if let Some(path) = host.strip_prefix("unix://") {
        if !std::path::Path::new(path).exists() {
            return Err(unreachable(host, "the socket does not exist"));
        }
        Docker::connect_with_unix(host, secs, API_DEFAULT_VERSION)
    } else if host.starts_with("ssh://") {
        let Some(target) = super::ssh::SshTarget::parse(host) else {
            return Err(misconfigured(
                host,
                "not an ssh address",
                "use ssh://user@host or ssh://user@host:port",
            ));
        };
        let key = match &address.ssh_key {
            Some(key) => Some(existing(host, "ssh_key", key)?),
            None => None,
        };
        super::ssh::client(target, key, secs)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        match &address.tls {
            Some(tls) => tls_client(host, tls, secs),
            None if !is_loopback(host) => {
                return Err(misconfigured(
                    host,
                    "plain tcp:// to another machine carries the session's secrets, and root on \
                     that engine, in clear over the network",
                    "give the engine a cert_path (TLS: ca.pem, cert.pem, key.pem), or use \
                     ssh://user@host; plain tcp:// is for 127.0.0.1 and localhost only",
                ));
            }
            None => Docker::connect_with_http(host, secs, API_DEFAULT_VERSION),
        }
    } else {
        return Err(misconfigured(
            host,
            "unsupported address",
            "use unix:///path, ssh://user@host[:port] or tcp://host:port",
        ));
    };
    opened.map_err(|e| unreachable(host, transport_cause(&e)))
}

/// Whether a `tcp://` or `http://` address names this machine.
fn is_loopback(host: &str) -> bool {
    let rest = host.split_once("://").map_or(host, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let name = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn tls_client(host: &str, tls: &TlsFiles, secs: u64) -> Result<Docker, bollard::errors::Error> {
    let https = host.replacen("http://", "tcp://", 1);
    Docker::connect_with_ssl(
        &https,
        &tls.key,
        &tls.cert,
        &tls.ca,
        secs,
        API_DEFAULT_VERSION,
    )
}

/// Every TLS file, checked before connecting: bollard reads the client key only during the
/// handshake, where a missing file would read as a refused connection.
pub(super) fn check_tls_files(host: &str, tls: &TlsFiles) -> Result<(), BackendError> {
    for (what, path) in [
        ("ca.pem", &tls.ca),
        ("cert.pem", &tls.cert),
        ("key.pem", &tls.key),
    ] {
        if let Err(e) = std::fs::File::open(path) {
            let folder = path.parent().unwrap_or(path).display();
            return Err(misconfigured(
                host,
                &format!("the TLS file {} cannot be read ({})", path.display(), io_words(&e)),
                &format!(
                    "put the engine's client {what} in {folder} (cert_path: ca.pem, cert.pem, key.pem), or fix cert_path"
                ),
            ));
        }
    }
    Ok(())
}

fn existing(host: &str, key: &str, path: &std::path::Path) -> Result<String, BackendError> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(path.display().to_string()),
        Err(e) => Err(misconfigured(
            host,
            &format!(
                "the {key} file {} cannot be read ({})",
                path.display(),
                io_words(&e)
            ),
            &format!("fix {key}, or leave it out to use your ssh agent and ~/.ssh/config"),
        )),
    }
}

fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

pub(super) fn misconfigured(host: &str, detail: &str, fix: &str) -> BackendError {
    BackendError::Misconfigured {
        host: host.to_string(),
        detail: detail.to_string(),
        fix: fix.to_string(),
    }
}

/// Why an engine that was reached still failed the first call, with a fix that suits its
/// transport: a refused certificate, an ssh login that failed, or (the general case) an
/// engine that does not answer.
pub(super) fn first_call_failed(address: &EngineAddress, cause: String) -> BackendError {
    let host = address.host.as_str();
    let lower = cause.to_lowercase();
    if address.tls.is_some() && (lower.contains("certificate") || lower.contains("tls")) {
        return misconfigured(
            host,
            &format!("TLS failed: {cause}"),
            "the engine and the files in cert_path must come from the same CA (ca.pem signs the \
             engine's certificate; cert.pem/key.pem are a client pair it trusts)",
        );
    }
    if address.tls.is_none() && lower.contains("https server") {
        return misconfigured(
            host,
            "the engine speaks TLS",
            "set cert_path to a folder with its client ca.pem, cert.pem and key.pem",
        );
    }
    if host.starts_with("ssh://") {
        let fix = if lower.contains("host key") {
            "cctui checks host keys strictly: ssh to it once and accept its key (it goes to \
             ~/.ssh/known_hosts), or add it there"
        } else if lower.contains("permission denied") {
            "the login was refused: put the key in your ssh agent or ~/.ssh/config, or set \
             ssh_key in [[engines]]"
        } else {
            "check that `ssh` reaches that host and port without a prompt, and that `docker` \
             runs there"
        };
        return BackendError::Unreachable {
            host: host.to_string(),
            detail: cause,
            fix: fix.into(),
        };
    }
    unreachable(host, cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_tcp_is_for_this_machine_only() {
        for ok in [
            "tcp://127.0.0.1:2375",
            "tcp://localhost:2375",
            "http://[::1]:1",
            "tcp://127.8.0.1",
        ] {
            assert!(is_loopback(ok), "{ok}");
        }
        for far in [
            "tcp://10.0.0.7:2375",
            "tcp://buildbox:2375",
            "tcp://localhost.evil:1",
            "tcp://[fe80::1]:1",
        ] {
            assert!(!is_loopback(far), "{far}");
        }
        let far = EngineAddress::plain("tcp://10.0.0.7:2375");
        let Err(err) = client(&far, 1) else {
            panic!("plain tcp:// to 10.0.0.7 was accepted")
        };
        let err = err.to_string();
        assert!(err.contains("cert_path") && err.contains("ssh://"), "{err}");
    }
}
