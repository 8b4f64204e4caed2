//! Commands run in a session on this terminal, through the engine's API (as attach is), so
//! that they work the same on a remote engine and need no docker CLI.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::SignalKind;

use crate::backend::{Backend, ExecSpec, LogStream};
use crate::error::{Error, Result};
use crate::session::ops::Ops;
use crate::term::sanitize::StreamFilter;

/// Runs `program` then `args` in the session's running agent, interactively: `cctui shell`,
/// `exec`, `run` and `login`.
pub async fn in_session<B: Backend>(
    ops: &Ops<B>,
    name: &str,
    program: &[&str],
    args: &[String],
) -> Result<ExitCode> {
    let id = ops.running_agent(name).await?;
    let cmd: Vec<String> = program
        .iter()
        .map(|s| s.to_string())
        .chain(args.iter().cloned())
        .collect();
    if let Some(missing) = missing_program(ops, &id, &cmd).await? {
        return Err(Error::usage(format!(
            "`{missing}` is not a command in session `{name}` (not found on the agent's PATH); \
             `cctui shell {name}` opens a shell there to look"
        )));
    }
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let code = run_here(ops, &id, &cmd, true, tty).await?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Runs `cmd` as the agent user in the project folder of container `id`, on this terminal:
/// its output to this stdout and stderr, this stdin to it when `stdin` (else it reads an
/// empty stdin), on a tty (this terminal raw, its size followed) when `tty`. Its exit code.
pub(super) async fn run_here<B: Backend>(
    ops: &Ops<B>,
    id: &str,
    cmd: &[String],
    stdin: bool,
    tty: bool,
) -> Result<i64> {
    let spec = agent_exec(ops, id, cmd).await?;
    let mut session = ops.backend.exec_session(id, &spec, tty).await?;
    let _raw = if tty {
        Some(RawTerminal::enter()?)
    } else {
        None
    };
    if tty {
        if let Ok((cols, rows)) = crossterm::terminal::size() {
            let _ = ops.backend.resize_exec(&session.id, rows, cols).await;
        }
    }
    let mut keys = if stdin { Some(stdin_reader()) } else { None };
    if keys.is_none() {
        let _ = session.input.shutdown().await;
    }
    // To a terminal, the sandbox's output passes `StreamFilter`; piped, it stays byte-exact.
    let mut outward = Outward::for_this_terminal();
    let mut resized = watch(SignalKind::window_change())?;
    // Ended from outside: the loop ends, so the terminal's modes are still reset (on drop).
    let mut terminate = watch(SignalKind::terminate())?;
    let mut hangup = watch(SignalKind::hangup())?;
    loop {
        tokio::select! {
            chunk = session.output.next() => match chunk {
                Some(chunk) => {
                    let chunk = chunk?;
                    show(&chunk.stream, &outward.pass(&chunk.stream, chunk.bytes));
                }
                None => break,
            },
            read = recv(&mut keys) => match read {
                Some(bytes) => { let _ = session.input.write_all(&bytes).await; }
                None => {
                    // This stdin ended: so does the command's.
                    keys = None;
                    let _ = session.input.shutdown().await;
                }
            },
            _ = terminate.recv() => return Ok(128 + 15),
            _ = hangup.recv() => return Ok(128 + 1),
            _ = resized.recv(), if tty => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    let _ = ops.backend.resize_exec(&session.id, rows, cols).await;
                }
            }
        }
    }
    exit_code(ops, &session.id).await
}

fn watch(kind: SignalKind) -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind)
        .map_err(|e| Error::other(format!("cannot watch signal {kind:?}: {e}")))
}

/// The exec for `cmd` as the container's user, in the project folder the agent works in.
/// The program `cmd` names, when the agent's shell finds no such command; asked before the
/// engine would print its own runtime error. The name shown passes the sanitizer (it came
/// from this user, but may hold anything).
async fn missing_program<B: Backend>(
    ops: &Ops<B>,
    id: &str,
    cmd: &[String],
) -> Result<Option<String>> {
    let Some(program) = cmd.first() else {
        return Ok(None);
    };
    let probe: Vec<String> = ["sh", "-c", "command -v -- \"$1\" >/dev/null", "sh", program]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let spec = agent_exec(ops, id, &probe).await?;
    let out = ops.backend.exec(id, &spec).await?;
    Ok((out.exit_code != 0)
        .then(|| crate::term::sanitize::text_str(program, crate::term::sanitize::Mark::Reverse)))
}

async fn agent_exec<B: Backend>(ops: &Ops<B>, id: &str, cmd: &[String]) -> Result<ExecSpec> {
    let details = ops.backend.inspect_container(id).await?;
    let workdir = details
        .summary
        .labels
        .get(crate::backend::labels::PROJECT)
        .cloned()
        .unwrap_or_else(|| "/".into());
    Ok(ExecSpec {
        cmd: cmd.to_vec(),
        user: Some(details.user).filter(|u| !u.is_empty()),
        working_dir: Some(workdir),
        ..Default::default()
    })
}

/// One filter per stream that goes to a terminal (where escapes act), none for a pipe.
struct Outward {
    stdout: Option<StreamFilter>,
    stderr: Option<StreamFilter>,
}

impl Outward {
    fn for_this_terminal() -> Self {
        let on_terminal = |yes: bool| yes.then(StreamFilter::default);
        Outward {
            stdout: on_terminal(std::io::stdout().is_terminal()),
            stderr: on_terminal(std::io::stderr().is_terminal()),
        }
    }

    fn pass(&mut self, stream: &LogStream, bytes: Vec<u8>) -> Vec<u8> {
        let filter = match stream {
            LogStream::Stderr => self.stderr.as_mut(),
            _ => self.stdout.as_mut(),
        };
        match filter {
            Some(f) => f.pass(&bytes),
            None => bytes,
        }
    }
}

/// However the command ends (its end, an error, a signal), every mode the sandbox may have
/// set on this terminal is reset: see [`StreamFilter::reset`].
impl Drop for Outward {
    fn drop(&mut self) {
        if let Some(f) = &self.stdout {
            show(&LogStream::Stdout, &f.reset());
        }
        if let Some(f) = &self.stderr {
            show(&LogStream::Stderr, &f.reset());
        }
    }
}

fn show(stream: &LogStream, bytes: &[u8]) {
    let written = match stream {
        LogStream::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
    };
    // A closed stdout (a pager that quit) ends nothing here: the command's exit is awaited.
    let _ = written;
}

/// This stdin, read on a thread of its own (a blocking read must not hold the runtime at
/// exit), in chunks as they come; the channel closes at end of file.
fn stdin_reader() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut stdin, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

async fn recv(keys: &mut Option<tokio::sync::mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match keys {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The engine records the exit code a moment after the streams close.
async fn exit_code<B: Backend>(ops: &Ops<B>, exec_id: &str) -> Result<i64> {
    for _ in 0..40 {
        if let Some(code) = ops.backend.exec_exit_code(exec_id).await? {
            return Ok(code);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(1)
}

/// This terminal in raw mode until dropped, so keys reach the command as typed.
struct RawTerminal;

impl RawTerminal {
    fn enter() -> Result<RawTerminal> {
        crossterm::terminal::enable_raw_mode()
            .map_err(|e| Error::other(format!("cannot put the terminal in raw mode: {e}")))?;
        Ok(RawTerminal)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}
