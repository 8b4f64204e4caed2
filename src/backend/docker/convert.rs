//! Between cctui's types and bollard's: specs going in, summaries and details coming out.
//! Docker's own syntax (label filters, network modes, security options) stays in here.

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum,
    ContainerStatsResponse, ContainerSummaryStateEnum, EndpointSettings, HostConfig,
    HostConfigLogConfig, Ipam, Mount, MountType, NetworkingConfig,
};

use crate::backend::*;

pub(super) fn to_labels(map: Option<HashMap<String, String>>) -> Labels {
    map.unwrap_or_default().into_iter().collect()
}

/// Docker's `filters` query for a label filter: `key` or `key=value`, under "label".
pub(super) fn label_filters(filter: &LabelFilter) -> HashMap<String, Vec<String>> {
    let term = match &filter.value {
        Some(v) => format!("{}={}", filter.key, v),
        None => filter.key.clone(),
    };
    HashMap::from([("label".to_string(), vec![term])])
}

pub(super) fn summary(c: bollard::models::ContainerSummary) -> ContainerSummary {
    let status = c.status.clone().unwrap_or_default();
    ContainerSummary {
        id: c.id.unwrap_or_default(),
        name: c
            .names
            .and_then(|n| n.into_iter().next())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: c.image.unwrap_or_default(),
        labels: to_labels(c.labels),
        state: summary_state(c.state, &status),
        created: c.created.unwrap_or_default(),
        status,
    }
}

fn summary_state(state: Option<ContainerSummaryStateEnum>, status: &str) -> ContainerState {
    use ContainerSummaryStateEnum as S;
    match state {
        Some(S::CREATED) => ContainerState::Created,
        Some(S::RUNNING) => ContainerState::Running,
        Some(S::PAUSED) => ContainerState::Paused,
        Some(S::RESTARTING) => ContainerState::Restarting,
        Some(S::REMOVING) => ContainerState::Removing,
        Some(S::EXITED) => ContainerState::Exited(exit_code_from_status(status)),
        Some(S::DEAD) => ContainerState::Dead,
        other => ContainerState::Unknown(format!("{other:?}")),
    }
}

/// "Exited (137) 3 seconds ago" -> 137
pub(super) fn exit_code_from_status(status: &str) -> i64 {
    status
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(code, _)| code.parse().ok())
        .unwrap_or(0)
}

fn inspected_state(state: &bollard::models::ContainerState) -> ContainerState {
    use ContainerStateStatusEnum as S;
    match state.status {
        Some(S::CREATED) => ContainerState::Created,
        Some(S::RUNNING) => ContainerState::Running,
        Some(S::PAUSED) => ContainerState::Paused,
        Some(S::RESTARTING) => ContainerState::Restarting,
        Some(S::REMOVING) => ContainerState::Removing,
        Some(S::EXITED) => ContainerState::Exited(state.exit_code.unwrap_or_default()),
        Some(S::DEAD) => ContainerState::Dead,
        other => ContainerState::Unknown(format!("{other:?}")),
    }
}

/// Docker's `HostConfig.NetworkMode`: "default" and "" are the bridge.
pub(super) fn network_mode(mode: &str) -> NetworkMode {
    match mode {
        "" | "default" | "bridge" => NetworkMode::Bridge,
        "none" => NetworkMode::None,
        "host" => NetworkMode::Host,
        other => match other.strip_prefix("container:") {
            Some(id) => NetworkMode::Container(id.to_string()),
            None => NetworkMode::Named(other.to_string()),
        },
    }
}

/// "no-new-privileges", "no-new-privileges:true" or "=true" set it; ":false" does not.
pub(super) fn sets_no_new_privileges(security_opt: &[String]) -> bool {
    security_opt.iter().any(|o| {
        let (key, value) = o.split_once([':', '=']).unwrap_or((o.as_str(), "true"));
        key == "no-new-privileges" && value != "false"
    })
}

fn mounted_kind(kind: Option<String>) -> MountedKind {
    match kind.as_deref().unwrap_or_default() {
        "bind" => MountedKind::Bind,
        "volume" => MountedKind::Volume,
        "tmpfs" => MountedKind::Tmpfs,
        other => MountedKind::Other(other.to_string()),
    }
}

pub(super) fn details(c: ContainerInspectResponse) -> ContainerDetails {
    let state = c.state.unwrap_or_default();
    let config = c.config.unwrap_or_default();
    let host = c.host_config.unwrap_or_default();
    let mounts = c
        .mounts
        .unwrap_or_default()
        .into_iter()
        .map(|m| MountInfo {
            kind: mounted_kind(m.typ),
            source: m.name.or(m.source).unwrap_or_default(),
            target: m.destination.unwrap_or_default(),
            read_only: !m.rw.unwrap_or(true),
        })
        .collect();
    let networks = c
        .network_settings
        .and_then(|n| n.networks)
        .map(|n| n.into_keys().collect())
        .unwrap_or_default();
    ContainerDetails {
        summary: ContainerSummary {
            id: c.id.unwrap_or_default(),
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image: config.image.clone().unwrap_or_default(),
            labels: to_labels(config.labels),
            state: inspected_state(&state),
            created: 0,
            status: String::new(),
        },
        started_at: state
            .started_at
            .filter(|s| !s.starts_with("0001"))
            .unwrap_or_default(),
        pid: state.pid.unwrap_or_default(),
        mounts,
        network: network_mode(host.network_mode.as_deref().unwrap_or_default()),
        networks,
        user: config.user.unwrap_or_default(),
        env: config.env.unwrap_or_default(),
        cmd: config.cmd.unwrap_or_default(),
        cap_add: host.cap_add.unwrap_or_default(),
        cap_drop: host.cap_drop.unwrap_or_default(),
        no_new_privileges: sets_no_new_privileges(&host.security_opt.unwrap_or_default()),
        privileged: host.privileged.unwrap_or_default(),
        read_only_rootfs: host.readonly_rootfs.unwrap_or_default(),
        pids_limit: host.pids_limit.unwrap_or_default(),
        memory_bytes: host.memory.unwrap_or_default(),
        nano_cpus: host.nano_cpus.unwrap_or_default(),
        init: host.init.unwrap_or_default(),
        tty: config.tty.unwrap_or_default(),
        tmpfs: host.tmpfs.unwrap_or_default().into_iter().collect(),
    }
}

fn to_mount(m: &MountSpec) -> Mount {
    Mount {
        typ: Some(match m.kind {
            MountKind::Bind => MountType::BIND,
            MountKind::Volume | MountKind::VolumeNoCopy => MountType::VOLUME,
        }),
        source: Some(m.source.clone()),
        target: Some(m.target.clone()),
        read_only: Some(m.read_only),
        volume_options: (m.kind == MountKind::VolumeNoCopy).then(|| {
            bollard::models::MountVolumeOptions {
                no_copy: Some(true),
                ..Default::default()
            }
        }),
        ..Default::default()
    }
}

fn network_config(network: &NetworkAttach) -> (Option<String>, Option<NetworkingConfig>) {
    match network {
        NetworkAttach::Default => (None, None),
        NetworkAttach::None => (Some("none".to_string()), None),
        NetworkAttach::Container(id) => (Some(format!("container:{id}")), None),
        NetworkAttach::Network { name, aliases } => (
            Some(name.clone()),
            Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    name.clone(),
                    EndpointSettings {
                        aliases: Some(aliases.clone()).filter(|a| !a.is_empty()),
                        ..Default::default()
                    },
                )])),
            }),
        ),
    }
}

fn host_config(spec: &ContainerSpec, network_mode: Option<String>) -> HostConfig {
    let mut security_opt = Vec::new();
    if spec.no_new_privileges {
        security_opt.push("no-new-privileges:true".to_string());
    }
    HostConfig {
        mounts: Some(spec.mounts.iter().map(to_mount).collect()),
        tmpfs: Some(spec.tmpfs.clone().into_iter().collect())
            .filter(|t: &HashMap<_, _>| !t.is_empty()),
        network_mode,
        cap_drop: spec.cap_drop_all.then(|| vec!["ALL".to_string()]),
        cap_add: Some(spec.cap_add.clone()).filter(|c| !c.is_empty()),
        security_opt: Some(security_opt),
        pids_limit: spec.pids_limit,
        memory: spec.memory_bytes,
        nano_cpus: spec.nano_cpus,
        init: Some(spec.init),
        privileged: Some(false),
        dns: Some(spec.dns.clone()).filter(|d| !d.is_empty()),
        sysctls: Some(spec.sysctls.clone().into_iter().collect())
            .filter(|s: &HashMap<_, _>| !s.is_empty()),
        log_config: spec.log_limit.as_ref().map(|l| HostConfigLogConfig {
            typ: Some("json-file".into()),
            config: Some(HashMap::from([
                ("max-size".to_string(), l.max_size.clone()),
                ("max-file".to_string(), l.max_files.to_string()),
            ])),
        }),
        ..Default::default()
    }
}

pub(super) fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let (network_mode, networking_config) = network_config(&spec.network);
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        cmd: Some(spec.cmd.clone()).filter(|c| !c.is_empty()),
        entrypoint: spec.entrypoint.clone(),
        env: Some(spec.env.clone()),
        user: spec.user.clone(),
        working_dir: spec.working_dir.clone(),
        hostname: spec.hostname.clone(),
        tty: Some(spec.tty),
        open_stdin: Some(spec.open_stdin),
        attach_stdin: Some(false),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        host_config: Some(host_config(spec, network_mode)),
        networking_config,
        ..Default::default()
    }
}

pub(super) fn event_action(action: &str, attrs: &HashMap<String, String>) -> EventAction {
    // Exec events arrive as "exec_start: sh -c ..."; keep only the verb.
    match action.split(':').next().unwrap_or(action) {
        "create" => EventAction::Create,
        "start" => EventAction::Start,
        "die" => EventAction::Die {
            exit_code: attrs.get("exitCode").and_then(|c| c.parse().ok()),
        },
        "stop" => EventAction::Stop,
        "kill" => EventAction::Kill,
        "destroy" => EventAction::Destroy,
        "pause" => EventAction::Pause,
        "unpause" => EventAction::Unpause,
        "oom" => EventAction::Oom,
        other => EventAction::Other(other.to_string()),
    }
}

pub(super) fn event(e: bollard::models::EventMessage) -> EngineEvent {
    let actor = e.actor.unwrap_or_default();
    let attrs = actor.attributes.unwrap_or_default();
    let action = event_action(e.action.as_deref().unwrap_or_default(), &attrs);
    let name = attrs.get("name").cloned().unwrap_or_default();
    EngineEvent {
        action,
        container_id: actor.id.unwrap_or_default(),
        name,
        labels: attrs.into_iter().collect(),
        time_nanos: e.time_nano.unwrap_or_default(),
    }
}

pub(super) fn stats(s: ContainerStatsResponse) -> Stats {
    let cpu = s.cpu_stats.unwrap_or_default();
    let pre = s.precpu_stats.unwrap_or_default();
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or_default()
    };
    let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
    let sys_delta = cpu
        .system_cpu_usage
        .unwrap_or_default()
        .saturating_sub(pre.system_cpu_usage.unwrap_or_default()) as f64;
    let cpus = cpu.online_cpus.unwrap_or(1).max(1) as f64;
    let mem = s.memory_stats.unwrap_or_default();
    let cache = mem
        .stats
        .as_ref()
        .and_then(|m| m.get("cache").or_else(|| m.get("inactive_file")))
        .copied()
        .unwrap_or_default();
    Stats {
        cpu_percent: if sys_delta > 0.0 {
            cpu_delta / sys_delta * cpus * 100.0
        } else {
            0.0
        },
        memory_bytes: mem.usage.unwrap_or_default().saturating_sub(cache),
        memory_limit: mem.limit.unwrap_or_default(),
    }
}

pub(super) fn network_info(
    id: Option<String>,
    name: Option<String>,
    labels: Option<HashMap<String, String>>,
    ipam: Option<Ipam>,
    enable_ipv6: Option<bool>,
) -> NetworkInfo {
    let first = ipam.and_then(|i| i.config).and_then(|c| {
        c.into_iter()
            .find(|c| c.subnet.as_deref().is_some_and(|s| !s.contains(':')))
    });
    NetworkInfo {
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        labels: to_labels(labels),
        gateway: first.as_ref().and_then(|c| c.gateway.clone()),
        subnet: first.and_then(|c| c.subnet),
        enable_ipv6: enable_ipv6.unwrap_or_default(),
    }
}

pub(super) fn to_chunk(out: LogOutput) -> LogChunk {
    let (stream, bytes) = match out {
        LogOutput::StdOut { message } => (LogStream::Stdout, message),
        LogOutput::StdErr { message } => (LogStream::Stderr, message),
        LogOutput::Console { message } => (LogStream::Console, message),
        LogOutput::StdIn { message } => (LogStream::Console, message),
    };
    LogChunk {
        stream,
        bytes: bytes.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exit_codes_from_status() {
        assert_eq!(exit_code_from_status("Exited (137) 3 seconds ago"), 137);
        assert_eq!(exit_code_from_status("Up 2 minutes"), 0);
    }

    #[test]
    fn network_modes_are_typed() {
        assert_eq!(network_mode("default"), NetworkMode::Bridge);
        assert_eq!(network_mode("none"), NetworkMode::None);
        assert_eq!(network_mode("host"), NetworkMode::Host);
        assert_eq!(
            network_mode("container:abc"),
            NetworkMode::Container("abc".into())
        );
        assert_eq!(
            network_mode("cctui-x"),
            NetworkMode::Named("cctui-x".into())
        );
    }

    #[test]
    fn no_new_privileges_is_read_in_every_spelling() {
        let opts = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(sets_no_new_privileges(&opts(&["no-new-privileges:true"])));
        assert!(sets_no_new_privileges(&opts(&["no-new-privileges"])));
        assert!(sets_no_new_privileges(&opts(&[
            "seccomp=x",
            "no-new-privileges=true"
        ])));
        assert!(!sets_no_new_privileges(&opts(&["no-new-privileges:false"])));
        assert!(!sets_no_new_privileges(&opts(&["seccomp=unconfined"])));
    }

    #[test]
    fn label_filters_use_dockers_syntax() {
        assert_eq!(
            label_filters(&LabelFilter::eq("a", "b"))["label"],
            vec!["a=b".to_string()]
        );
        assert_eq!(
            label_filters(&LabelFilter::has("a"))["label"],
            vec!["a".to_string()]
        );
    }
}
