//! Several engines from the command line, against real engines: the test engine
//! (DOCKER_HOST) and the second one tests/engines.sh starts, reached over tcp+TLS and over
//! ssh:// (sshd on loopback). Sessions on two engines at once; one found by name wherever
//! it lives; bad addresses said on one line naming the engine and the fix.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cctui::backend::{labels, Backend, DockerBackend, LabelFilter};
use common::pty::PtyApp;
use common::*;

/// The second engine, as tests/engines.sh describes it (its variables, which tests/run.sh
/// exports, else its env file). A test that needs it fails, never skips, without it.
struct Engine2 {
    sock: String,
    tls_host: String,
    certs: PathBuf,
    wrong_certs: PathBuf,
    ssh_host: String,
    ssh_bin: PathBuf,
    /// A folder this machine has and the second engine's (its own mount namespace) lacks.
    local_only: PathBuf,
}

fn engine2() -> Engine2 {
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
                    "{key} is not set: these tests need the second engine. Run \
                     `tests/engines.sh start` as root (tests/run.sh does), which writes \
                     /var/lib/cctui-test2/env"
                )
            })
    };
    Engine2 {
        sock: get("CCTUI_TEST_ENGINE2_SOCK"),
        tls_host: get("CCTUI_TEST_ENGINE2_TLS_HOST"),
        certs: get("CCTUI_TEST_ENGINE2_CERTS").into(),
        wrong_certs: get("CCTUI_TEST_ENGINE2_WRONG_CERTS").into(),
        ssh_host: get("CCTUI_TEST_ENGINE2_SSH_HOST"),
        ssh_bin: get("CCTUI_TEST_ENGINE2_SSH_BIN").into(),
        local_only: get("CCTUI_TEST_ENGINE2_LOCAL_ONLY").into(),
    }
}

/// The first engine's address, as the suite's other tests reach it.
fn local_host() -> String {
    cctui::backend::choose_host(None)
}

async fn backend_at(host: &str) -> DockerBackend {
    DockerBackend::connect(Some(host), Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("the engine at {host}: {e}"))
}

/// Removes what a test made on the second engine (containers and networks by session
/// prefix, then the projects' volumes), even when it panicked.
struct Engine2Cleanup {
    sock: String,
    prefix: String,
    volumes: Vec<String>,
}

impl Drop for Engine2Cleanup {
    fn drop(&mut self) {
        let (sock, prefix) = (self.sock.clone(), self.prefix.clone());
        let volumes = std::mem::take(&mut self.volumes);
        block_on_side(async move {
            let b = backend_at(&sock).await;
            sweep(&b, Some(&prefix)).await;
            for v in volumes {
                let _ = b.remove_volume(&v).await;
            }
        });
    }
}

fn engines_toml(entries: &[(&str, &str, Option<&Path>)]) -> String {
    entries
        .iter()
        .map(|(name, host, certs)| {
            let certs = certs
                .map(|c| format!("cert_path = {:?}\n", c.display().to_string()))
                .unwrap_or_default();
            format!("[[engines]]\nname = {name:?}\nhost = {host:?}\n{certs}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `cctui ARGS` with `PATH` leading to the test's ssh wrapper (its key and known hosts,
/// never ~/.ssh), as a user's ssh config would.
fn cctui_ssh(dir: &Path, e2: &Engine2, args: &[&str]) -> (i32, String, String) {
    let mut cmd = cctui_cmd(dir, args);
    let path = format!(
        "{}:{}",
        e2.ssh_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path);
    run_cmd(cmd)
}

fn ok(out: (i32, String, String), what: &str) -> String {
    assert_eq!(out.0, 0, "{what}: stdout {} stderr {}", out.1, out.2);
    out.1
}

async fn sessions_on(b: &DockerBackend, name: &str) -> usize {
    b.list_containers(&LabelFilter::eq(labels::SESSION, name))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn sessions_on_the_local_and_the_tls_engine_at_once() {
    let e2 = engine2();
    let prefix = unique("eng2");
    let (here, there) = (format!("{prefix}-a"), format!("{prefix}-b"));
    let (pa, pb) = (
        TempFolder::new("eng2-a", 1234),
        TempFolder::new("eng2-b", 1234),
    );
    let mut local_guard = Cleanup::new(&prefix);
    local_guard.volumes = project_volumes(&pa.path);
    let _remote_guard = Engine2Cleanup {
        sock: e2.sock.clone(),
        prefix: prefix.clone(),
        volumes: project_volumes(&pb.path),
    };
    let cfg = TempFolder::new("eng2-cfg", 0);
    let local = local_host();
    write_cli_config(
        &cfg.path,
        &engines_toml(&[
            ("here", &local, None),
            ("tls2", &e2.tls_host, Some(&e2.certs)),
        ]),
    );
    let (a, b) = (pa.path.to_str().unwrap(), pb.path.to_str().unwrap());
    ok(
        cctui(&cfg.path, &["new", "--engine", "here", a, "--name", &here]),
        "new on here",
    );
    ok(
        cctui(&cfg.path, &["new", "--engine", "tls2", b, "--name", &there]),
        "new on tls2",
    );
    // Each lives on its own engine, as the engines themselves say.
    let (b1, b2) = (backend_at(&local).await, backend_at(&e2.sock).await);
    assert!(sessions_on(&b1, &here).await > 0 && sessions_on(&b2, &here).await == 0);
    assert!(sessions_on(&b2, &there).await > 0 && sessions_on(&b1, &there).await == 0);

    let table = ok(cctui(&cfg.path, &["ls"]), "ls");
    assert!(table.lines().next().unwrap().contains("ENGINE"), "{table}");
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in ls:\n{table}"))
            .to_string()
    };
    assert!(row(&here).contains(" here "), "{table}");
    assert!(row(&there).contains(" tls2 "), "{table}");
    assert_eq!(ls_entry(&cfg.path, &here)["engine"], "here");
    assert_eq!(ls_entry(&cfg.path, &there)["engine"], "tls2");

    // The remote session's firewall verifies, found by its name alone.
    let (code, status, err) = cctui(&cfg.path, &["fw", "status", &there]);
    assert_eq!(code, 0, "{status} {err}");
    assert!(status.starts_with("firewall: verified"), "{status}");

    remote_tty(&cfg.path, &there);

    // A stop on each engine, each found by name.
    ok(cctui(&cfg.path, &["stop", &here]), "stop here");
    ok(cctui(&cfg.path, &["stop", &there]), "stop there");
    assert_eq!(ls_entry(&cfg.path, &here)["running"], false);
    assert_eq!(ls_entry(&cfg.path, &there)["running"], false);
}

/// `cctui exec` on a tty, and attach, on the remote session: keys go in and the command's
/// output comes back, over the API.
fn remote_tty(cfg: &Path, name: &str) {
    // The size is read after a key: on an engine before API 1.42 the first resize races
    // the command's start, as with `docker exec -t`.
    let script = "tty; read a; stty size; read b; stty size; echo got-$a-$b";
    let mut exec = PtyApp::cctui(cfg, &["exec", name, "--", "sh", "-c", script], 30, 100);
    exec.wait_for("/dev/pts/", Duration::from_secs(30));
    exec.send(b"one\r");
    exec.wait_for("30 100", Duration::from_secs(10));
    // The terminal's new size follows it there.
    exec.resize(40, 120);
    std::thread::sleep(Duration::from_millis(500));
    exec.send(b"two\r");
    exec.wait_for("40 120", Duration::from_secs(10));
    exec.wait_for("got-one-two", Duration::from_secs(10));
    assert!(exec.wait_exit(Duration::from_secs(10)), "{}", exec.screen());

    let mut attach = PtyApp::cctui(cfg, &["attach", name], 30, 100);
    attach.wait_for("fake claude", Duration::from_secs(30));
    attach.send(b"remote-echo\r");
    attach.wait_for("you said: remote-echo", Duration::from_secs(10));
    attach.send(b"\x1c");
    assert!(
        attach.wait_exit(Duration::from_secs(10)),
        "Ctrl-\\ detaches: {}",
        attach.screen()
    );
}

#[tokio::test]
async fn a_session_over_ssh_and_a_name_on_two_engines() {
    let e2 = engine2();
    let prefix = unique("engssh");
    let name = format!("{prefix}-c");
    let project = TempFolder::new("engssh-c", 1234);
    let _guard = Engine2Cleanup {
        sock: e2.sock.clone(),
        prefix: prefix.clone(),
        volumes: project_volumes(&project.path),
    };
    let cfg = TempFolder::new("engssh-cfg", 0);
    write_cli_config(
        &cfg.path,
        &format!(
            "{FIREWALL_OFF}{}",
            engines_toml(&[("ssh2", &e2.ssh_host, None)])
        ),
    );
    let p = project.path.to_str().unwrap();
    ok(
        cctui_ssh(&cfg.path, &e2, &["new", p, "--name", &name]),
        "new over ssh",
    );
    assert!(sessions_on(&backend_at(&e2.sock).await, &name).await > 0);
    let table = ok(cctui_ssh(&cfg.path, &e2, &["ls"]), "ls over ssh");
    let row = table.lines().find(|l| l.starts_with(&format!("{name} ")));
    assert!(row.is_some_and(|r| r.contains(" ssh2 ")), "{table}");
    let out = ok(
        cctui_ssh(&cfg.path, &e2, &["exec", &name, "--", "echo", "over-ssh"]),
        "exec over ssh",
    );
    assert_eq!(out.trim(), "over-ssh");

    // The same engine under two names: the session is on both, and that is said.
    let both = TempFolder::new("engssh-both", 0);
    write_cli_config(
        &both.path,
        &format!(
            "{FIREWALL_OFF}{}",
            engines_toml(&[
                ("tls2", &e2.tls_host, Some(&e2.certs)),
                ("ssh2", &e2.ssh_host, None),
            ])
        ),
    );
    let (code, _, err) = cctui_ssh(&both.path, &e2, &["stop", &name]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`tls2`") && err.contains("`ssh2`") && err.contains("--engine"),
        "{err}"
    );
    ok(
        cctui_ssh(&both.path, &e2, &["--engine", "ssh2", "stop", &name]),
        "stop with --engine",
    );
}

/// One line on stderr that names the engine and says what to do, and the exit code.
fn one_line_error(cfg: &Path, args: &[&str], code: i32, needles: &[&str]) {
    let (got, _, err) = cctui(cfg, args);
    assert_eq!(got, code, "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {n:?} in {err}");
    }
}

#[tokio::test]
async fn bad_engines_are_said_on_one_line_with_the_fix() {
    let e2 = engine2();
    let cfg = TempFolder::new("engbad-cfg", 0);
    let missing = Path::new("/nonexistent/cctui-certs");
    write_cli_config(
        &cfg.path,
        &engines_toml(&[
            ("here", &local_host(), None),
            ("nocerts", &e2.tls_host, Some(missing)),
            ("wrongca", &e2.tls_host, Some(&e2.wrong_certs)),
            ("gone", "ssh://root@127.0.0.1:1", None),
        ]),
    );
    one_line_error(
        &cfg.path,
        &["--engine", "nope", "ls"],
        2,
        &["`nope`", "known: here, nocerts, wrongca, gone"],
    );
    one_line_error(
        &cfg.path,
        &["--engine", "nocerts", "ls"],
        2,
        &["`nocerts`", "/nonexistent/cctui-certs/ca.pem", "fix:"],
    );
    one_line_error(
        &cfg.path,
        &["--engine", "wrongca", "ls"],
        2,
        &["`wrongca`", "TLS", "fix:"],
    );
    one_line_error(
        &cfg.path,
        &["--engine", "gone", "ls"],
        3,
        &[
            "`gone`",
            "ssh://root@127.0.0.1:1",
            "Connection refused",
            "fix:",
        ],
    );
    // All at once: the engine that answers is listed, each other one said on its line.
    let (code, out, err) = cctui(&cfg.path, &["ls"]);
    assert_eq!(code, 0, "{out} {err}");
    for name in ["`nocerts`", "`wrongca`", "`gone`"] {
        assert_eq!(
            err.lines().filter(|l| l.contains(name)).count(),
            1,
            "{name}: {err}"
        );
    }
}

/// An engine that accepts and never answers, beside one that works: `ls` waits for it no
/// longer than the timeout, lists the other, and says which one hung.
#[tokio::test]
async fn a_hung_engine_among_others_costs_only_its_timeout() {
    let dir = TempFolder::new("enghung", 0);
    let sock = dir.path.join("hung.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let cfg = TempFolder::new("enghung-cfg", 0);
    let hung = format!("unix://{}", sock.display());
    write_cli_config(
        &cfg.path,
        &format!(
            "[engine]\ntimeout_secs = 2\n\n{}",
            engines_toml(&[("hung", &hung, None), ("here", &local_host(), None)])
        ),
    );
    let started = Instant::now();
    let (code, out, err) = cctui(&cfg.path, &["ls", "--json"]);
    let took = started.elapsed();
    println!("ls with a hung engine among two: {took:?}");
    assert_eq!(code, 0, "{err}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&out).is_ok(),
        "{out}"
    );
    assert!(err.contains("`hung`") && err.contains("2 s"), "{err}");
}

/// A folder that is not a git repository is mounted from the engine's machine: one that is
/// only here is refused with what to do, and nothing of the session is left there.
#[tokio::test]
async fn a_folder_missing_on_the_engines_machine_is_said() {
    let e2 = engine2();
    let prefix = unique("engfold");
    let name = format!("{prefix}-d");
    let folder = e2.local_only.join(format!("{}-{name}", run_id()));
    std::fs::create_dir_all(&folder).unwrap();
    std::os::unix::fs::chown(&folder, Some(1234), Some(1234)).unwrap();
    let _guard = Engine2Cleanup {
        sock: e2.sock.clone(),
        prefix: prefix.clone(),
        volumes: project_volumes(&folder),
    };
    let cfg = TempFolder::new("engfold-cfg", 0);
    write_cli_config(
        &cfg.path,
        &engines_toml(&[("tls2", &e2.tls_host, Some(&e2.certs))]),
    );
    let (code, _, err) = cctui(
        &cfg.path,
        &[
            "new",
            "--engine",
            "tls2",
            folder.to_str().unwrap(),
            "--name",
            &name,
        ],
    );
    let _ = std::fs::remove_dir_all(&folder);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`tls2`")
            && err.contains(&folder.display().to_string())
            && err.contains("does not exist on the engine's machine"),
        "{err}"
    );
    assert_eq!(sessions_on(&backend_at(&e2.sock).await, &name).await, 0);
}

/// Keystrokes through `cctui exec` on a tty: the time from a key to its echo on the screen
/// (sampled every millisecond), on the local engine and on the same kind of session over
/// ssh://. A figure, asserting nothing:
/// `cargo test --test engines -- --ignored --nocapture bench_`.
#[tokio::test]
#[ignore]
async fn bench_keystroke_echo_over_ssh_and_local() {
    let e2 = engine2();
    let prefix = unique("engbench");
    let (here, there) = (format!("{prefix}-l"), format!("{prefix}-s"));
    let (pl, ps) = (
        TempFolder::new("engbench-l", 1234),
        TempFolder::new("engbench-s", 1234),
    );
    let mut local_guard = Cleanup::new(&prefix);
    local_guard.volumes = project_volumes(&pl.path);
    let _remote_guard = Engine2Cleanup {
        sock: e2.sock.clone(),
        prefix: prefix.clone(),
        volumes: project_volumes(&ps.path),
    };
    let cfg = TempFolder::new("engbench-cfg", 0);
    let local = local_host();
    write_cli_config(
        &cfg.path,
        &format!(
            "{FIREWALL_OFF}{}",
            engines_toml(&[("here", &local, None), ("ssh2", &e2.ssh_host, None)])
        ),
    );
    for (engine, name, path) in [("here", &here, &pl.path), ("ssh2", &there, &ps.path)] {
        let p = path.to_str().unwrap();
        ok(
            cctui_ssh(
                &cfg.path,
                &e2,
                &["new", "--engine", engine, p, "--name", name],
            ),
            "new",
        );
    }
    label_config(&cfg.path);
    let env = vec![
        ("CCTUI_CONFIG_DIR", cfg.path.display().to_string()),
        (
            "CCTUI_STATE_DIR",
            cfg.path.join("state").display().to_string(),
        ),
        ("DOCKER_HOST", local.clone()),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
        (
            "PATH",
            format!(
                "{}:{}",
                e2.ssh_bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ),
    ];
    println!("\n== keystroke echo through cctui exec (50 keys, median / p95) ==");
    for (engine, name) in [("local", &here), ("ssh", &there)] {
        let args = ["exec", name.as_str(), "--", "cat"];
        let mut app = PtyApp::spawn(env!("CARGO_BIN_EXE_cctui"), &args, &env, 30, 100);
        std::thread::sleep(Duration::from_secs(2));
        let mut times = Vec::new();
        for i in 0..50 {
            let c = ['Q', 'X', 'Z', 'J', 'K'][i % 5];
            let before = app.screen().matches(c).count();
            let t = Instant::now();
            app.send(c.to_string().as_bytes());
            while app.screen().matches(c).count() <= before {
                assert!(t.elapsed() < Duration::from_secs(5), "{}", app.screen());
                std::thread::sleep(Duration::from_millis(1));
            }
            times.push(t.elapsed());
            if i % 20 == 19 {
                app.send(b"\r");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        times.sort();
        println!(
            "{engine:>6}: {:.1} / {:.1} ms",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() * 95 / 100].as_secs_f64() * 1e3
        );
    }
}

/// cctui checks the engine's identity, not only the engine cctui's: over TLS with a client
/// certificate the engine accepts but a CA that did not sign the engine's certificate, and
/// over ssh with a known_hosts entry of another key, it refuses. Controls: the same client
/// certificate with the right CA, and the right known_hosts, work.
#[tokio::test]
async fn the_engines_certificate_and_ssh_host_key_are_checked() {
    let e2 = engine2();
    let dir = TempFolder::new("engident", 0);
    let (untrusted, trusted) = (dir.path.join("untrusted"), dir.path.join("trusted"));
    for (folder, ca) in [(&untrusted, &e2.wrong_certs), (&trusted, &e2.certs)] {
        std::fs::create_dir_all(folder).unwrap();
        for f in ["cert.pem", "key.pem"] {
            std::fs::copy(e2.certs.join(f), folder.join(f)).unwrap();
        }
        std::fs::copy(ca.join("ca.pem"), folder.join("ca.pem")).unwrap();
    }
    // An ssh wrapper like the suite's, whose known_hosts holds another key for the host.
    let ssh_dir = e2.ssh_bin.parent().unwrap().to_path_buf();
    let config = std::fs::read_to_string(ssh_dir.join("ssh_config")).unwrap();
    let real_known = ssh_dir.join("known_hosts").display().to_string();
    assert!(config.contains(&real_known), "{config}");
    let other_key = dir.path.join("other_host_key");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .status()
        .unwrap();
    assert!(made.success());
    let entry = std::fs::read_to_string(ssh_dir.join("known_hosts")).unwrap();
    let host = entry.split_whitespace().next().unwrap();
    let other_pub = std::fs::read_to_string(other_key.with_extension("pub")).unwrap();
    let other_known = dir.path.join("known_hosts");
    std::fs::write(
        &other_known,
        format!(
            "{host} {}\n",
            other_pub
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        ),
    )
    .unwrap();
    let other_config = dir.path.join("ssh_config");
    std::fs::write(
        &other_config,
        config.replace(&real_known, &other_known.display().to_string()),
    )
    .unwrap();
    let bin = dir.path.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("ssh"),
        format!(
            "#!/bin/sh\nexec /usr/bin/ssh -F '{}' \"$@\"\n",
            other_config.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        bin.join("ssh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let cfg = TempFolder::new("engident-cfg", 0);
    write_cli_config(
        &cfg.path,
        &engines_toml(&[
            ("untrusted", &e2.tls_host, Some(&untrusted)),
            ("trusted", &e2.tls_host, Some(&trusted)),
            ("sshhost", &e2.ssh_host, None),
        ]),
    );
    let (code, out, err) = cctui(&cfg.path, &["--engine", "untrusted", "ls"]);
    assert_ne!(
        code, 0,
        "an engine whose certificate the CA did not sign: {out}"
    );
    assert!(err.contains("`untrusted`") && err.contains("TLS"), "{err}");
    let (code, out, err) = cctui(&cfg.path, &["--engine", "trusted", "ls"]);
    assert_eq!(
        code, 0,
        "the control (same client certificate, right CA): {out} {err}"
    );

    let mut cmd = cctui_cmd(&cfg.path, &["--engine", "sshhost", "ls"]);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path);
    let (code, out, err) = run_cmd(cmd);
    assert_ne!(code, 0, "an ssh host whose key is not the known one: {out}");
    assert!(err.contains("Host key verification failed"), "{err}");
    let (code, out, err) = cctui_ssh(&cfg.path, &e2, &["--engine", "sshhost", "ls"]);
    assert_eq!(code, 0, "the control (the known key): {out} {err}");
}
