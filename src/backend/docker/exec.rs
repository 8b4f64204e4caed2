//! Commands run in a container, their output collected and their stdin fed.

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::stream::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::backend::{BackendError, ExecOutput, ExecSession, ExecSpec};
use crate::bounded::{self, Capped};

/// `Backend::exec_session`: the exec started, its output in cctui's chunks.
pub(super) async fn session(
    backend: &super::DockerBackend,
    id: &str,
    spec: &ExecSpec,
    tty: bool,
) -> Result<ExecSession, BackendError> {
    let (exec_id, started) = backend
        .timed("exec", start_session(&backend.docker, id, spec, tty))
        .await?;
    let StartExecResults::Attached { output, input } = started else {
        return Err(BackendError::Engine {
            op: "exec",
            status: None,
            detail: "the engine started the command detached".into(),
        });
    };
    let this = backend.clone();
    let output = output
        .map(move |item| {
            item.map(super::convert::to_chunk)
                .map_err(this.classify("exec"))
        })
        .boxed();
    Ok(ExecSession {
        id: exec_id,
        output,
        input,
    })
}

/// Creates and starts `spec.cmd` with stdin, stdout and stderr attached; the exec's id and
/// its streams. Docker's detach keys are made practically untypeable, as for attach.
async fn start_session(
    docker: &Docker,
    id: &str,
    spec: &ExecSpec,
    tty: bool,
) -> Result<(String, StartExecResults), bollard::errors::Error> {
    let create = CreateExecOptions {
        cmd: Some(spec.cmd.clone()),
        user: spec.user.clone(),
        env: Some(spec.env.clone()).filter(|e| !e.is_empty()),
        working_dir: spec.working_dir.clone(),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(tty),
        detach_keys: Some("ctrl-@,ctrl-^,ctrl-@,ctrl-^".to_string()),
        ..Default::default()
    };
    let exec = docker.create_exec(id, create).await?;
    let started = docker.start_exec(&exec.id, None).await?;
    Ok((exec.id, started))
}

pub(super) async fn run(
    docker: &Docker,
    id: &str,
    spec: &ExecSpec,
) -> Result<ExecOutput, bollard::errors::Error> {
    let create = CreateExecOptions {
        cmd: Some(spec.cmd.clone()),
        user: spec.user.clone(),
        env: Some(spec.env.clone()).filter(|e| !e.is_empty()),
        working_dir: spec.working_dir.clone(),
        attach_stdin: Some(spec.stdin.is_some()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        ..Default::default()
    };
    let exec = docker.create_exec(id, create).await?;
    let mut stdout = Capped::new(spec.stdout_cap.unwrap_or(bounded::EXEC_STDOUT));
    let mut stderr = Capped::new(bounded::STDERR);
    if let StartExecResults::Attached {
        mut output,
        mut input,
    } = docker.start_exec(&exec.id, None).await?
    {
        if let Some(data) = &spec.stdin {
            input.write_all(data).await.ok();
            input.shutdown().await.ok();
        }
        drop(input);
        while let Some(chunk) = output.next().await {
            match chunk? {
                LogOutput::StdErr { message } => stderr.push(&message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    stdout.push(&message)
                }
                LogOutput::StdIn { .. } => {}
            }
        }
    }
    let inspected = docker.inspect_exec(&exec.id).await?;
    Ok(ExecOutput {
        exit_code: inspected.exit_code.unwrap_or(-1),
        stdout_cut: stdout.cut,
        stdout: stdout.bytes,
        stderr: stderr.text_marked("the command's own output").into_bytes(),
    })
}
