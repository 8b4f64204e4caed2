//! A whole sandbox on one Docker engine: containers, a bridge network and named volumes,
//! made in order and unmade newest first. Calls go one at a time (the engine deadlocks on
//! bulk concurrent removal).

use crate::backend::*;

/// Makes `spec`, running `setup`'s steps at their points; on failure, removes what it made.
pub(super) async fn create<B: Backend, S: SandboxSetup>(
    backend: &B,
    spec: &SandboxSpec,
    setup: &mut S,
) -> std::result::Result<SandboxIds, S::Error> {
    let mut made = SandboxParts::default();
    let result = make(backend, spec, setup, &mut made).await;
    if result.is_err() {
        // Newest first: the agent before the holder whose namespace it shares.
        made.containers.reverse();
        if let Err(e) = remove(backend, &made).await {
            tracing::warn!("cleanup after a failed create: {e}");
        }
    }
    result
}

async fn make<B: Backend, S: SandboxSetup>(
    backend: &B,
    spec: &SandboxSpec,
    setup: &mut S,
    made: &mut SandboxParts,
) -> std::result::Result<SandboxIds, S::Error> {
    if let Some(holder) = &spec.holder {
        if spec.agent.network != NetworkAttach::Container(holder.name.clone()) {
            return Err(BackendError::Engine {
                op: "create sandbox",
                status: None,
                detail: format!(
                    "the agent must share the holder's network (container:{})",
                    holder.name
                ),
            }
            .into());
        }
    }
    make_volumes(backend, &spec.volumes, made).await?;
    if backend.inspect_network(&spec.network.name).await?.is_none() {
        backend.create_network(&spec.network).await?;
        made.network = Some(spec.network.name.clone());
    }
    let holder = match &spec.holder {
        Some(holder) => {
            let id = backend.create_container(holder).await?;
            made.containers.push(id.clone());
            for net in &spec.user_networks {
                backend.connect_network(net, &id, &[]).await?;
            }
            backend.start_container(&id).await?;
            setup.holder_running(&id).await?;
            Some(id)
        }
        None => None,
    };
    setup.before_agent().await?;
    let agent = backend.create_container(&spec.agent).await?;
    made.containers.push(agent.clone());
    if holder.is_none() {
        for net in &spec.user_networks {
            backend.connect_network(net, &agent, &[]).await?;
        }
    }
    backend.start_container(&agent).await?;
    setup.agent_running(&agent).await?;
    Ok(SandboxIds { agent, holder })
}

/// Project volumes are made when missing and never recorded; a sandbox volume must be new.
async fn make_volumes<B: Backend>(
    backend: &B,
    volumes: &[VolumeSpec],
    made: &mut SandboxParts,
) -> Result<()> {
    for v in volumes {
        let exists = backend.inspect_volume(&v.name).await?.is_some();
        match (v.lifetime, exists) {
            (VolumeLifetime::Project, true) => {}
            (VolumeLifetime::Project, false) => backend.create_volume(&v.name, &v.labels).await?,
            (VolumeLifetime::Sandbox, true) => {
                return Err(BackendError::Conflict(format!(
                    "the volume {} already exists; a new sandbox never takes over an old one",
                    v.name
                )))
            }
            (VolumeLifetime::Sandbox, false) => {
                backend.create_volume(&v.name, &v.labels).await?;
                made.volumes.push(v.name.clone());
            }
        }
    }
    Ok(())
}

/// Removes the parts in order, skipping those already gone. Tries every part; the first
/// error is returned after the rest were tried.
pub(super) async fn remove<B: Backend>(backend: &B, parts: &SandboxParts) -> Result<SandboxParts> {
    let mut removed = SandboxParts::default();
    let mut first_error = None;
    let mut note = |r: Result<()>, what: &str| match r {
        Ok(()) => true,
        Err(BackendError::NotFound(_)) => false,
        Err(e) => {
            tracing::warn!("removing {what}: {e}");
            first_error.get_or_insert(e);
            false
        }
    };
    for c in &parts.containers {
        if note(backend.remove_container(c).await, c) {
            removed.containers.push(c.clone());
        }
    }
    if let Some(n) = &parts.network {
        if note(backend.remove_network(n).await, n) {
            removed.network = Some(n.clone());
        }
    }
    for v in &parts.volumes {
        if note(backend.remove_volume(v).await, v) {
            removed.volumes.push(v.clone());
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}
