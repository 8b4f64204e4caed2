//! The dashboard's jobs: each `Op` is carried out by the same session-layer operation the
//! command line calls, and reported back as one message.

use tokio::sync::mpsc;

use super::action::Action;
use super::effect::Op;
use super::forms::NewRequest;
use crate::backend::Backend;
use crate::error::Result;
use crate::session::commands::NewSession;
use crate::session::ops::{Changed, Ops, Progress};

/// Runs `op` on `session` as job `job`: build progress as it goes, then `JobDone`.
pub fn spawn<B: Backend>(
    ops: Ops<B>,
    tx: mpsc::UnboundedSender<Action>,
    job: u64,
    session: String,
    op: Op,
) {
    tokio::spawn(async move {
        let progress_tx = tx.clone();
        let progress = move |p: Progress| {
            if let Progress::Build(b) = p {
                let _ = progress_tx.send(Action::JobProgress { job, progress: b });
            }
        };
        let result = run(&ops, &session, op, progress).await;
        let _ = tx.send(Action::JobDone {
            job,
            result: result.map_err(|e| e.to_string()),
        });
    });
}

/// The request the new-session dialog's job makes: what the dialog does not ask, the
/// config decides, as for `cctui new` without those flags.
/// The dialog's request as the session layer takes it: the same type `cctui new` builds.
/// Profiles left untouched in the dialog are left to the session layer (the project's
/// earlier sessions', else the config's), as `cctui new` without `--profile` does.
pub fn new_session_request(request: &NewRequest) -> NewSession {
    NewSession {
        path: request.path.clone().into(),
        name: request.name.clone(),
        profiles: request.profiles.clone().unwrap_or_default(),
        networks: request.networks.clone(),
        ..Default::default()
    }
}

/// Carries out `op` on `session` with the session layer's operation for it; the message
/// says what happened.
pub async fn run<B: Backend>(
    ops: &Ops<B>,
    session: &str,
    op: Op,
    progress: impl FnMut(Progress) + Send,
) -> Result<String> {
    match op {
        Op::Start => ops.start(session, progress).await.map(|c| match c {
            Changed::Done => format!("{session} started"),
            Changed::Already => format!("{session} is already running"),
        }),
        Op::Stop => ops.stop(session).await.map(|c| match c {
            Changed::Done => format!("{session} stopped"),
            Changed::Already => format!("{session} was not running"),
        }),
        Op::Restart => ops
            .restart(session, progress)
            .await
            .map(|_| format!("{session} restarted")),
        Op::Remove { volumes } => ops.remove(session, volumes).await.map(|r| {
            if !r.volumes_shared_with.is_empty() {
                format!(
                    "{session} removed; the project's volumes stay for {}",
                    r.volumes_shared_with.join(", ")
                )
            } else if r.volumes.is_empty() {
                format!("{session} removed; volumes kept")
            } else {
                format!("{session} removed with its volumes")
            }
        }),
        Op::Rebuild => ops
            .rebuild(session, progress)
            .await
            .map(|_| format!("images for {session} rebuilt; restart it to use them")),
        Op::Allow(rule) => ops
            .change_allowlist(session, &rule, false)
            .await
            .map(|l| format!("allowed {rule} for {session} ({} rules)", l.rules.len())),
        Op::AllowForProject(rule) => ops.allow_for_project(session, &rule).await.map(|l| {
            format!(
                "allowed {rule} for {session}'s project ({} rules)",
                l.rules.len()
            )
        }),
        Op::Create(request) => {
            let request = new_session_request(&request);
            let created = ops.new_session(&request, progress).await?;
            Ok(match created.proposal {
                None => format!("{} created", created.session.name),
                Some(p) => format!(
                    "{} created; {} proposes settings not in effect (cctui project diff)",
                    created.session.name,
                    p.file.display()
                ),
            })
        }
        git_op @ (Op::Import | Op::Merge | Op::ApplyChanges | Op::Push) => {
            carry_out_git(ops, session, git_op).await
        }
    }
}

/// The operations on a session's own repository.
async fn carry_out_git<B: Backend>(ops: &Ops<B>, session: &str, op: Op) -> Result<String> {
    match op {
        Op::Import => ops
            .import(session, true)
            .await
            .map(|i| format!("imported {session}: {} new commit(s)", i.new_commits)),
        Op::Merge => ops.merge(session, false).await.map(|m| {
            let left = if m.left_uncommitted {
                "; its uncommitted changes are left out (A applies them)"
            } else {
                ""
            };
            format!("merged {session} into {}{left}", m.into)
        }),
        Op::ApplyChanges => ops
            .apply(session)
            .await
            .map(|n| format!("applied {n} file(s) of {session} to your working tree, uncommitted")),
        Op::Push => ops
            .push(session, None)
            .await
            .map(|remote| format!("pushed {session}'s branch to {remote}")),
        other => unreachable!("`run` handles {other:?}"),
    }
}
