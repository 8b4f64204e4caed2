//! Sessions' usage, read from their project's config volume on the host's side: a
//! short-lived container of a session's image mounts the volume read-only, with no network,
//! and prints the transcripts' assistant lines; nothing runs in the sessions' own containers.
//!
//! Sessions of a project share the volume, so one read serves all of them. A read costs a
//! container (about 0.3 s on Debian's engine 20.10), so a project whose agents are all stopped
//! keeps its tally in the state folder: transcripts change only while an agent runs, and an
//! agent that ran since has another start time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::backend::{
    labels, Backend, ContainerSpec, ContainerState, ContainerSummary, LabelFilter, MountKind,
    MountSpec, NetworkAttach,
};
use crate::bounded;
use crate::error::{Error, Result};
use crate::project::Project;
use crate::session::ops::Ops;
use crate::session::Session;
use crate::usage::{self, Prices, Tally, Usage};

/// Where the helper sees the volume.
const MOUNT: &str = "/cctui-usage";

/// Projects read at once.
const PARALLEL: usize = 4;

/// Helper containers at once in this process, however many loads ask.
static HELPERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Each helper's own name, so that two reads (the dashboard's and `cctui ls`) never meet.
static HELPER_SEQ: AtomicU64 = AtomicU64::new(0);

/// A project's tally as last read, and the agents it was read with: (container id, start
/// time), all stopped.
#[derive(Serialize, Deserialize, PartialEq)]
struct Cached {
    agents: Vec<(String, String)>,
    tally: Tally,
}

impl<B: Backend> Ops<B> {
    /// Tokens and cost of `name`, from Claude Code's transcripts.
    pub async fn usage(&self, name: &str) -> Result<Usage> {
        let session = self.find(name).await?;
        let mut all = self.usages(std::slice::from_ref(&session)).await;
        all.remove(0).map_err(Error::other)
    }

    /// The usage of every session of `name`'s project (one read serves them all).
    pub async fn project_usage(&self, name: &str) -> Result<Vec<(String, Result<Usage, String>)>> {
        let all = self.list().await?;
        let project = all
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.project.clone())
            .ok_or_else(|| Error::usage(format!("no session `{name}`")))?;
        let mine: Vec<Session> = all.into_iter().filter(|s| s.project == project).collect();
        let usages = self.usages(&mine).await;
        Ok(mine.into_iter().map(|s| s.name).zip(usages).collect())
    }

    /// The usage of each of `sessions`, in order: one read per project, PARALLEL at once.
    pub async fn usages(&self, sessions: &[Session]) -> Vec<Result<Usage, String>> {
        let prices = match Prices::load(&self.config_dir) {
            Ok(p) => p,
            Err(e) => return sessions.iter().map(|_| Err(e.to_string())).collect(),
        };
        let mut projects: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
        for s in sessions {
            if let Some(a) = &s.agent {
                projects
                    .entry(s.project.clone())
                    .or_default()
                    .push(a.clone());
            }
        }
        let tallies: BTreeMap<String, Result<Tally, String>> = stream::iter(projects)
            .map(|(project, agents)| async move {
                let t = self.project_tally(&project, &agents).await;
                (project, t.map_err(|e| e.to_string()))
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        sessions
            .iter()
            .map(|s| {
                let agent = s
                    .agent
                    .as_ref()
                    .ok_or_else(|| format!("session `{}` has no agent container", s.name))?;
                let tally = tallies
                    .get(s.project.as_str())
                    .ok_or("not read")?
                    .as_ref()?;
                let branch = crate::workspace::plan::repo_session(agent).map(|r| r.branch);
                Ok(usage::priced(tally, &prices, branch.as_deref()))
            })
            .collect()
    }

    /// What the project's transcripts hold: kept from the last read while its agents are
    /// all stopped and none has started since, else read again.
    async fn project_tally(&self, project: &str, agents: &[ContainerSummary]) -> Result<Tally> {
        let project = Project::from_canonical(project.into());
        let volume = project.config_volume();
        // Mounting a missing volume would make one: no volume, no transcripts.
        if self.backend.inspect_volume(&volume).await?.is_none() {
            return Ok(Tally::default());
        }
        let stopped = agents.iter().all(|a| !a.state.is_running());
        let mut seen = Vec::new();
        if stopped {
            for a in agents {
                let d = self.backend.inspect_container(&a.id).await?;
                seen.push((a.id.clone(), d.started_at));
            }
            seen.sort();
        }
        let file = crate::paths::state_dir()
            .join("usage")
            .join(format!("{volume}.json"));
        if stopped {
            let cached = std::fs::read(&file)
                .ok()
                .and_then(|b| serde_json::from_slice::<Cached>(&b).ok());
            if let Some(c) = cached.filter(|c| c.agents == seen) {
                return Ok(c.tally);
            }
        }
        let tally = self.read_transcripts(&project, &agents[0]).await?;
        if stopped {
            let cached = Cached {
                agents: seen,
                tally: tally.clone(),
            };
            // A cache that cannot be written costs the next call a read, nothing else.
            let _ = std::fs::create_dir_all(file.parent().expect("has a parent"));
            let _ = std::fs::write(&file, serde_json::to_vec(&cached).expect("json"));
        }
        Ok(tally)
    }

    async fn read_transcripts(&self, project: &Project, agent: &ContainerSummary) -> Result<Tally> {
        let _permit = HELPERS.acquire().await.expect("never closed");
        let details = self.backend.inspect_container(&agent.id).await?;
        let session = agent
            .labels
            .get(labels::SESSION)
            .cloned()
            .unwrap_or_default();
        let n = HELPER_SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("cctui-{session}-usage-{}-{n}", std::process::id());
        self.sweep_helpers(project).await;
        let mut spec = ContainerSpec::hardened(name, &agent.image);
        // No session label: a helper is no part of a session (the list, and the events that
        // refresh it, never see it).
        spec.labels = agent.labels.clone();
        spec.labels.remove(labels::SESSION);
        spec.labels.insert(labels::ROLE.into(), "usage".into());
        spec.entrypoint = Some(vec!["sh".into(), "-c".into()]);
        // Only assistant lines carry usage: the rest (tool results, file contents) stays in
        // the volume. An image without grep prints everything.
        let find = format!("find {MOUNT}/projects -name '*.jsonl' -type f -exec");
        spec.cmd = vec![format!(
            "if command -v grep >/dev/null; then {find} grep -h -F '\"assistant\"' {{}} +; \
             else {find} cat {{}} +; fi 2>/dev/null; true"
        )];
        spec.user = Some(details.user);
        spec.network = NetworkAttach::None;
        spec.pids_limit = Some(64);
        // Its output is read to the end: a cap would lose replies. It lives for one read.
        spec.log_limit = None;
        spec.mounts = vec![MountSpec {
            kind: MountKind::VolumeNoCopy,
            source: project.config_volume(),
            target: MOUNT.into(),
            read_only: true,
        }];
        let id = self.backend.create_container(&spec).await?;
        let result = self.collect_output(&id).await;
        let _ = self.backend.remove_container(&id).await;
        result
    }

    /// Helpers that a cctui killed mid-read left behind, exited: removed, one at a time.
    async fn sweep_helpers(&self, project: &Project) {
        let Ok(helpers) = self
            .backend
            .list_containers(&LabelFilter::eq(labels::ROLE, "usage"))
            .await
        else {
            return;
        };
        let project_path = project.path.display().to_string();
        for h in helpers.iter().filter(|h| {
            matches!(h.state, ContainerState::Exited(_) | ContainerState::Dead)
                && h.labels.get(labels::PROJECT) == Some(&project_path)
        }) {
            let _ = self.backend.remove_container(&h.id).await;
        }
    }

    /// Starts the helper and tallies what it prints as it comes, a line at a time: lines
    /// over [`bounded::TRANSCRIPT_LINE`] are skipped, nothing is held whole.
    async fn collect_output(&self, id: &str) -> Result<Tally> {
        self.backend.start_container(id).await?;
        let mut tallier = usage::Tallier::default();
        let mut lines = bounded::LineSplitter::new(bounded::TRANSCRIPT_LINE);
        let mut logs = self.backend.logs(id, 100_000_000, true);
        let mut take = |line: &[u8], cut: bool| {
            if !cut {
                tallier.line(line);
            }
        };
        while let Some(chunk) = logs.next().await {
            lines.push(&chunk?.bytes, &mut take);
        }
        lines.finish(&mut take);
        tallier.skipped = lines.cut_lines;
        Ok(tallier.finish())
    }
}
