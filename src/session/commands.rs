//! The operations both faces offer, each one function that `cctui` commands and the
//! dashboard's jobs call alike: create, build images, and the firewall report. (Start, stop,
//! restart, remove and allow/deny are `Ops` methods in `ops`, called the same way.)

use std::path::{Path, PathBuf};

use super::ops::{Ops, Progress};
use super::{plan_session, Project, SessionPlan};
use crate::backend::Backend;
use crate::config::FirewallMode;
use crate::error::Result;
use crate::image::{self, AgentIds, BuildOptions};
use crate::project::Proposal;
use crate::sandbox::firewall;
use crate::sandbox::report::{FirewallReport, HolderReading};

/// How a session sees its project's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkspaceChoice {
    /// A git repository gets a checkout of its own, of the committed work; other folders
    /// are mounted in place.
    #[default]
    Default,
    /// A checkout of its own that also brings the uncommitted and untracked files.
    WithChanges,
    /// The folder itself, `.git` included.
    InPlace,
    /// A new project: an empty folder becomes a git repository, worked on like any other.
    NewRepo,
}

impl WorkspaceChoice {
    /// The choice `--with-changes`, `--in-place` and `--git` make; in place wins.
    pub fn from_flags(with_changes: bool, in_place: bool, git: bool) -> WorkspaceChoice {
        match (with_changes, in_place, git) {
            (_, true, _) => WorkspaceChoice::InPlace,
            (true, false, _) => WorkspaceChoice::WithChanges,
            (false, false, true) => WorkspaceChoice::NewRepo,
            (false, false, false) => WorkspaceChoice::Default,
        }
    }
}

/// A request for a new session, as either face takes it; what it leaves empty comes from the
/// config (and, for profiles, from the project's other sessions).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewSession {
    pub path: PathBuf,
    pub name: Option<String>,
    pub profiles: Vec<String>,
    /// Docker networks to join besides the config's.
    pub networks: Vec<String>,
    /// The config's firewall mode, unless set.
    pub firewall: Option<FirewallMode>,
    pub workspace: WorkspaceChoice,
    /// A sandbox for one run of claude (`cctui run --rm`), not a long-running session.
    pub one_shot: bool,
}

/// A created session, and the repository's proposal if it has one not yet accepted (its
/// settings are not in effect).
#[derive(Debug, Clone)]
pub struct Created {
    pub session: super::Session,
    pub proposal: Option<Proposal>,
}

/// Images to build (or find): the agent's chain for these ids and profiles, and the
/// holder's when `holder`.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    pub ids: AgentIds,
    pub profiles: Vec<String>,
    pub holder: bool,
    pub options: BuildOptions,
}

impl<B: Backend> Ops<B> {
    /// Creates and starts a session: the project's accepted settings over the config, the
    /// request's networks joined, images planned and built, and the repository's pending
    /// proposal reported (never applied).
    pub async fn new_session(
        &self,
        request: &NewSession,
        mut progress: impl FnMut(Progress) + Send,
    ) -> Result<Created> {
        let (plan, proposal) = self.plan_new(request).await?;
        if let Some(p) = &proposal {
            progress(Progress::Note(proposal_note(p, &plan.project.path)));
        }
        let project = Project::from_canonical(plan.project.path.clone());
        match crate::devcontainer::proposal::pending(&self.config_dir, &project) {
            Ok(Some(p)) => progress(Progress::Note(proposal_note(&p, &plan.project.path))),
            Ok(None) => {}
            Err(e) => progress(Progress::Note(format!(
                "note: the devcontainer is not used: {e}"
            ))),
        }
        if let Some(a) = &plan.devcontainer {
            for w in &a.devcontainer.warnings {
                progress(Progress::Note(format!("devcontainer: {w}")));
            }
            if !plan.profiles.is_empty() {
                progress(Progress::Note(
                    "devcontainer: profiles are not added to the project's own image".into(),
                ));
            }
        }
        let session = self.create(&plan, progress).await?;
        Ok(Created { session, proposal })
    }

    /// The plan for a request, and the project's pending proposal. Reads the folder, the
    /// project's settings and the engine's list of sessions; changes nothing.
    pub async fn plan_new(&self, request: &NewSession) -> Result<(SessionPlan, Option<Proposal>)> {
        let project = Project::at(&request.path)?;
        let proposal = crate::project::pending_proposal(&self.config_dir, &project)?;
        let mut config = self.project_config(&project.path)?;
        if let Some(mode) = request.firewall {
            config.firewall.mode = mode;
        }
        let profiles = if request.profiles.is_empty() {
            self.profiles_of_project(&project.path).await?
        } else {
            request.profiles.clone()
        };
        let mut plan = plan_session(
            &config,
            &project.path,
            request.name.as_deref(),
            &profiles,
            &request.networks,
        )?;
        let layout = super::work::Layout {
            with_changes: request.workspace == WorkspaceChoice::WithChanges,
            in_place: request.workspace == WorkspaceChoice::InPlace,
            new_repo: request.workspace == WorkspaceChoice::NewRepo,
        };
        super::work::choose(&mut plan, layout)?;
        plan.one_shot = request.one_shot;
        if let Some(accepted) = crate::devcontainer::proposal::accepted(&self.config_dir, &project)?
        {
            plan.env.extend(accepted.devcontainer.env.clone());
            plan.devcontainer = Some(accepted);
        }
        Ok((plan, proposal))
    }

    /// The profiles of the project's existing sessions (they share its volumes, so a second
    /// session gets the same toolchains), or none when it has no session yet.
    async fn profiles_of_project(&self, project: &Path) -> Result<Vec<String>> {
        let project = project.display().to_string();
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|s| s.project == project)
            .map(|s| s.profiles)
            .unwrap_or_default())
    }

    /// Builds (or finds) the images of a request; returns the agent's image.
    pub async fn build_images(
        &self,
        request: &ImageRequest,
        mut progress: impl FnMut(Progress),
    ) -> Result<String> {
        let options = request.options.with_config(&self.config);
        let recipe = self.recipe().await?;
        let chain = recipe.agent_chain(request.ids, &request.profiles)?;
        let agent = image::ensure_images(&self.backend, &chain, options, |p| {
            progress(Progress::Build(p))
        })
        .await?;
        if request.holder {
            image::ensure_images(&self.backend, &[recipe.net_image()], options, |p| {
                progress(Progress::Build(p))
            })
            .await?;
        }
        Ok(agent)
    }

    /// Builds a session's images again, even where they exist: its profiles, for its
    /// project's owner, and the holder's image if it has a firewall. A restart uses them.
    pub async fn rebuild(&self, name: &str, progress: impl FnMut(Progress)) -> Result<String> {
        let session = self.find(name).await?;
        let request = ImageRequest {
            ids: AgentIds::of_folder(Path::new(&session.project))?,
            profiles: session.profiles.clone(),
            holder: session.firewall == FirewallMode::On,
            options: BuildOptions {
                force: true,
                ..Default::default()
            },
        };
        self.build_images(&request, progress).await
    }

    /// Everything known about a session's firewall (`cctui fw status`, the Firewall tab).
    pub async fn firewall_report(&self, name: &str) -> Result<FirewallReport> {
        let session = self.find(name).await?;
        let allowlist = self.allowlist(Path::new(&session.project), name)?;
        let reading = match session.running_holder() {
            Some(h) if session.firewall == FirewallMode::On => {
                let stats = crate::sandbox::broker::stats(&self.backend, &h.id).await?;
                Some(HolderReading {
                    status: firewall::last_verification(&self.backend, &h.id).await?,
                    counters: firewall::counters(&self.backend, &h.id).await?,
                    recent: firewall::blocked_log(&self.backend, &h.id, 50).await?,
                    broker: (stats.running || stats.held || stats.requests > 0).then_some(stats),
                })
            }
            _ => None,
        };
        Ok(session.firewall_report(allowlist, reading))
    }
}

/// What to tell the user about a proposal that is not in effect.
pub fn proposal_note(p: &Proposal, project: &Path) -> String {
    format!(
        "note: {} proposes settings that are not in effect; review them with `cctui project \
         diff {}` and accept with `cctui project accept {}`",
        p.file.display(),
        project.display(),
        project.display()
    )
}
