//! The `ssh://` transport: one ssh master connection per engine (the system `ssh`, so the
//! user's ~/.ssh/config, agent and known hosts apply), and per HTTP connection a
//! `docker system dial-stdio` on the far side, whose stdin/stdout carry the API.
//!
//! bollard's own ssh transport (0.21) hands ssh `user@host:port` without the scheme, which
//! ssh reads as a host named `host:port`, so a port never worked; this is the same design
//! (bollard's custom transport, the openssh crate bollard uses) with the port, a connect
//! timeout, strict host keys and one shared master.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bollard::{BollardRequest, Docker, API_DEFAULT_VERSION};
use futures_util::future::BoxFuture;
use hyper_util::rt::{TokioExecutor, TokioIo};
use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use tokio::sync::Mutex;

/// `ssh://[user@]host[:port]`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    pub fn parse(address: &str) -> Option<SshTarget> {
        let rest = address.strip_prefix("ssh://")?.trim_end_matches('/');
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p.parse().ok()?)),
            _ => (hostport, None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // A leading '-' would reach ssh as an option; spaces and controls have no place.
        let plain = |t: &str| {
            !t.starts_with('-') && !t.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        if !plain(host) || !user.as_deref().is_none_or(plain) {
            return None;
        }
        (!host.is_empty()).then(|| SshTarget {
            user: user.filter(|u| !u.is_empty()),
            host: host.to_string(),
            port,
        })
    }
}

/// Where the ssh master's socket lives: a 0700 folder of cctui's own outside any project
/// (`$XDG_RUNTIME_DIR`, else the system's temporary folder), never the current folder or
/// `~/.local/state`, which a project's bind mount could show the agent: that socket runs
/// commands on the engine's machine.
fn control_directory() -> io::Result<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("cctui-ssh-{}", unsafe { libc::getuid() }));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(&dir)?;
    let meta = std::fs::symlink_metadata(&dir)?;
    let mine = std::os::unix::fs::MetadataExt::uid(&meta) == unsafe { libc::getuid() };
    if !meta.is_dir() || !mine {
        return Err(io::Error::other(format!(
            "{} is not a folder of this user's",
            dir.display()
        )));
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

#[derive(Clone)]
struct SshConnector {
    target: SshTarget,
    key: Option<String>,
    connect_timeout: Duration,
    /// The master connection, made on first use and again after it died.
    session: Arc<Mutex<Option<Arc<Session>>>>,
}

impl SshConnector {
    async fn session(&self, fresh: bool) -> Result<Arc<Session>, openssh::Error> {
        let mut held = self.session.lock().await;
        if let (Some(s), false) = (held.as_ref(), fresh) {
            return Ok(Arc::clone(s));
        }
        let mut b = SessionBuilder::default();
        b.control_directory(control_directory().map_err(openssh::Error::Master)?)
            .known_hosts_check(KnownHosts::Strict)
            .connect_timeout(self.connect_timeout)
            .server_alive_interval(Duration::from_secs(15))
            // A master left behind by a killed cctui goes away on its own.
            .control_persist(ControlPersist::IdleFor(
                std::num::NonZeroUsize::new(60).expect("not zero"),
            ));
        if let Some(user) = &self.target.user {
            b.user(user.clone());
        }
        if let Some(port) = self.target.port {
            b.port(port);
        }
        if let Some(key) = &self.key {
            b.keyfile(key);
        }
        let session = Arc::new(b.connect(&self.target.host).await?);
        *held = Some(Arc::clone(&session));
        Ok(session)
    }

    async fn dial(&self) -> Result<SshStream, openssh::Error> {
        let session = self.session(false).await?;
        let child = match dial_stdio(&session).await {
            Ok(c) => c,
            // The master may have gone (idle, network): one fresh try.
            Err(_) => dial_stdio(&self.session(true).await?).await?,
        };
        SshStream::new(child)
    }
}

async fn dial_stdio(
    session: &Arc<Session>,
) -> Result<openssh::Child<Arc<Session>>, openssh::Error> {
    session.check().await?;
    Arc::clone(session)
        .arc_command("docker")
        .args(["system", "dial-stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .await
}

impl tower_service::Service<hyper::Uri> for SshConnector {
    type Response = SshStream;
    type Error = io::Error;
    type Future = BoxFuture<'static, Result<SshStream, io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let me = self.clone();
        Box::pin(async move { me.dial().await.map_err(in_words) })
    }
}

/// ssh's own words ("Host key verification failed.", "Connection refused"), on one line:
/// the kind is dropped, since "connection aborted" would read as the engine's doing.
fn in_words(e: openssh::Error) -> io::Error {
    let mut text = e.to_string();
    let mut next = std::error::Error::source(&e);
    while let Some(inner) = next {
        text = inner.to_string();
        next = inner.source();
    }
    let text = text
        .split(['\r', '\n'])
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>();
    io::Error::other(format!("ssh: {}", text.join(" ")))
}

/// A client for the engine behind `target`; the master connects on the first call.
pub(super) fn client(
    target: SshTarget,
    key: Option<String>,
    secs: u64,
) -> Result<Docker, bollard::errors::Error> {
    let connector = SshConnector {
        target,
        key,
        connect_timeout: Duration::from_secs(secs.clamp(1, 30)),
        session: Arc::new(Mutex::new(None)),
    };
    let client = Arc::new(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector),
    );
    Docker::connect_with_custom_transport(
        move |req: BollardRequest| {
            let client = Arc::clone(&client);
            Box::pin(async move {
                client
                    .request(req)
                    .await
                    .map_err(bollard::errors::Error::from)
            }) as BoxFuture<'static, _>
        },
        Some("ssh://docker"),
        secs,
        API_DEFAULT_VERSION,
    )
}

struct SshStream {
    _child: openssh::Child<Arc<Session>>,
    stdin: Option<TokioIo<openssh::ChildStdin>>,
    stdout: TokioIo<openssh::ChildStdout>,
}

impl SshStream {
    fn new(mut child: openssh::Child<Arc<Session>>) -> Result<SshStream, openssh::Error> {
        let missing = || openssh::Error::ChildIo(io::ErrorKind::BrokenPipe.into());
        let stdin = child.stdin().take().ok_or_else(missing)?;
        let stdout = child.stdout().take().ok_or_else(missing)?;
        Ok(SshStream {
            stdin: Some(TokioIo::new(stdin)),
            stdout: TokioIo::new(stdout),
            _child: child,
        })
    }

    fn stdin(self: Pin<&mut Self>) -> io::Result<Pin<&mut TokioIo<openssh::ChildStdin>>> {
        self.get_mut()
            .stdin
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::ErrorKind::BrokenPipe.into())
    }
}

impl hyper::rt::Read for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for SshStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stdin()?.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stdin()?.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().stdin()?.poll_shutdown(cx))?;
        // Dropping stdin closes the input half; the child then ends the stream.
        drop(self.get_mut().stdin.take());
        Poll::Ready(Ok(()))
    }
}

impl hyper_util::client::legacy::connect::Connection for SshStream {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_addresses_keep_their_user_and_port() {
        let t = |user: Option<&str>, host: &str, port| SshTarget {
            user: user.map(str::to_string),
            host: host.into(),
            port,
        };
        assert_eq!(
            SshTarget::parse("ssh://root@127.0.0.1:22022"),
            Some(t(Some("root"), "127.0.0.1", Some(22022)))
        );
        assert_eq!(SshTarget::parse("ssh://box"), Some(t(None, "box", None)));
        assert_eq!(
            SshTarget::parse("ssh://me@[::1]:2222"),
            Some(t(Some("me"), "::1", Some(2222)))
        );
        assert_eq!(SshTarget::parse("ssh://box:notaport"), None);
        assert_eq!(SshTarget::parse("ssh://"), None);
        assert_eq!(SshTarget::parse("tcp://box"), None);
        // Nothing that ssh would take for an option, or that splits into two words.
        assert_eq!(SshTarget::parse("ssh://-oProxyCommand=sh"), None);
        assert_eq!(SshTarget::parse("ssh://-l@box"), None);
        assert_eq!(SshTarget::parse("ssh://me@bo x"), None);
    }

    #[test]
    fn the_master_socket_folder_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = control_directory().unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
        assert!(!dir.starts_with(std::env::current_dir().unwrap()) || dir.starts_with("/tmp"));
    }
}
