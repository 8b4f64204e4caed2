//! The engines of the several-engines tests and benchmarks: the first (DOCKER_HOST), the
//! second (tests/engines.sh), and one of the test's own that it may kill and start again.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// The second engine's host, from tests/engines.sh; a panic that says how to get it.
pub fn engine2() -> String {
    std::env::var("CCTUI_TEST_ENGINE2_SOCK").unwrap_or_else(|_| {
        panic!(
            "these tests need the second engine: run `tests/engines.sh start` and export \
             the variables of `tests/engines.sh env` (tests/run.sh does both)"
        )
    })
}

pub fn engine1() -> String {
    std::env::var("DOCKER_HOST").expect("DOCKER_HOST names the first engine")
}

/// `docker` against the engine at `host`; stdout, or "" when it fails.
pub fn docker_at(host: &str, args: &[&str]) -> String {
    let out = Command::new("docker")
        .env("DOCKER_HOST", host)
        .args(args)
        .output()
        .expect("the docker CLI");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A dockerd of this test's own (data root, exec root, pidfile, socket and bridge), which
/// the test may kill and start again; stopped, and its bridge removed, when dropped.
pub struct OwnEngine {
    root: PathBuf,
    pub host: String,
    bridge: String,
    /// The daemon, a child of this test: waited for, so that it never lingers as a zombie.
    daemon: std::sync::Mutex<Option<std::process::Child>>,
}

impl OwnEngine {
    const ROOT: &'static str = "/var/lib/cctui-test3";
    const BRIDGE: &'static str = "cctui-br3";
    const EXEC_ROOT: &'static str = "/var/run/cctui-test3";

    pub fn start() -> OwnEngine {
        let root = PathBuf::from(Self::ROOT);
        std::fs::create_dir_all(root.join("data")).unwrap();
        let host = format!("unix://{}/docker.sock", root.display());
        let engine = OwnEngine {
            root,
            host,
            bridge: Self::BRIDGE.to_string(),
            daemon: std::sync::Mutex::new(None),
        };
        let ip = |args: &[&str]| Command::new("ip").args(args).status().unwrap().success();
        if !ip(&["link", "show", &engine.bridge]) {
            assert!(ip(&["link", "add", &engine.bridge, "type", "bridge"]));
            assert!(ip(&["addr", "add", "10.198.0.1/24", "dev", &engine.bridge]));
        }
        assert!(ip(&["link", "set", &engine.bridge, "up"]));
        engine.run_dockerd();
        engine.copy_images();
        // Everything on this engine is this file's: what an interrupted run left goes.
        for id in docker_at(&engine.host, &["ps", "-aq"]).split_whitespace() {
            docker_at(&engine.host, &["rm", "-f", "-v", id]);
        }
        engine
    }

    fn pidfile(&self) -> PathBuf {
        self.root.join("dockerd.pid")
    }

    fn up(&self) -> bool {
        !docker_at(&self.host, &["version", "--format", "{{.Server.Version}}"]).is_empty()
    }

    pub fn run_dockerd(&self) {
        forget_a_default_bridge(&self.root.join("data"));
        let log = std::fs::File::create(self.root.join("dockerd.log")).unwrap();
        let sock = self.host.trim_start_matches("unix://");
        let _ = std::fs::remove_file(sock);
        let exec_root = Self::EXEC_ROOT;
        let child = Command::new("setsid")
            .args(["dockerd", "--data-root"])
            .arg(self.root.join("data"))
            .args(["--exec-root", exec_root, "--pidfile"])
            .arg(self.pidfile())
            .args(["-H", &self.host, "--bridge", &self.bridge])
            // --live-restore: without it, dockerd 20.10 restarted on this data root with a
            // --default-address-pool deletes the host's docker0, the first engine's bridge.
            .args(["--iptables=false", "--ip-masq=false", "--live-restore"])
            .args(["--default-address-pool", "base=10.201.0.0/16,size=24"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("dockerd");
        *self.daemon.lock().unwrap() = Some(child);
        let start = Instant::now();
        while !self.up() {
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "the test's own dockerd did not answer; see {}/dockerd.log",
                self.root.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The images a session of the small recipe needs, from the first engine (this engine
    /// has no way out to build them); kept in its data root across runs.
    fn copy_images(&self) {
        let path = std::env::var("CCTUI_TEST_PREBUILT_IMAGES")
            .unwrap_or_else(|_| "/var/lib/cctui-test/prebuilt-images".into());
        let list = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("tests/run.sh lists the prebuilt images in {path}: {e}"));
        let missing: Vec<&str> = std::iter::once("debian:bookworm-slim")
            .chain(list.lines())
            .filter(|i| !i.is_empty())
            .filter(|i| docker_at(&self.host, &["image", "inspect", "-f", "{{.Id}}", i]).is_empty())
            .collect();
        if missing.is_empty() {
            return;
        }
        let script = format!(
            "DOCKER_HOST={} docker save {} | DOCKER_HOST={} docker load -q",
            engine1(),
            missing.join(" "),
            self.host
        );
        let ok = Command::new("sh").args(["-c", &script]).status().unwrap();
        assert!(ok.success(), "copying {missing:?} to the test's own engine");
    }

    /// Kills the daemon outright, as a crash would; waits until it is gone, and its
    /// containerd with it (the kernel kills that on its parent's death; nobody may reap it
    /// here, so its pidfile goes too, or the next daemon would take the corpse for a live
    /// containerd and wait for it).
    pub fn kill(&self) -> Instant {
        let at = Instant::now();
        if let Some(mut child) = self.daemon.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let pidfile = Path::new(Self::EXEC_ROOT).join("containerd/containerd.pid");
        if let Ok(pid) = std::fs::read_to_string(&pidfile) {
            let stat = format!("/proc/{}/stat", pid.trim());
            let start = Instant::now();
            while std::fs::read_to_string(&stat)
                .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| !r.starts_with(" Z")))
            {
                assert!(start.elapsed() < WAIT, "containerd outlived its daemon");
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = std::fs::remove_file(&pidfile);
        }
        at
    }
}

impl Drop for OwnEngine {
    fn drop(&mut self) {
        // Live restore keeps containers past their daemon: they go first, one at a time.
        if self.up() {
            for id in docker_at(&self.host, &["ps", "-aq"]).split_whitespace() {
                docker_at(&self.host, &["rm", "-f", "-v", id]);
            }
        }
        if let Some(mut child) = self.daemon.lock().unwrap().take() {
            // SIGTERM: the daemon stops its containers and its containerd on the way out.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
        // dockerd bind-mounts its data root onto itself; a daemon killed in the test never
        // undid that, so it is undone here: the run leaves no mount behind.
        let data = Path::new(Self::ROOT).join("data");
        while std::fs::read_to_string("/proc/self/mounts")
            .is_ok_and(|m| m.lines().any(|l| l.split(' ').nth(1) == data.to_str()))
        {
            let unmounted = Command::new("umount")
                .arg(&data)
                .status()
                .is_ok_and(|s| s.success());
            if !unmounted {
                break;
            }
        }
    }
}

/// A data root that once ran with the default bridge remembers `docker0` as its own, and
/// dockerd 20.10 deletes a remembered bridge it made when it starts with another one: the
/// first engine's `docker0` would go. Such a network store is dropped before the start.
pub fn forget_a_default_bridge(data_root: &std::path::Path) {
    let store = data_root.join("network/files/local-kv.db");
    let remembers = std::fs::read(&store)
        .map(|b| b.windows(7).any(|w| w == b"docker0"))
        .unwrap_or(false);
    if remembers {
        std::fs::remove_file(&store).expect("remove the stale network store");
    }
}
