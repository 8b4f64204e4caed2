//! Where an engine is, and the files it takes to speak to it.

/// Where one engine is and how to speak to it: `unix://`, `ssh://user@host[:port]`, or
/// `tcp://` (with TLS when `tls` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineAddress {
    pub host: String,
    pub tls: Option<TlsFiles>,
    /// For `ssh://`: a private key to use instead of the ssh agent and ~/.ssh/config's.
    pub ssh_key: Option<std::path::PathBuf>,
}

impl EngineAddress {
    /// An address with no TLS and no ssh key.
    pub fn plain(host: impl Into<String>) -> Self {
        EngineAddress {
            host: host.into(),
            tls: None,
            ssh_key: None,
        }
    }
}

/// Client TLS for a `tcp://` engine, as Docker's `DOCKER_CERT_PATH` folder holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: std::path::PathBuf,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

impl TlsFiles {
    /// `ca.pem`, `cert.pem` and `key.pem` in `dir`.
    pub fn in_folder(dir: &std::path::Path) -> Self {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}
