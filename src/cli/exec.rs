//! Commands run in a session on this terminal, through the docker CLI.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::session::ops::Ops;

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
    docker_exec(ops, &id, &cmd).await
}

/// An interactive `docker exec` as the agent user in the project folder, on this terminal.
async fn docker_exec<B: Backend>(ops: &Ops<B>, id: &str, cmd: &[String]) -> Result<ExitCode> {
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut command = exec_command(ops, id, cmd, true, tty).await?;
    let status = command.status().map_err(|e| no_docker_cli(&e))?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

/// `docker exec` of `cmd` as the agent user in the project folder, with this process's stdin
/// when `stdin`, on a tty when `tty`.
pub(super) async fn exec_command<B: Backend>(
    ops: &Ops<B>,
    id: &str,
    cmd: &[String],
    stdin: bool,
    tty: bool,
) -> Result<std::process::Command> {
    let details = ops.backend.inspect_container(id).await?;
    let workdir = details
        .summary
        .labels
        .get(crate::backend::labels::PROJECT)
        .cloned()
        .unwrap_or_else(|| "/".into());
    let mut command = std::process::Command::new("docker");
    command.env("DOCKER_HOST", ops.backend.host()).arg("exec");
    if stdin {
        command.arg("-i");
    }
    if tty {
        command.arg("-t");
    }
    command
        .args(["-u", &details.user, "-w", &workdir, id])
        .args(cmd);
    Ok(command)
}

pub(super) fn no_docker_cli(e: &std::io::Error) -> Error {
    Error::other(format!(
        "cannot run the docker CLI ({e}); install it (Debian: docker.io or docker-ce-cli)"
    ))
}
