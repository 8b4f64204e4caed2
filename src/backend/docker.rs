//! The Docker engine backend, on bollard. Every call is wrapped in a timeout, and container
//! lifecycle calls share one process-wide limit (Debian's engine 20.10 deadlocks under many
//! concurrent removals: moby/libnetwork#2649).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, ContainerSummaryStateEnum, EndpointSettings,
    HostConfig, Ipam, IpamConfig, Mount, MountType, NetworkConnectRequest, NetworkCreateRequest,
    NetworkingConfig, VolumeCreateRequest,
};
use bollard::query_parameters as qp;
use bollard::{Docker, API_DEFAULT_VERSION};
use futures_util::stream::{BoxStream, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use super::*;

/// At most this many create/start/stop/remove calls run at once in this process.
const LIFECYCLE_PARALLELISM: usize = 4;
static LIFECYCLE: Semaphore = Semaphore::const_new(LIFECYCLE_PARALLELISM);

const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";
const BUILD_TIMEOUT: Duration = Duration::from_secs(45 * 60);

#[derive(Clone)]
pub struct DockerBackend {
    docker: Docker,
    host: String,
    timeout: Duration,
}

/// Where to find the engine: the config's value, then `DOCKER_HOST`, then the platform default.
pub fn choose_host(configured: Option<&str>) -> String {
    choose_host_from(configured, std::env::var("DOCKER_HOST").ok().as_deref())
}

/// `choose_host` with the environment's `DOCKER_HOST` passed in: a blank config value and an
/// empty variable count as unset.
pub fn choose_host_from(configured: Option<&str>, env: Option<&str>) -> String {
    configured
        .filter(|h| !h.trim().is_empty())
        .or(env.filter(|h| !h.is_empty()))
        .unwrap_or(DEFAULT_SOCKET)
        .to_string()
}

fn unreachable(host: &str, detail: impl ToString) -> BackendError {
    let detail = detail.to_string();
    let fix = if detail.contains("ermission denied") {
        "add your user to the `docker` group (then log in again), or run with access to the socket"
            .to_string()
    } else if host.starts_with("unix://") {
        "start Docker (`sudo systemctl start docker`), or point cctui at a running engine with \
         DOCKER_HOST or `engine.host` in config.toml"
            .to_string()
    } else {
        "check that the engine at this address is up, or change DOCKER_HOST / `engine.host`"
            .to_string()
    };
    BackendError::Unreachable {
        host: host.to_string(),
        detail,
        fix,
    }
}

impl DockerBackend {
    /// Connects and negotiates the API version. Fails with one clear message when the engine
    /// cannot be reached.
    pub async fn connect(configured_host: Option<&str>, timeout: Duration) -> Result<Self> {
        let host = choose_host(configured_host);
        let secs = timeout.as_secs().max(1);
        let docker = if let Some(path) = host.strip_prefix("unix://") {
            if !std::path::Path::new(path).exists() {
                return Err(unreachable(&host, "the socket does not exist"));
            }
            Docker::connect_with_unix(&host, secs, API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(&host, secs, API_DEFAULT_VERSION)
        } else {
            return Err(unreachable(
                &host,
                "unsupported address; use unix:///path or tcp://host:port",
            ));
        }
        .map_err(|e| unreachable(&host, e))?;
        let docker = match tokio::time::timeout(timeout, docker.negotiate_version()).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return Err(unreachable(&host, e)),
            Err(_) => return Err(unreachable(&host, format!("no answer within {secs} s"))),
        };
        Ok(DockerBackend {
            docker,
            host,
            timeout,
        })
    }

    async fn timed<T, E: std::fmt::Display>(
        &self,
        op: &'static str,
        fut: impl Future<Output = std::result::Result<T, E>>,
    ) -> Result<T> {
        timed(op, self.timeout, fut).await
    }

    async fn lifecycle<T, E: std::fmt::Display>(
        &self,
        op: &'static str,
        fut: impl Future<Output = std::result::Result<T, E>>,
    ) -> Result<T> {
        // Waiting for a permit counts against the timeout too: a hung engine shows as a timeout.
        let timeout = self.timeout;
        timed(op, timeout, async {
            let _permit = LIFECYCLE.acquire().await.expect("semaphore never closes");
            fut.await
        })
        .await
    }
}

async fn timed<T, E: std::fmt::Display>(
    op: &'static str,
    timeout: Duration,
    fut: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(op, e.to_string())),
        Err(_) => Err(BackendError::Timeout {
            op,
            secs: timeout.as_secs(),
        }),
    }
}

/// Turns bollard's error text into our kinds. Status codes appear in its messages.
fn classify(op: &'static str, detail: String) -> BackendError {
    if detail.contains("status code 404") || detail.contains("No such") {
        BackendError::NotFound(detail)
    } else if detail.contains("status code 409") {
        BackendError::Conflict(detail)
    } else if detail.contains("Connection refused")
        || detail.contains("client error (Connect)")
        || detail.contains("No such file or directory")
        || detail.contains("error trying to connect")
    {
        BackendError::Engine {
            op,
            detail: format!("the engine went away: {detail}"),
        }
    } else {
        BackendError::Engine { op, detail }
    }
}

fn to_labels(map: Option<HashMap<String, String>>) -> Labels {
    map.unwrap_or_default().into_iter().collect()
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
fn exit_code_from_status(status: &str) -> i64 {
    status
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(code, _)| code.parse().ok())
        .unwrap_or(0)
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

fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let (network_mode, networking_config) = match &spec.network {
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
    };
    let mut security_opt = Vec::new();
    if spec.no_new_privileges {
        security_opt.push("no-new-privileges:true".to_string());
    }
    let host_config = HostConfig {
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
        ..Default::default()
    };
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
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

fn event_action(action: &str, attrs: &HashMap<String, String>) -> EventAction {
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

/// Parses "Step 3/9 : RUN ..." from the classic builder's stream.
fn parse_step(line: &str) -> Option<BuildEvent> {
    let rest = line.strip_prefix("Step ")?;
    let (frac, text) = rest.split_once(" : ")?;
    let (index, total) = frac.split_once('/')?;
    Some(BuildEvent::Step {
        index: index.trim().parse().ok()?,
        total: total.trim().parse().ok()?,
        text: text.trim().to_string(),
    })
}

impl Backend for DockerBackend {
    fn host(&self) -> &str {
        &self.host
    }

    async fn info(&self) -> Result<EngineInfo> {
        let v = self.timed("version", self.docker.version()).await?;
        Ok(EngineInfo {
            host: self.host.clone(),
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
        })
    }

    async fn list_containers(&self, filter: &LabelFilter) -> Result<Vec<ContainerSummary>> {
        let options = qp::ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![filter.as_docker()],
            )])),
            ..Default::default()
        };
        let list = self
            .timed(
                "list containers",
                self.docker.list_containers(Some(options)),
            )
            .await?;
        Ok(list
            .into_iter()
            .map(|c| {
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
            })
            .collect())
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerDetails> {
        let c = self
            .timed(
                "inspect container",
                self.docker
                    .inspect_container(id, None::<qp::InspectContainerOptions>),
            )
            .await?;
        let state = c.state.unwrap_or_default();
        let config = c.config.unwrap_or_default();
        let host = c.host_config.unwrap_or_default();
        use ContainerStateStatusEnum as S;
        let container_state = match state.status {
            Some(S::CREATED) => ContainerState::Created,
            Some(S::RUNNING) => ContainerState::Running,
            Some(S::PAUSED) => ContainerState::Paused,
            Some(S::RESTARTING) => ContainerState::Restarting,
            Some(S::REMOVING) => ContainerState::Removing,
            Some(S::EXITED) => ContainerState::Exited(state.exit_code.unwrap_or_default()),
            Some(S::DEAD) => ContainerState::Dead,
            other => ContainerState::Unknown(format!("{other:?}")),
        };
        let mounts = c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(|m| MountInfo {
                kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
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
        Ok(ContainerDetails {
            summary: ContainerSummary {
                id: c.id.unwrap_or_default(),
                name: c
                    .name
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                image: config.image.clone().unwrap_or_default(),
                labels: to_labels(config.labels),
                state: container_state,
                created: 0,
                status: String::new(),
            },
            started_at: state
                .started_at
                .filter(|s| !s.starts_with("0001"))
                .unwrap_or_default(),
            pid: state.pid.unwrap_or_default(),
            mounts,
            network_mode: host.network_mode.unwrap_or_default(),
            networks,
            user: config.user.unwrap_or_default(),
            env: config.env.unwrap_or_default(),
            cmd: config.cmd.unwrap_or_default(),
            cap_add: host.cap_add.unwrap_or_default(),
            cap_drop: host.cap_drop.unwrap_or_default(),
            security_opt: host.security_opt.unwrap_or_default(),
            pids_limit: host.pids_limit.unwrap_or_default(),
            memory_bytes: host.memory.unwrap_or_default(),
            nano_cpus: host.nano_cpus.unwrap_or_default(),
            init: host.init.unwrap_or_default(),
            tty: config.tty.unwrap_or_default(),
            tmpfs: host.tmpfs.unwrap_or_default().into_iter().collect(),
        })
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let options = qp::CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let body = create_body(spec);
        let created = self
            .lifecycle(
                "create container",
                self.docker.create_container(Some(options), body),
            )
            .await?;
        Ok(created.id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.lifecycle(
            "start container",
            self.docker
                .start_container(id, None::<qp::StartContainerOptions>),
        )
        .await
    }

    async fn stop_container(&self, id: &str, grace: Duration) -> Result<()> {
        let options = qp::StopContainerOptions {
            t: Some(grace.as_secs() as i32),
            ..Default::default()
        };
        // The engine waits `grace` before killing; our timeout must cover that.
        let limit = self.timeout + grace;
        timed("stop container", limit, async {
            let _permit = LIFECYCLE.acquire().await.expect("semaphore never closes");
            self.docker.stop_container(id, Some(options)).await
        })
        .await
    }

    async fn kill_container(&self, id: &str) -> Result<()> {
        self.lifecycle(
            "kill container",
            self.docker
                .kill_container(id, None::<qp::KillContainerOptions>),
        )
        .await
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let options = qp::RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        self.lifecycle(
            "remove container",
            self.docker.remove_container(id, Some(options)),
        )
        .await
    }

    async fn stats(&self, id: &str) -> Result<Stats> {
        let options = qp::StatsOptions {
            stream: false,
            one_shot: false,
        };
        let mut stream = self.docker.stats(id, Some(options));
        let s = match tokio::time::timeout(self.timeout, stream.next()).await {
            Ok(Some(Ok(s))) => s,
            Ok(Some(Err(e))) => return Err(classify("stats", e.to_string())),
            Ok(None) => return Err(BackendError::NotFound(id.to_string())),
            Err(_) => {
                return Err(BackendError::Timeout {
                    op: "stats",
                    secs: self.timeout.as_secs(),
                })
            }
        };
        let cpu = s.cpu_stats.unwrap_or_default();
        let pre = s.precpu_stats.unwrap_or_default();
        let total = |c: &bollard::models::ContainerCpuStats| {
            c.cpu_usage
                .as_ref()
                .and_then(|u| u.total_usage)
                .unwrap_or_default()
        };
        let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
        let sys_delta =
            cpu.system_cpu_usage
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
        Ok(Stats {
            cpu_percent: if sys_delta > 0.0 {
                cpu_delta / sys_delta * cpus * 100.0
            } else {
                0.0
            },
            memory_bytes: mem.usage.unwrap_or_default().saturating_sub(cache),
            memory_limit: mem.limit.unwrap_or_default(),
        })
    }

    async fn resize_tty(&self, id: &str, rows: u16, cols: u16) -> Result<()> {
        let options = qp::ResizeContainerTTYOptions {
            h: rows as i32,
            w: cols as i32,
        };
        self.timed("resize tty", self.docker.resize_container_tty(id, options))
            .await
    }

    fn events(&self, filter: &LabelFilter) -> BoxStream<'static, Result<EngineEvent>> {
        // Also replay from the start of this second: the subscription below is made on
        // another task, and events in between must not be lost.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let options = qp::EventsOptions {
            since: Some(now.to_string()),
            filters: Some(HashMap::from([
                ("type".to_string(), vec!["container".to_string()]),
                ("label".to_string(), vec![filter.as_docker()]),
            ])),
            ..Default::default()
        };
        // Subscribe now, not at first poll, so that no event between this call and the
        // caller's first read is lost.
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let mut upstream = self.docker.events(Some(options));
        tokio::spawn(async move {
            while let Some(item) = upstream.next().await {
                if tx.send(item).await.is_err() {
                    break;
                }
            }
        });
        stream_from(rx)
            .map(|item| {
                let e = item.map_err(|e| classify("events", e.to_string()))?;
                let actor = e.actor.unwrap_or_default();
                let attrs = actor.attributes.unwrap_or_default();
                let action = event_action(e.action.as_deref().unwrap_or_default(), &attrs);
                let name = attrs.get("name").cloned().unwrap_or_default();
                Ok(EngineEvent {
                    action,
                    container_id: actor.id.unwrap_or_default(),
                    name,
                    labels: attrs.into_iter().collect(),
                    time_nanos: e.time_nano.unwrap_or_default(),
                })
            })
            .boxed()
    }

    fn logs(&self, id: &str, tail: usize, follow: bool) -> BoxStream<'static, Result<LogChunk>> {
        let options = qp::LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        self.docker
            .logs(id, Some(options))
            .map(|item| {
                let out = item.map_err(|e| classify("logs", e.to_string()))?;
                Ok(to_chunk(out))
            })
            .boxed()
    }

    async fn exec(&self, id: &str, spec: &ExecSpec) -> Result<ExecOutput> {
        let create = CreateExecOptions {
            cmd: Some(spec.cmd.clone()),
            user: spec.user.clone(),
            env: Some(spec.env.clone()).filter(|e| !e.is_empty()),
            working_dir: spec.working_dir.clone(),
            attach_stdin: Some(spec.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            ..Default::default()
        };
        let timeout = self.timeout;
        timed("exec", timeout, async {
            let exec = self.docker.create_exec(id, create).await?;
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            if let StartExecResults::Attached {
                mut output,
                mut input,
            } = self.docker.start_exec(&exec.id, None).await?
            {
                if let Some(data) = &spec.stdin {
                    input.write_all(data).await.ok();
                    input.shutdown().await.ok();
                }
                drop(input);
                while let Some(chunk) = output.next().await {
                    match chunk? {
                        LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            stdout.extend_from_slice(&message)
                        }
                        LogOutput::StdIn { .. } => {}
                    }
                }
            }
            let inspected = self.docker.inspect_exec(&exec.id).await?;
            Ok::<_, bollard::errors::Error>(ExecOutput {
                exit_code: inspected.exit_code.unwrap_or(-1),
                stdout,
                stderr,
            })
        })
        .await
    }

    async fn attach(&self, id: &str) -> Result<Attachment> {
        let options = qp::AttachContainerOptions {
            stdin: true,
            stdout: true,
            stderr: true,
            stream: true,
            logs: false,
            // cctui handles its own detach key; make Docker's practically untypeable so that
            // Ctrl-P and friends reach claude.
            detach_keys: Some("ctrl-@,ctrl-^,ctrl-@,ctrl-^".to_string()),
        };
        let attached = self
            .timed("attach", self.docker.attach_container(id, Some(options)))
            .await?;
        let output = attached
            .output
            .map(|item| {
                item.map(|o| to_chunk(o).bytes)
                    .map_err(|e| classify("attach", e.to_string()))
            })
            .boxed();
        Ok(Attachment {
            output,
            input: attached.input,
        })
    }

    fn build_image(&self, spec: BuildSpec) -> BoxStream<'static, Result<BuildEvent>> {
        let options = qp::BuildImageOptions {
            dockerfile: spec.dockerfile.clone(),
            t: Some(spec.tag.clone()),
            nocache: spec.no_cache,
            pull: spec.pull.then(|| "1".to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(spec.build_args.clone().into_iter().collect()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let docker = self.docker.clone();
        let context = bytes::Bytes::from(spec.context_tar);
        async_stream_build(docker, options, context).boxed()
    }

    async fn inspect_image(&self, tag: &str) -> Result<Option<ImageInfo>> {
        match self
            .timed("inspect image", self.docker.inspect_image(tag))
            .await
        {
            Ok(i) => {
                let config = i.config.unwrap_or_default();
                Ok(Some(ImageInfo {
                    id: i.id.unwrap_or_default(),
                    tags: i.repo_tags.unwrap_or_default(),
                    labels: to_labels(config.labels),
                    env: config.env.unwrap_or_default(),
                    size: i.size.unwrap_or_default(),
                }))
            }
            Err(BackendError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn image_history(&self, tag: &str) -> Result<Vec<String>> {
        let h = self
            .timed("image history", self.docker.image_history(tag))
            .await?;
        Ok(h.into_iter().map(|l| l.created_by).collect())
    }

    async fn remove_image(&self, tag: &str) -> Result<()> {
        self.timed(
            "remove image",
            self.docker
                .remove_image(tag, None::<qp::RemoveImageOptions>, None),
        )
        .await
        .map(|_| ())
    }

    async fn create_volume(&self, name: &str, labels: &Labels) -> Result<()> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.timed("create volume", self.docker.create_volume(req))
            .await
            .map(|_| ())
    }

    async fn inspect_volume(&self, name: &str) -> Result<Option<VolumeInfo>> {
        match self
            .timed("inspect volume", self.docker.inspect_volume(name))
            .await
        {
            Ok(v) => Ok(Some(VolumeInfo {
                name: v.name,
                labels: v.labels.into_iter().collect(),
            })),
            Err(BackendError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_volumes(&self, filter: &LabelFilter) -> Result<Vec<VolumeInfo>> {
        let options = qp::ListVolumesOptions {
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![filter.as_docker()],
            )])),
        };
        let list = self
            .timed("list volumes", self.docker.list_volumes(Some(options)))
            .await?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeInfo {
                name: v.name,
                labels: v.labels.into_iter().collect(),
            })
            .collect())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.timed(
            "remove volume",
            self.docker
                .remove_volume(name, None::<qp::RemoveVolumeOptions>),
        )
        .await
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<String> {
        let ipam = spec.ipv6_subnet.as_ref().map(|subnet| Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(subnet.clone()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let req = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: Some("bridge".to_string()),
            internal: Some(spec.internal),
            enable_ipv6: Some(spec.enable_ipv6),
            labels: Some(spec.labels.clone().into_iter().collect()),
            ipam,
            ..Default::default()
        };
        let created = self
            .lifecycle("create network", self.docker.create_network(req))
            .await?;
        Ok(created.id)
    }

    async fn inspect_network(&self, name: &str) -> Result<Option<NetworkInfo>> {
        match self
            .timed(
                "inspect network",
                self.docker
                    .inspect_network(name, None::<qp::InspectNetworkOptions>),
            )
            .await
        {
            Ok(n) => Ok(Some(network_info(
                n.id,
                n.name,
                n.labels,
                n.ipam,
                n.enable_ipv6,
            ))),
            Err(BackendError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_networks(&self, filter: &LabelFilter) -> Result<Vec<NetworkInfo>> {
        let options = qp::ListNetworksOptions {
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![filter.as_docker()],
            )])),
        };
        let list = self
            .timed("list networks", self.docker.list_networks(Some(options)))
            .await?;
        Ok(list
            .into_iter()
            .map(|n| network_info(n.id, n.name, n.labels, n.ipam, n.enable_ipv6))
            .collect())
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
    ) -> Result<()> {
        let req = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.to_vec()).filter(|a| !a.is_empty()),
                ..Default::default()
            }),
        };
        self.lifecycle("connect network", self.docker.connect_network(network, req))
            .await
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.lifecycle("remove network", self.docker.remove_network(name))
            .await
    }
}

fn network_info(
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

fn to_chunk(out: LogOutput) -> LogChunk {
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

/// Maps bollard's build stream to ours, with one overall timeout.
fn async_stream_build(
    docker: Docker,
    options: qp::BuildImageOptions,
    context: bytes::Bytes,
) -> impl futures_util::Stream<Item = Result<BuildEvent>> + Send + 'static {
    let deadline = tokio::time::Instant::now() + BUILD_TIMEOUT;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<BuildEvent>>(64);
    tokio::spawn(async move {
        let mut stream = docker.build_image(options, None, Some(bollard::body_full(context)));
        let mut image_id = None;
        loop {
            // A reader that gave up (a stalled build) ends the request, which cancels the
            // build in the engine and removes its running step's container.
            let next = tokio::select! {
                _ = tx.closed() => return,
                next = tokio::time::timeout_at(deadline, stream.next()) => next,
            };
            let item = match next {
                Err(_) => {
                    let _ = tx
                        .send(Err(BackendError::Timeout {
                            op: "build image",
                            secs: BUILD_TIMEOUT.as_secs(),
                        }))
                        .await;
                    return;
                }
                Ok(None) => break,
                Ok(Some(item)) => item,
            };
            let info = match item {
                Ok(info) => info,
                Err(e) => {
                    let _ = tx.send(Err(classify("build image", e.to_string()))).await;
                    return;
                }
            };
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                let _ = tx
                    .send(Err(BackendError::Engine {
                        op: "build image",
                        detail,
                    }))
                    .await;
                return;
            }
            if let Some(id) = info.aux.and_then(|a| a.id) {
                image_id = Some(id);
            }
            if let Some(text) = info.stream {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let event =
                        parse_step(line).unwrap_or_else(|| BuildEvent::Output(line.to_string()));
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx
            .send(Ok(BuildEvent::Done {
                image_id: image_id.unwrap_or_default(),
            }))
            .await;
    });
    stream_from(rx)
}

fn stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_build_steps() {
        assert_eq!(
            parse_step("Step 3/9 : RUN apt-get update"),
            Some(BuildEvent::Step {
                index: 3,
                total: 9,
                text: "RUN apt-get update".into()
            })
        );
        assert_eq!(parse_step(" ---> Running in abc"), None);
    }

    #[test]
    fn reads_exit_codes_from_status() {
        assert_eq!(exit_code_from_status("Exited (137) 3 seconds ago"), 137);
        assert_eq!(exit_code_from_status("Up 2 minutes"), 0);
    }

    #[test]
    fn host_order_is_config_then_env_then_default() {
        let (cfg, env) = (Some("tcp://config:1"), Some("unix:///env.sock"));
        assert_eq!(choose_host_from(cfg, env), "tcp://config:1");
        assert_eq!(choose_host_from(None, env), "unix:///env.sock");
        assert_eq!(choose_host_from(Some("  "), env), "unix:///env.sock");
        // Docker's own default, as the docker CLI uses it.
        assert_eq!(choose_host_from(None, None), "unix:///var/run/docker.sock");
        assert_eq!(
            choose_host_from(Some(""), Some("")),
            "unix:///var/run/docker.sock"
        );
        assert_eq!(choose_host_from(cfg, None), "tcp://config:1");
    }
}
