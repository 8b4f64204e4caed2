//! `cctui run --rm`: a sandbox for one run of claude, with the firewall, removed after it.
//! The real claude against the fake Messages API (through the broker) prints parseable JSON
//! on a clean stdout; a scripted claude (the small recipe) shows exit codes, separate streams,
//! piped stdin and SIGTERM/SIGINT mid-run; no container of a run is left after any of them.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cctui::config::SecretSource;
use common::*;

/// A claude for these tests: after the session's own arguments, `--exit N` writes one line to
/// each stream and exits N, `--cat` copies stdin, `--sleep` says it started and waits.
const SCRIPTED_CLAUDE: &str = r#"#!/bin/bash
[ "$1" = "--dangerously-skip-permissions" ] && shift
case "$1" in
  --exit) printf 'out: %s\n' "$2"; printf 'err: %s\n' "$2" >&2; exit "$2" ;;
  --cat) exec cat ;;
  --sleep) echo started; exec sleep 600 ;;
esac
echo "unexpected: $*" >&2; exit 99
"#;

/// The containers of the project at `path` that still exist, whatever their state.
fn containers_of(path: &Path) -> Vec<String> {
    let project = path.canonicalize().unwrap();
    docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("label=cctui.project={}", project.display()),
    ])
    .lines()
    .map(String::from)
    .collect()
}

/// The session-name prefix of every run for `project` (sessions are named after the folder).
fn runs_prefix(project: &Path) -> String {
    cctui::project::folder_base_name(project)
}

/// A config folder with the small recipe, its claude replaced by the scripted one, and the
/// firewall on (the holder is one of the containers that must go).
fn scripted_config(dir: &Path) {
    write_cli_config(dir, "");
    std::fs::write(dir.join("recipe/files/claude"), SCRIPTED_CLAUDE).unwrap();
}

#[tokio::test]
async fn exit_codes_streams_and_stdin_pass_through_and_nothing_is_left() {
    let name = unique("runrm");
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    scripted_config(&dir.path);
    let project = TempFolder::new(&name, 1000);
    let _c = Cleanup::new(&runs_prefix(&project.path));
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    let p = project.path.to_str().unwrap();

    let (code, out, err) = cctui(&dir.path, &["run", "--rm", p, "--", "--exit", "0"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "out: 0\n", "stdout is claude's alone");
    assert!(
        err.ends_with("err: 0\n"),
        "claude's stderr after cctui's: {err}"
    );
    assert!(err.contains("firewall verified"), "{err}");
    assert!(containers_of(&project.path).is_empty(), "left after a run");

    let (code, out, err) = cctui(&dir.path, &["run", "--rm", p, "--", "--exit", "7"]);
    assert_eq!(code, 7, "claude's exit code: {err}");
    assert_eq!(out, "out: 7\n");
    assert!(
        containers_of(&project.path).is_empty(),
        "left after a failing run"
    );

    // Piped stdin reaches claude (`git diff | cctui run --rm . -- -p "review this"`).
    let mut cmd = cctui_cmd(&dir.path, &["run", "--rm", p, "--", "--cat"]);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let data = "line one\n{\"a\": [1, 2]}\n\u{e9}\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), data, "byte for byte");

    // The project's volumes are kept by default, and --no-keep removes them.
    for v in project_volumes(&project.path) {
        docker(&["volume", "inspect", &v]);
    }
    let (code, _, err) = cctui(
        &dir.path,
        &["run", "--rm", p, "--no-keep", "--", "--exit", "0"],
    );
    assert_eq!(code, 0, "{err}");
    for v in project_volumes(&project.path) {
        let gone = std::process::Command::new("docker")
            .args(["volume", "inspect", &v])
            .output()
            .unwrap();
        assert!(!gone.status.success(), "{v} kept with --no-keep");
    }

    // Flags that only mean something with --rm are refused without it.
    let (code, _, err) = cctui(&dir.path, &["run", "x", "--no-keep", "--", "-p", "hi"]);
    assert_eq!(code, 2, "{err}");
}

/// Starts a run of the sleeping claude, waits for it to start, sends `signal`; returns the
/// exit code and cctui's stderr.
fn signalled_run(dir: &Path, project: &Path, signal: i32) -> (i32, String) {
    let p = project.to_str().unwrap();
    let mut child = cctui_cmd(dir, &["run", "--rm", p, "--", "--sleep"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "started\n", "claude did not start");
    assert!(!containers_of(project).is_empty(), "the run's containers");
    unsafe { libc::kill(child.id() as i32, signal) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "cctui did not exit after the signal"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), err)
}

#[tokio::test]
async fn sigterm_and_sigint_mid_run_stop_claude_and_remove_the_sandbox() {
    let name = unique("runsig");
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    scripted_config(&dir.path);
    let project = TempFolder::new(&name, 1000);
    let _c = Cleanup::new(&runs_prefix(&project.path));
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);

    let (code, err) = signalled_run(&dir.path, &project.path, libc::SIGTERM);
    assert_eq!(code, 143, "{err}");
    assert!(
        containers_of(&project.path).is_empty(),
        "left after SIGTERM"
    );
    let (code, err) = signalled_run(&dir.path, &project.path, libc::SIGINT);
    assert_eq!(code, 130, "{err}");
    assert!(containers_of(&project.path).is_empty(), "left after SIGINT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_prints_json_on_a_clean_stdout_through_the_broker() {
    let prefix = unique("runjson");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let net = test_network(&b, &prefix).await;
    let (api_id, ca) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["api.fake.test"],
        &["api.fake.test"],
        "python3 /usr/local/bin/fake_api.py 443 0.05 /tmp/tls",
    )
    .await;

    // The full recipe (real Claude Code), the key from a file, the fake API as upstream.
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let project = TempFolder::new(&prefix, 1000);
    let _runs = Cleanup::new(&runs_prefix(&project.path));
    let mut vols = Cleanup::new(&format!("{prefix}-vols"));
    vols.volumes = project_volumes(&project.path);
    let key_file = cfg.path.join("key");
    let key = format!("sk-ant-api03-testonly-{}", run_id());
    std::fs::write(&key_file, &key).unwrap();
    let ca_file = cfg.path.join("upstream-ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let mut config = test_config();
    config.firewall.presets = vec![];
    config.firewall.allow = vec![];
    config.broker.upstream = "https://api.fake.test".into();
    config.broker.extra_ca_certs = vec![ca_file];
    config.secrets.anthropic_api_key = Some(SecretSource {
        file: Some(key_file),
        ..Default::default()
    });
    std::fs::write(
        cfg.path.join("config.toml"),
        toml::to_string(&config).unwrap(),
    )
    .unwrap();

    let p = project.path.to_str().unwrap();
    let args = [
        "run",
        "--rm",
        p,
        "--network",
        &net,
        "--",
        "-p",
        "hi",
        "--output-format",
        "json",
    ];
    let (code, out, err) = cctui(&cfg.path, &args);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let reply: serde_json::Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{out}\nstderr: {err}"));
    assert_eq!(reply["type"], "result", "{reply}");
    assert_eq!(reply["is_error"], false, "{reply}");
    assert!(
        reply["result"]
            .as_str()
            .is_some_and(|r| r.contains("Hello from the fake API")),
        "{reply}"
    );
    assert!(
        err.contains("firewall verified"),
        "cctui's messages on stderr: {err}"
    );
    let api_log = docker(&["logs", &api_id]);
    assert!(
        api_log.contains(&format!("x-api-key={key} ")),
        "the broker added the key: {api_log}"
    );
    assert!(
        containers_of(&project.path).is_empty(),
        "left after the run"
    );
}
