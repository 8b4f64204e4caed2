//! Sessions: a project folder plus a name, made of labelled containers. This module decides
//! names, volumes and container specs (pure), and `ops` carries them out on a backend.

pub mod carry;
pub mod commands;
pub mod ops;
pub mod ports;
mod project_allow;
mod usage;
pub mod work;

pub use crate::project::Project;

use std::collections::BTreeMap;
use std::path::Path;

use crate::backend::{
    labels, ContainerSpec, ContainerState, ContainerSummary, Labels, MountKind, MountSpec,
    NetworkAttach,
};
use crate::config::{Config, FirewallMode};
use crate::error::{Error, Result};
use crate::image::AgentIds;
use crate::sandbox::firewall::{Allowlist, FirewallStatus};
use crate::sandbox::report::{FirewallReport, HolderReading, SandboxStates};

/// Claude Code settings every session gets unless its config sets them.
const QUIET_DEFAULTS: [(&str, &str); 2] = [
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "1"),
];

/// Where Claude's whole config dir lives in the container (`CLAUDE_CONFIG_DIR`).
pub const CLAUDE_CONFIG_DIR: &str = "/home/claude/.claude";
pub const HISTORY_DIR: &str = "/commandhistory";
pub const RUN_DIR: &str = "/run/cctui";
pub const SECRETS_DIR: &str = "/run/cctui/secrets";
pub const MANAGED_SETTINGS_DIR: &str = "/etc/claude-code";
/// Images pasted into the session (a tmpfs of the agent's own, as big as a few screenshots).
pub const PASTE_DIR: &str = "/run/cctui/paste";

/// A session name: lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionName(String);

impl SessionName {
    pub fn parse(name: &str) -> Result<SessionName> {
        let ok = !name.is_empty()
            && name.len() <= 48
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if ok {
            Ok(SessionName(name.to_string()))
        } else {
            Err(Error::usage(format!(
                "`{name}` is not a valid session name: use up to 48 of a-z, 0-9, `-`, `_`, `.`, \
                 starting with a letter or digit"
            )))
        }
    }

    /// The default name for a folder: its base name, made valid.
    pub fn from_folder(path: &Path) -> SessionName {
        SessionName(crate::project::folder_base_name(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn agent_container(&self) -> String {
        format!("cctui-{}", self.0)
    }
    pub fn holder_container(&self) -> String {
        format!("cctui-{}-net", self.0)
    }
    /// The session's own bridge network: sessions never share one.
    pub fn network(&self) -> String {
        format!("cctui-{}", self.0)
    }
}

impl std::fmt::Display for SessionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `cctui new` asks for, with the config's defaults already applied.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    pub name: SessionName,
    pub project: Project,
    pub ids: AgentIds,
    pub profiles: Vec<String>,
    pub networks: Vec<String>,
    pub firewall: FirewallMode,
    pub claude_args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
    /// The engine's log rotation for the agent and the holder.
    pub log_limit: crate::backend::LogLimit,
    pub verify_interval_secs: u64,
    /// A repository of its own (git projects) or the folder in place.
    pub workspace: crate::workspace::WorkspacePlan,
    /// The branch and base, chosen by `create` in the host's repository.
    pub branch: Option<crate::workspace::BranchPlan>,
    /// A sandbox for one `claude` run (`cctui run --rm`): its main process only waits, with
    /// no tty, and claude is exec'd into it once the session is ready.
    pub one_shot: bool,
    /// The project's accepted devcontainer: its image under cctui's agent layer, its env
    /// (already in `env`) and its post-create/start commands.
    pub devcontainer: Option<crate::devcontainer::proposal::Accepted>,
}

impl SessionPlan {
    /// The labels of what is made for this session: the config's own labels first, then
    /// cctui's, which win (the config cannot rename a session or change its role).
    pub fn labels(&self, role: &str) -> Labels {
        let mut l = self.project.labels.clone();
        l.extend([
            (labels::SESSION.to_string(), self.name.to_string()),
            (
                labels::PROJECT.to_string(),
                self.project.path.display().to_string(),
            ),
            (labels::ROLE.to_string(), role.to_string()),
            (labels::PROFILES.to_string(), self.profiles.join(",")),
            (
                labels::FIREWALL.to_string(),
                self.firewall.as_str().to_string(),
            ),
            (labels::NETWORKS.to_string(), self.networks.join(",")),
        ]);
        l.insert(
            crate::devcontainer::ENVIRONMENT_LABEL.to_string(),
            match &self.devcontainer {
                Some(a) => a.devcontainer.environment(&self.project.path),
                None => "cctui recipe".to_string(),
            },
        );
        l.extend(crate::workspace::labels_for(
            &self.workspace,
            self.branch.as_ref(),
        ));
        l
    }

    /// The agent's tmpfs mounts: cctui's run folder, the secrets, the managed settings and
    /// pasted images, each noexec.
    fn agent_tmpfs(&self) -> BTreeMap<String, String> {
        // The carried folders of the user's Claude setup: root's, so read-only to the agent.
        let carried = carry::folders().map(|name| {
            (
                carry::folder_mount(name),
                format!("rw,nosuid,nodev,size={},mode=0755", carry::TMPFS_SIZE),
            )
        });
        let mut tmpfs = BTreeMap::from([
            (
                RUN_DIR.to_string(),
                "rw,nosuid,nodev,noexec,size=1m,mode=0755".to_string(),
            ),
            (
                SECRETS_DIR.to_string(),
                format!(
                    "rw,nosuid,nodev,noexec,size=1m,mode=0700,uid={},gid={}",
                    self.ids.uid, self.ids.gid
                ),
            ),
            (
                MANAGED_SETTINGS_DIR.to_string(),
                "rw,nosuid,nodev,noexec,size=1m,mode=0755".to_string(),
            ),
            (
                PASTE_DIR.to_string(),
                format!(
                    "rw,nosuid,nodev,noexec,size=64m,mode=0700,uid={},gid={}",
                    self.ids.uid, self.ids.gid
                ),
            ),
        ]);
        tmpfs.extend(carried);
        tmpfs
    }

    /// The agent container: hardened, the project folder its only host path, claude its
    /// long-running process on a tty.
    pub fn agent_spec(&self, image: &str, network: NetworkAttach) -> ContainerSpec {
        let path = self.project.path.display().to_string();
        let mut spec = ContainerSpec::hardened(self.name.agent_container(), image);
        spec.labels = self.labels("agent");
        spec.cmd = std::iter::once("claude".to_string())
            .chain(self.claude_args.iter().cloned())
            .collect();
        spec.env = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain([
                format!("CCTUI_SESSION={}", self.name),
                format!("CCTUI_WORKDIR={path}"),
            ])
            .chain(
                // What the firewall would refuse anyway (telemetry, error reports, the plugin
                // marketplace on github.com) is not attempted, unless the user says otherwise.
                QUIET_DEFAULTS
                    .iter()
                    .filter(|(k, _)| !self.env.contains_key(*k))
                    .map(|(k, v)| format!("{k}={v}")),
            )
            .collect();
        spec.user = Some(format!("{}:{}", self.ids.uid, self.ids.gid));
        spec.working_dir = Some(path.clone());
        // A container sharing the holder's namespace takes the holder's hostname.
        if !matches!(network, NetworkAttach::Container(_)) {
            spec.hostname = Some(self.name.to_string().replace(['_', '.'], "-"));
        }
        // The same absolute path as on the host: paths claude prints name the same files
        // (in a git project, the session's own checkout of them, in its volume).
        spec.mounts = vec![
            crate::workspace::workspace_mount(
                &self.workspace,
                &self.project.path,
                self.name.as_str(),
            ),
            MountSpec {
                kind: MountKind::Volume,
                source: self.project.config_volume(),
                target: CLAUDE_CONFIG_DIR.into(),
                read_only: false,
            },
            MountSpec {
                kind: MountKind::Volume,
                source: self.project.history_volume(),
                target: HISTORY_DIR.into(),
                read_only: false,
            },
        ];
        spec.tmpfs = self.agent_tmpfs();
        spec.network = network;
        spec.pids_limit = Some(self.pids_limit);
        spec.memory_bytes = Some(self.memory_bytes);
        spec.log_limit = Some(self.log_limit.clone());
        spec.nano_cpus = Some(self.nano_cpus);
        spec.tty = !self.one_shot;
        spec.open_stdin = !self.one_shot;
        if self.one_shot {
            // Run by the entrypoint after the ready mark, like claude; `sleep` in every image.
            spec.cmd = vec!["sleep".into(), "2147483647".into()];
        }
        spec
    }

    /// The network holder: owns the namespace and the rules; only the capabilities the
    /// firewall needs, never given to the agent.
    pub fn holder_spec(&self, image: &str) -> ContainerSpec {
        let mut spec = ContainerSpec::hardened(self.name.holder_container(), image);
        spec.labels = self.labels("net");
        spec.cap_add = [
            "NET_ADMIN",
            "NET_RAW",
            "SETUID",
            "SETGID",
            "NET_BIND_SERVICE",
        ]
        .map(String::from)
        .to_vec();
        spec.hostname = Some(self.name.to_string().replace(['_', '.'], "-"));
        spec.network = NetworkAttach::Network {
            name: self.name.network(),
            aliases: vec![],
        };
        spec.env = vec![format!(
            "CCTUI_FW_VERIFY_INTERVAL={}",
            self.verify_interval_secs.max(10)
        )];
        // The credential broker's tmpfs: only its uid can read what is written there.
        spec.tmpfs = BTreeMap::from([(
            crate::sandbox::broker::BROKER_DIR.to_string(),
            format!(
                "rw,nosuid,nodev,noexec,size=1m,mode=0700,uid={0},gid={0}",
                crate::sandbox::broker::BROKER_UID
            ),
        )]);
        spec.pids_limit = Some(128);
        spec.memory_bytes = Some(128 << 20);
        spec.log_limit = Some(self.log_limit.clone());
        spec.sysctls = BTreeMap::from([
            (
                "net.ipv6.conf.all.disable_ipv6".to_string(),
                "1".to_string(),
            ),
            (
                "net.ipv6.conf.default.disable_ipv6".to_string(),
                "1".to_string(),
            ),
            // Docker sets 0 in a new namespace; the agent shares this one with no
            // capabilities, so at 1024 it can bind none of the holder's ports (all below).
            (
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "1024".to_string(),
            ),
        ]);
        spec.init = false; // the image runs tini itself
        spec
    }
}

/// Resolves a `new` request against the config into a plan. No I/O but reading the folder.
pub fn plan_session(
    config: &Config,
    path: &Path,
    name: Option<&str>,
    profiles: &[String],
    networks: &[String],
) -> Result<SessionPlan> {
    let project = Project::at(path)?.with_labels(config.session.labels.clone());
    let name = match name {
        Some(n) => SessionName::parse(n)?,
        None => SessionName::from_folder(&project.path),
    };
    let ids = AgentIds::of_folder(&project.path)?;
    let profiles = if profiles.is_empty() {
        config.session.profiles.clone()
    } else {
        profiles.to_vec()
    };
    let profiles = crate::image::canonical_profiles(&profiles)?;
    let mut all_networks = config.session.networks.clone();
    for n in networks {
        if !all_networks.contains(n) {
            all_networks.push(n.clone());
        }
    }
    for (k, v) in &config.session.env {
        if crate::sandbox::secrets::looks_like_key(v) {
            return Err(Error::usage(format!(
                "session.env.{k} looks like an API key; secrets never go in the environment. \
                 Put it under [secrets] instead"
            )));
        }
    }
    Ok(SessionPlan {
        name,
        ids,
        profiles,
        networks: all_networks,
        firewall: config.firewall.mode,
        claude_args: config.session.claude_args.clone(),
        env: config.session.env.clone(),
        memory_bytes: config.memory_bytes(),
        nano_cpus: (config.session.cpus * 1e9) as i64,
        pids_limit: config.session.pids_limit,
        log_limit: config.log_limit(),
        verify_interval_secs: config.firewall.verify_interval_secs,
        workspace: crate::workspace::WorkspacePlan::for_folder(&project.path),
        branch: None,
        one_shot: false,
        devcontainer: None,
        project,
    })
}

/// A session as the engine shows it: its containers, grouped by the session label.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub name: String,
    pub project: String,
    pub profiles: Vec<String>,
    pub firewall: FirewallMode,
    pub agent: Option<ContainerSummary>,
    pub holder: Option<ContainerSummary>,
}

impl Session {
    /// The session's state is its agent's; a session without one is broken.
    pub fn state(&self) -> ContainerState {
        self.agent
            .as_ref()
            .map(|a| a.state.clone())
            .unwrap_or(ContainerState::Dead)
    }

    /// The session's holder, if it is running (only a running holder can be read).
    pub fn running_holder(&self) -> Option<&ContainerSummary> {
        self.holder.as_ref().filter(|h| h.state.is_running())
    }

    /// What decides its firewall's status before the holder is read.
    pub fn sandbox_states(&self) -> SandboxStates {
        SandboxStates {
            firewall: self.firewall,
            holder_running: self.running_holder().is_some(),
            agent_running: self.agent.as_ref().is_some_and(|a| a.state.is_running()),
        }
    }

    /// The firewall's status as far as the containers' states decide it (`report::status_from`):
    /// `None` while the holder runs, when only it can tell.
    pub fn firewall_from_states(&self) -> Option<FirewallStatus> {
        crate::sandbox::report::status_from(self.sandbox_states())
    }

    /// The firewall report on this session, from the rules in `sandbox::report`.
    pub fn firewall_report(
        &self,
        allowlist: Allowlist,
        reading: Option<HolderReading>,
    ) -> FirewallReport {
        FirewallReport::of(&self.name, self.sandbox_states(), allowlist, reading)
    }
}

/// Groups containers by their session label, sorted by project then name.
pub fn group_sessions(containers: &[ContainerSummary]) -> Vec<Session> {
    let mut by_name: BTreeMap<String, Session> = BTreeMap::new();
    for c in containers {
        let Some(name) = c.labels.get(labels::SESSION) else {
            continue;
        };
        let s = by_name.entry(name.clone()).or_insert_with(|| Session {
            name: name.clone(),
            project: c.labels.get(labels::PROJECT).cloned().unwrap_or_default(),
            profiles: c
                .labels
                .get(labels::PROFILES)
                .map(|p| {
                    p.split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            firewall: FirewallMode::from_label(c.labels.get(labels::FIREWALL).map(String::as_str)),
            agent: None,
            holder: None,
        });
        match c.labels.get(labels::ROLE).map(String::as_str) {
            Some("agent") => s.agent = Some(c.clone()),
            Some("net") => s.holder = Some(c.clone()),
            _ => {}
        }
    }
    let mut out: Vec<Session> = by_name.into_values().collect();
    out.sort_by(|a, b| (&a.project, &a.name).cmp(&(&b.project, &b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(SessionName::parse("my-proj.2").is_ok());
        for bad in ["", "-x", "Upper", "a b", "x/y", &"a".repeat(49)] {
            assert_eq!(SessionName::parse(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        assert_eq!(
            SessionName::from_folder(Path::new("/home/u/My Project!")).as_str(),
            "my-project-"
        );
    }

    #[test]
    fn projects_get_distinct_volumes() {
        let a = Project::from_canonical("/a/app".into());
        let b = Project::from_canonical("/b/app".into());
        assert_ne!(a.config_volume(), b.config_volume());
        assert!(a.config_volume().starts_with("cctui-app-"));
    }
}
