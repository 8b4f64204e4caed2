//! `cctui run`: claude headless in a session, or with `--rm` in a sandbox made for this one
//! run (same firewall, secrets and hardening as any session, through `Ops::new_session`),
//! removed after it. stdout and stderr are claude's own, byte for byte; cctui's messages go
//! to stderr; the exit code is claude's, or 130/143 after SIGINT/SIGTERM.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::print::ProgressPrinter;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::session::commands::{NewSession, WorkspaceChoice};
use crate::session::ops::Ops;
use crate::term::sanitize::for_stderr;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The session; with --rm, the project folder (default: the current folder)
    #[arg(value_name = "NAME|PATH", required_unless_present = "rm")]
    pub name: Option<String>,
    /// Make a sandbox for this run only, and remove its containers after it
    #[arg(long)]
    pub rm: bool,
    /// With --rm: a toolchain profile (repeatable)
    #[arg(long = "profile", value_name = "P", requires = "rm")]
    pub profiles: Vec<String>,
    /// With --rm: join an existing Docker network (repeatable)
    #[arg(long = "network", value_name = "NET", requires = "rm")]
    pub networks: Vec<String>,
    /// With --rm: remove the project's volumes (login state, history) too
    #[arg(long, requires = "rm")]
    pub no_keep: bool,
    /// With --rm: bring your uncommitted and untracked files into the run's repository
    #[arg(long, requires = "rm", conflicts_with = "in_place")]
    pub with_changes: bool,
    /// With --rm: mount a git repository's folder itself, so that claude's changes land in it
    #[arg(long, requires = "rm")]
    pub in_place: bool,
    /// claude's arguments
    #[arg(last = true, required = true, value_name = "CLAUDE_ARGS")]
    pub args: Vec<String>,
}

impl RunArgs {
    /// The one-shot sandbox these flags ask for, named after the folder and this process.
    pub fn request(&self) -> NewSession {
        let path = PathBuf::from(self.name.as_deref().unwrap_or("."));
        NewSession {
            name: Some(run_name(&path, std::process::id())),
            path,
            profiles: self.profiles.clone(),
            networks: self.networks.clone(),
            firewall: None,
            workspace: WorkspaceChoice::from_flags(self.with_changes, self.in_place, false),
            one_shot: true,
        }
    }
}

/// `<folder>-run-<n>`: a valid session name that no other run on this machine has now.
fn run_name(path: &Path, pid: u32) -> String {
    let folder = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut base = crate::project::folder_base_name(&folder);
    base.truncate(30);
    let base = base.trim_end_matches(['-', '_', '.']);
    let base = if base.is_empty() { "project" } else { base };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{base}-run-{pid:x}{:03x}", nanos % 0x1000)
}

/// What ended the run.
enum Ending {
    Exited(i32),
    Signalled(SignalKind),
}

/// SIGINT and SIGTERM, caught from before the sandbox exists until it is gone.
struct Stops {
    interrupt: Signal,
    terminate: Signal,
}

impl Stops {
    fn install() -> Result<Stops> {
        let catch =
            |kind| signal(kind).map_err(|e| Error::other(format!("cannot catch signals: {e}")));
        Ok(Stops {
            interrupt: catch(SignalKind::interrupt())?,
            terminate: catch(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> SignalKind {
        tokio::select! {
            _ = self.interrupt.recv() => SignalKind::interrupt(),
            _ = self.terminate.recv() => SignalKind::terminate(),
        }
    }
}

/// `cctui run --rm`.
pub async fn run_once<B: Backend>(ops: &Ops<B>, args: &RunArgs) -> Result<ExitCode> {
    let mut stops = Stops::install()?;
    let request = args.request();
    let name = request.name.clone().expect("a run is named");
    let mut printer = ProgressPrinter::new();
    let created = tokio::select! {
        created = ops.new_session(&request, |p| printer.show(&p)) => created,
        kind = stops.next() => {
            printer.finish();
            eprintln!("cctui: stopped before claude started; removing the sandbox");
            remove(ops, &name, args.no_keep).await;
            return Ok(exit_code(Ending::Signalled(kind)));
        }
    };
    printer.finish();
    if let Err(e) = created {
        // A failed create removed what it made; with --no-keep the volumes go too.
        if args.no_keep {
            remove(ops, &name, true).await;
        }
        return Err(e);
    }
    let ending = run_claude(ops, &name, &request.path, &args.args, &mut stops).await;
    remove(ops, &name, args.no_keep).await;
    Ok(exit_code(ending?))
}

/// claude with the session's arguments and the run's, exec'd in the ready sandbox on this
/// process's stdout and stderr; a tty only when both ends here are terminals, this stdin only
/// when it is not a terminal (a pipe or a file), so `-p` never waits on a keyboard.
async fn run_claude<B: Backend>(
    ops: &Ops<B>,
    name: &str,
    path: &Path,
    args: &[String],
    stops: &mut Stops,
) -> Result<Ending> {
    let project = crate::project::Project::at(path)?;
    let mut cmd = vec!["claude".to_string()];
    cmd.extend(ops.project_config(&project.path)?.session.claude_args);
    cmd.extend(args.iter().cloned());
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let tty = stdin_is_terminal && std::io::stdout().is_terminal();
    let id = ops.running_agent(name).await?;
    let run = super::exec::run_here(ops, &id, &cmd, tty || !stdin_is_terminal, tty);
    tokio::select! {
        code = run => Ok(Ending::Exited(code?.clamp(i32::MIN as i64, i32::MAX as i64) as i32)),
        // The exec's streams close here; claude goes with the sandbox.
        kind = stops.next() => Ok(Ending::Signalled(kind)),
    }
}

/// Removes the run's sandbox, whatever state it was left in: its containers, network and
/// checkout, and with `volumes` the project's volumes unless another session shares them.
/// Failures are said on stderr; the exit code stays claude's.
async fn remove<B: Backend>(ops: &Ops<B>, name: &str, volumes: bool) {
    if ops.find(name).await.is_err() {
        // No container of it left (it failed or was stopped early): only its network may be.
        remove_network(ops, name).await;
        return;
    }
    let repo_session = ops.repo_session(name).await.ok();
    let result = match ops.remove_with(name, volumes, true).await {
        Err(Error::Usage(why)) if volumes => {
            eprintln!(
                "cctui: {}",
                for_stderr(&format!("the project's volumes are kept: {why}"))
            );
            ops.remove_with(name, false, true).await
        }
        other => other,
    };
    if let Err(e) = result {
        eprintln!(
            "cctui: {}",
            for_stderr(&format!("could not remove the sandbox {name}: {e}"))
        );
        return;
    }
    // The run's refs in the project's repository go with it, unless they hold work.
    if let Some(rs) = repo_session {
        if let Err(e) = crate::workspace::prune::prune_key(&rs.repo, rs.key()).await {
            eprintln!(
                "cctui: {}",
                for_stderr(&format!("could not delete the refs of {}: {e}", rs.branch))
            );
        }
    }
}

async fn remove_network<B: Backend>(ops: &Ops<B>, name: &str) {
    let Ok(network) = crate::session::SessionName::parse(name).map(|n| n.network()) else {
        return;
    };
    if let Ok(Some(_)) = ops.backend.inspect_network(&network).await {
        if let Err(e) = ops.backend.remove_network(&network).await {
            eprintln!(
                "cctui: {}",
                for_stderr(&format!("could not remove the network {network}: {e}"))
            );
        }
    }
}

fn exit_code(ending: Ending) -> ExitCode {
    match ending {
        Ending::Exited(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Ending::Signalled(kind) if kind == SignalKind::terminate() => ExitCode::from(143),
        Ending::Signalled(_) => ExitCode::from(130),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_are_valid_session_names_for_any_folder() {
        for folder in [
            "/srv/My App",
            "/",
            "/srv/a-very-long-folder-name-that-goes-on-and-on",
        ] {
            let name = run_name(Path::new(folder), 4_194_304);
            crate::session::SessionName::parse(&name).unwrap_or_else(|e| panic!("{folder}: {e}"));
            assert!(name.contains("-run-400000"), "{name}");
        }
    }
}
