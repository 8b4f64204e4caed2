//! The workspace commands as session operations: each finds the session by name, then works
//! on its repository through the layers below (exchange, review, hand-over). This is the one
//! file of the workspace that knows sessions; nothing in the session layer imports it.

use crate::backend::{Backend, ContainerSummary};
use crate::error::{Error, Result};
use crate::session::ops::Ops;
use crate::session::Session;

use crate::workspace::exchange::SessionRepo;
use crate::workspace::handover::{self, Merged};
use crate::workspace::plan::{exposes_host_git, repo_session, Imported, RepoSession};
use crate::workspace::review::{changes_view, ChangesView};

/// An in-place session of a git repository: the agent can write the host's `.git`.
pub fn host_git_exposed(s: &Session) -> bool {
    [&s.agent, &s.holder]
        .into_iter()
        .flatten()
        .any(exposes_host_git)
}

fn not_a_repo(name: &str) -> Error {
    Error::usage(format!(
        "session `{name}` works in its project folder directly (not a git repository, or made \
         with --in-place): it has no branch of its own to diff, merge, push or discard, as its \
         changes are made in the folder itself"
    ))
}

impl<B: Backend> Ops<B> {
    /// The agent container of a session with a repository of its own, or a usage error.
    async fn repo_agent(&self, name: &str) -> Result<ContainerSummary> {
        match self.find(name).await?.agent {
            Some(agent) if repo_session(&agent).is_some() => Ok(agent),
            _ => Err(not_a_repo(name)),
        }
    }

    /// The session's repository workspace, or a usage error.
    pub async fn repo_session(&self, name: &str) -> Result<RepoSession> {
        let agent = self.repo_agent(name).await?;
        repo_session(&agent).ok_or_else(|| not_a_repo(name))
    }

    /// Imports the session's work; returns its repository with what was imported.
    async fn imported(&self, name: &str, snapshot: bool) -> Result<(RepoSession, Imported)> {
        let agent = self.repo_agent(name).await?;
        let repo = SessionRepo::of(&self.backend, &agent).ok_or_else(|| not_a_repo(name))?;
        let imported = repo.import(snapshot).await?;
        Ok((repo.rs, imported))
    }

    /// Brings the session's commits (and, with `snapshot`, its uncommitted files) into the
    /// project's repository as `cctui/<key>` (and `refs/cctui/<key>/wip`).
    pub async fn import(&self, name: &str, snapshot: bool) -> Result<Imported> {
        Ok(self.imported(name, snapshot).await?.1)
    }

    /// Drops the session's work: its checkout goes back to the base and the imported refs go.
    pub async fn discard(&self, name: &str) -> Result<()> {
        let agent = self.repo_agent(name).await?;
        let repo = SessionRepo::of(&self.backend, &agent).ok_or_else(|| not_a_repo(name))?;
        repo.discard().await
    }

    /// Imports the session and returns the Changes view.
    pub async fn changes(&self, name: &str, selected: usize) -> Result<ChangesView> {
        let (rs, imported) = self.imported(name, true).await?;
        changes_view(&rs, &imported, selected).await
    }

    /// Merges the session's branch into the project's current branch, on the host.
    pub async fn merge(&self, name: &str, squash: bool) -> Result<Merged> {
        let (rs, imported) = self.imported(name, true).await?;
        handover::merge(&rs, &imported, squash).await
    }

    /// Applies the session's changes to the project's working tree, uncommitted.
    pub async fn apply(&self, name: &str) -> Result<usize> {
        let (rs, imported) = self.imported(name, true).await?;
        handover::apply(&rs, &imported).await
    }

    /// Pushes the session's branch to the project's remote, with the user's own credentials.
    pub async fn push(&self, name: &str, remote: Option<&str>) -> Result<String> {
        let (rs, _) = self.imported(name, false).await?;
        handover::push(&rs, remote).await
    }
}

/// How `cctui new` was asked to lay out a session's files (its flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layout {
    pub with_changes: bool,
    pub in_place: bool,
    /// `--git`: an empty folder becomes a new project.
    pub new_repo: bool,
}

/// `cctui new --with-changes` / `--in-place` / `--git` on a plan.
pub fn choose(plan: &mut crate::session::SessionPlan, layout: Layout) -> Result<()> {
    use crate::workspace::WorkspacePlan;
    let folder = &plan.project.path;
    if layout.in_place {
        plan.workspace = WorkspacePlan::in_place(folder);
    } else if layout.with_changes {
        match &mut plan.workspace {
            WorkspacePlan::Repo {
                with_changes: w, ..
            } => *w = true,
            WorkspacePlan::InPlace { .. } => {
                return Err(Error::usage(format!(
                    "--with-changes is for git repositories; {} is not the top of one",
                    folder.display()
                )))
            }
        }
    } else if layout.new_repo {
        plan.workspace = WorkspacePlan::new_project(folder).ok_or_else(|| {
            Error::usage(format!(
                "--git starts a new project in an empty folder; {} has files and is not a \
                 git repository (run `git init` there yourself, or leave out --git)",
                folder.display()
            ))
        })?;
    }
    Ok(())
}
