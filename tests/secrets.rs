//! Promises 6 and 7 on the real engine: secrets at run time only, and the agent never holds
//! your key. With the firewall on, a canary key (never a real one), and then a canary setup
//! token, is held by the credential broker in the network holder, on a tmpfs only the
//! broker's uid reads; the agent gets a placeholder from the `apiKeyHelper` of root-owned
//! managed settings, finds the canary in no file, environment or command line, and the fake
//! upstream receives exactly the canary. (With the firewall off, there is no broker: the key is
//! a file on the agent's tmpfs, readable by the agent's user alone.) The canary appears in
//! none of: `docker inspect` of
//! the session's containers, images, volumes and network, `docker history`, the image's
//! layers, the build cache, any host process's argv or environment at any moment of a start,
//! any process's environment inside the containers, the containers' logs, cctui's own log, the
//! project folder, or a stopped container's filesystem.
//!
//! The core battery (a command-sourced key, a new key, a setup token) runs twice: with the
//! session on the first engine, and on the second engine of tests/engines.sh reached over
//! tcp+TLS, where every view of the engine (inspect, history, logs, exec, save, events) is
//! read from that engine (`view_engine`).
//!
//! Every scanner is first shown to find a planted canary (`every_scanner_finds_a_planted_canary`),
//! so that no check here can pass because it looked at nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::c_void;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cctui::backend::{labels, Backend, DockerBackend};
use cctui::config::FirewallMode;
use cctui::session::plan_session;
use cctui::session::Project;
use common::*;

const UID: u32 = 1234;
const KEY_FILE: &str = "/run/cctui/secrets/anthropic_api_key";
const HELPER: &str = "/usr/local/bin/cctui-api-key";
const MANAGED: &str = "/etc/claude-code/managed-settings.json";
/// Variables a test must never pass on to a child by accident.
const KEY_VARS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_API_KEY_FILE",
    "GH_TOKEN",
    CUSTOM_KEY_VAR,
];
/// A user's own name for the variable that holds the key (`env = "..."` in config.toml).
const CUSTOM_KEY_VAR: &str = "CCTUI_TEST_CLAUDE_KEY";

// ---------------------------------------------------------------------------------------------
// Canaries and the byte scanner

fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// A fake key in the real key's shape, unique to this run and call.
fn canary(what: &str) -> String {
    format!("sk-ant-api03-CANARY{}{what}{}", run_id(), random_hex())
}

/// A marker for positive controls: never equal to a canary a leak check looks for.
fn control(what: &str) -> String {
    format!("CTLCANARY{}{what}{}", run_id(), random_hex())
}

extern "C" {
    /// glibc's memmem: fast enough to scan an image's layers in an unoptimised test build.
    fn memmem(hay: *const c_void, hay_len: usize, needle: *const c_void, len: usize)
        -> *mut c_void;
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || hay.len() < needle.len() {
        return needle.is_empty();
    }
    // SAFETY: both pointers and lengths come from live slices; memmem only reads them.
    unsafe {
        !memmem(
            hay.as_ptr().cast(),
            hay.len(),
            needle.as_ptr().cast(),
            needle.len(),
        )
        .is_null()
    }
}

/// Every place a set of needles was looked for, and where any was found.
struct Leaks {
    needles: Vec<String>,
    /// (source, needle index)
    found: Vec<(String, usize)>,
    /// (source, bytes looked at)
    checked: Vec<(String, usize)>,
}

impl Leaks {
    fn new<S: AsRef<str>>(needles: &[S]) -> Leaks {
        Leaks {
            needles: needles.iter().map(|s| s.as_ref().to_string()).collect(),
            found: Vec::new(),
            checked: Vec::new(),
        }
    }

    fn check(&mut self, source: &str, data: impl AsRef<[u8]>) {
        let data = data.as_ref();
        for (i, n) in self.needles.iter().enumerate() {
            if contains(data, n.as_bytes()) {
                self.found.push((source.to_string(), i));
            }
        }
        self.checked.push((source.to_string(), data.len()));
    }

    /// Scans a stream in chunks that overlap by a needle's length; returns the bytes read.
    fn check_stream(&mut self, source: &str, mut reader: impl Read) -> usize {
        const CHUNK: usize = 8 << 20;
        let keep = self.needles.iter().map(|n| n.len()).max().unwrap_or(1) - 1;
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + keep);
        let mut hit = BTreeSet::new();
        let mut total = 0;
        loop {
            let start = buf.len();
            buf.resize(start + CHUNK, 0);
            let n = reader.read(&mut buf[start..]).expect("reading a stream");
            buf.truncate(start + n);
            if n == 0 {
                break;
            }
            total += n;
            for (i, needle) in self.needles.iter().enumerate() {
                if contains(&buf, needle.as_bytes()) {
                    hit.insert(i);
                }
            }
            if buf.len() > keep {
                buf.drain(..buf.len() - keep);
            }
        }
        for i in hit {
            self.found.push((source.to_string(), i));
        }
        self.checked.push((source.to_string(), total));
        total
    }

    /// Every regular file under `root`, without following symlinks; returns the file count.
    fn check_tree(&mut self, root: &Path) -> usize {
        let mut files = 0;
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = e.path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.is_file() {
                    let data = std::fs::read(&path).unwrap();
                    self.check(&format!("file {}", path.display()), data);
                    files += 1;
                } else if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&path).unwrap();
                    self.check(
                        &format!("symlink {}", path.display()),
                        target.as_os_str().as_encoded_bytes(),
                    );
                }
            }
        }
        files
    }

    fn found(&self, source_prefix: &str, needle: usize) -> bool {
        self.found
            .iter()
            .any(|(s, i)| *i == needle && s.starts_with(source_prefix))
    }

    /// What was found where, if anything.
    fn report(&self) -> Option<String> {
        if self.found.is_empty() {
            return None;
        }
        let list: Vec<String> = self
            .found
            .iter()
            .map(|(s, i)| format!("  {s} holds {}", self.needles[*i]))
            .collect();
        Some(format!(
            "secret canaries leaked ({} places checked):\n{}",
            self.checked.len(),
            list.join("\n")
        ))
    }

    fn assert_none(&self) {
        assert!(!self.checked.is_empty(), "nothing was scanned");
        if let Some(report) = self.report() {
            panic!("{report}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running things

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The second engine of tests/engines.sh, reached over tcp+TLS as a user's remote engine
/// would be (its variables, which tests/run.sh exports, else its env file); `sock` is the
/// harness's own way in, for the fake upstream. A test that needs it fails without it.
#[derive(Clone)]
struct Remote {
    tls_host: String,
    certs: PathBuf,
    sock: String,
}

impl Remote {
    fn from_env() -> Remote {
        let file = std::fs::read_to_string("/var/lib/cctui-test2/env").unwrap_or_default();
        let get = |key: &str| {
            std::env::var(key)
                .ok()
                .or_else(|| {
                    file.lines()
                        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{key} is not set: the remote secrets tests need the second engine. \
                         Run `tests/engines.sh start` as root (tests/run.sh does)"
                    )
                })
        };
        Remote {
            tls_host: get("CCTUI_TEST_ENGINE2_TLS_HOST"),
            certs: get("CCTUI_TEST_ENGINE2_CERTS").into(),
            sock: get("CCTUI_TEST_ENGINE2_SOCK"),
        }
    }

    /// The `[[engines]]` entry cctui reaches it by, under the name `ENGINE2`.
    fn engines_toml(&self) -> String {
        format!(
            "[[engines]]\nname = {ENGINE2:?}\nhost = {:?}\ncert_path = {:?}\n",
            self.tls_host,
            self.certs.display().to_string()
        )
    }
}

/// The second engine's name in the test's config.
const ENGINE2: &str = "tls2";

thread_local! {
    /// The engine whose own view (inspect, history, logs, exec, save) this test thread reads:
    /// none, the first engine (DOCKER_HOST); else the second engine, over tcp+TLS.
    static VIEWED: std::cell::RefCell<Option<Remote>> = const { std::cell::RefCell::new(None) };
}

/// Points this thread's docker CLI at `remote` until the guard drops.
fn view_engine(remote: &Remote) -> impl Drop {
    VIEWED.with(|v| *v.borrow_mut() = Some(remote.clone()));
    struct Back;
    impl Drop for Back {
        fn drop(&mut self) {
            VIEWED.with(|v| *v.borrow_mut() = None);
        }
    }
    Back
}

/// The docker CLI, on the engine this thread views.
fn docker_cli() -> Command {
    let mut c = Command::new("docker");
    VIEWED.with(|v| {
        if let Some(r) = &*v.borrow() {
            c.env("DOCKER_HOST", &r.tls_host)
                .env("DOCKER_TLS_VERIFY", "1")
                .env("DOCKER_CERT_PATH", &r.certs);
        }
    });
    c
}

/// `docker ARGS`, not panicking: the caller decides what a failure means.
fn dk(args: &[&str]) -> Out {
    let out = docker_cli()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the docker CLI");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `docker ARGS` on this thread's engine; stdout, or a panic naming the failure. (It stands
/// in for common's `docker`, which reads only the first engine.)
fn docker(args: &[&str]) -> String {
    let out = dk(args);
    assert_eq!(out.code, 0, "docker {args:?} failed: {}", out.stderr);
    out.stdout
}

/// A shell script in a container as `user`.
fn sh_in(container: &str, user: &str, script: &str) -> Out {
    dk(&["exec", "-u", user, container, "sh", "-c", script])
}

/// Streams `docker ARGS` (save, export) through the scanner; returns the bytes scanned.
fn scan_docker_stream(leaks: &mut Leaks, source: &str, args: &[&str]) -> usize {
    let mut child = docker_cli()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let n = leaks.check_stream(source, child.stdout.take().unwrap());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    n
}

/// The cctui binary with a private config folder, a debug log, piped output, and none of the
/// key variables of the test's own environment.
fn cctui_command(dir: &Path, args: &[&str]) -> Command {
    label_config(dir);
    let mut c = Command::new(env!("CARGO_BIN_EXE_cctui"));
    c.args(args)
        .env("CCTUI_CONFIG_DIR", dir)
        .env("CCTUI_STATE_DIR", dir.join("state"))
        .env("CCTUI_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in KEY_VARS {
        c.env_remove(v);
    }
    c
}

fn cli(dir: &Path, args: &[&str]) -> Out {
    let out = cctui_command(dir, args).output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A config folder with the small recipe and `config.toml` = the CAs plus `extra`.
fn config_folder(name: &str, extra: &str) -> TempFolder {
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    copy_dir(&small_recipe_dir().join("recipe"), &dir.path.join("recipe"));
    let cas: Vec<String> = extra_cas()
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    std::fs::write(
        dir.path.join("config.toml"),
        format!("[image]\nextra_ca_certs = [{}]\n{extra}", cas.join(", ")),
    )
    .unwrap();
    dir
}

/// A firewall that allows only a documentation address: set up and verified for real, and
/// never a reason for a packet to leave the machine.
const FIREWALL_ON: &str =
    "[firewall]\nmode = \"on\"\npresets = []\nallow = [\"192.0.2.1/32:443\"]\n";
const FIREWALL_OFF: &str = "[firewall]\nmode = \"off\"\n";

/// A folder for secret source files: root-only, outside the config and project folders.
fn key_folder(name: &str) -> TempFolder {
    let dir = TempFolder::new(&format!("{name}-keys"), 0);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

fn write_secret(path: &Path, value: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("{value}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn guard_volumes(name: &str, project: &Path) -> Cleanup {
    let p = Project::at(project).unwrap();
    let mut c = Cleanup::new(&format!("{name}-vols"));
    c.volumes = vec![p.config_volume(), p.history_volume()];
    c
}

fn assert_env_has_no_keys() {
    for v in KEY_VARS {
        assert!(
            std::env::var_os(v).is_none(),
            "the test's own environment has {v}; unset it, these tests control every key"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Host processes: every /proc/*/cmdline and /proc/*/environ, sampled in a tight loop

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ProcHit {
    kind: &'static str,
    pid: u32,
    needle: usize,
    cmdline: String,
}

#[derive(Debug, Default)]
struct ProcReport {
    rounds: usize,
    pids: usize,
    /// The argv of every process seen below the root process.
    children: BTreeSet<String>,
    hits: BTreeSet<ProcHit>,
}

impl ProcReport {
    fn assert_clean(&self, needles: &[&str]) {
        assert!(
            self.rounds >= 3 && self.pids > 10,
            "the sampler barely ran: {} rounds, {} processes",
            self.rounds,
            self.pids
        );
        let list: Vec<String> = self
            .hits
            .iter()
            .map(|h| {
                format!(
                    "  {} of pid {} ({}) holds {}",
                    h.kind, h.pid, h.cmdline, needles[h.needle]
                )
            })
            .collect();
        assert!(
            list.is_empty(),
            "leaked into processes:\n{}",
            list.join("\n")
        );
    }
}

fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace('\0', " ")
        .trim()
        .to_string()
}

fn ppid_of(stat: &[u8]) -> Option<u32> {
    let text = String::from_utf8_lossy(stat);
    let after = &text[text.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

struct Sampler {
    stop: Arc<AtomicBool>,
    root: Arc<AtomicU32>,
    handle: std::thread::JoinHandle<ProcReport>,
}

impl Sampler {
    /// Starts sampling every process on the host for `needles`. With `skip_root_environ`, the
    /// environment of the root process (see `set_root`) is not checked: it is the one that was
    /// handed the key on purpose, and /proc shows a process's initial environment forever.
    /// Its forks that have not yet exec'd share that block and are skipped too.
    fn start(needles: &[&str], skip_root_environ: bool) -> Sampler {
        let needles: Vec<Vec<u8>> = needles.iter().map(|n| n.as_bytes().to_vec()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let root = Arc::new(AtomicU32::new(0));
        let (s, r) = (stop.clone(), root.clone());
        let handle = std::thread::spawn(move || sample(&needles, &r, &s, skip_root_environ));
        Sampler { stop, root, handle }
    }

    fn set_root(&self, pid: u32) {
        self.root.store(pid, Ordering::SeqCst);
    }

    fn finish(self) -> ProcReport {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn sample(needles: &[Vec<u8>], root: &AtomicU32, stop: &AtomicBool, skip: bool) -> ProcReport {
    let mut report = ProcReport::default();
    let mut seen = BTreeSet::new();
    loop {
        let last = stop.load(Ordering::SeqCst);
        let root_pid = root.load(Ordering::SeqCst);
        let mut procs = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let ppid = ppid_of(&stat).unwrap_or(0);
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).ok();
            procs.push((pid, ppid, cmdline, environ));
        }
        let parent: BTreeMap<u32, u32> = procs.iter().map(|p| (p.0, p.1)).collect();
        let below_root = |pid: u32| {
            let mut p = pid;
            for _ in 0..64 {
                match parent.get(&p) {
                    Some(&pp) if pp == root_pid => return true,
                    Some(&pp) if pp > 1 => p = pp,
                    _ => return false,
                }
            }
            false
        };
        for (pid, _, cmdline, environ) in &procs {
            let pid = *pid;
            seen.insert(pid);
            let child = root_pid != 0 && pid != root_pid && below_root(pid);
            if child {
                // A fork shows its parent's argv until it execs: keep every argv seen.
                report.children.insert(printable(cmdline));
            }
            for (i, n) in needles.iter().enumerate() {
                if contains(cmdline, n) {
                    report.hits.insert(ProcHit {
                        kind: "argv",
                        pid,
                        needle: i,
                        cmdline: printable(cmdline),
                    });
                }
            }
            // A fork that has not exec'd yet shows cctui's own argv and initial environment
            // block; its exe may already have changed by the time it is read, so the argv
            // (read first) decides.
            // cctui itself shows the environment it was given (the test hands it the key on
            // purpose), and so does a fork of it until it execs; both have cctui's argv. This
            // also covers the moment before the sampler learns cctui's pid.
            let cctui_argv = cmdline.starts_with(env!("CARGO_BIN_EXE_cctui").as_bytes());
            if skip && ((root_pid != 0 && pid == root_pid) || cctui_argv) {
                continue;
            }
            if let Some(env) = environ {
                for (i, n) in needles.iter().enumerate() {
                    if contains(env, n) {
                        report.hits.insert(ProcHit {
                            kind: "environ",
                            pid,
                            needle: i,
                            cmdline: printable(cmdline),
                        });
                    }
                }
            }
        }
        report.rounds += 1;
        if last {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    report.pids = seen.len();
    report
}

/// Runs `cmd` to its end while sampling every host process; returns its output and the
/// sampler's report.
fn run_sampled(mut cmd: Command, needles: &[&str], skip_root_environ: bool) -> (Out, ProcReport) {
    let sampler = Sampler::start(needles, skip_root_environ);
    // Let the sampler complete a round before the process exists.
    std::thread::sleep(Duration::from_millis(50));
    let child = cmd.spawn().unwrap();
    let root = child.id();
    sampler.set_root(root);
    let out = child.wait_with_output().unwrap();
    let mut report = sampler.finish();
    if skip_root_environ {
        // Rounds taken before the sampler learned the root's pid may have recorded it.
        report
            .hits
            .retain(|h| !(h.kind == "environ" && h.pid == root));
    }
    (
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        report,
    )
}

// ---------------------------------------------------------------------------------------------
// The engine's views of a session

/// `docker inspect` of everything the session is made of, and of its images by tag and id.
/// Returns the images' tags.
fn scan_inspect(leaks: &mut Leaks, containers: &[&str], volumes: &[String]) -> Vec<String> {
    let mut images = Vec::new();
    for c in containers {
        let text = docker(&["container", "inspect", c]);
        assert!(text.contains(c), "inspect of {c} names it");
        leaks.check(&format!("docker inspect {c}"), &text);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tag = v[0]["Config"]["Image"].as_str().unwrap().to_string();
        let id = v[0]["Image"].as_str().unwrap().to_string();
        leaks.check(
            &format!("docker image inspect {tag}"),
            docker(&["image", "inspect", &tag]),
        );
        leaks.check(
            &format!("docker image inspect {id}"),
            docker(&["image", "inspect", &id]),
        );
        images.push(tag);
    }
    for v in volumes {
        let text = docker(&["volume", "inspect", v]);
        assert!(text.contains(v.as_str()));
        leaks.check(&format!("docker volume inspect {v}"), text);
    }
    images.sort();
    images.dedup();
    images
}

fn scan_history(leaks: &mut Leaks, images: &[String]) {
    for i in images {
        let text = docker(&["history", "--no-trunc", i]);
        assert!(text.contains("CREATED BY"), "{text}");
        leaks.check(&format!("docker history {i}"), text);
    }
}

/// `docker logs` of each container; returns the agent's (first) log text.
fn scan_logs(leaks: &mut Leaks, containers: &[&str]) -> String {
    let mut first = None;
    for c in containers {
        let out = dk(&["logs", c]);
        assert_eq!(out.code, 0, "docker logs {c}: {}", out.stderr);
        let text = format!("{}{}", out.stdout, out.stderr);
        leaks.check(&format!("docker logs {c}"), &text);
        first.get_or_insert(text);
    }
    first.unwrap_or_default()
}

/// One process a scan read inside a container.
#[derive(Debug)]
struct ProcSeen {
    #[allow(dead_code)] // shown in failure messages
    pid: u32,
    cmdline: String,
    environ: String,
    /// The scanning shell itself (its environment is the exec's, not a running process's).
    is_scanner: bool,
}

/// Every process's environment and command line inside a container, as `user` (root has no
/// CAP_SYS_PTRACE there, so each uid only sees its own). Returns what was read, per process.
fn scan_container_environ(leaks: &mut Leaks, container: &str, user: &str) -> Vec<ProcSeen> {
    let out = sh_in(
        container,
        user,
        "echo \"self $$\"; for d in /proc/[0-9]*; do p=${d#/proc/}; \
         e=$(tr '\\0' '\\n' < $d/environ 2>/dev/null) || continue; \
         printf '\\036%s\\037%s\\037%s' \"$p\" \"$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)\" \"$e\"; done; true",
    );
    assert_eq!(out.code, 0, "{container} as {user}: {}", out.stderr);
    leaks.check(
        &format!("/proc/*/environ and cmdline in {container} as {user}"),
        &out.stdout,
    );
    let me: u32 = out
        .stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("self "))
        .and_then(|p| p.trim().parse().ok())
        .expect("the scanner's pid");
    out.stdout
        .split('\u{1e}')
        .skip(1)
        .filter_map(|rec| {
            let mut f = rec.splitn(3, '\u{1f}');
            let pid: u32 = f.next()?.parse().ok()?;
            Some(ProcSeen {
                pid,
                cmdline: f.next()?.to_string(),
                environ: f.next().unwrap_or_default().to_string(),
                is_scanner: pid == me,
            })
        })
        .collect()
}

/// Searches every file of the container's filesystem (tmpfs mounts included; /proc, /sys
/// and /dev left out) that `user` can read for `needle`, which travels on stdin, never in an
/// argv. Returns the paths that hold it and the number of files read.
fn search_container_fs(container: &str, user: &str, needle: &str) -> (Vec<String>, usize) {
    let script = "read -r n; find / -xdev -type f 2>/dev/null | wc -l >&2; \
        for m in / $(awk '$3 == \"tmpfs\" { print $2 }' /proc/mounts); do \
          case $m in /dev*|/proc*|/sys*) continue ;; esac; \
          grep -rlF --no-messages -e \"$n\" \"$m\" --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; \
        done | sort -u; true";
    let mut child = docker_cli()
        .args(["exec", "-i", "-u", user, container, "sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{needle}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: usize = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let hits = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .filter(|l| !l.is_empty())
        .collect();
    (hits, files)
}

/// The whole image list (the build cache of the classic builder): inspect and history of
/// every image, intermediate ones included. Images other runs remove meanwhile are skipped.
fn scan_all_images(leaks: &mut Leaks) -> usize {
    let ids: BTreeSet<String> = docker(&["image", "ls", "-a", "-q", "--no-trunc"])
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let ids: Vec<String> = ids.into_iter().collect();
    let mut args = vec!["image", "inspect"];
    args.extend(ids.iter().map(String::as_str));
    let inspect = dk(&args);
    assert!(inspect.stdout.len() > 100, "{}", inspect.stderr);
    leaks.check("docker image inspect (every image)", &inspect.stdout);
    for batch in ids.chunks(8) {
        let children: Vec<_> = batch
            .iter()
            .map(|id| {
                docker_cli()
                    .args(["history", "--no-trunc", "--format", "{{.CreatedBy}}", id])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (id, c) in batch.iter().zip(children) {
            let out = c.wait_with_output().unwrap();
            leaks.check(&format!("docker history {id}"), &out.stdout);
        }
    }
    ids.len()
}

fn scan_events(leaks: &mut Leaks, since: SystemTime, expect: &str) {
    let since = since.duration_since(UNIX_EPOCH).unwrap().as_secs() - 1;
    let until = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let text = docker(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--format",
        "{{json .}}",
    ]);
    assert!(text.contains(expect), "events do not mention {expect}");
    leaks.check("docker events", text);
}

fn container_user(container: &str) -> String {
    docker(&["inspect", "-f", "{{.Config.User}}", container])
        .trim()
        .to_string()
}

/// Polls the container's log until `text` shows (claude starts just after "ready").
/// The container's logs once they contain `text`; fails if docker cannot read them, or if
/// `text` has not appeared within 10 s (a scan of logs that never arrived proves nothing).
fn wait_for_log(container: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = dk(&["logs", container]);
        assert_eq!(out.code, 0, "docker logs {container}: {}", out.stderr);
        let all = format!("{}{}", out.stdout, out.stderr);
        if all.contains(text) {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "{text:?} not in the logs of {container} within 10 s: {all}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The names and contents of the files in the secrets tmpfs, read as `user`.
fn secret_files(container: &str, user: &str) -> BTreeMap<String, String> {
    let out = sh_in(
        container,
        user,
        "cd /run/cctui/secrets && for f in * .[!.]*; do [ -f \"$f\" ] || continue; \
         printf '%s\\0' \"$f\"; cat \"$f\"; printf '\\0'; done",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let parts: Vec<&str> = out.stdout.split('\0').collect();
    parts
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].to_string(), c[1].to_string()))
        .collect()
}

/// Checks one secret file: the agent reads it, it is 0400 and the agent's, nobody else reads it.
fn assert_only_the_agent_reads(agent: &str, user: &str, path: &str, value: &str) {
    let stat = sh_in(agent, user, &format!("stat -c '%u:%g %a' {path}"));
    assert_eq!(stat.code, 0, "{}", stat.stderr);
    assert_eq!(stat.stdout.trim(), format!("{user} 400"), "{path}");
    let read = sh_in(agent, user, &format!("cat {path}"));
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert_eq!(read.stdout.trim(), value, "the agent reads {path}");
    // Root without CAP_DAC_OVERRIDE (every capability is dropped) and any other uid: no.
    for other in ["0:0", "4242:4242", "65534:65534"] {
        let r = sh_in(agent, other, &format!("cat {path}"));
        assert_ne!(r.code, 0, "{other} read {path}: {}", r.stdout);
        assert!(
            r.stderr.contains("Permission denied"),
            "{other}: {}",
            r.stderr
        );
        assert!(!r.stdout.contains(value), "{other} read {path}");
    }
}

/// Managed settings: root's, not writable by the agent, and the key's helper iff `with_key`.
fn assert_managed_settings(agent: &str, user: &str, with_key: bool) -> String {
    let stat = sh_in(
        agent,
        user,
        &format!("stat -c '%u:%g %a' /etc/claude-code {MANAGED} {HELPER}"),
    );
    assert_eq!(stat.code, 0, "{}", stat.stderr);
    for line in stat.stdout.lines() {
        let (owner, mode) = line.split_once(' ').unwrap();
        assert_eq!(owner, "0:0", "{line}");
        let mode = u32::from_str_radix(mode, 8).unwrap();
        assert_eq!(mode & 0o022, 0, "group/other may write: {line}");
    }
    let before = sh_in(agent, user, &format!("cat {MANAGED}"));
    assert_eq!(before.code, 0, "{}", before.stderr);
    // The same writes work where the agent may write: the refusals below are permissions.
    let control = sh_in(
        agent,
        user,
        "echo '{}' > /tmp/m.json && echo '{}' >> /tmp/m.json && mv /tmp/m.json /tmp/n.json \
         && rm -f /tmp/n.json && touch /tmp/o.json && test -w /tmp/o.json",
    );
    assert_eq!(control.code, 0, "{}", control.stderr);
    for attempt in [
        format!("echo '{{}}' > {MANAGED}"),
        format!("echo '{{}}' >> {MANAGED}"),
        format!("rm -f {MANAGED}"),
        format!("mv {MANAGED} /tmp/x"),
        "touch /etc/claude-code/other.json".to_string(),
        format!("echo 'echo stolen' > {HELPER}"),
        format!("test -w {MANAGED} || test -w {HELPER} || exit 1"),
    ] {
        let r = sh_in(agent, user, &attempt);
        assert_ne!(r.code, 0, "the agent could `{attempt}`");
    }
    let after = sh_in(agent, user, &format!("cat {MANAGED}"));
    assert_eq!(before.stdout, after.stdout, "the managed settings changed");
    let json: serde_json::Value = serde_json::from_str(&after.stdout).unwrap();
    assert!(json["hooks"].is_object(), "{json}");
    if with_key {
        assert_eq!(json["apiKeyHelper"], HELPER, "{json}");
    } else {
        assert!(json.get("apiKeyHelper").is_none(), "{json}");
    }
    after.stdout
}

fn running(container: &str) -> bool {
    dk(&["inspect", "-f", "{{.State.Running}}", container])
        .stdout
        .trim()
        == "true"
}

fn session_containers(name: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("label={}={name}", labels::SESSION),
    ])
    .lines()
    .map(String::from)
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Positive controls: every scanner finds what was planted

/// Runs `docker ARGS` when dropped (removing what a test made), ignoring failures.
struct DockerOnDrop(Vec<String>);

impl Drop for DockerOnDrop {
    fn drop(&mut self) {
        let args: Vec<&str> = self.0.iter().map(String::as_str).collect();
        let _ = dk(&args);
    }
}

#[test]
fn every_scanner_finds_a_planted_canary() {
    scanners_find_planted_canaries(None);
}

/// The scanners again with the docker CLI on the second engine over tcp+TLS, as the remote
/// battery reads it.
#[test]
fn every_scanner_finds_a_planted_canary_on_a_remote_engine() {
    scanners_find_planted_canaries(Some(&Remote::from_env()));
}

fn scanners_find_planted_canaries(remote: Option<&Remote>) {
    // Dropped last: the guards below remove what they made on this engine.
    let _viewed = remote.map(view_engine);
    let name = unique(if remote.is_some() {
        "sec-rctl"
    } else {
        "sec-ctl"
    });
    let _c = Cleanup::new(&name);
    let started = SystemTime::now();

    // The byte scanner, across a chunk boundary of the stream reader.
    let needle = control("stream");
    let mut data = vec![b'x'; (8 << 20) * 2 + 17];
    let at = (8 << 20) - 5;
    data[at..at + needle.len()].copy_from_slice(needle.as_bytes());
    let mut leaks = Leaks::new(&[needle.as_str(), "not-there-at-all"]);
    assert_eq!(
        leaks.check_stream("stream", std::io::Cursor::new(&data)),
        data.len()
    );
    assert!(leaks.found("stream", 0));
    assert!(!leaks.found("stream", 1));

    // Files under a folder, nested.
    let folder = TempFolder::new(&format!("{name}-tree"), UID);
    let planted = control("file");
    std::fs::create_dir_all(folder.path.join("a/b")).unwrap();
    std::fs::write(folder.path.join("a/b/notes.txt"), format!("x{planted}y")).unwrap();
    std::fs::write(folder.path.join("clean.txt"), "nothing").unwrap();
    let mut leaks = Leaks::new(&[planted.as_str()]);
    assert_eq!(leaks.check_tree(&folder.path), 2);
    assert!(leaks.found(&format!("file {}", folder.path.display()), 0));
    assert_eq!(leaks.found.len(), 1);

    // Host processes: argv of the root, environment of its child; the root's own environment
    // is skipped when asked.
    let (arg, env) = (control("argv"), control("environ"));
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "sleep 0.4; true", "sh", &arg])
        .env("CTL_SECRET", &env)
        .stdout(Stdio::null());
    let (out, report) = run_sampled(cmd, &[&arg, &env], true);
    assert_eq!(out.code, 0);
    let root_argv = report
        .hits
        .iter()
        .find(|h| h.kind == "argv" && h.needle == 0)
        .expect("the sampler missed the planted argv");
    assert!(
        report
            .hits
            .iter()
            .any(|h| h.kind == "environ" && h.needle == 1 && h.pid != root_argv.pid),
        "the sampler missed the child's environment: {report:?}"
    );
    assert!(
        !report
            .hits
            .iter()
            .any(|h| h.kind == "environ" && h.pid == root_argv.pid),
        "the root's environment was not skipped"
    );
    assert!(
        report.children.iter().any(|c| c.starts_with("sleep")),
        "{:?}",
        report.children
    );
    let (_, unskipped) = {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 0.3; true"])
            .env("CTL_SECRET", &env)
            .stdout(Stdio::null());
        run_sampled(cmd, &[&env], false)
    };
    assert!(
        unskipped.hits.len() >= 2,
        "both environments: {unskipped:?}"
    );

    // An image: label and env in inspect, the RUN line in history, a file only in a layer.
    let (c_label, c_env, c_run) = (control("label"), control("imgenv"), control("run"));
    let (part_a, part_b) = (control("layera"), control("layerb"));
    let joined = format!("{part_a}{part_b}");
    let tag = format!("cctui-test-secrets-ctl:{}", run_id());
    let _image = DockerOnDrop(vec!["rmi".into(), "-f".into(), tag.clone()]);
    let dockerfile = format!(
        "FROM debian:bookworm-slim\nLABEL {}={} ctl.label={c_label}\nENV CTL_IMAGE_ENV={c_env}\n\
         RUN echo {c_run} >/dev/null && a={part_a} && b={part_b} && printf '%s%s' \"$a\" \"$b\" \
         > /planted\n",
        labels::TEST_RUN,
        run_id()
    );
    let ctx = tar_of(&[("Dockerfile", &dockerfile)]);
    let ctx_path = folder.path.join("ctx.tar");
    std::fs::write(&ctx_path, ctx).unwrap();
    let build = docker_cli()
        .args(["build", "-q", "-t", &tag, "-"])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(std::fs::File::open(&ctx_path).unwrap())
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );

    // A container: label, env and argv in inspect, env in logs and in /proc/*/environ, a file
    // it wrote only in its exported filesystem. And a volume with a label.
    let (c_clabel, c_cenv, c_p1, c_p2) = (
        control("clabel"),
        control("cenv"),
        control("p1"),
        control("p2"),
    );
    let exported = format!("{c_p1}{c_p2}");
    let container = format!("{name}-box");
    let _box = DockerOnDrop(vec!["rm".into(), "-f".into(), container.clone()]);
    let volume = format!("{name}-vol");
    let mut vol_guard = Cleanup::new(&format!("{name}-v"));
    vol_guard.volumes.push(volume.clone());
    docker(&[
        "volume",
        "create",
        "--label",
        &format!("{}={}", labels::TEST_RUN, run_id()),
        "--label",
        &format!("ctl.v={c_clabel}"),
        &volume,
    ]);
    docker(&[
        "run",
        "-d",
        "--name",
        &container,
        "--label",
        &format!("{}={}", labels::TEST_RUN, run_id()),
        "--label",
        &format!("cctui.test.owner={name}"),
        "--label",
        &format!("ctl.c={c_clabel}"),
        "-e",
        &format!("CTL_E={c_cenv}"),
        "-e",
        &format!("P1={c_p1}"),
        "-e",
        &format!("P2={c_p2}"),
        &tag,
        "sh",
        "-c",
        "echo \"log: $CTL_E\"; printf '%s%s' \"$P1\" \"$P2\" > /exported; sleep 120",
    ]);
    wait_for_log(&container, "log:");

    let needles = [
        c_label.as_str(),  // 0
        c_env.as_str(),    // 1
        c_run.as_str(),    // 2
        joined.as_str(),   // 3
        c_clabel.as_str(), // 4
        c_cenv.as_str(),   // 5
        exported.as_str(), // 6
    ];
    let mut leaks = Leaks::new(&needles);
    let images = scan_inspect(&mut leaks, &[&container], std::slice::from_ref(&volume));
    assert_eq!(images, vec![tag.clone()]);
    assert!(leaks.found(&format!("docker inspect {container}"), 4));
    assert!(leaks.found(&format!("docker inspect {container}"), 5));
    assert!(leaks.found(&format!("docker image inspect {tag}"), 0));
    assert!(leaks.found(&format!("docker image inspect {tag}"), 1));
    assert!(leaks.found("docker image inspect sha256:", 0));
    assert!(leaks.found(&format!("docker volume inspect {volume}"), 4));
    scan_history(&mut leaks, &images);
    assert!(leaks.found(&format!("docker history {tag}"), 2));
    assert!(
        !leaks.found("docker history", 3),
        "the joined value is no command"
    );
    scan_docker_stream(&mut leaks, "docker save", &["save", &tag]);
    assert!(
        leaks.found("docker save", 3),
        "a file in a layer was missed"
    );
    scan_logs(&mut leaks, &[&container]);
    assert!(leaks.found("docker logs", 5));
    assert!(!leaks.found("docker logs", 4));
    // A running process's environment, planted only there (through stdin, so in no argv,
    // no container config, and not in the environment an exec inherits): the scanner must
    // find it in that process, and not in itself.
    let live = control("live");
    let mut planter = docker_cli()
        .args([
            "exec",
            "-i",
            &container,
            "sh",
            "-c",
            "read -r v; CTL_LIVE=\"$v\" exec sleep 300",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = planter.stdin.take().unwrap();
        stdin.write_all(format!("{live}\n").as_bytes()).unwrap();
        // Kept open: the planted process lives as long as the exec.
        std::mem::forget(stdin);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut leaks_live = Leaks::new(&[live.as_str(), c_cenv.as_str()]);
    let procs = loop {
        let procs = scan_container_environ(&mut leaks_live, &container, "0:0");
        if procs.iter().any(|p| p.cmdline.starts_with("sleep 300")) {
            break procs;
        }
        assert!(
            Instant::now() < deadline,
            "the planted process never ran: {procs:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let planted = procs
        .iter()
        .find(|p| p.cmdline.starts_with("sleep 300"))
        .unwrap();
    assert!(planted.environ.contains(&live), "{planted:?}");
    assert!(
        procs
            .iter()
            .filter(|p| p.environ.contains(&live))
            .all(|p| !p.is_scanner),
        "the scanner found the live canary in itself"
    );
    assert!(
        procs
            .iter()
            .any(|p| p.is_scanner && !p.environ.contains(&live)),
        "the scanner did not see itself: {procs:?}"
    );
    assert!(leaks_live.found("/proc/*/environ and cmdline in", 0));
    let _ = planter.kill();
    let _ = planter.wait();
    let environ = scan_container_environ(&mut leaks, &container, "0:0");
    assert!(!environ.is_empty());
    assert!(leaks.found("/proc/*/environ and cmdline in", 5));
    scan_docker_stream(&mut leaks, "docker export", &["export", &container]);
    assert!(leaks.found("docker export", 6), "a file in the container");
    scan_events(&mut leaks, started, &container);
    assert!(leaks.found("docker events", 4));
    let n = scan_all_images(&mut leaks);
    assert!(n >= 2, "{n} images");
    assert!(leaks.found("docker image inspect (every image)", 0));
    assert!(leaks.found("docker history sha256:", 2));

    // And the accumulator reports what it found.
    let report = leaks.report().expect("findings are reported");
    assert!(
        report.contains(&c_label) && report.contains("docker save"),
        "{report}"
    );
}

// ---------------------------------------------------------------------------------------------
// The key from a command source, with the firewall on: held by the broker, never the agent

/// A fake Anthropic API over TLS, with a throwaway CA, on a test network of the test `name`,
/// on the first engine or on `remote`: the broker's upstream. Returns (network, fake API
/// container, config TOML for the broker).
fn fake_upstream(name: &str, keys: &Path, remote: Option<&Remote>) -> (String, String, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let b = match remote {
            None => engine().await,
            Some(r) => {
                let b = DockerBackend::connect(Some(&r.sock), Duration::from_secs(60))
                    .await
                    .unwrap_or_else(|e| panic!("the second engine at {}: {e}", r.sock));
                copy_server_image(&b, &r.sock).await;
                b
            }
        };
        let net = test_network(&b, name).await;
        let (id, ca) = start_tls_server(
            &b,
            name,
            &net,
            &["api.fake.test"],
            &["api.fake.test"],
            "python3 /usr/local/bin/fake_api.py 443 0 /tmp/tls",
        )
        .await;
        let ca_path = keys.join("upstream-ca.pem");
        std::fs::write(&ca_path, ca).unwrap();
        let toml = format!(
            "[broker]\nupstream = \"https://api.fake.test\"\nextra_ca_certs = [{:?}]\n",
            ca_path.display().to_string()
        );
        (net, id, toml)
    })
}

/// The test servers' image, built on the first engine and loaded into the second (which
/// `start_tls_server` then finds there by its tag), as tests/engines.sh copies images.
async fn copy_server_image(second: &DockerBackend, sock: &str) {
    let tag = server_image(&engine().await).await;
    if second.inspect_image(&tag).await.unwrap().is_some() {
        return;
    }
    let first = std::env::var("DOCKER_HOST").expect("DOCKER_HOST names the first engine");
    let script =
        format!("DOCKER_HOST={first} docker save {tag} | DOCKER_HOST={sock} docker load -q");
    let ok = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(ok.success(), "copying {tag} to the second engine");
}

/// What the fake upstream saw of credentials, one line per request ("x-api-key=K
/// authorization=A beta=B").
fn upstream_auth(api: &str) -> Vec<String> {
    let out = dk(&["logs", api]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("api auth "))
        .map(String::from)
        .collect()
}

/// A request from the agent to the broker that carries its own (fake) credentials, which the
/// broker must drop. Returns curl's output.
fn request_through_broker(agent: &str, user: &str) -> String {
    let out = sh_in(
        agent,
        user,
        "curl -sS --max-time 10 -H 'x-api-key: agent-sent-this-key' \
         -H 'Authorization: Bearer agent-sent-this-token' -H 'content-type: application/json' \
         -d '{\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}' \
         http://127.0.0.1:999/v1/messages 2>&1",
    );
    assert_eq!(
        out.code, 0,
        "through the broker: {}{}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// The agent's side of the promise: the needle is in no file the agent (or root in its
/// container) can read, tmpfs included, nor in any process's environment or command line.
fn assert_agent_never_holds(agent: &str, user: &str, needle: &str) {
    for who in [user, "0:0"] {
        let (hits, files) = search_container_fs(agent, who, needle);
        assert!(files > 1000, "the search read only {files} files as {who}");
        assert!(
            hits.is_empty(),
            "as {who}, these files hold the credential: {hits:?}"
        );
        let mut leaks = Leaks::new(&[needle]);
        let procs = scan_container_environ(&mut leaks, agent, who);
        // As the agent, claude's processes are read too; root without CAP_SYS_PTRACE sees
        // only its own.
        assert!(
            who != user
                || procs
                    .iter()
                    .any(|p| !p.is_scanner && p.cmdline.contains("claude")),
            "{procs:?}"
        );
        leaks.assert_none();
    }
    // Positive control of the search: a file the agent can read, planted with the needle's
    // shape, is found.
    let ctl = control("fsctl");
    let w = sh_in(agent, user, &format!("echo {ctl} > /tmp/ctl-planted"));
    assert_eq!(w.code, 0, "{}", w.stderr);
    let (hits, _) = search_container_fs(agent, user, &ctl);
    assert_eq!(hits, vec!["/tmp/ctl-planted".to_string()]);
    sh_in(agent, user, "rm -f /tmp/ctl-planted");
}

/// The holder's side: the broker's tmpfs holds the credential, readable by the broker's uid
/// only (root in the holder has no CAP_DAC_OVERRIDE).
fn assert_only_the_broker_reads(holder: &str, needle: &str) {
    let file = "/run/cctui-broker/credential.conf";
    let stat = sh_in(
        holder,
        "64996:64996",
        &format!("stat -c '%u %a' /run/cctui-broker {file}"),
    );
    let mounts = sh_in(
        holder,
        "64996:64996",
        "grep cctui-broker /proc/mounts; ls -la /run/cctui-broker",
    );
    assert_eq!(
        stat.stdout.trim(),
        "64996 700\n64996 600",
        "{}{}",
        stat.stderr,
        mounts.stdout
    );
    let read = sh_in(holder, "64996:64996", &format!("cat {file}"));
    assert!(
        read.stdout.contains(needle),
        "the broker's file lacks the credential"
    );
    for other in ["0:0", "64997:64997", "1234:1234"] {
        let r = sh_in(holder, other, &format!("cat {file}"));
        assert_ne!(r.code, 0, "{other} read the broker's credential");
        assert!(!r.stdout.contains(needle));
    }
}

#[test]
fn a_command_sourced_key_is_held_by_the_broker_and_never_by_the_agent() {
    command_sourced_key_battery(None);
}

/// The same battery with the session on the second engine, which cctui reaches over tcp+TLS:
/// the engine's own views (inspect, history, logs, exec, save, events) are read from there.
#[test]
fn on_a_remote_engine_the_key_is_held_by_the_broker_and_never_by_the_agent() {
    command_sourced_key_battery(Some(&Remote::from_env()));
}

/// The key (then a new key, then a setup token) from a command source, firewall on, with the
/// session on the first engine, or on `remote`.
fn command_sourced_key_battery(remote: Option<&Remote>) {
    assert_env_has_no_keys();
    let _viewed = remote.map(view_engine);
    let t0 = Instant::now();
    let started = SystemTime::now();
    let name = unique(if remote.is_some() {
        "sec-rfw"
    } else {
        "sec-fw"
    });
    let project = TempFolder::new(&name, UID);
    // Dropped after `_c`: the containers go first, then their volumes.
    let _vols = guard_volumes(&name, &project.path);
    let _c = Cleanup::new(&name);
    let keys = key_folder(&name);
    let (key1, key2, gh) = (
        canary("one"),
        canary("two"),
        format!("ghp_{}", canary("gh")),
    );
    let key_path = keys.path.join("api-key");
    let gh_path = keys.path.join("gh-token");
    write_secret(&key_path, &key1);
    write_secret(&gh_path, &gh);
    let (net, api, broker_toml) = fake_upstream(&name, &keys.path, remote);
    let secrets_toml = format!(
        "[secrets]\nanthropic_api_key = {{ command = {:?} }}\n\
         [secrets.extra]\nGH_TOKEN = {{ file = {:?} }}\n",
        format!("sleep 0.3; cat '{}'", key_path.display()),
        gh_path.display().to_string()
    );
    let engines_toml = remote.map(Remote::engines_toml).unwrap_or_default();
    let cfg = config_folder(
        &name,
        &format!("{FIREWALL_ON}{broker_toml}{secrets_toml}{engines_toml}"),
    );
    let needles = [key1.as_str(), gh.as_str()];
    let p = project.path.to_str().unwrap();
    let engine_arg: &[&str] = if remote.is_some() {
        &["--engine", ENGINE2]
    } else {
        &[]
    };
    let new_args = [engine_arg, &["new", p, "--name", &name]].concat();

    // `cctui new`, every host process sampled all along.
    let (out, procs) = run_sampled(
        cctui_command(&cfg.path, &[&new_args[..], &["--network", &net]].concat()),
        &needles,
        false,
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    if remote.is_some() {
        // The session is on the second engine alone, so every view below is read there.
        let filter = format!("label={}={name}", labels::SESSION);
        let here = common::docker(&["ps", "-aq", "--filter", &filter]);
        assert!(here.trim().is_empty(), "on the first engine: {here}");
        assert_eq!(session_containers(&name).len(), 2, "on the second engine");
    }
    procs.assert_clean(&needles);
    assert!(
        procs.children.iter().any(|c| c.contains("sleep 0.3")),
        "the key command was never seen running: {:?}",
        procs.children
    );
    eprintln!(
        "new: {:.1} s, {} sampler rounds over {} processes",
        t0.elapsed().as_secs_f64(),
        procs.rounds,
        procs.pids
    );

    let agent = format!("cctui-{name}");
    let holder = format!("cctui-{name}-net");
    assert!(running(&agent) && running(&holder));
    let user = container_user(&agent);
    assert_eq!(user, format!("{UID}:{UID}"));

    // The helper prints a placeholder; the key is held by the broker in the holder, and the
    // agent can find it nowhere.
    let helper = sh_in(&agent, &user, HELPER);
    assert_eq!(helper.code, 0, "{}", helper.stderr);
    assert_eq!(helper.stdout.trim(), cctui::sandbox::broker::PLACEHOLDER);
    assert!(!helper.stdout.contains(&key1));
    assert_only_the_agent_reads(&agent, &user, KEY_FILE, cctui::sandbox::broker::PLACEHOLDER);
    assert_agent_never_holds(&agent, &user, &key1);
    assert_only_the_broker_reads(&holder, &key1);
    // The upstream receives exactly the key, and none of what the agent sent.
    let reply = request_through_broker(&agent, &user);
    assert!(reply.contains("msg_fake"), "{reply}");
    let seen = upstream_auth(&api);
    let last = seen
        .last()
        .unwrap_or_else(|| panic!("the upstream saw nothing: {seen:?}"));
    assert_eq!(
        last,
        &format!("x-api-key={key1} authorization=- beta=-"),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|l| !l.contains("agent-sent-this")),
        "{seen:?}"
    );
    // The broker's traffic is visible.
    let report = cli(&cfg.path, &["fw", "status", &name, "--json"]);
    assert_eq!(report.code, 0, "{}{}", report.stdout, report.stderr);
    let json: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
    assert!(
        json["broker"]["requests"].as_u64().unwrap_or(0) >= 1,
        "{json}"
    );
    assert_eq!(json["broker"]["last_status"], 200, "{json}");
    assert!(
        json["broker"]["bytes_out"].as_u64().unwrap_or(0) > 100,
        "{json}"
    );
    let dir = sh_in(&agent, &user, "stat -c '%u %a' /run/cctui/secrets");
    assert_eq!(dir.stdout.trim(), format!("{UID} 700"));
    // The extra secret: a file alike, and in no environment variable.
    assert_only_the_agent_reads(&agent, &user, "/run/cctui/secrets/GH_TOKEN", &gh);
    let files = secret_files(&agent, &user);
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        ["GH_TOKEN", "anthropic_api_key"],
        "exactly the two secrets, no temporary files"
    );
    // Managed settings.
    let managed = assert_managed_settings(&agent, &user, true);
    let settings: serde_json::Value = serde_json::from_str(&managed).unwrap();
    assert_eq!(
        settings["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:999",
        "{settings}"
    );

    // Everything the engine shows of the session.
    let mut leaks = Leaks::new(&needles);
    let proj = Project::at(&project.path).unwrap();
    let volumes = [proj.config_volume(), proj.history_volume()];
    leaks.check("managed settings", &managed);
    // inspect: containers, images, volumes, network.
    let images = scan_inspect(&mut leaks, &[&agent, &holder], &volumes);
    assert_eq!(images.len(), 2, "{images:?}");
    leaks.check(
        "docker network inspect",
        docker(&["network", "inspect", &format!("cctui-{name}")]),
    );
    // history and the agent image's layers.
    scan_history(&mut leaks, &images);
    let agent_image = docker(&["inspect", "-f", "{{.Config.Image}}", &agent])
        .trim()
        .to_string();
    let saved = scan_docker_stream(&mut leaks, "docker save", &["save", &agent_image]);
    assert!(saved > 10 << 20, "{saved} bytes");
    // Environments inside the containers, as root and as the agent.
    let env_agent = scan_container_environ(&mut leaks, &agent, &user);
    // claude's own environment was read, not just the scanner's.
    let claude = env_agent
        .iter()
        .find(|p| !p.is_scanner && p.cmdline.contains("/usr/local/bin/claude"))
        .unwrap_or_else(|| panic!("claude's process was not read: {env_agent:?}"));
    assert!(
        claude.environ.contains(&format!("CCTUI_SESSION={name}")),
        "{claude:?}"
    );
    for p in &env_agent {
        for var in ["GH_TOKEN=", "ANTHROPIC_API_KEY="] {
            assert!(
                !p.environ.contains(var),
                "{var} in the environment of {p:?}"
            );
        }
    }
    assert!(!scan_container_environ(&mut leaks, &agent, "0:0").is_empty());
    assert!(!scan_container_environ(&mut leaks, &holder, "0:0").is_empty());
    let env = sh_in(&agent, &user, "env");
    assert!(env.stdout.contains("CLAUDE_CONFIG_DIR="), "{}", env.stdout);
    leaks.check("env as the agent", &env.stdout);
    assert!(!env.stdout.contains("GH_TOKEN"), "{}", env.stdout);
    // Logs.
    let agent_log = wait_for_log(&agent, "fake claude");
    assert!(agent_log.contains("fake claude"), "{agent_log}");
    scan_logs(&mut leaks, &[&agent, &holder]);
    // cctui's output and log, and everything else in its config and state folders.
    leaks.check("cctui new stdout", &out.stdout);
    leaks.check("cctui new stderr", &out.stderr);
    // cctui logs little but errors, even at debug: make one, so that the log is not empty.
    let taken = cli(&cfg.path, &new_args);
    assert_eq!(taken.code, 2, "{}", taken.stderr);
    leaks.check(
        "cctui new (name taken) output",
        format!("{}{}", taken.stdout, taken.stderr),
    );
    let log = std::fs::read_to_string(cfg.path.join("state/cctui.log")).unwrap();
    assert!(log.contains("taken"), "the log has no error line:\n{log}");
    assert!(leaks.check_tree(&cfg.path) >= 3);
    // The project's volumes, which outlive the session: every byte, through a tar.
    let tar = scan_docker_stream(
        &mut leaks,
        "the config and history volumes",
        &[
            "exec",
            "-u",
            &user,
            &agent,
            "tar",
            "-cf",
            "-",
            "-C",
            "/home/claude/.claude",
            ".",
            "-C",
            "/commandhistory",
            ".",
        ],
    );
    assert!(tar >= 10240, "{tar} bytes");
    // The project folder.
    std::fs::write(project.path.join("README.md"), "a project\n").unwrap();
    assert!(leaks.check_tree(&project.path) >= 1);
    // The build cache: every image's inspect and history.
    scan_all_images(&mut leaks);
    scan_events(&mut leaks, started, &agent);
    leaks.assert_none();
    eprintln!(
        "scanned {} sources at {:.1} s",
        leaks.checked.len(),
        t0.elapsed().as_secs_f64()
    );

    // Stopped: the tmpfs is gone, and the container's filesystem never had the key.
    let stop = cli(&cfg.path, &["stop", &name]);
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    assert!(!running(&agent) && !running(&holder));
    let mut leaks = Leaks::new(&needles);
    let exported = scan_docker_stream(&mut leaks, "docker export (stopped)", &["export", &agent]);
    assert!(exported > 10 << 20);
    leaks.assert_none();

    // Started again with a new key: the new value, and no trace of the old one.
    write_secret(&key_path, &key2);
    let all = [key1.as_str(), key2.as_str(), gh.as_str()];
    let (start, procs) = run_sampled(cctui_command(&cfg.path, &["start", &name]), &all, false);
    assert_eq!(start.code, 0, "{}{}", start.stdout, start.stderr);
    procs.assert_clean(&all);
    assert!(procs.children.iter().any(|c| c.contains("sleep 0.3")));
    let helper = sh_in(&agent, &user, HELPER);
    assert_eq!(helper.stdout.trim(), cctui::sandbox::broker::PLACEHOLDER);
    let files = secret_files(&agent, &user);
    assert_eq!(files.len(), 2, "{:?}", files.keys());
    assert!(files
        .values()
        .all(|v| !v.contains(&key1) && !v.contains(&key2)));
    assert_agent_never_holds(&agent, &user, &key2);
    assert_only_the_broker_reads(&holder, &key2);
    request_through_broker(&agent, &user);
    let seen = upstream_auth(&api);
    assert_eq!(
        seen.last().unwrap(),
        &format!("x-api-key={key2} authorization=- beta=-"),
        "{seen:?}"
    );
    let mut leaks = Leaks::new(&all);
    scan_inspect(&mut leaks, &[&agent, &holder], &volumes);
    scan_logs(&mut leaks, &[&agent, &holder]);
    scan_container_environ(&mut leaks, &agent, &user);
    leaks.check(
        "cctui start output",
        format!("{}{}", start.stdout, start.stderr),
    );
    leaks.check_tree(&cfg.path);
    leaks.assert_none();

    // A setup token instead (Claude subscriptions): held the same way, sent as a Bearer
    // token with the OAuth beta flag, and nowhere in the agent.
    let token = format!(
        "sk-ant-oat01-{}",
        canary("oauth").trim_start_matches("sk-ant-api03-")
    );
    let token_path = keys.path.join("setup-token");
    write_secret(&token_path, &token);
    assert_eq!(cli(&cfg.path, &["stop", &name]).code, 0);
    let with_token = format!(
        "[secrets]\nclaude_code_oauth_token = {{ file = {:?} }}\n",
        token_path.display().to_string()
    );
    std::fs::write(
        cfg.path.join("config.toml"),
        std::fs::read_to_string(cfg.path.join("config.toml"))
            .unwrap()
            .replace(&secrets_toml, &with_token),
    )
    .unwrap();
    let (start, procs) = run_sampled(
        cctui_command(&cfg.path, &["start", &name]),
        &[&token],
        false,
    );
    assert_eq!(start.code, 0, "{}{}", start.stdout, start.stderr);
    procs.assert_clean(&[&token]);
    assert_eq!(
        sh_in(&agent, &user, HELPER).stdout.trim(),
        cctui::sandbox::broker::PLACEHOLDER
    );
    assert_agent_never_holds(&agent, &user, &token);
    assert_only_the_broker_reads(&holder, &token);
    request_through_broker(&agent, &user);
    let seen = upstream_auth(&api);
    assert_eq!(
        seen.last().unwrap(),
        &format!("x-api-key=- authorization=Bearer {token} beta=oauth-2025-04-20"),
        "{seen:?}"
    );
    let mut leaks = Leaks::new(&[&token]);
    scan_inspect(&mut leaks, &[&agent, &holder], &volumes);
    scan_logs(&mut leaks, &[&agent, &holder]);
    leaks.check(
        "cctui start output",
        format!("{}{}", start.stdout, start.stderr),
    );
    leaks.check_tree(&cfg.path);
    leaks.check_tree(&project.path);
    leaks.assert_none();

    let rm = cli(&cfg.path, &["rm", &name]);
    assert_eq!(rm.code, 0, "{}", rm.stderr);
    eprintln!("total {:.1} s", t0.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------
// The key from cctui's own environment

#[test]
fn a_key_in_cctuis_environment_reaches_no_child_process() {
    assert_env_has_no_keys();
    let name = unique("sec-env");
    let project = TempFolder::new(&name, UID);
    // Dropped after `_c`: the containers go first, then their volumes.
    let _vols = guard_volumes(&name, &project.path);
    let _c = Cleanup::new(&name);
    let key = canary("env");
    // No key source: ANTHROPIC_API_KEY is used. A command source for another secret makes
    // cctui start a child whose environment can be read.
    let cfg = config_folder(
        &name,
        &format!(
            "{FIREWALL_OFF}[secrets.extra]\nPROBE = {{ command = \"sleep 0.5; echo probe-value\" }}\n"
        ),
    );
    let p = project.path.to_str().unwrap();
    let mut cmd = cctui_command(&cfg.path, &["new", p, "--name", &name]);
    cmd.env("ANTHROPIC_API_KEY", &key);
    let (out, procs) = run_sampled(cmd, &[&key], true);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    procs.assert_clean(&[&key]);
    assert!(
        procs.children.iter().any(|c| c.contains("sleep 0.5")),
        "the probe command was never seen: {:?}",
        procs.children
    );

    let agent = format!("cctui-{name}");
    let user = container_user(&agent);
    assert_eq!(sh_in(&agent, &user, HELPER).stdout.trim(), key);
    assert_only_the_agent_reads(&agent, &user, KEY_FILE, &key);
    assert_only_the_agent_reads(&agent, &user, "/run/cctui/secrets/PROBE", "probe-value");
    assert_managed_settings(&agent, &user, true);

    // `cctui exec` runs no docker CLI (it speaks the engine's API), and whatever child it
    // may start must not inherit the key either.
    let mut cmd = cctui_command(
        &cfg.path,
        &["exec", &name, "--", "sh", "-c", "sleep 0.5; env"],
    );
    cmd.env("ANTHROPIC_API_KEY", &key);
    let (exec, procs) = run_sampled(cmd, &[&key], true);
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    procs.assert_clean(&[&key]);
    assert!(
        !procs.children.iter().any(|c| c.starts_with("docker")),
        "a docker CLI ran: {:?}",
        procs.children
    );
    assert!(exec.stdout.contains("CCTUI_SESSION="), "{}", exec.stdout);

    let mut leaks = Leaks::new(&[&key]);
    leaks.check(
        "cctui exec output",
        format!("{}{}", exec.stdout, exec.stderr),
    );
    leaks.check("cctui new output", format!("{}{}", out.stdout, out.stderr));
    let proj = Project::at(&project.path).unwrap();
    let images = scan_inspect(
        &mut leaks,
        &[&agent],
        &[proj.config_volume(), proj.history_volume()],
    );
    scan_history(&mut leaks, &images);
    wait_for_log(&agent, "fake claude");
    scan_logs(&mut leaks, &[&agent]);
    scan_container_environ(&mut leaks, &agent, &user);
    scan_container_environ(&mut leaks, &agent, "0:0");
    leaks.check_tree(&cfg.path);
    leaks.check_tree(&project.path);
    leaks.assert_none();
    assert_eq!(cli(&cfg.path, &["rm", &name]).code, 0);
}

/// A key or extra secret read from an environment variable named in config.toml leaves
/// cctui's environment like `ANTHROPIC_API_KEY` does, so no process cctui starts (a command
/// source here; the docker CLI of `cctui exec` alike) inherits it.
#[test]
fn secrets_from_configured_env_vars_reach_no_child_process() {
    assert_env_has_no_keys();
    let name = unique("sec-xenv");
    let project = TempFolder::new(&name, UID);
    // Dropped after `_c`: the containers go first, then their volumes.
    let _vols = guard_volumes(&name, &project.path);
    let _c = Cleanup::new(&name);
    let key = canary("xenvkey");
    let token = format!("ghp_{}", canary("xenv"));
    // The key, then GH_TOKEN (extras go by name) resolve from the environment; ZPROBE then
    // runs as a child and fails, so nothing is created.
    let cfg = config_folder(
        &name,
        &format!(
            "{FIREWALL_OFF}[secrets]\nanthropic_api_key = {{ env = \"{CUSTOM_KEY_VAR}\" }}\n\
             [secrets.extra]\nGH_TOKEN = {{ env = \"GH_TOKEN\" }}\n\
             ZPROBE = {{ command = \"sleep 0.5; echo probe failed >&2; exit 1\" }}\n"
        ),
    );
    let p = project.path.to_str().unwrap();
    let mut cmd = cctui_command(&cfg.path, &["new", p, "--name", &name]);
    cmd.env("GH_TOKEN", &token).env(CUSTOM_KEY_VAR, &key);
    let (out, procs) = run_sampled(cmd, &[&key, &token], true);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("probe failed"), "{}", out.stderr);
    assert!(
        procs.children.iter().any(|c| c.contains("sleep 0.5")),
        "{:?}",
        procs.children
    );
    procs.assert_clean(&[&key, &token]);
    assert!(session_containers(&name).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Login state, no key, failing sources

#[tokio::test]
async fn login_state_survives_rm_and_new_and_is_never_shared_between_projects() {
    assert_env_has_no_keys();
    let (a, b) = (unique("sec-login-a"), unique("sec-login-b"));
    let cfg = TempFolder::new(&format!("{a}-cfg"), 0);
    let (pa, pb) = (TempFolder::new(&a, UID), TempFolder::new(&b, UID));
    let _va = guard_volumes(&a, &pa.path);
    let _vb = guard_volumes(&b, &pb.path);
    let _ca = Cleanup::new(&a);
    let _cb = Cleanup::new(&b);
    let mut ops = small_ops(&cfg.path).await;
    ops.config.firewall.mode = FirewallMode::Off;
    let plan_a = plan_session(&ops.config, &pa.path, Some(&a), &[], &[]).unwrap();
    let plan_b = plan_session(&ops.config, &pb.path, Some(&b), &[], &[]).unwrap();
    let (agent_a, agent_b) = (format!("cctui-{a}"), format!("cctui-{b}"));
    let user = format!("{UID}:{UID}");
    let marker = control("login");

    ops.create(&plan_a, |_| {}).await.unwrap();
    let w = sh_in(
        &agent_a,
        &user,
        &format!(
            "printf '{{\"claudeAiOauth\":{{\"accessToken\":\"{marker}\"}}}}' \
             > $CLAUDE_CONFIG_DIR/.credentials.json && chmod 600 $CLAUDE_CONFIG_DIR/.credentials.json \
             && printf '{{\"oauthAccount\":{{\"emailAddress\":\"a@example.test\"}}}}' \
             > $CLAUDE_CONFIG_DIR/.claude.json"
        ),
    );
    assert_eq!(w.code, 0, "{}", w.stderr);

    ops.remove(&a, false).await.unwrap();
    assert!(session_containers(&a).is_empty());
    ops.create(&plan_a, |_| {}).await.unwrap();
    let creds = sh_in(&agent_a, &user, "cat $CLAUDE_CONFIG_DIR/.credentials.json");
    assert_eq!(creds.code, 0, "the login was lost: {}", creds.stderr);
    assert!(creds.stdout.contains(&marker));
    let json = sh_in(&agent_a, &user, "cat $CLAUDE_CONFIG_DIR/.claude.json");
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        json["oauthAccount"]["emailAddress"], "a@example.test",
        "{json}"
    );

    // Another project: its own volume, empty of A's login; and A never sees B's.
    ops.create(&plan_b, |_| {}).await.unwrap();
    let ls = sh_in(&agent_b, &user, "ls -A $CLAUDE_CONFIG_DIR; cat $CLAUDE_CONFIG_DIR/* $CLAUDE_CONFIG_DIR/.[!.]* 2>/dev/null; true");
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert!(!ls.stdout.contains(".credentials.json"), "{}", ls.stdout);
    assert!(!ls.stdout.contains(&marker));
    assert!(!ls.stdout.contains("oauthAccount"), "{}", ls.stdout);
    let mb = control("login-b");
    assert_eq!(
        sh_in(
            &agent_b,
            &user,
            &format!("echo {mb} > $CLAUDE_CONFIG_DIR/.credentials.json")
        )
        .code,
        0
    );
    let seen = sh_in(&agent_a, &user, "cat $CLAUDE_CONFIG_DIR/.credentials.json");
    assert!(seen.stdout.contains(&marker) && !seen.stdout.contains(&mb));
    let mounts = |c: &str| -> BTreeSet<String> {
        docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", c])
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let (ma, mb_) = (mounts(&agent_a), mounts(&agent_b));
    assert_eq!(ma.len(), 2, "{ma:?}");
    assert!(ma.is_disjoint(&mb_), "shared volumes: {ma:?} {mb_:?}");
    assert!(ma.contains(&plan_a.project.config_volume()));
    ops.remove(&a, false).await.unwrap();
    ops.remove(&b, false).await.unwrap();
}

#[test]
fn without_a_key_the_session_starts_for_login_with_no_helper() {
    assert_env_has_no_keys();
    let name = unique("sec-nokey");
    let project = TempFolder::new(&name, UID);
    // Dropped after `_c`: the containers go first, then their volumes.
    let _vols = guard_volumes(&name, &project.path);
    let _c = Cleanup::new(&name);
    let cfg = config_folder(&name, FIREWALL_OFF);
    let out = cli(
        &cfg.path,
        &["new", project.path.to_str().unwrap(), "--name", &name],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let agent = format!("cctui-{name}");
    assert!(running(&agent));
    let user = container_user(&agent);
    assert_managed_settings(&agent, &user, false);
    assert!(secret_files(&agent, &user).is_empty());
    let helper = sh_in(&agent, &user, HELPER);
    assert_ne!(helper.code, 0, "{}", helper.stdout);
    // Claude runs, and will ask to log in: onboarding is not marked done.
    let log = wait_for_log(&agent, "fake claude");
    assert!(log.contains("fake claude"), "{log}");
    let json = sh_in(&agent, &user, "cat $CLAUDE_CONFIG_DIR/.claude.json");
    assert_eq!(json.code, 0, "{}", json.stderr);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(json.get("hasCompletedOnboarding").is_none(), "{json}");
    assert_eq!(cli(&cfg.path, &["rm", &name]).code, 0);
}

#[test]
fn a_failing_key_command_shows_its_stderr_and_makes_nothing() {
    assert_env_has_no_keys();
    let name = unique("sec-fail");
    let project = TempFolder::new(&name, UID);
    // Dropped after `_c`: the containers go first, then their volumes.
    let _vols = guard_volumes(&name, &project.path);
    let _c = Cleanup::new(&name);
    let keys = key_folder(&name);
    let key = canary("fail");
    // Printed by the failing command on stdout; its two halves only are in the config.
    let printed = canary("stdout");
    let (half1, half2) = printed.split_at(printed.len() / 2);
    let key_path = keys.path.join("api-key");
    write_secret(&key_path, &key);
    let why = format!("vault is locked {}", random_hex());
    let failing = format!(
        "[secrets]\nanthropic_api_key = {{ command = {:?} }}\n",
        format!("printf '%s%s\\n' {half1} {half2}; echo '{why}' >&2; exit 3")
    );
    let cfg = config_folder(&name, &format!("{FIREWALL_OFF}{failing}"));
    let p = project.path.to_str().unwrap();

    let out = cli(&cfg.path, &["new", p, "--name", &name]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&why), "{}", out.stderr);
    assert!(session_containers(&name).is_empty(), "containers were made");
    assert!(dk(&["network", "inspect", &format!("cctui-{name}")]).code != 0);
    let proj = Project::at(&project.path).unwrap();
    for v in [proj.config_volume(), proj.history_volume()] {
        assert_ne!(dk(&["volume", "inspect", &v]).code, 0, "{v} was made");
    }
    // What the command printed on stdout before failing is shown nowhere.
    let mut leaks = Leaks::new(&[&printed]);
    leaks.check("cctui output", format!("{}{}", out.stdout, out.stderr));
    leaks.check_tree(&cfg.path);
    leaks.assert_none();

    // A session made with a good source, stopped, then started with a failing one: nothing
    // starts.
    let good = format!(
        "[secrets]\nanthropic_api_key = {{ file = {:?} }}\n",
        key_path.display().to_string()
    );
    std::fs::write(
        cfg.path.join("config.toml"),
        std::fs::read_to_string(cfg.path.join("config.toml"))
            .unwrap()
            .replace(&failing, &good),
    )
    .unwrap();
    let made = cli(&cfg.path, &["new", p, "--name", &name]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let agent = format!("cctui-{name}");
    assert_eq!(
        sh_in(&agent, &container_user(&agent), HELPER).stdout.trim(),
        key
    );
    assert_eq!(cli(&cfg.path, &["stop", &name]).code, 0);
    std::fs::write(
        cfg.path.join("config.toml"),
        std::fs::read_to_string(cfg.path.join("config.toml"))
            .unwrap()
            .replace(&good, &failing),
    )
    .unwrap();
    let start = cli(&cfg.path, &["start", &name]);
    assert_eq!(start.code, 1, "{}", start.stderr);
    assert!(start.stderr.contains(&why), "{}", start.stderr);
    assert!(!running(&agent), "the agent started without its key");
    assert_eq!(cli(&cfg.path, &["rm", &name]).code, 0);
}
