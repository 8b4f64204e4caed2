//! Shared test harness: the real engine, a run id, test images built once per run, and
//! cleanup of everything a test made, even when it fails.
#![allow(dead_code)]

pub mod pty;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use cctui::backend::{labels, Backend, BuildSpec, DockerBackend, LabelFilter, Labels};
use cctui::config::Config;
use cctui::session::ops::Ops;
use futures_util::StreamExt;

/// One id per test process, on every container, network and volume a test makes.
pub fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let id = std::env::var("CCTUI_TEST_RUN").unwrap_or_else(|_| {
            format!(
                "r{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    % 100_000_000
            )
        });
        id
    })
}

pub fn test_labels() -> Labels {
    Labels::from([(labels::TEST_RUN.to_string(), run_id().to_string())])
}

/// Makes the config in `dir` label everything cctui creates with this run's id
/// (`[session.labels]`, as a user could), so that the sweeps find it. Appended once, after
/// whatever the test wrote; a config naming its own labels is left as it is.
pub fn label_config(dir: &Path) {
    let file = dir.join("config.toml");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    if text.contains("[session.labels]") {
        return;
    }
    let sep = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        &file,
        format!(
            "{text}{sep}[session.labels]\n{:?} = {:?}\n",
            labels::TEST_RUN,
            run_id()
        ),
    )
    .unwrap();
}

/// The engine, or a panic that says how to get one. Tests never skip quietly.
pub async fn engine() -> DockerBackend {
    run_id();
    match DockerBackend::connect(None, Duration::from_secs(60)).await {
        Ok(b) => b,
        Err(e) => panic!(
            "these tests need a real Docker engine and none answered:\n{e}\n\
             Run the suite with tests/run.sh, which installs and starts one."
        ),
    }
}

/// Runs `f` on a fresh runtime on another thread: usable from Drop inside a tokio test.
pub fn block_on_side<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
    .join()
    .ok();
}

/// Removes, one at a time, every container, network and volume labelled with this run's id
/// that matches `extra` (a label `key=value`), or all of them.
pub async fn sweep(backend: &DockerBackend, session_prefix: Option<&str>) {
    let filter = LabelFilter::eq(labels::TEST_RUN, run_id());
    // "t1-fw" owns "t1-fw" and "t1-fw-*", never "t1-fwper".
    let owned = |s: &String, p: &str| s == p || s.starts_with(&format!("{p}-"));
    let matches = |l: &Labels| match session_prefix {
        Some(p) => {
            l.get(labels::SESSION).is_some_and(|s| owned(s, p))
                || l.get("cctui.test.owner").is_some_and(|s| owned(s, p))
        }
        None => true,
    };
    if let Ok(cs) = backend.list_containers(&filter).await {
        for c in cs.iter().filter(|c| matches(&c.labels)) {
            let _ = backend.remove_container(&c.id).await;
        }
    }
    if let Ok(ns) = backend.list_networks(&filter).await {
        for n in ns.iter().filter(|n| matches(&n.labels)) {
            let _ = backend.remove_network(&n.id).await;
        }
    }
}

/// Cleans up after one test, by its session-name prefix, even if the test panicked.
pub struct Cleanup {
    pub prefix: String,
    pub volumes: Vec<String>,
}

impl Cleanup {
    pub fn new(prefix: &str) -> Cleanup {
        Cleanup {
            prefix: prefix.to_string(),
            volumes: Vec::new(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        let volumes = std::mem::take(&mut self.volumes);
        let also_there = volumes.clone();
        block_on_side(async move {
            let backend = engine().await;
            sweep(&backend, Some(&prefix)).await;
            for v in volumes {
                // Whatever still uses the volume goes first, whichever guard drops first.
                let users = std::process::Command::new("docker")
                    .args(["ps", "-aq", "--filter", &format!("volume={v}")])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                for id in users.split_whitespace() {
                    let _ = backend.remove_container(id).await;
                }
                let _ = backend.remove_volume(&v).await;
            }
            // The same test may have run on the second engine (tests/engines.sh's).
            if let Some(second) = second_engine().await {
                sweep(&second, Some(&prefix)).await;
                for v in &also_there {
                    let _ = second.remove_volume(v).await;
                }
            }
        });
    }
}

/// The second engine of tests/engines.sh, when it runs.
async fn second_engine() -> Option<DockerBackend> {
    let sock = std::env::var("CCTUI_TEST_ENGINE2_SOCK")
        .unwrap_or_else(|_| "unix:///var/lib/cctui-test2/docker.sock".into());
    DockerBackend::connect(Some(&sock), Duration::from_secs(10))
        .await
        .ok()
}

/// A unique name for this test: `t<run>-<what>`.
pub fn unique(what: &str) -> String {
    format!("t{}-{what}", &run_id()[run_id().len().saturating_sub(5)..])
}

/// The host's extra CAs, passed by tests/run.sh, for builds that reach registries.
pub fn extra_cas() -> Vec<PathBuf> {
    std::env::var("CCTUI_TEST_EXTRA_CA_CERTS")
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// A config folder holding the small test recipe (no Node.js or Claude Code: a fake `claude`
/// that echoes), so most tests build in seconds.
pub fn small_recipe_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small-recipe");
    assert!(
        dir.join("recipe/base.Dockerfile").exists(),
        "{}",
        dir.display()
    );
    dir
}

pub fn test_config() -> Config {
    let mut c = Config::default();
    c.image.extra_ca_certs = extra_cas();
    c.engine.timeout_secs = 60;
    c.session.labels = test_labels();
    c
}

/// Ops on the real engine with the small recipe and a private config folder.
pub async fn small_ops(config_dir: &Path) -> Ops<DockerBackend> {
    // The recipe override lives in the config folder, as a user's would.
    let recipe = config_dir.join("recipe");
    if !recipe.exists() {
        copy_dir(&small_recipe_dir().join("recipe"), &recipe);
    }
    Ops::new(engine().await, test_config(), config_dir.to_path_buf())
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A temporary folder owned by `uid` (tests run as root; the agent never does).
pub struct TempFolder {
    pub path: PathBuf,
}

impl TempFolder {
    pub fn new(name: &str, uid: u32) -> TempFolder {
        let path = std::env::temp_dir().join(format!("cctui-{}-{name}", run_id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(uid), Some(uid)).unwrap();
        TempFolder { path }
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The tiny image the contract tests use: the base image with a long-running default command.
pub async fn tiny_image(backend: &DockerBackend) -> String {
    let dockerfile =
        "FROM debian:bookworm-slim\nLABEL cctui.test.tiny=1\nCMD [\"sleep\", \"infinity\"]\n";
    test_image(backend, "cctui-test-tiny", &[("Dockerfile", dockerfile)]).await
}

/// Builds `repo:<run id>` from these context files, once per run.
async fn test_image(b: &DockerBackend, repo: &str, files: &[(&str, &str)]) -> String {
    let tag = format!("{repo}:{}", run_id());
    if b.inspect_image(&tag).await.unwrap().is_some() {
        return tag;
    }
    let spec = BuildSpec {
        context_tar: tar_of(files),
        dockerfile: "Dockerfile".into(),
        tag: tag.clone(),
        build_args: BTreeMap::new(),
        labels: test_labels(),
        no_cache: false,
        pull: false,
        network_mode: None,
    };
    let mut s = b.build_image(spec);
    while let Some(e) = s.next().await {
        e.unwrap_or_else(|e| panic!("building the test image {tag}: {e}"));
    }
    tag
}

pub fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o755);
        h.set_cksum();
        b.append_data(&mut h, name, text.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// Runs the docker CLI against the test engine and returns stdout; panics on failure.
pub fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The cctui binary with a private config folder and this run's label, ready to run.
pub fn cctui_cmd(config_dir: &Path, args: &[&str]) -> std::process::Command {
    label_config(config_dir);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cctui"));
    cmd.args(args)
        .env("CCTUI_CONFIG_DIR", config_dir)
        .env("CCTUI_STATE_DIR", config_dir.join("state"))
        // No test carries the developer's own ~/.claude into its sessions (tests/carry.rs
        // sets its own).
        .env("CLAUDE_CONFIG_DIR", config_dir.join("no-claude-setup"));
    cmd
}

/// Runs `cmd`; returns (exit code, stdout, stderr).
pub fn run_cmd(mut cmd: std::process::Command) -> (i32, String, String) {
    let out = cmd.output().expect("running cctui");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the cctui binary with a private config folder; returns (exit code, stdout, stderr).
pub fn cctui(config_dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_cmd(cctui_cmd(config_dir, args))
}

/// Small servers for network tests (TCP/UDP listeners that log, a DNS server, a fake
/// Messages API), built once per run from tests/fixtures/servers.
pub async fn server_image(b: &DockerBackend) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/servers");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let (dockerfile, listen, api) = (read("Dockerfile"), read("listen.py"), read("fake_api.py"));
    let (names, mkcert) = (read("names.py"), read("mkcert.sh"));
    let files = [
        ("Dockerfile", dockerfile.as_str()),
        ("listen.py", &listen),
        ("fake_api.py", &api),
        ("names.py", &names),
        ("mkcert.sh", &mkcert),
    ];
    test_image(b, "cctui-test-servers", &files).await
}

pub const FIREWALL_OFF: &str = "[firewall]\nmode = \"off\"\n";

/// Makes `dir` a config folder for the cctui binary: the small recipe, the host's extra CAs,
/// and `extra` TOML after them.
pub fn write_cli_config(dir: &Path, extra: &str) {
    copy_dir(&small_recipe_dir().join("recipe"), &dir.join("recipe"));
    let cas: Vec<String> = extra_cas()
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    std::fs::write(
        dir.join("config.toml"),
        format!("[image]\nextra_ca_certs = [{}]\n{extra}", cas.join(", ")),
    )
    .unwrap();
}

/// The two volumes of the project at `path`, for cleanup.
pub fn project_volumes(path: &Path) -> Vec<String> {
    let p = cctui::session::Project::at(path).unwrap();
    vec![p.config_volume(), p.history_volume()]
}

/// Runs `script` with `sh -c` in the session's agent container, as `user` or as the agent.
pub async fn sh_in(
    ops: &cctui::session::ops::Ops<DockerBackend>,
    name: &str,
    user: Option<&str>,
    script: &str,
) -> cctui::backend::ExecOutput {
    let id = ops.running_agent(name).await.unwrap();
    let user = match user {
        Some(u) => u.to_string(),
        None => ops.backend.inspect_container(&id).await.unwrap().user,
    };
    let spec = cctui::backend::ExecSpec {
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        user: Some(user),
        ..Default::default()
    };
    ops.backend.exec(&id, &spec).await.unwrap()
}

/// A test network owned by `prefix`, for the project's own test hosts.
pub async fn test_network(b: &DockerBackend, prefix: &str) -> String {
    let net = format!("{prefix}-world");
    let spec = cctui::backend::NetworkSpec {
        name: net.clone(),
        labels: owned_by(prefix),
        ..Default::default()
    };
    b.create_network(&spec).await.unwrap();
    net
}

/// Labels for something a test makes: this run's, and the owning test's prefix.
pub fn owned_by(prefix: &str) -> Labels {
    let mut labels = test_labels();
    labels.insert("cctui.test.owner".into(), prefix.to_string());
    labels
}

/// Starts a test server (from `server_image`) on `net` under `alias`, running `cmd`; returns
/// its id.
pub async fn start_server(
    b: &DockerBackend,
    prefix: &str,
    net: &str,
    alias: &str,
    cmd: &[&str],
) -> String {
    let mut spec =
        cctui::backend::ContainerSpec::hardened(format!("{prefix}-{alias}"), server_image(b).await);
    spec.labels = owned_by(prefix);
    spec.cap_add = vec!["NET_BIND_SERVICE".into()];
    spec.cmd = cmd.iter().map(|s| s.to_string()).collect();
    spec.network = cctui::backend::NetworkAttach::Network {
        name: net.to_string(),
        aliases: vec![alias.to_string()],
    };
    let id = b.create_container(&spec).await.unwrap();
    b.start_container(&id).await.unwrap();
    id
}

/// This session's entry in `cctui ls --json`, parsed: exactly one entry named `name`, whatever
/// other tests' sessions are listed beside it.
pub fn ls_entry(config_dir: &Path, name: &str) -> serde_json::Value {
    let (code, json, err) = cctui(config_dir, &["ls", "--json"]);
    assert_eq!(code, 0, "ls --json: {err}");
    let list: serde_json::Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("ls --json is not JSON ({e}): {json}"));
    let mine: Vec<_> = list
        .as_array()
        .unwrap_or_else(|| panic!("ls --json is not an array: {json}"))
        .iter()
        .filter(|s| s["name"] == name)
        .collect();
    assert_eq!(mine.len(), 1, "{name} listed {} times: {json}", mine.len());
    mine[0].clone()
}

/// Starts a test server on `net` under `alias` (and the further `aliases`) that first makes a
/// throwaway CA and a certificate for `names` (mkcert.sh, in /tmp/tls), then runs `cmd`.
/// Returns its id and the CA's PEM.
pub async fn start_tls_server(
    b: &DockerBackend,
    prefix: &str,
    net: &str,
    aliases: &[&str],
    names: &[&str],
    cmd: &str,
) -> (String, String) {
    let mut spec = cctui::backend::ContainerSpec::hardened(
        format!("{prefix}-{}", aliases[0]),
        server_image(b).await,
    );
    spec.labels = owned_by(prefix);
    spec.cap_add = vec!["NET_BIND_SERVICE".into()];
    spec.cmd = vec![
        "sh".into(),
        "-c".into(),
        format!(
            "sh /usr/local/bin/mkcert.sh /tmp/tls {} && exec {cmd}",
            names.join(" ")
        ),
    ];
    spec.network = cctui::backend::NetworkAttach::Network {
        name: net.to_string(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
    };
    let id = b.create_container(&spec).await.unwrap();
    b.start_container(&id).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = b
            .exec(
                &id,
                &cctui::backend::ExecSpec {
                    cmd: vec!["cat".into(), "/tmp/tls/ca.pem".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let pem = out.stdout_text();
        if out.exit_code == 0 && pem.contains("END CERTIFICATE") {
            // Give the server a moment to bind after writing its certificates.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return (id, pem);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the TLS test server made no CA: {}",
            out.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The IPv4 address of container `id` on network `net`.
pub fn ip_on(net: &str, id: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
        id,
    ])
    .trim()
    .to_string()
}

/// A session started with `cctui new` (firewall off, the small recipe), removed with its
/// volumes when dropped.
pub struct CliSession {
    _cleanup: Cleanup,
    _volumes: Cleanup,
    pub cfg: TempFolder,
    _project: TempFolder,
}

pub fn cli_session(name: &str, uid: u32) -> CliSession {
    let cleanup = Cleanup::new(name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(name, uid);
    let mut volumes = Cleanup::new(&format!("{name}-vols"));
    volumes.volumes = project_volumes(&project.path);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    let path = project.path.to_str().unwrap();
    let (code, out, err) = cctui(&cfg.path, &["new", path, "--name", name]);
    assert_eq!(code, 0, "{out}{err}");
    CliSession {
        _cleanup: cleanup,
        _volumes: volumes,
        cfg,
        _project: project,
    }
}
