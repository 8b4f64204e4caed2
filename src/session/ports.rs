//! `cctui port`: a port the agent listens on, reachable from the host while the session runs.
//!
//! Who owns a forward: one small background `cctui __port-serve` process per forward (the
//! daemon), which holds the host listener and records itself in a state file,
//! `state_dir()/ports/SESSION/PORT.json`. It ends when `cctui port NAME --rm PORT`, `stop` or
//! `rm` signals it, or by itself within seconds of the session's agent no longer running.
//!
//! How bytes travel: each accepted host connection becomes one exec of a bash relay to 127.0.0.1:PORT
//! over the engine's API (as `kubectl port-forward` does), so it works on remote engines too.
//! The exec runs in the holder (whose namespace the agent shares) as the agent's own uid, which
//! the firewall treats as the agent, with no capabilities; with the firewall off, in the agent.
//! The relay's only destination is 127.0.0.1 inside the namespace: no new egress.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ops::Ops;
use super::SessionName;
use crate::backend::{Backend, BackendError, ExecSession, ExecSpec, LogStream};
use crate::error::{Error, Result};

/// The holder's own service uids (resolver, probe, proxy, broker): a relay never runs as one.
const HOLDER_UIDS: std::ops::RangeInclusive<u32> = 64996..=64999;
/// How often a daemon checks that its session still runs.
const WATCH_EVERY: Duration = Duration::from_secs(2);
/// One connection's relay, in bash (both the holder and agent images have it): started ahead,
/// it waits for one line (bash reads it byte by byte, so nothing after it is taken), then
/// connects to 127.0.0.1:$1 only; it ends when the service closes its side (`nc` would wait for the host's
/// side to close too, which HTTP clients do not do). The host's end of input is not passed on
/// as a half-close (the socket stays open for the reply), which HTTP does not need.
const RELAY: &str = r#"IFS= read -r _ || exit 0
exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
cat <&0 >&3 2>/dev/null &
cat <&3
kill $! 2>/dev/null"#;
/// The marker in a daemon's command line, checked before it is signalled.
pub const SERVE_COMMAND: &str = "__port-serve";

/// One forward, as its state file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    pub port: u16,
    pub host_port: u16,
    pub bind: IpAddr,
    pub pid: u32,
}

/// A port number given for the agent's side: 1024-65535. Below 1024 are the holder's own
/// listeners (proxy, credential broker), which the agent cannot bind and a forward must not
/// expose.
pub fn agent_port(port: u16) -> Result<u16> {
    if port < 1024 {
        return Err(Error::usage(format!(
            "port {port}: the agent's port must be 1024-65535 (below 1024 are the firewall's own \
             listeners, which the agent cannot bind)"
        )));
    }
    Ok(port)
}

/// A host port: 1-65535.
pub fn host_port(port: u16) -> Result<u16> {
    if port == 0 {
        return Err(Error::usage("host port 0: give a port 1-65535"));
    }
    Ok(port)
}

fn session_dir(name: &str) -> Result<PathBuf> {
    let name = SessionName::parse(name)?;
    Ok(crate::paths::state_dir().join("ports").join(name.as_str()))
}

fn state_file(name: &str, port: u16) -> Result<PathBuf> {
    Ok(session_dir(name)?.join(format!("{port}.json")))
}

/// Whether `pid` is a live forward daemon (not a process that took its number since).
fn is_daemon(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == SERVE_COMMAND.as_bytes()),
        // Without /proc (not Linux), a live pid is taken at its word.
        Err(_) => !std::path::Path::new("/proc/self").exists() && pid_alive(pid),
    }
}

fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 checks for existence only.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// The session's live forwards, by port; state files of daemons gone are removed.
pub fn list(name: &str) -> Result<Vec<Forward>> {
    let dir = session_dir(name)?;
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let forward = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Forward>(&b).ok());
        match forward {
            Some(f) if is_daemon(f.pid) => out.push(f),
            _ => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    out.sort_by_key(|f| f.port);
    Ok(out)
}

/// `8080 → 127.0.0.1:8080, 3000 → 127.0.0.1:13000`: the agent's port, then the host's.
pub fn text(ports: &[Forward]) -> String {
    ports
        .iter()
        .map(|f| {
            format!(
                "{} → {}",
                f.port,
                std::net::SocketAddr::new(f.bind, f.host_port)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records this process as the daemon of a forward.
pub fn record(name: &str, forward: &Forward) -> Result<()> {
    let path = state_file(name, forward.port)?;
    let dir = path.parent().expect("a state file has a folder");
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::other(format!("cannot create {}: {e}", dir.display())))?;
    let text = serde_json::to_vec(forward).expect("json");
    std::fs::write(&path, text)
        .map_err(|e| Error::other(format!("cannot write {}: {e}", path.display())))
}

/// Removes this forward's state file (a daemon that ends does so itself).
pub fn forget(name: &str, port: u16) {
    if let Ok(path) = state_file(name, port) {
        let _ = std::fs::remove_file(path);
    }
}

/// Ends the forward of `port`; false if there was none.
pub fn end(name: &str, port: u16) -> Result<bool> {
    let Some(f) = list(name)?.into_iter().find(|f| f.port == port) else {
        return Ok(false);
    };
    // SAFETY: a plain signal to a process checked to be a forward daemon.
    unsafe { libc::kill(f.pid as libc::pid_t, libc::SIGTERM) };
    forget(name, port);
    Ok(true)
}

/// Ends every forward of the session (`stop`, `rm`).
pub fn end_all(name: &str) {
    for f in list(name).unwrap_or_default() {
        let _ = end(name, f.port);
    }
}

/// Where a relay runs and as whom: the holder as the agent's uid, or (firewall off) the
/// agent itself. Public so that tests probe exactly what a relay runs as.
pub async fn relay_target<B: Backend>(
    ops: &Ops<B>,
    name: &str,
    port: u16,
) -> Result<(String, ExecSpec)> {
    let session = ops.find(name).await?;
    let agent = ops.running_agent(name).await?;
    let user = agent_uid(&ops.backend.inspect_container(&agent).await?.user)?;
    let target = match session.running_holder() {
        Some(holder) => holder.id.clone(),
        None if session.holder.is_some() => {
            return Err(Error::usage(format!(
                "session `{name}`'s network holder is not running; `cctui start {name}` first"
            )))
        }
        None => agent,
    };
    let spec = ExecSpec {
        cmd: ["bash", "-c", RELAY, "cctui-relay", &port.to_string()]
            .map(String::from)
            .to_vec(),
        user: Some(user),
        working_dir: Some("/".into()),
        ..Default::default()
    };
    Ok((target, spec))
}

/// The agent container's `uid:gid` (cctui sets it numeric at create), checked to be neither
/// root nor one of the holder's service uids, whose firewall rules differ from the agent's.
pub fn agent_uid(user: &str) -> Result<String> {
    let ids: Vec<Option<u32>> = user.split(':').map(|p| p.parse().ok()).collect();
    match ids[..] {
        [Some(uid)] | [Some(uid), Some(_)] if uid != 0 && !HOLDER_UIDS.contains(&uid) => {
            Ok(user.to_string())
        }
        _ => Err(Error::usage(format!(
            "the agent runs as user `{user}`, not a numeric non-root uid cctui can relay as; \
             recreate the session with this cctui"
        ))),
    }
}

/// Where a forward's connections go, checked before its daemon says it is ready.
pub struct Relay {
    agent: String,
    target: String,
    spec: ExecSpec,
}

impl Relay {
    /// Checks that the session runs and finds where its relays run.
    pub async fn prepare<B: Backend>(ops: &Ops<B>, name: &str, port: u16) -> Result<Relay> {
        let (target, spec) = relay_target(ops, name, agent_port(port)?).await?;
        let agent = ops.running_agent(name).await?;
        Ok(Relay {
            agent,
            target,
            spec,
        })
    }

    /// The daemon's work: relays every connection on `listener` until the session stops.
    /// One relay is always started ahead, idle until told to connect, so that a connection
    /// does not wait for an exec to be created and started.
    pub async fn serve<B: Backend>(&self, backend: &B, listener: tokio::net::TcpListener) {
        let mut watch = tokio::time::interval(WATCH_EVERY);
        let mut ahead = self.start_ahead(backend);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((socket, _)) = accepted else { continue };
                    let waiting = std::mem::replace(&mut ahead, self.start_ahead(backend));
                    tokio::spawn(async move {
                        let result = match waiting.await {
                            Ok(Ok(exec)) => relay(exec, socket).await,
                            Ok(Err(e)) => Err(e.into()),
                            Err(e) => Err(Error::other(format!("relay: {e}"))),
                        };
                        if let Err(e) = result {
                            tracing::info!("port relay ended: {e}");
                        }
                    });
                }
                _ = watch.tick() => {
                    if !still_running(backend, &[&self.agent, &self.target]).await {
                        return;
                    }
                }
            }
        }
    }

    fn start_ahead<B: Backend>(
        &self,
        backend: &B,
    ) -> tokio::task::JoinHandle<Result<ExecSession, BackendError>> {
        let (backend, target, spec) = (backend.clone(), self.target.clone(), self.spec.clone());
        tokio::spawn(async move { backend.exec_session(&target, &spec, false).await })
    }
}

/// False once any of these containers is gone or not running; an engine that does not
/// answer for a moment ends nothing.
async fn still_running<B: Backend>(backend: &B, ids: &[&str]) -> bool {
    for id in ids {
        match backend.inspect_container(id).await {
            Ok(d) if d.summary.state.is_running() => {}
            Ok(_) | Err(BackendError::NotFound(_)) => return false,
            Err(_) => {}
        }
    }
    true
}

/// One host connection, over one exec's streams: host to its stdin, its stdout to the host.
async fn relay(exec: ExecSession, socket: tokio::net::TcpStream) -> Result<()> {
    let _ = socket.set_nodelay(true);
    let (mut from_host, mut to_host) = socket.into_split();
    let (mut output, mut input) = (exec.output, exec.input);
    // The line the relay waits for before it connects.
    input
        .write_all(b"\n")
        .await
        .map_err(|e| Error::other(format!("relay: {e}")))?;
    let upward = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = from_host.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            input.write_all(&buf[..n]).await?;
            input.flush().await?;
        }
        input.shutdown().await
    };
    let downward = async {
        while let Some(chunk) = output.next().await {
            let chunk = chunk.map_err(std::io::Error::other)?;
            // The relay's stderr (e.g. "Connection refused") is not the service's bytes.
            if chunk.stream != LogStream::Stderr {
                to_host.write_all(&chunk.bytes).await?;
            }
        }
        to_host.shutdown().await
    };
    tokio::try_join!(upward, downward)
        .map(|_| ())
        .map_err(|e| Error::other(format!("relay: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_users_are_the_agents_never_root_or_the_holders() {
        assert!(agent_uid("1000:1000").is_ok());
        assert!(agent_uid("501").is_ok());
        for bad in [
            "0:0",
            "0",
            "64997:64997",
            "64996",
            "64999:0",
            "claude",
            "",
            "1000:x",
        ] {
            assert_eq!(agent_uid(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn ports_are_checked() {
        assert!(agent_port(1024).is_ok() && agent_port(65535).is_ok());
        for bad in [0, 80, 999, 1023] {
            assert_eq!(agent_port(bad).unwrap_err().exit_code(), 2);
        }
        assert!(host_port(0).is_err() && host_port(80).is_ok());
    }

    #[test]
    fn forwards_read_agent_port_first() {
        let f = |port, host_port, bind: &str| Forward {
            port,
            host_port,
            bind: bind.parse().unwrap(),
            pid: 1,
        };
        let text = text(&[f(8080, 8080, "127.0.0.1"), f(3000, 13000, "::1")]);
        assert_eq!(text, "8080 → 127.0.0.1:8080, 3000 → [::1]:13000");
    }
}
