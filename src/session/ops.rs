//! Session operations on a backend: create, start, stop, remove. A failed create or start
//! removes what it made and never touches a volume.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::*;
use crate::backend::{Backend, BackendError, ExecSpec, LabelFilter, NetworkSpec};
use crate::image::{self, BuildOptions, BuildProgress, Recipe};
use crate::sandbox::broker::{self, CredentialKind};
use crate::sandbox::firewall::{self, Allowlist, SessionAllow};
use crate::sandbox::secrets::{self, SessionSecrets};

/// What a long operation reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Build(BuildProgress),
    /// A milestone, e.g. "firewall verified in 0.31 s".
    Note(String),
}

/// The operations, over one backend and one config.
#[derive(Clone)]
pub struct Ops<B> {
    pub backend: B,
    pub config: Config,
    pub config_dir: PathBuf,
}

/// Whether an operation changed anything, or found the session already so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Done,
    Already,
}

/// What a remove did.
#[derive(Debug, Default, PartialEq)]
pub struct Removed {
    pub containers: Vec<String>,
    pub network: Option<String>,
    pub volumes: Vec<String>,
    /// The session's own checkout volume (git projects).
    pub work_volume: Option<String>,
}

const STOP_GRACE: Duration = Duration::from_secs(10);

/// Things made during a create, removed again if a later step fails.
#[derive(Default)]
struct Undo {
    containers: Vec<String>,
    network: Option<String>,
    /// The session's own work volume (never a project's volume).
    work_volume: Option<String>,
}

impl Undo {
    async fn run<B: Backend>(self, backend: &B) {
        for c in self.containers.iter().rev() {
            if let Err(e) = backend.remove_container(c).await {
                tracing::warn!("cleanup: removing {c}: {e}");
            }
        }
        if let Some(n) = &self.network {
            if let Err(e) = backend.remove_network(n).await {
                tracing::warn!("cleanup: removing network {n}: {e}");
            }
        }
        if let Some(v) = &self.work_volume {
            if let Err(e) = backend.remove_volume(v).await {
                tracing::warn!("cleanup: removing volume {v}: {e}");
            }
        }
    }
}

impl<B: Backend> Ops<B> {
    pub fn new(backend: B, config: Config, config_dir: PathBuf) -> Self {
        Ops {
            backend,
            config,
            config_dir,
        }
    }

    pub async fn list(&self) -> Result<Vec<Session>> {
        let containers = self
            .backend
            .list_containers(&LabelFilter::has(labels::SESSION))
            .await?;
        Ok(group_sessions(&containers))
    }

    /// The named session, or a usage error that lists the known ones.
    pub async fn find(&self, name: &str) -> Result<Session> {
        let all = self.list().await?;
        match all.iter().find(|s| s.name == name) {
            Some(s) => Ok(s.clone()),
            None => {
                let known: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                Err(Error::usage(format!(
                    "no session named `{name}`{}",
                    if known.is_empty() {
                        "; create one with `cctui new PATH`".to_string()
                    } else {
                        format!("; sessions: {}", known.join(", "))
                    }
                )))
            }
        }
    }

    /// The recipe in force, on the engine's current base image.
    pub async fn recipe(&self) -> Result<Recipe> {
        let recipe = Recipe::load(&self.config, &self.config_dir)?;
        Ok(match self.backend.inspect_image(image::BASE_FROM).await? {
            Some(base) => recipe.on_base(&base.id),
            None => recipe,
        })
    }

    /// Builds (or finds) every image this plan needs; returns (agent image, holder image).
    pub async fn ensure_images(
        &self,
        plan: &SessionPlan,
        options: BuildOptions,
        progress: &mut impl FnMut(Progress),
    ) -> Result<(String, Option<String>)> {
        let options = options.with_config(&self.config);
        let recipe = self.recipe().await?;
        let chain = recipe.agent_chain(plan.ids, &plan.profiles)?;
        let agent = image::ensure_images(&self.backend, &chain, options, |p| {
            progress(Progress::Build(p))
        })
        .await?;
        let net = match plan.firewall {
            FirewallMode::On => Some(
                image::ensure_images(&self.backend, &[recipe.net_image()], options, |p| {
                    progress(Progress::Build(p))
                })
                .await?,
            ),
            FirewallMode::Off => None,
        };
        Ok((agent, net))
    }

    /// The global config with the project's accepted settings laid over it.
    pub fn project_config(&self, project: &std::path::Path) -> Result<Config> {
        let project = Project::from_canonical(project.to_path_buf());
        crate::project::load(&self.config_dir, &project)?.apply(&self.config)
    }

    /// The allowlist in force for a session: global, project and session rules.
    pub fn allowlist(&self, project: &std::path::Path, session: &str) -> Result<Allowlist> {
        let extra = SessionAllow::load(&self.config_dir, session)?;
        Allowlist::for_session(&self.project_config(project)?, &extra)
    }

    /// Creates and starts a session. On failure everything it made is removed again; the
    /// project's volumes are kept.
    pub async fn create(
        &self,
        plan: &SessionPlan,
        mut progress: impl FnMut(Progress),
    ) -> Result<Session> {
        // Every check that can fail without the engine comes first.
        if self
            .list()
            .await?
            .iter()
            .any(|s| s.name == plan.name.as_str())
        {
            return Err(Error::usage(format!(
                "the name `{}` is taken; choose another with --name",
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
        let allowlist = match plan.firewall {
            FirewallMode::On => Some(self.allowlist(&plan.project.path, plan.name.as_str())?),
            FirewallMode::Off => None,
        };
        let secrets = secrets::resolve_all(&self.config.secrets).await?;
        check_credential(plan.firewall, &secrets)?;
        // A git project: the session's branch and the seed bundle, made in the host's
        // repository before anything exists in the engine.
        let work_volume = crate::workspace::work_volume(plan.name.as_str());
        let mut plan = plan.clone();
        let seed = match &plan.workspace {
            crate::workspace::WorkspacePlan::Repo { root, with_changes } => {
                if self.backend.inspect_volume(&work_volume).await?.is_some() {
                    return Err(Error::usage(format!(
                        "the volume {work_volume} of an earlier session named `{}` still \
                         exists; choose another --name, or delete it with `docker volume rm \
                         {work_volume}` if nothing in it is needed",
                        plan.name
                    )));
                }
                let seed = crate::workspace::prepare_seed(
                    &self.backend,
                    plan.name.as_str(),
                    root,
                    *with_changes,
                )
                .await?;
                plan.branch = Some(seed.branch.clone());
                Some(seed)
            }
            crate::workspace::WorkspacePlan::InPlace { .. } => None,
        };
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
        for volume in [plan.project.config_volume(), plan.project.history_volume()] {
            if self.backend.inspect_volume(&volume).await?.is_none() {
                self.backend
                    .create_volume(&volume, &plan.project.volume_labels())
                    .await?;
            }
        }

        let mut undo = Undo::default();
        let mut result = Ok(());
        if seed.is_some() {
            let mut l = plan.project.volume_labels();
            l.insert(labels::SESSION.to_string(), plan.name.to_string());
            result = self.backend.create_volume(&work_volume, &l).await;
            if result.is_ok() {
                undo.work_volume = Some(work_volume.clone());
            }
        }
        let result = match result {
            Err(e) => Err(e.into()),
            Ok(()) => {
                self.create_containers(
                    plan,
                    &agent_image,
                    net_image.as_deref(),
                    allowlist.as_ref(),
                    &secrets,
                    seed.as_ref(),
                    &mut undo,
                    &mut progress,
                )
                .await
            }
        };
        match result {
            Ok(()) => {
                if let crate::workspace::WorkspacePlan::InPlace { git_exposed: true } =
                    plan.workspace
                {
                    crate::workspace::fingerprint::record(plan.name.as_str(), &plan.project.path);
                }
                self.find(plan.name.as_str()).await
            }
            Err(e) => {
                tracing::warn!(session = %plan.name, "create failed, cleaning up: {e}");
                progress(Progress::Note(format!(
                    "start failed; removing what was made (project volumes are kept): {e}"
                )));
                undo.run(&self.backend).await;
                if let Some(seed) = &seed {
                    seed.undo().await;
                }
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn create_containers(
        &self,
        plan: &SessionPlan,
        agent_image: &str,
        net_image: Option<&str>,
        allowlist: Option<&Allowlist>,
        secrets: &SessionSecrets,
        seed: Option<&crate::workspace::Seed>,
        undo: &mut Undo,
        progress: &mut impl FnMut(Progress),
    ) -> Result<()> {
        let network = plan.name.network();
        let mut net_labels = plan.labels("network");
        net_labels.remove(labels::ROLE);
        if self.backend.inspect_network(&network).await?.is_none() {
            self.backend
                .create_network(&NetworkSpec {
                    name: network.clone(),
                    labels: net_labels,
                    ..Default::default()
                })
                .await?;
            undo.network = Some(network.clone());
        }
        let agent_network = match (net_image, allowlist) {
            (Some(net_image), Some(list)) => {
                let holder = self
                    .backend
                    .create_container(&plan.holder_spec(net_image))
                    .await?;
                undo.containers.push(holder.clone());
                for user_net in &plan.networks {
                    self.backend.connect_network(user_net, &holder, &[]).await?;
                }
                self.backend.start_container(&holder).await?;
                self.secure(&holder, list, secrets, progress).await?;
                NetworkAttach::Container(holder)
            }
            _ => NetworkAttach::Network {
                name: network.clone(),
                aliases: vec![],
            },
        };
        if seed.is_some() {
            let user = format!("{}:{}", plan.ids.uid, plan.ids.gid);
            crate::workspace::prepare_work_volume(
                &self.backend,
                plan.name.as_str(),
                agent_image,
                &user,
                &plan.labels("git"),
            )
            .await?;
        }
        let direct = !matches!(agent_network, NetworkAttach::Container(_));
        let agent = self
            .backend
            .create_container(&plan.agent_spec(agent_image, agent_network))
            .await?;
        undo.containers.push(agent.clone());
        if direct {
            for user_net in &plan.networks {
                self.backend.connect_network(user_net, &agent, &[]).await?;
            }
        }
        self.backend.start_container(&agent).await?;
        if let (Some(seed), crate::workspace::WorkspacePlan::Repo { root, .. }) =
            (seed, &plan.workspace)
        {
            let started = Instant::now();
            let user = format!("{}:{}", plan.ids.uid, plan.ids.gid);
            crate::workspace::seed_checkout(
                &self.backend,
                &agent,
                &user,
                plan.name.as_str(),
                root,
                seed,
            )
            .await?;
            progress(Progress::Note(format!(
                "checkout of {} on branch {} ready in {:.2} s",
                root.display(),
                seed.branch.branch,
                started.elapsed().as_secs_f64()
            )));
        }
        self.prepare_agent(&agent, &plan.project.path, secrets, !direct)
            .await?;
        tracing::info!(session = %plan.name, project = %plan.project.path.display(), "session created and running");
        progress(Progress::Note(format!("session {} is running", plan.name)));
        Ok(())
    }

    /// Applies and verifies the allowlist in a holder, and hands the credential (if any) to
    /// its broker. Any failure is an error: fail closed.
    async fn secure(
        &self,
        holder: &str,
        list: &Allowlist,
        secrets: &SessionSecrets,
        progress: &mut impl FnMut(Progress),
    ) -> Result<()> {
        let started = Instant::now();
        firewall::apply(&self.backend, holder, list).await?;
        if let Some(credential) = &secrets.credential {
            let t = Instant::now();
            let ca = self.broker_extra_ca()?;
            broker::install(&self.backend, holder, credential, ca).await?;
            tracing::info!(holder, "credential broker started");
            progress(Progress::Note(format!(
                "credential broker ready in {:.2} s (upstream certificate verified)",
                t.elapsed().as_secs_f64()
            )));
        }
        match firewall::verify(&self.backend, holder).await? {
            Ok(()) => {
                tracing::info!(
                    holder,
                    rules = list.rules.len(),
                    "firewall applied and verified"
                );
                progress(Progress::Note(format!(
                    "firewall verified in {:.2} s ({} rules)",
                    started.elapsed().as_secs_f64(),
                    list.rules.len()
                )));
                Ok(())
            }
            Err(why) => Err(Error::other(format!(
                "firewall verification failed, so the agent was not started: {why}"
            ))),
        }
    }

    /// `broker.extra_ca_certs`, read on the host, concatenated.
    fn broker_extra_ca(&self) -> Result<Vec<u8>> {
        let mut pem = Vec::new();
        for path in &self.config.broker.extra_ca_certs {
            let path = crate::image::expand_home(path);
            let bytes = std::fs::read(&path).map_err(|e| {
                Error::usage(format!("broker.extra_ca_certs: {}: {e}", path.display()))
            })?;
            pem.extend_from_slice(&bytes);
            pem.push(b'\n');
        }
        Ok(pem)
    }

    /// Writes the session's settings and secrets into the agent's tmpfs, seeds Claude's
    /// config, then lets `claude` start. With `brokered`, the holder's broker holds the
    /// credential: the agent gets a placeholder and the broker's address.
    async fn prepare_agent(
        &self,
        agent: &str,
        project: &std::path::Path,
        secrets: &SessionSecrets,
        brokered: bool,
    ) -> Result<()> {
        let details = self.backend.inspect_container(agent).await?;
        let agent_user = details.user.clone();
        let has_key = secrets.credential.is_some();
        let managed = managed_settings(has_key, brokered && has_key);
        let settings = format!("{MANAGED_SETTINGS_DIR}/managed-settings.json");
        let bytes = managed.to_string().into_bytes();
        self.write_file(
            agent,
            "0:0",
            &settings,
            "0644",
            bytes,
            "writing managed settings",
        )
        .await?;
        let placeholder = secrets::Secret::new(broker::PLACEHOLDER);
        let key_file = secrets.credential.as_ref().map(|c| {
            let value = if brokered { &placeholder } else { &c.secret };
            ("anthropic_api_key".to_string(), value)
        });
        let files = key_file
            .into_iter()
            .chain(secrets.extra.iter().map(|(n, s)| (n.clone(), s)));
        for (name, secret) in files {
            let path = format!("{SECRETS_DIR}/{name}");
            let bytes = secret.expose().as_bytes().to_vec();
            self.write_file(agent, &agent_user, &path, "0400", bytes, "writing a secret")
                .await?;
        }
        self.seed_claude_json(agent, &agent_user, project, has_key)
            .await?;
        self.exec_checked(
            agent,
            ExecSpec {
                cmd: sh("touch /run/cctui/ready"),
                user: Some("0:0".into()),
                ..Default::default()
            },
            "marking the session ready",
        )
        .await?;
        Ok(())
    }

    /// Marks onboarding complete (with a key) and the workspace trusted (if configured) in the
    /// config volume's `.claude.json`, keeping everything else in it.
    async fn seed_claude_json(
        &self,
        agent: &str,
        user: &str,
        project: &std::path::Path,
        has_key: bool,
    ) -> Result<()> {
        let config = self.project_config(project)?;
        let trust = config.session.trust_workspace;
        // The session was asked to skip permissions, inside the sandbox that makes it safe:
        // claude's one-time warning about that mode is already answered.
        let bypass = config
            .session
            .claude_args
            .iter()
            .any(|a| a == "--dangerously-skip-permissions");
        if !has_key && !trust && !bypass {
            return Ok(());
        }
        self.edit_claude_json(agent, user, "seeding .claude.json", |json| {
            if has_key {
                json["hasCompletedOnboarding"] = true.into();
            }
            if bypass {
                json["bypassPermissionsModeAccepted"] = true.into();
            }
            if trust {
                let projects = json
                    .as_object_mut()
                    .expect("an object")
                    .entry("projects")
                    .or_insert_with(|| serde_json::json!({}));
                if let Some(projects) = projects.as_object_mut() {
                    let entry = projects
                        .entry(project.display().to_string())
                        .or_insert_with(|| serde_json::json!({}));
                    entry["hasTrustDialogAccepted"] = true.into();
                }
            }
        })
        .await
    }

    /// Reads the config volume's `.claude.json` (a missing or broken one reads as `{}`),
    /// applies `edit`, and writes it back atomically, as the agent user.
    async fn edit_claude_json(
        &self,
        agent: &str,
        user: &str,
        what: &str,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> Result<()> {
        let file = format!("{CLAUDE_CONFIG_DIR}/.claude.json");
        let current = self
            .backend
            .exec(
                agent,
                &ExecSpec {
                    cmd: vec!["cat".into(), file.clone()],
                    user: Some(user.to_string()),
                    ..Default::default()
                },
            )
            .await?;
        let mut json = serde_json::from_slice::<serde_json::Value>(&current.stdout)
            .ok()
            .filter(|j| current.exit_code == 0 && j.is_object())
            .unwrap_or_else(|| serde_json::json!({}));
        edit(&mut json);
        let bytes = serde_json::to_vec_pretty(&json).expect("json");
        self.write_file(agent, user, &file, "0600", bytes, what)
            .await
    }

    /// Writes `bytes` to `path` in the container as `user`, atomically, with `mode`. The
    /// content travels on stdin: argv only ever has the path.
    async fn write_file(
        &self,
        container: &str,
        user: &str,
        path: &str,
        mode: &str,
        bytes: Vec<u8>,
        what: &str,
    ) -> Result<()> {
        let script =
            "umask 077; cat > \"$1.tmp\" && chmod \"$2\" \"$1.tmp\" && mv -f \"$1.tmp\" \"$1\"";
        self.exec_checked(
            container,
            ExecSpec {
                cmd: vec![
                    "sh".into(),
                    "-c".into(),
                    script.into(),
                    "sh".into(),
                    path.to_string(),
                    mode.to_string(),
                ],
                user: Some(user.to_string()),
                stdin: Some(bytes),
                ..Default::default()
            },
            what,
        )
        .await
    }

    async fn exec_checked(&self, container: &str, spec: ExecSpec, what: &str) -> Result<()> {
        let out = self.backend.exec(container, &spec).await?;
        if out.exit_code != 0 {
            return Err(Error::other(format!(
                "{what} failed (exit {}): {}",
                out.exit_code,
                out.stderr_text().trim()
            )));
        }
        Ok(())
    }

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
        if let Err(e) = self
            .prepare_agent(&agent.id, &project, &secrets, brokered)
            .await
        {
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
        if volumes && !others.is_empty() {
            return Err(Error::usage(format!(
                "the project's volumes are shared with {}; remove those sessions first, or \
                 drop --volumes",
                others.join(", ")
            )));
        }
        let mut removed = Removed::default();
        for c in [&session.agent, &session.holder].into_iter().flatten() {
            match self.backend.remove_container(&c.id).await {
                Ok(()) | Err(BackendError::NotFound(_)) => removed.containers.push(c.name.clone()),
                Err(e) => return Err(e.into()),
            }
        }
        let network = SessionName(session.name.clone()).network();
        if self.backend.inspect_network(&network).await?.is_some() {
            self.backend.remove_network(&network).await?;
            removed.network = Some(network);
        }
        // The session's own checkout: its work was imported and checked above (or --force).
        let _ = self
            .backend
            .remove_container(&crate::workspace::helper_container(name))
            .await;
        let work = crate::workspace::work_volume(name);
        if session
            .agent
            .as_ref()
            .and_then(crate::workspace::repo_session)
            .is_some()
            && self.backend.inspect_volume(&work).await?.is_some()
        {
            self.backend.remove_volume(&work).await?;
            removed.work_volume = Some(work);
        }
        crate::workspace::fingerprint::forget(name);
        if volumes {
            for v in vols {
                if self.backend.inspect_volume(&v).await?.is_some() {
                    self.backend.remove_volume(&v).await?;
                    removed.volumes.push(v);
                }
            }
        }
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

    /// Clears Claude's stored login (OAuth credentials and account) from the project's config
    /// volume, keeping its other settings and history.
    pub async fn logout(&self, name: &str) -> Result<()> {
        let id = self.running_agent(name).await?;
        let user = self.backend.inspect_container(&id).await?.user;
        self.edit_claude_json(&id, &user, "updating .claude.json", |json| {
            if let Some(obj) = json.as_object_mut() {
                obj.remove("oauthAccount");
                obj.remove("primaryApiKey");
            }
        })
        .await?;
        self.exec_checked(
            &id,
            ExecSpec {
                cmd: sh(&format!("rm -f {CLAUDE_CONFIG_DIR}/.credentials.json")),
                user: Some(user),
                ..Default::default()
            },
            "removing the stored credentials",
        )
        .await
    }

    /// The running holder of a firewalled session.
    pub async fn running_holder(&self, name: &str) -> Result<String> {
        let session = self.find(name).await?;
        if session.firewall == FirewallMode::Off {
            return Err(Error::usage(format!(
                "session `{name}` runs with firewall = \"off\""
            )));
        }
        match session.holder {
            Some(h) if h.state.is_running() => Ok(h.id),
            _ => Err(Error::usage(format!(
                "session `{name}`'s firewall is not running; start it with `cctui start {name}`"
            ))),
        }
    }

    /// Adds (or with `deny`, removes) a session rule and applies the new list live.
    pub async fn change_allowlist(&self, name: &str, rule: &str, deny: bool) -> Result<Allowlist> {
        let parsed = firewall::parse_rule(rule)?;
        let session = self.find(name).await?;
        let mut extra = SessionAllow::load(&self.config_dir, name)?;
        let before = extra.clone();
        extra
            .allow
            .retain(|r| firewall::parse_rule(r).map(|p| p != parsed).unwrap_or(true));
        if !deny {
            extra.allow.push(parsed.to_string());
        }
        let list = Allowlist::for_session(
            &self.project_config(std::path::Path::new(&session.project))?,
            &extra,
        )?;
        if deny && list.rules.contains(&parsed) {
            return Err(Error::usage(format!(
                "`{rule}` comes from the global config or a preset, not from this session; \
                 change it in config.toml"
            )));
        }
        if deny && extra.allow.len() == before.allow.len() {
            return Err(Error::usage(format!(
                "`{rule}` is not a rule of session `{name}`, so nothing was removed; \
                 see its rules with `cctui fw status {name}`"
            )));
        }
        extra.save(&self.config_dir, name)?;
        if session.firewall == FirewallMode::On {
            if let Some(h) = session.holder.filter(|h| h.state.is_running()) {
                if let Err(e) = firewall::apply(&self.backend, &h.id, &list).await {
                    before.save(&self.config_dir, name)?;
                    return Err(e);
                }
            }
        }
        Ok(list)
    }
}

/// A setup token works only through the broker: with the firewall off there is none.
fn check_credential(firewall: FirewallMode, secrets: &SessionSecrets) -> Result<()> {
    match (&secrets.credential, firewall) {
        (Some(c), FirewallMode::Off) if c.kind == CredentialKind::OauthToken => Err(Error::usage(
            "a setup token (claude_code_oauth_token) is held by the credential broker, which \
                 runs in the firewall's network holder; with firewall mode \"off\" use an API key \
                 or `cctui login`",
        )),
        _ => Ok(()),
    }
}

/// Claude Code's managed settings for a session: root-owned, so the agent cannot change them.
/// The key comes from `apiKeyHelper` (a placeholder when `brokered`: the broker at
/// `ANTHROPIC_BASE_URL` adds the real one); hooks print invisible markers on claude's tty that
/// tell the dashboard when claude waits, works, or finishes a turn.
pub fn managed_settings(has_key: bool, brokered: bool) -> serde_json::Value {
    use crate::term::hook::HookEvent;
    let hook = |event: HookEvent| serde_json::json!([{ "hooks": [{ "type": "command", "command": event.shell_command() }] }]);
    let mut settings = serde_json::json!({
        "hooks": {
            "Notification": hook(HookEvent::Notification),
            "Stop": hook(HookEvent::Stop),
            "UserPromptSubmit": hook(HookEvent::PromptSubmit),
            "SessionStart": hook(HookEvent::Start),
        }
    });
    if has_key {
        settings["apiKeyHelper"] = "/usr/local/bin/cctui-api-key".into();
    }
    if brokered {
        settings["env"] = serde_json::json!({ "ANTHROPIC_BASE_URL": broker::base_url() });
    }
    settings
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}
