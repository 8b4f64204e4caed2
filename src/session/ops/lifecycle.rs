//! Starting, stopping and removing sessions. Start brings the holder up and its firewall
//! verified before the agent; remove takes the sandbox away as one.

use std::time::Duration;

use super::*;
use crate::backend::{BackendError, SandboxParts};
use crate::sandbox::{firewall, secrets};

const STOP_GRACE: Duration = Duration::from_secs(10);

/// What a remove did.
#[derive(Debug, Default, PartialEq)]
pub struct Removed {
    pub containers: Vec<String>,
    pub network: Option<String>,
    pub volumes: Vec<String>,
    /// The session's own checkout volume (git projects).
    pub work_volume: Option<String>,
    /// With volumes asked for: the sessions that still share them, so they were kept.
    pub volumes_shared_with: Vec<String>,
}

impl<B: Backend> Ops<B> {
    /// Starts a stopped session: the holder first, its firewall applied and verified, then
    /// the agent. If anything fails the agent stays stopped.
    pub async fn start(&self, name: &str, mut progress: impl FnMut(Progress)) -> Result<Changed> {
        let session = self.find(name).await?;
        let agent = session.agent.as_ref().ok_or_else(|| {
            Error::other(format!(
                "session `{name}` has no agent container; remove it with `cctui rm {name}` and \
                 create it again"
            ))
        })?;
        if agent.state.is_running() {
            progress(Progress::Note(format!("{name} is already running")));
            return Ok(Changed::Already);
        }
        let secrets = secrets::resolve_all(&self.config.secrets).await?;
        check_credential(session.firewall, &secrets)?;
        if session.firewall == FirewallMode::On {
            let holder = session.holder.as_ref().ok_or_else(|| {
                Error::other(format!(
                    "session `{name}` lost its network holder, so it cannot start safely; \
                     `cctui rm {name}` and create it again"
                ))
            })?;
            let list = self.allowlist(std::path::Path::new(&session.project), name)?;
            if !holder.state.is_running() {
                self.backend.start_container(&holder.id).await?;
            }
            if let Err(e) = self
                .secure(&holder.id, &list, &secrets, &mut progress)
                .await
            {
                let _ = self
                    .backend
                    .stop_container(&holder.id, Duration::ZERO)
                    .await;
                return Err(e);
            }
        }
        self.backend.start_container(&agent.id).await?;
        let project = PathBuf::from(&session.project);
        let brokered = session.firewall == FirewallMode::On;
        let prepared = match self
            .post_start(&agent.id, &agent.labels, &project, &mut progress)
            .await
        {
            Ok(()) => {
                self.prepare_agent(&agent.id, &project, &secrets, brokered)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = prepared {
            let _ = self.backend.stop_container(&agent.id, Duration::ZERO).await;
            return Err(e);
        }
        tracing::info!(session = name, "session started");
        progress(Progress::Note(format!("session {name} is running")));
        Ok(Changed::Done)
    }

    /// Stops the agent, then its holder. The containers and volumes stay.
    pub async fn stop(&self, name: &str) -> Result<Changed> {
        let session = self.find(name).await?;
        crate::session::ports::end_all(name);
        let mut changed = Changed::Already;
        for c in [&session.agent, &session.holder].into_iter().flatten() {
            if c.state.is_running() || matches!(c.state, ContainerState::Paused) {
                match self.backend.stop_container(&c.id, STOP_GRACE).await {
                    Ok(()) => changed = Changed::Done,
                    Err(BackendError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(changed)
    }

    pub async fn restart(&self, name: &str, progress: impl FnMut(Progress)) -> Result<Changed> {
        self.stop(name).await?;
        self.start(name, progress).await
    }

    /// Volumes that `remove --volumes` would delete, and sessions still using them.
    pub async fn volumes_of(&self, name: &str) -> Result<(Vec<String>, Vec<String>)> {
        let session = self.find(name).await?;
        let project = Project::from_canonical(PathBuf::from(&session.project));
        let others: Vec<String> = self
            .list()
            .await?
            .into_iter()
            .filter(|s| s.project == session.project && s.name != session.name)
            .map(|s| s.name)
            .collect();
        Ok((
            vec![project.config_volume(), project.history_volume()],
            others,
        ))
    }

    /// Removes the session's containers and network; with `volumes`, also the project's
    /// volumes, unless another session of the project still uses them. A session whose own
    /// repository holds work that is not merged, applied or discarded is refused.
    pub async fn remove(&self, name: &str, volumes: bool) -> Result<Removed> {
        self.remove_with(name, volumes, false).await
    }

    /// `remove`; with `force`, also a session with unmerged work (its volume goes too).
    pub async fn remove_with(&self, name: &str, volumes: bool, force: bool) -> Result<Removed> {
        if !force {
            if let Some(agent) = self.find(name).await?.agent {
                if let Some(why) = crate::workspace::unmerged_work(&self.backend, &agent).await? {
                    return Err(Error::usage(why));
                }
            }
        }
        let session = self.find(name).await?;
        let (vols, others) = self.volumes_of(name).await?;
        // Shared volumes stay for the sessions that share them; the last one's removal
        // with volumes deletes them.
        let delete_volumes = volumes && others.is_empty();
        let parts = sandbox_parts(&session, delete_volumes.then_some(vols.as_slice()));
        crate::session::ports::end_all(name);
        let gone = self.backend.remove_sandbox(&parts).await?;
        crate::workspace::fingerprint::forget(name);
        let work = crate::workspace::work_volume(name);
        let (work_gone, project_gone): (Vec<String>, Vec<String>) =
            gone.volumes.into_iter().partition(|v| *v == work);
        let removed = Removed {
            containers: [&session.agent, &session.holder]
                .into_iter()
                .flatten()
                .map(|c| c.name.clone())
                .collect(),
            network: gone.network,
            volumes: project_gone,
            work_volume: work_gone.into_iter().next(),
            volumes_shared_with: if volumes { others } else { Vec::new() },
        };
        let allow = firewall::session_allow_file(&self.config_dir, name);
        let _ = std::fs::remove_file(allow);
        Ok(removed)
    }

    /// The running agent container's id, or a clear error.
    pub async fn running_agent(&self, name: &str) -> Result<String> {
        let session = self.find(name).await?;
        match session.agent {
            Some(a) if a.state.is_running() => Ok(a.id),
            _ => Err(Error::usage(format!(
                "session `{name}` is not running; start it with `cctui start {name}`"
            ))),
        }
    }
}

/// A session's sandbox as it stands: the agent before the holder whose namespace it shares,
/// a repository helper left by an interrupted call, the network, and the session's own
/// checkout volume (its work was imported and checked by the caller, or --force). The
/// project's volumes only when they are asked for.
fn sandbox_parts(session: &Session, project_volumes: Option<&[String]>) -> SandboxParts {
    let mut containers: Vec<String> = [&session.agent, &session.holder]
        .into_iter()
        .flatten()
        .map(|c| c.id.clone())
        .collect();
    containers.push(crate::workspace::helper_container(&session.name));
    let mut volumes = Vec::new();
    if session
        .agent
        .as_ref()
        .and_then(crate::workspace::repo_session)
        .is_some()
    {
        volumes.push(crate::workspace::work_volume(&session.name));
    }
    volumes.extend(project_volumes.into_iter().flatten().cloned());
    SandboxParts {
        containers,
        network: Some(SessionName(session.name.clone()).network()),
        volumes,
    }
}

impl<B: Backend> Ops<B> {
    /// A devcontainer session's postStartCommand, as the agent, after the firewall is
    /// verified and before claude starts (from the accepted copy).
    async fn post_start(
        &self,
        agent: &str,
        labels: &crate::backend::Labels,
        project: &std::path::Path,
        progress: &mut impl FnMut(Progress),
    ) -> Result<()> {
        let from_devcontainer = labels
            .get(crate::devcontainer::ENVIRONMENT_LABEL)
            .is_some_and(|e| e.starts_with("devcontainer"));
        if !from_devcontainer {
            return Ok(());
        }
        let p = Project::from_canonical(project.to_path_buf());
        let Some(accepted) = crate::devcontainer::proposal::accepted(&self.config_dir, &p)? else {
            return Ok(());
        };
        let user = self.backend.inspect_container(agent).await?.user;
        for cmd in &accepted.devcontainer.post_start {
            progress(Progress::Note(
                self.run_as_agent(agent, &user, project, cmd).await?,
            ));
        }
        Ok(())
    }
}
