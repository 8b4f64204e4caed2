//! A session's usage, read from its project's config volume on the host's side: a
//! short-lived container of the session's image mounts the volume read-only, with no
//! network, and prints the transcripts; nothing runs in the session's own container.

use futures_util::StreamExt;

use crate::backend::{labels, Backend, ContainerSpec, MountKind, MountSpec, NetworkAttach};
use crate::error::{Error, Result};
use crate::project::Project;
use crate::session::ops::Ops;
use crate::usage::{self, Prices, Usage};

/// Where the helper sees the volume.
const MOUNT: &str = "/cctui-usage";

impl<B: Backend> Ops<B> {
    /// Tokens and cost of `name`, from Claude Code's transcripts.
    pub async fn usage(&self, name: &str) -> Result<Usage> {
        let session = self.find(name).await?;
        let agent = session
            .agent
            .as_ref()
            .ok_or_else(|| Error::usage(format!("session `{name}` has no agent container")))?;
        let prices = Prices::load(&self.config_dir)?;
        let project = Project::from_canonical(session.project.clone().into());
        let text = self.read_transcripts(&project, agent).await?;
        let branch = crate::workspace::plan::repo_session(agent).map(|r| r.branch);
        Ok(usage::from_transcripts(&text, &prices, branch.as_deref()))
    }

    async fn read_transcripts(
        &self,
        project: &Project,
        agent: &crate::backend::ContainerSummary,
    ) -> Result<String> {
        let details = self.backend.inspect_container(&agent.id).await?;
        let session = agent
            .labels
            .get(labels::SESSION)
            .cloned()
            .unwrap_or_default();
        let mut spec = ContainerSpec::hardened(format!("cctui-{session}-usage"), &agent.image);
        spec.labels = agent.labels.clone();
        spec.labels.insert(labels::ROLE.into(), "usage".into());
        spec.entrypoint = Some(vec!["sh".into(), "-c".into()]);
        spec.cmd = vec![format!(
            "find {MOUNT}/projects -name '*.jsonl' -type f -exec cat {{}} + 2>/dev/null; true"
        )];
        spec.user = Some(details.user);
        spec.network = NetworkAttach::None;
        spec.pids_limit = Some(64);
        spec.mounts = vec![MountSpec {
            kind: MountKind::VolumeNoCopy,
            source: project.config_volume(),
            target: MOUNT.into(),
            read_only: true,
        }];
        // A helper left by an interrupted call goes first.
        let _ = self.backend.remove_container(&spec.name).await;
        let id = self.backend.create_container(&spec).await?;
        let result = self.collect_output(&id).await;
        let _ = self.backend.remove_container(&id).await;
        result
    }

    /// Starts the helper and takes everything it prints, until it exits.
    async fn collect_output(&self, id: &str) -> Result<String> {
        self.backend.start_container(id).await?;
        let mut out = Vec::new();
        let mut logs = self.backend.logs(id, 100_000_000, true);
        while let Some(chunk) = logs.next().await {
            out.extend_from_slice(&chunk?.bytes);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
