//! Creating a session: every check that needs no engine first, then the images, then the
//! sandbox as one unit (`Backend::create_sandbox`), with the firewall verified in the holder
//! before the agent exists, and the agent's files delivered before claude may start.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::*;
use crate::backend::{NetworkSpec, SandboxSetup, SandboxSpec, VolumeLifetime, VolumeSpec};
use crate::sandbox::secrets;
use crate::workspace::{Seed, WorkspacePlan};

impl<B: Backend> Ops<B> {
    /// Creates and starts a session. On failure everything it made is removed again; the
    /// project's volumes are kept.
    pub async fn create(
        &self,
        plan: &SessionPlan,
        mut progress: impl FnMut(Progress) + Send,
    ) -> Result<Session> {
        self.check_new(plan).await?;
        let allowlist = match plan.firewall {
            FirewallMode::On => Some(self.allowlist(&plan.project.path, plan.name.as_str())?),
            FirewallMode::Off => None,
        };
        let secrets = secrets::resolve_all(&self.config.secrets).await?;
        check_credential(plan.firewall, &secrets)?;
        let mut plan = plan.clone();
        let seed = self.seed(&mut plan).await?;
        if let Some(seed) = &seed {
            progress(Progress::Note(branch_note(
                plan.name.as_str(),
                &seed.branch.branch,
            )));
        }
        let plan = &plan;
        let images = self
            .ensure_images(plan, BuildOptions::default(), &mut progress)
            .await;
        let (agent_image, net_image) = match images {
            Ok(i) => i,
            Err(e) => {
                if let Some(seed) = &seed {
                    seed.undo().await;
                }
                return Err(e);
            }
        };
        let spec = sandbox_spec(plan, &agent_image, net_image.as_deref(), seed.is_some());
        let mut setup = CreateSetup {
            ops: self,
            plan,
            agent_image: &agent_image,
            allowlist: allowlist.as_ref(),
            secrets: &secrets,
            seed: seed.as_ref(),
            progress: &mut progress,
        };
        match self.backend.create_sandbox(&spec, &mut setup).await {
            Ok(_) => {
                tracing::info!(session = %plan.name, project = %plan.project.path.display(), "session created and running");
                progress(Progress::Note(format!("session {} is running", plan.name)));
                if let WorkspacePlan::InPlace { git_exposed: true } = plan.workspace {
                    crate::workspace::fingerprint::record(plan.name.as_str(), &plan.project.path);
                }
                self.find(plan.name.as_str()).await
            }
            Err(e) => {
                tracing::warn!(session = %plan.name, "create failed and was cleaned up: {e}");
                progress(Progress::Note(format!(
                    "start failed; what was made is removed (project volumes are kept): {e}"
                )));
                if let Some(seed) = &seed {
                    seed.undo().await;
                }
                Err(e)
            }
        }
    }

    /// The checks that need no change anywhere: a folder to mount is safe to show the agent,
    /// the name is free, the networks exist.
    async fn check_new(&self, plan: &SessionPlan) -> Result<()> {
        if let WorkspacePlan::InPlace { .. } = plan.workspace {
            check_mountable(&plan.project.path)?;
        }
        if self
            .list()
            .await?
            .iter()
            .any(|s| s.name == plan.name.as_str())
        {
            return Err(Error::usage(format!(
                "the name `{}` is taken by another session; choose another name",
                plan.name
            )));
        }
        for net in &plan.networks {
            if self.backend.inspect_network(net).await?.is_none() {
                return Err(Error::usage(format!(
                    "there is no Docker network `{net}`; list them with `docker network ls`"
                )));
            }
        }
        Ok(())
    }

    /// A git project: the session's branch and the seed bundle, made in the host's
    /// repository before anything exists in the engine. Sets the plan's branch.
    async fn seed(&self, plan: &mut SessionPlan) -> Result<Option<Seed>> {
        let WorkspacePlan::Repo { root, with_changes } = &plan.workspace else {
            return Ok(None);
        };
        let work_volume = crate::workspace::work_volume(plan.name.as_str());
        if self.backend.inspect_volume(&work_volume).await?.is_some() {
            return Err(Error::usage(format!(
                "the volume {work_volume} of an earlier session named `{}` still exists; \
                 choose another name, or delete it with `docker volume rm {work_volume}` if \
                 nothing in it is needed",
                plan.name
            )));
        }
        crate::workspace::init_empty_folder(root).await?;
        let seed =
            crate::workspace::prepare_seed(&self.backend, plan.name.as_str(), root, *with_changes)
                .await?;
        plan.branch = Some(seed.branch.clone());
        Ok(Some(seed))
    }
}

/// Which branch the session works on, and why when it is not `cctui/<name>` (an earlier
/// session of that name left its branch).
fn branch_note(session: &str, branch: &str) -> String {
    if branch == format!("cctui/{session}") {
        format!("the session works on the branch {branch}")
    } else {
        format!(
            "the branch cctui/{session} is kept from an earlier session (see `cctui prune`); \
             this session works on the branch {branch}"
        )
    }
}

/// The sandbox a plan asks for: with the firewall on, a holder whose network namespace the
/// agent shares; otherwise the agent alone on the session's own network.
/// Refuses to mount the home folder, a folder above it, or one holding cctui's own folders.
fn check_mountable(folder: &Path) -> Result<()> {
    let real = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
    let home = std::env::var_os("HOME").map(|h| real(PathBuf::from(h)));
    let own = [
        real(crate::paths::config_dir()),
        real(crate::paths::state_dir()),
    ];
    let own: Vec<&Path> = own.iter().map(PathBuf::as_path).collect();
    match crate::workspace::plan::mount_refusal(&real(folder.to_path_buf()), home.as_deref(), &own)
    {
        Some(why) => Err(Error::usage(why)),
        None => Ok(()),
    }
}

fn sandbox_spec(
    plan: &SessionPlan,
    agent_image: &str,
    net_image: Option<&str>,
    own_checkout: bool,
) -> SandboxSpec {
    let mut network_labels = plan.labels("network");
    network_labels.remove(labels::ROLE);
    let holder = net_image.map(|image| plan.holder_spec(image));
    let agent_network = match &holder {
        Some(h) => NetworkAttach::Container(h.name.clone()),
        None => NetworkAttach::Network {
            name: plan.name.network(),
            aliases: vec![],
        },
    };
    let project_volume = |name: String| VolumeSpec {
        name,
        labels: plan.project.volume_labels(),
        lifetime: VolumeLifetime::Project,
    };
    let mut volumes = vec![
        project_volume(plan.project.config_volume()),
        project_volume(plan.project.history_volume()),
    ];
    if own_checkout {
        let mut labels = plan.project.volume_labels();
        labels.insert(labels::SESSION.to_string(), plan.name.to_string());
        volumes.push(VolumeSpec {
            name: crate::workspace::work_volume(plan.name.as_str()),
            labels,
            lifetime: VolumeLifetime::Sandbox,
        });
    }
    SandboxSpec {
        network: NetworkSpec {
            name: plan.name.network(),
            labels: network_labels,
            ..Default::default()
        },
        volumes,
        holder,
        agent: plan.agent_spec(agent_image, agent_network),
        user_networks: plan.networks.clone(),
    }
}

/// The session's steps inside `create_sandbox`.
struct CreateSetup<'a, B, P> {
    ops: &'a Ops<B>,
    plan: &'a SessionPlan,
    agent_image: &'a str,
    allowlist: Option<&'a Allowlist>,
    secrets: &'a SessionSecrets,
    seed: Option<&'a Seed>,
    progress: &'a mut P,
}

impl<B: Backend, P: FnMut(Progress) + Send> SandboxSetup for CreateSetup<'_, B, P> {
    type Error = Error;

    /// The firewall applied and verified, and the broker given the credential: fail closed.
    async fn holder_running(&mut self, holder: &str) -> Result<()> {
        let list = self.allowlist.ok_or_else(|| {
            Error::other("a network holder without an allowlist; the agent was not started")
        })?;
        self.ops
            .secure(holder, list, self.secrets, &mut self.progress)
            .await
    }

    /// A fresh checkout volume is given to the agent user while no agent exists.
    async fn before_agent(&mut self) -> Result<()> {
        if self.seed.is_some() {
            let plan = self.plan;
            let user = format!("{}:{}", plan.ids.uid, plan.ids.gid);
            crate::workspace::prepare_work_volume(
                &self.ops.backend,
                plan.name.as_str(),
                self.agent_image,
                &user,
                &plan.labels("git"),
            )
            .await?;
        }
        Ok(())
    }

    /// The checkout seeded (git projects), then settings and secrets, then the ready mark.
    async fn agent_running(&mut self, agent: &str) -> Result<()> {
        let plan = self.plan;
        if let (Some(seed), WorkspacePlan::Repo { root, .. }) = (self.seed, &plan.workspace) {
            let started = Instant::now();
            let user = format!("{}:{}", plan.ids.uid, plan.ids.gid);
            crate::workspace::seed_checkout(
                &self.ops.backend,
                agent,
                &user,
                plan.name.as_str(),
                root,
                seed,
            )
            .await?;
            (self.progress)(Progress::Note(format!(
                "checkout of {} on branch {} ready in {:.2} s",
                root.display(),
                seed.branch.branch,
                started.elapsed().as_secs_f64()
            )));
        }
        if let Some(a) = &plan.devcontainer {
            // The firewall is verified and the checkout is there; claude has not started.
            let dc = &a.devcontainer;
            let commands = dc.post_create.iter().chain(&dc.post_start);
            for cmd in commands {
                let user = format!("{}:{}", plan.ids.uid, plan.ids.gid);
                let note = self
                    .ops
                    .run_as_agent(agent, &user, &plan.project.path, cmd)
                    .await?;
                (self.progress)(Progress::Note(note));
            }
        }
        let brokered = self.allowlist.is_some();
        self.ops
            .prepare_agent(agent, &plan.project.path, self.secrets, brokered)
            .await
    }
}

impl<B: Backend> Ops<B> {
    /// A devcontainer command as the agent in the project folder; a failure stops the create.
    pub(super) async fn run_as_agent(
        &self,
        agent: &str,
        user: &str,
        project: &Path,
        cmd: &[String],
    ) -> Result<String> {
        let spec = crate::backend::ExecSpec {
            cmd: cmd.to_vec(),
            user: Some(user.to_string()),
            working_dir: Some(project.display().to_string()),
            ..Default::default()
        };
        let out = self.backend.exec(agent, &spec).await?;
        let shown = cmd.join(" ");
        if out.exit_code != 0 {
            let tail: Vec<String> = out
                .stderr_text()
                .lines()
                .rev()
                .take(5)
                .map(String::from)
                .collect();
            let tail: Vec<String> = tail.into_iter().rev().collect();
            return Err(Error::usage(format!(
                "the devcontainer's command `{shown}` failed with exit code {}: {}",
                out.exit_code,
                tail.join(" / ")
            )));
        }
        Ok(format!("devcontainer: ran `{shown}`"))
    }
}
