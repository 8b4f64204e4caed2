//! The engine behind cctui, in cctui's own types. Nothing from bollard crosses this module's
//! public surface, so that another backend can be held to the same contract tests.

mod address;
mod docker;
mod sandbox;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use futures_util::stream::BoxStream;

pub use address::{EngineAddress, TlsFiles};
pub use docker::{choose_host, choose_host_from, DockerBackend};
pub use sandbox::{
    SandboxIds, SandboxParts, SandboxSetup, SandboxSpec, VolumeLifetime, VolumeSpec,
};

/// Labels cctui puts on everything it creates.
pub mod labels {
    pub const SESSION: &str = "cctui.session";
    pub const PROJECT: &str = "cctui.project";
    pub const ROLE: &str = "cctui.role";
    pub const PROFILES: &str = "cctui.profiles";
    pub const FIREWALL: &str = "cctui.firewall";
    pub const NETWORKS: &str = "cctui.networks";
    pub const IMAGE_HASH: &str = "cctui.image-hash";
    /// Set by the test suite on everything it makes, so that cleanup can find it.
    pub const TEST_RUN: &str = "cctui.test";
}

pub type Labels = BTreeMap<String, String>;

/// What went wrong in an engine call, sorted by the engine's answer (its HTTP status) or by
/// the lack of one. Callers match on the kind, never on the text.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// No answer at the transport level: nothing listens, the socket is missing, or access
    /// is denied. `detail` is the root cause in a few words ("connection refused").
    #[error("cannot reach the Docker engine at {host}: {detail}\n  fix: {fix}")]
    Unreachable {
        host: String,
        detail: String,
        fix: String,
    },
    /// The address itself is wrong: a TLS or key file missing, certificates that do not fit,
    /// a scheme cctui does not speak. The user's to fix: exit code 2.
    #[error("the Docker engine at {host} is set up wrong: {detail}\n  fix: {fix}")]
    Misconfigured {
        host: String,
        detail: String,
        fix: String,
    },
    /// 404: no such container, image, volume or network.
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: the name is taken, or the object is in use.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the engine did not answer `{op}` within {secs} s; it may be hung (see the deadlock note in the README)")]
    Timeout { op: &'static str, secs: u64 },
    /// Any other answer (a failed build step, a 500), with the engine's status if it gave one.
    #[error("engine error during `{op}`: {detail}")]
    Engine {
        op: &'static str,
        status: Option<u16>,
        detail: String,
    },
}

impl BackendError {
    /// The error on one line, for lists of engines and errors that name one.
    pub fn one_line(&self) -> String {
        match self {
            BackendError::Unreachable { host, detail, fix } => {
                format!("cannot reach {host}: {detail}; fix: {fix}")
            }
            BackendError::Misconfigured { host, detail, fix } => {
                format!("{host}: {detail}; fix: {fix}")
            }
            other => other.to_string().replace('\n', " "),
        }
    }
}

pub type Result<T, E = BackendError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited(i64),
    Dead,
    Unknown(String),
}

impl ContainerState {
    pub fn is_running(&self) -> bool {
        matches!(self, ContainerState::Running | ContainerState::Restarting)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: Labels,
    pub state: ContainerState,
    /// Unix seconds.
    pub created: i64,
    /// The engine's own words, e.g. "Up 5 minutes".
    pub status: String,
}

/// What kind of mount a container has, as inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountedKind {
    Bind,
    Volume,
    Tmpfs,
    Other(String),
}

impl std::fmt::Display for MountedKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            MountedKind::Bind => "bind",
            MountedKind::Volume => "volume",
            MountedKind::Tmpfs => "tmpfs",
            MountedKind::Other(k) => k,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub kind: MountedKind,
    /// Host path for binds, volume name for volumes, empty for tmpfs.
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

/// The network a container was created with, as inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// The engine's default bridge.
    Bridge,
    /// Shares this container's (id or name) network namespace.
    Container(String),
    /// Loopback only.
    None,
    /// The host's own network: never used by cctui, shown so that it stands out.
    Host,
    /// A named network.
    Named(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerDetails {
    pub summary: ContainerSummary,
    /// RFC 3339, empty when never started.
    pub started_at: String,
    pub pid: i64,
    pub mounts: Vec<MountInfo>,
    pub network: NetworkMode,
    /// Every network the container is attached to, by name.
    pub networks: Vec<String>,
    pub user: String,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    pub privileged: bool,
    pub read_only_rootfs: bool,
    pub pids_limit: i64,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub init: bool,
    pub tty: bool,
    pub tmpfs: BTreeMap<String, String>,
}

impl ContainerDetails {
    /// Every capability dropped, as cctui's hardened specs ask.
    pub fn drops_all_caps(&self) -> bool {
        self.cap_drop.iter().any(|c| c.eq_ignore_ascii_case("ALL"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Volume,
    /// A volume the engine never fills from the image at the mount point, nor gives that
    /// folder's owner (a session's checkout, owned by the agent).
    VolumeNoCopy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub kind: MountKind,
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkAttach {
    /// The engine's default bridge.
    Default,
    /// A named network, reachable under these aliases.
    Network { name: String, aliases: Vec<String> },
    /// Share another container's network namespace.
    Container(String),
    /// Loopback only.
    None,
}

/// Everything needed to create a container. Hardening fields are explicit so that callers
/// have to decide on each.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub labels: Labels,
    pub cmd: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    pub mounts: Vec<MountSpec>,
    /// Path -> mount options, e.g. "rw,nosuid,nodev,size=1m,mode=1777".
    pub tmpfs: BTreeMap<String, String>,
    pub network: NetworkAttach,
    pub cap_drop_all: bool,
    pub cap_add: Vec<String>,
    pub no_new_privileges: bool,
    pub pids_limit: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub init: bool,
    pub tty: bool,
    pub open_stdin: bool,
    pub dns: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    /// The engine's log of the container's output, rotated: None leaves the engine's own
    /// setting (unbounded on Docker's default).
    pub log_limit: Option<LogLimit>,
}

/// The container's log kept by the engine (`json-file`, `max-size` x `max-file`): what
/// the agent prints cannot fill the host's disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLimit {
    /// Docker's size syntax: `10m`, `512k`.
    pub max_size: String,
    pub max_files: u32,
}

impl Default for LogLimit {
    fn default() -> Self {
        LogLimit {
            max_size: "10m".into(),
            max_files: 3,
        }
    }
}

impl ContainerSpec {
    /// A spec with every hardening switch on; callers loosen what they must, visibly.
    pub fn hardened(name: impl Into<String>, image: impl Into<String>) -> Self {
        ContainerSpec {
            name: name.into(),
            image: image.into(),
            labels: Labels::new(),
            cmd: Vec::new(),
            entrypoint: None,
            env: Vec::new(),
            user: None,
            working_dir: None,
            hostname: None,
            mounts: Vec::new(),
            tmpfs: BTreeMap::new(),
            network: NetworkAttach::Default,
            cap_drop_all: true,
            cap_add: Vec::new(),
            no_new_privileges: true,
            pids_limit: Some(512),
            memory_bytes: None,
            nano_cpus: None,
            init: true,
            tty: false,
            open_stdin: false,
            dns: Vec::new(),
            sysctls: BTreeMap::new(),
            log_limit: Some(LogLimit::default()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    Create,
    Start,
    Die { exit_code: Option<i64> },
    Stop,
    Kill,
    Destroy,
    Pause,
    Unpause,
    Oom,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    pub action: EventAction,
    pub container_id: String,
    pub name: String,
    pub labels: Labels,
    /// Unix nanoseconds.
    pub time_nanos: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
    /// A tty container has one merged stream.
    Console,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    pub stream: LogStream,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    pub cmd: Vec<String>,
    pub user: Option<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    /// Written to the process's stdin, which is then closed. Secrets travel this way: never
    /// in argv or the environment.
    pub stdin: Option<Vec<u8>>,
    /// Stdout kept; None: [`crate::bounded::EXEC_STDOUT`]. The rest is counted in
    /// `ExecOutput::stdout_cut`.
    pub stdout_cap: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    /// Stdout bytes past the cap, dropped.
    pub stdout_cut: u64,
    /// At most [`crate::bounded::STDERR`] bytes.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// A tar archive of the build context.
    pub context_tar: Vec<u8>,
    pub dockerfile: String,
    pub tag: String,
    pub build_args: BTreeMap<String, String>,
    pub labels: Labels,
    pub no_cache: bool,
    pub pull: bool,
    /// The RUN steps' network (`container:<id>` for a fenced build); None is the engine's.
    pub network_mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// "Step 3/9 : RUN apt-get ..."
    Step {
        index: u32,
        total: u32,
        text: String,
    },
    Output(String),
    Done {
        image_id: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub id: String,
    pub tags: Vec<String>,
    pub labels: Labels,
    pub env: Vec<String>,
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: Labels,
}

#[derive(Debug, Clone, Default)]
pub struct NetworkSpec {
    pub name: String,
    pub labels: Labels,
    pub internal: bool,
    pub enable_ipv6: bool,
    /// IPv6 subnet, needed with enable_ipv6 on engines without a default pool.
    pub ipv6_subnet: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub labels: Labels,
    pub gateway: Option<String>,
    pub subnet: Option<String>,
    pub enable_ipv6: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    pub host: String,
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub memory_limit: u64,
}

/// A live connection to a container's tty: its output, and a writer for its input.
pub struct Attachment {
    pub output: BoxStream<'static, Result<Vec<u8>>>,
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

/// A command started in a container with its streams held open, as `docker exec -i[t]`:
/// its output (one console stream on a tty, else stdout and stderr apart) and its stdin.
pub struct ExecSession {
    /// The exec's id, for `resize_exec` and `exec_exit_code`.
    pub id: String,
    pub output: BoxStream<'static, Result<LogChunk>>,
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

/// Which containers a list or event stream covers: all that carry `key`, or `key=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    pub key: String,
    pub value: Option<String>,
}

impl LabelFilter {
    pub fn has(key: &str) -> Self {
        LabelFilter {
            key: key.to_string(),
            value: None,
        }
    }
    pub fn eq(key: &str, value: &str) -> Self {
        LabelFilter {
            key: key.to_string(),
            value: Some(value.to_string()),
        }
    }
}

/// The contract every engine backend keeps. Every call is bounded by a timeout; streams end
/// with an error rather than hang when the engine goes away.
pub trait Backend: Send + Sync + Clone + 'static {
    fn host(&self) -> &str;
    fn info(&self) -> impl Future<Output = Result<EngineInfo>> + Send;

    fn list_containers(
        &self,
        filter: &LabelFilter,
    ) -> impl Future<Output = Result<Vec<ContainerSummary>>> + Send;
    fn inspect_container(&self, id: &str) -> impl Future<Output = Result<ContainerDetails>> + Send;
    fn create_container(&self, spec: &ContainerSpec)
        -> impl Future<Output = Result<String>> + Send;
    fn start_container(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    fn stop_container(&self, id: &str, grace: Duration) -> impl Future<Output = Result<()>> + Send;
    fn kill_container(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// Removes the container (forcing a running one) and its anonymous volumes; never named ones.
    fn remove_container(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    fn stats(&self, id: &str) -> impl Future<Output = Result<Stats>> + Send;
    fn resize_tty(&self, id: &str, rows: u16, cols: u16)
        -> impl Future<Output = Result<()>> + Send;

    fn events(&self, filter: &LabelFilter) -> BoxStream<'static, Result<EngineEvent>>;
    /// The last `tail` chunks, then (with `follow`) new ones as they come.
    fn logs(&self, id: &str, tail: usize, follow: bool) -> BoxStream<'static, Result<LogChunk>>;
    fn exec(&self, id: &str, spec: &ExecSpec) -> impl Future<Output = Result<ExecOutput>> + Send;
    /// Attaches to the container's main process (stdin and tty output), from now on.
    fn attach(&self, id: &str) -> impl Future<Output = Result<Attachment>> + Send;
    /// Starts `spec.cmd` in container `id` with its streams open, on a tty when `tty`
    /// (`spec.stdin` is ignored: the caller writes to `input`).
    fn exec_session(
        &self,
        id: &str,
        spec: &ExecSpec,
        tty: bool,
    ) -> impl Future<Output = Result<ExecSession>> + Send;
    fn resize_exec(
        &self,
        exec_id: &str,
        rows: u16,
        cols: u16,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The exec's exit code once it has ended; `None` while it runs.
    fn exec_exit_code(&self, exec_id: &str) -> impl Future<Output = Result<Option<i64>>> + Send;

    fn build_image(&self, spec: BuildSpec) -> BoxStream<'static, Result<BuildEvent>>;
    fn inspect_image(&self, tag: &str) -> impl Future<Output = Result<Option<ImageInfo>>> + Send;
    /// The `created_by` line of every layer, newest first.
    fn image_history(&self, tag: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn remove_image(&self, tag: &str) -> impl Future<Output = Result<()>> + Send;

    fn create_volume(&self, name: &str, labels: &Labels)
        -> impl Future<Output = Result<()>> + Send;
    fn inspect_volume(&self, name: &str)
        -> impl Future<Output = Result<Option<VolumeInfo>>> + Send;
    fn list_volumes(
        &self,
        filter: &LabelFilter,
    ) -> impl Future<Output = Result<Vec<VolumeInfo>>> + Send;
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<()>> + Send;

    fn create_network(&self, spec: &NetworkSpec) -> impl Future<Output = Result<String>> + Send;
    fn inspect_network(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<NetworkInfo>>> + Send;
    fn list_networks(
        &self,
        filter: &LabelFilter,
    ) -> impl Future<Output = Result<Vec<NetworkInfo>>> + Send;
    fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
    ) -> impl Future<Output = Result<()>> + Send;
    fn remove_network(&self, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Makes a whole sandbox, in this order: the volumes, the network, the holder (started,
    /// joined to the user's networks, then `setup.holder_running`), `setup.before_agent`,
    /// the agent (started, then `setup.agent_running`). The agent never starts before the
    /// holder's step has succeeded. On any failure, everything this call made is removed
    /// again, except project volumes, and nothing that existed before is touched: a
    /// sandbox-lifetime volume that already exists is a `Conflict`.
    fn create_sandbox<S: SandboxSetup>(
        &self,
        spec: &SandboxSpec,
        setup: &mut S,
    ) -> impl Future<Output = Result<SandboxIds, S::Error>> + Send;

    /// Removes these parts of a sandbox, one at a time: containers (forced), then the
    /// network, then the volumes. Parts already gone are skipped. Returns what was removed.
    fn remove_sandbox(
        &self,
        parts: &SandboxParts,
    ) -> impl Future<Output = Result<SandboxParts>> + Send;
}
