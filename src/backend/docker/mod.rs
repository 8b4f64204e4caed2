//! The Docker engine backend, on bollard. Every call is wrapped in a timeout, and container
//! lifecycle calls share one process-wide limit (Debian's engine 20.10 deadlocks under many
//! concurrent removals: moby/libnetwork#2649).

mod build;
mod connect;
mod convert;
mod errors;
mod exec;
mod sandbox;
mod ssh;

use std::future::Future;
use std::time::Duration;

use bollard::models::{
    EndpointSettings, Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest,
    VolumeCreateRequest,
};
use bollard::query_parameters as qp;
use bollard::Docker;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::sync::Semaphore;

use super::*;
use convert::{label_filters, network_info, to_chunk, to_labels};
use errors::{classify, transport_cause, unreachable};

/// At most this many create/start/stop/remove calls run at once in this process.
const LIFECYCLE_PARALLELISM: usize = 4;
static LIFECYCLE: Semaphore = Semaphore::const_new(LIFECYCLE_PARALLELISM);

const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

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

impl DockerBackend {
    /// Connects and negotiates the API version. Fails with one clear message when the engine
    /// cannot be reached.
    pub async fn connect(configured_host: Option<&str>, timeout: Duration) -> Result<Self> {
        Self::connect_to(&EngineAddress::plain(choose_host(configured_host)), timeout).await
    }

    /// Connects to one engine of several: a unix socket, `tcp://` (with TLS when the address
    /// has TLS files), or `ssh://`.
    pub async fn connect_to(address: &EngineAddress, timeout: Duration) -> Result<Self> {
        let host = address.host.clone();
        let secs = timeout.as_secs().max(1);
        if let Some(tls) = &address.tls {
            connect::check_tls_files(&host, tls)?;
        }
        let docker = connect::client(address, secs)?;
        let docker = match tokio::time::timeout(timeout, docker.negotiate_version()).await {
            Ok(Ok(d)) => d,
            Ok(Err(bollard::errors::Error::RequestTimeoutError)) | Err(_) => {
                return Err(unreachable(&host, format!("no answer within {secs} s")))
            }
            Ok(Err(e)) => return Err(connect::first_call_failed(address, transport_cause(&e))),
        };
        Ok(DockerBackend {
            docker,
            host,
            timeout,
        })
    }

    fn classify(&self, op: &'static str) -> impl Fn(bollard::errors::Error) -> BackendError + '_ {
        move |e| classify(op, &self.host, self.timeout, e)
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = std::result::Result<T, bollard::errors::Error>>,
    ) -> Result<T> {
        self.timed_for(op, self.timeout, fut).await
    }

    async fn timed_for<T>(
        &self,
        op: &'static str,
        timeout: Duration,
        fut: impl Future<Output = std::result::Result<T, bollard::errors::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(op, &self.host, timeout, e)),
            Err(_) => Err(BackendError::Timeout {
                op,
                secs: timeout.as_secs(),
            }),
        }
    }

    /// A lifecycle call: waiting for a permit counts against the timeout too, so that a hung
    /// engine shows as a timeout.
    async fn lifecycle<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = std::result::Result<T, bollard::errors::Error>>,
    ) -> Result<T> {
        self.lifecycle_for(op, self.timeout, fut).await
    }

    async fn lifecycle_for<T>(
        &self,
        op: &'static str,
        timeout: Duration,
        fut: impl Future<Output = std::result::Result<T, bollard::errors::Error>>,
    ) -> Result<T> {
        self.timed_for(op, timeout, async {
            let _permit = LIFECYCLE.acquire().await.expect("semaphore never closes");
            fut.await
        })
        .await
    }

    /// Inspects, with a missing object read as `None`.
    async fn inspect_opt<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = std::result::Result<T, bollard::errors::Error>>,
    ) -> Result<Option<T>> {
        match self.timed(op, fut).await {
            Ok(v) => Ok(Some(v)),
            Err(BackendError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
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
            filters: Some(label_filters(filter)),
            ..Default::default()
        };
        let list = self
            .timed(
                "list containers",
                self.docker.list_containers(Some(options)),
            )
            .await?;
        Ok(list.into_iter().map(convert::summary).collect())
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerDetails> {
        let c = self
            .timed(
                "inspect container",
                self.docker
                    .inspect_container(id, None::<qp::InspectContainerOptions>),
            )
            .await?;
        Ok(convert::details(c))
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let options = qp::CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let body = convert::create_body(spec);
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
        self.lifecycle_for(
            "stop container",
            limit,
            self.docker.stop_container(id, Some(options)),
        )
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
        let next = async {
            match stream.next().await {
                Some(item) => item.map(Some),
                None => Ok(None),
            }
        };
        match self.timed("stats", next).await? {
            Some(s) => Ok(convert::stats(s)),
            None => Err(BackendError::NotFound(id.to_string())),
        }
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
        let mut filters = label_filters(filter);
        filters.insert("type".to_string(), vec!["container".to_string()]);
        let options = qp::EventsOptions {
            since: Some(now.to_string()),
            filters: Some(filters),
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
        let this = self.clone();
        build::stream_from(rx)
            .map(move |item| item.map(convert::event).map_err(this.classify("events")))
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
        let this = self.clone();
        self.docker
            .logs(id, Some(options))
            .map(move |item| item.map(to_chunk).map_err(this.classify("logs")))
            .boxed()
    }

    async fn exec(&self, id: &str, spec: &ExecSpec) -> Result<ExecOutput> {
        self.timed("exec", exec::run(&self.docker, id, spec)).await
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
        let this = self.clone();
        let output = attached
            .output
            .map(move |item| {
                item.map(|o| to_chunk(o).bytes)
                    .map_err(this.classify("attach"))
            })
            .boxed();
        Ok(Attachment {
            output,
            input: attached.input,
        })
    }

    async fn exec_session(&self, id: &str, spec: &ExecSpec, tty: bool) -> Result<ExecSession> {
        exec::session(self, id, spec, tty).await
    }

    async fn resize_exec(&self, exec_id: &str, rows: u16, cols: u16) -> Result<()> {
        let options = bollard::exec::ResizeExecOptions {
            height: rows,
            width: cols,
        };
        self.timed("resize exec", self.docker.resize_exec(exec_id, options))
            .await
    }

    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>> {
        let inspected = self
            .timed("inspect exec", self.docker.inspect_exec(exec_id))
            .await?;
        Ok(match inspected.running {
            Some(true) => None,
            _ => inspected.exit_code,
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
            networkmode: spec.network_mode.clone(),
            ..Default::default()
        };
        let docker = self.docker.clone();
        let context = bytes::Bytes::from(spec.context_tar);
        build::build_stream(docker, self.host.clone(), options, context).boxed()
    }

    async fn inspect_image(&self, tag: &str) -> Result<Option<ImageInfo>> {
        let image = self
            .inspect_opt("inspect image", self.docker.inspect_image(tag))
            .await?;
        Ok(image.map(|i| {
            let config = i.config.unwrap_or_default();
            ImageInfo {
                id: i.id.unwrap_or_default(),
                tags: i.repo_tags.unwrap_or_default(),
                labels: to_labels(config.labels),
                env: config.env.unwrap_or_default(),
                size: i.size.unwrap_or_default(),
            }
        }))
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
        let volume = self
            .inspect_opt("inspect volume", self.docker.inspect_volume(name))
            .await?;
        Ok(volume.map(|v| VolumeInfo {
            name: v.name,
            labels: v.labels.into_iter().collect(),
        }))
    }

    async fn list_volumes(&self, filter: &LabelFilter) -> Result<Vec<VolumeInfo>> {
        let options = qp::ListVolumesOptions {
            filters: Some(label_filters(filter)),
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
        let network = self
            .inspect_opt(
                "inspect network",
                self.docker
                    .inspect_network(name, None::<qp::InspectNetworkOptions>),
            )
            .await?;
        Ok(network.map(|n| network_info(n.id, n.name, n.labels, n.ipam, n.enable_ipv6)))
    }

    async fn list_networks(&self, filter: &LabelFilter) -> Result<Vec<NetworkInfo>> {
        let options = qp::ListNetworksOptions {
            filters: Some(label_filters(filter)),
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

    async fn create_sandbox<S: SandboxSetup>(
        &self,
        spec: &SandboxSpec,
        setup: &mut S,
    ) -> std::result::Result<SandboxIds, S::Error> {
        sandbox::create(self, spec, setup).await
    }

    async fn remove_sandbox(&self, parts: &SandboxParts) -> Result<SandboxParts> {
        sandbox::remove(self, parts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
