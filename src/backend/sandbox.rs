//! A sandbox as one unit: the agent, the network holder whose namespace it shares (when the
//! firewall is on), their network and volumes. A backend creates and removes it as a whole;
//! the caller's security steps run at fixed points in between, through [`SandboxSetup`].

use std::future::Future;

use super::{BackendError, ContainerSpec, Labels, NetworkSpec};

/// How long a volume lives, which decides whether a failed or removed sandbox takes it along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeLifetime {
    /// Shared by a project's sandboxes (Claude's config, shell history): made when missing,
    /// never removed with a sandbox, not even a failed one.
    Project,
    /// The sandbox's own (a session's checkout): must not exist yet, so that a failed create
    /// can remove it without ever deleting anything that was there before.
    Sandbox,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub name: String,
    pub labels: Labels,
    pub lifetime: VolumeLifetime,
}

/// Everything one sandbox is made of.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// The sandbox's own network: made when missing, and then removed with a failed create.
    pub network: NetworkSpec,
    /// Made (or found) before any container.
    pub volumes: Vec<VolumeSpec>,
    /// The firewall's network holder. With one, the agent's network must be
    /// `NetworkAttach::Container(holder.name)`: the agent never has a network of its own.
    pub holder: Option<ContainerSpec>,
    pub agent: ContainerSpec,
    /// Existing networks the sandbox joins: the holder does, or the agent when there is no
    /// holder.
    pub user_networks: Vec<String>,
}

/// The caller's steps, run by `Backend::create_sandbox` at these points. An error from any
/// of them stops the create, and the backend removes what it made.
pub trait SandboxSetup: Send {
    type Error: From<BackendError> + Send;

    /// The holder runs and no agent exists yet: make its network safe (the firewall applied
    /// and verified). Only with a holder.
    fn holder_running(
        &mut self,
        holder: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The volumes exist and the agent does not, e.g. to give a fresh volume its owner.
    fn before_agent(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The agent's main process runs: deliver its settings and secrets (claude waits for
    /// the mark this step leaves).
    fn agent_running(
        &mut self,
        agent: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The containers of a created sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxIds {
    pub agent: String,
    pub holder: Option<String>,
}

/// What belongs to one sandbox, by name or id, removed together. Missing parts are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxParts {
    /// Removed in this order (forced when running), each with its anonymous volumes.
    pub containers: Vec<String>,
    pub network: Option<String>,
    /// Removed after every container; only named here will go.
    pub volumes: Vec<String>,
}

impl SandboxParts {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.network.is_none() && self.volumes.is_empty()
    }
}
