//! `cctui port`: add, list and remove a session's forwards; `__port-serve` is the daemon each
//! forward runs in (see `session::ports`).

use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;
use std::process::{ExitCode, Stdio};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::session::ops::Ops;
use crate::session::ports::{self, Forward, Relay, SERVE_COMMAND};

#[derive(Debug, clap::Args)]
pub struct PortArgs {
    // Indices fixed: completion decorates `name`, which must stay first.
    #[arg(index = 1)]
    pub name: String,
    /// PORT[:HOSTPORT]: the agent's port (1024-65535), and the host's (default: the same)
    #[arg(index = 2)]
    pub spec: Option<String>,
    /// Stop forwarding this (agent's) port
    #[arg(long, value_name = "PORT", conflicts_with = "spec")]
    pub rm: Option<u16>,
    /// The host address to listen on. Anything but loopback lets other machines reach the
    /// agent's server (see the README)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[arg(index = 1)]
    pub name: String,
    #[arg(index = 2)]
    pub port: u16,
    #[arg(index = 3)]
    pub host_port: u16,
    #[arg(index = 4)]
    pub bind: IpAddr,
}

/// `cctui port NAME [PORT[:HOSTPORT]] [--rm PORT]`.
pub async fn run<B: Backend>(
    ops: &Ops<B>,
    engine: &str,
    config: Option<&Path>,
    args: &PortArgs,
) -> Result<ExitCode> {
    let name = args.name.as_str();
    ops.find(name).await?;
    if let Some(port) = args.rm {
        if !ports::end(name, port)? {
            return Err(Error::usage(format!(
                "session `{name}` has no forward of port {port}; `cctui port {name}` lists them"
            )));
        }
        println!("{name}: port {port} no longer forwarded");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(spec) = &args.spec else {
        for f in ports::list(name)? {
            println!("{}  ->  {}:{}", f.port, host_text(f.bind), f.host_port);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let (port, host_port) = parse_spec(spec)?;
    if let Some(f) = ports::list(name)?.into_iter().find(|f| f.port == port) {
        return Err(Error::usage(format!(
            "port {port} of `{name}` is already forwarded to {}:{}; `cctui port {name} --rm {port}` first",
            host_text(f.bind),
            f.host_port
        )));
    }
    ops.running_agent(name).await?;
    let daemon = spawn_daemon(engine, config, name, port, host_port, args.bind)?;
    println!(
        "{name}: port {port} -> {}:{host_port} (process {daemon}; `cctui port {name} --rm {port}` stops it)",
        host_text(args.bind)
    );
    Ok(ExitCode::SUCCESS)
}

fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// `PORT` or `PORT:HOSTPORT`, each checked.
fn parse_spec(spec: &str) -> Result<(u16, u16)> {
    let number = |text: &str| {
        text.parse::<u16>().map_err(|_| {
            Error::usage(format!(
                "`{spec}`: give PORT or PORT:HOSTPORT, numbers 1-65535 (e.g. 8080 or 8080:18080)"
            ))
        })
    };
    let (port, host) = match spec.split_once(':') {
        Some((p, h)) => (number(p)?, number(h)?),
        None => (number(spec)?, number(spec)?),
    };
    Ok((ports::agent_port(port)?, ports::host_port(host)?))
}

/// Starts the forward's daemon, detached, and waits for its first line: `ok`, or the error.
fn spawn_daemon(
    engine: &str,
    config: Option<&Path>,
    name: &str,
    port: u16,
    host_port: u16,
    bind: IpAddr,
) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()
        .map_err(|e| Error::other(format!("cannot find cctui's own program: {e}")))?;
    let mut cmd = std::process::Command::new(exe);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    cmd.args(["--engine", engine, SERVE_COMMAND, name])
        .args([port.to_string(), host_port.to_string(), bind.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group: the terminal's signals (Ctrl-C, hangup) do not reach it.
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::other(format!("cannot start the forward's process: {e}")))?;
    let mut line = String::new();
    let out = child.stdout.take().expect("piped");
    let _ = std::io::BufReader::new(out).read_line(&mut line);
    match line.trim_end().strip_prefix("error: ") {
        None if line.trim_end() == "ok" => Ok(child.id()),
        Some(why) => {
            let _ = child.wait();
            Err(Error::usage(why.replace('\t', "\n")))
        }
        None => {
            let _ = child.wait();
            Err(Error::other(format!(
                "the forward's process ended without a word; see {}",
                crate::paths::log_file().display()
            )))
        }
    }
}

/// The daemon: listens, says `ok` (or `error: ...`) on stdout, then relays until the session
/// stops or it is signalled.
pub async fn serve<B: Backend>(ops: &Ops<B>, args: &ServeArgs) -> Result<ExitCode> {
    let name = args.name.as_str();
    let ready = async {
        let relay = Relay::prepare(ops, name, args.port).await?;
        let addr = (args.bind, ports::host_port(args.host_port)?);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            Error::usage(format!(
                "cannot listen on {}:{}: {e}; choose another host port: `cctui port {name} {}:OTHER`",
                host_text(args.bind),
                args.host_port,
                args.port
            ))
        })?;
        let forward = Forward {
            port: args.port,
            host_port: args.host_port,
            bind: args.bind,
            pid: std::process::id(),
        };
        ports::record(name, &forward)?;
        Ok::<_, Error>((relay, listener))
    };
    let (relay, listener) = match ready.await {
        Ok(ready) => ready,
        Err(e) => {
            println!("error: {}", e.to_string().replace('\n', "\t"));
            return Ok(ExitCode::from(e.exit_code()));
        }
    };
    println!("ok");
    relay.serve(&ops.backend, listener).await;
    ports::forget(name, args.port);
    Ok(ExitCode::SUCCESS)
}
