//! Session operations on a backend, one concern per file: creating a sandbox (`create`), its
//! firewall and credential (`firewall`), starting, stopping and removing (`lifecycle`), and
//! the files delivered into the agent (`agent_files`). `Ops` is the one type; other modules
//! add `impl Ops` blocks of their own (the workspace's repository operations).

mod agent_files;
mod carry;
mod create;
mod firewall;
mod lifecycle;
mod paste;

use std::path::PathBuf;

use super::*;
use crate::backend::{Backend, LabelFilter};
use crate::image::{self, BuildOptions, BuildProgress, Recipe};
use crate::sandbox::broker::CredentialKind;
use crate::sandbox::firewall::{Allowlist, SessionAllow};
use crate::sandbox::secrets::SessionSecrets;

pub use agent_files::managed_settings;
pub use carry::read_report as carried_report;
pub use lifecycle::Removed;

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
        let chain = match &plan.devcontainer {
            Some(a) => recipe.project_chain(plan.ids, &a.project_image(&plan.project.slug)?)?,
            None => recipe.agent_chain(plan.ids, &plan.profiles)?,
        };
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

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}
