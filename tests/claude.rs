//! The real `claude` (full recipe) in a session behind the firewall, talking through the
//! credential broker to a small fake Messages API served over TLS (a throwaway test CA) on
//! the project's own test network. The agent holds only a placeholder; the fake API must
//! receive exactly the key. The dashboard must show claude go from waiting (the workspace
//! trust dialog) to idle, to working on a prompt, and back to idle.

mod common;

use std::time::Duration;

use cctui::config::SecretSource;
use common::pty::PtyApp;
use common::*;

const WAIT: Duration = Duration::from_secs(60);

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(&format!(" {name} ")))
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_goes_waiting_idle_working_idle_in_the_dashboard() {
    let prefix = unique("claude");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;

    // The fake API on the project's own network, over TLS with a CA made for this test. The
    // agent is not allowed to reach it: only the broker is, as the broker's upstream.
    let net = test_network(&b, &prefix).await;
    let (api_id, ca) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["api.fake.test"],
        &["api.fake.test"],
        "python3 /usr/local/bin/fake_api.py 443 0.6 /tmp/tls",
    )
    .await;

    // A config folder with no recipe override: the full recipe, real Claude Code.
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let project = TempFolder::new(&prefix, 1000);
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
    config.session.trust_workspace = false;
    config.secrets.anthropic_api_key = Some(SecretSource {
        file: Some(key_file),
        ..Default::default()
    });
    let toml = toml::to_string(&config).unwrap();
    std::fs::write(cfg.path.join("config.toml"), toml).unwrap();

    let name = format!("{prefix}-s");
    let p = cctui::session::Project::at(&project.path).unwrap();
    let mut vols = Cleanup::new(&format!("{prefix}-vols"));
    vols.volumes = vec![p.config_volume(), p.history_volume()];
    let (code, out, err) = cctui(
        &cfg.path,
        &[
            "new",
            project.path.to_str().unwrap(),
            "--name",
            &name,
            "--network",
            &net,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");

    let mut app = PtyApp::cctui(&cfg.path, &[], 40, 140);
    app.wait_until("the session listed", WAIT, |s| {
        row(s, &name).contains("running")
    });
    app.send(b"g");
    for _ in 0..100 {
        if row(&app.screen(), &name).contains('▸') {
            break;
        }
        app.send(b"j");
        std::thread::sleep(Duration::from_millis(60));
    }
    // The trust dialog is a real "waiting for you".
    app.wait_until("claude waiting at the trust dialog", WAIT, |s| {
        row(s, &name).contains("WAITING")
    });
    eprintln!("trust dialog:\n{}", app.screen());
    app.send(b"\r"); // attach
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"\x1b[B"); // Down
    std::thread::sleep(Duration::from_millis(200));
    app.send(b"\r");
    app.send(b"\x1c"); // detach
    app.wait_until("claude idle at its prompt", WAIT, |s| {
        row(s, &name).contains("idle")
    });
    eprintln!("idle:\n{}", app.screen());

    // A prompt: working while the reply streams, idle again after.
    app.send(b"\r");
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"say hello");
    std::thread::sleep(Duration::from_millis(200));
    app.send(b"\r");
    app.send(b"\x1c");
    app.wait_until("claude working", WAIT, |s| {
        row(s, &name).contains("working")
    });
    app.wait_until("claude idle after the reply", WAIT, |s| {
        row(s, &name).contains("idle")
    });
    app.send(b"\r");
    app.wait_for("fake API", WAIT);
    eprintln!("after the turn:\n{}", app.screen());
    let api_log = docker(&["logs", &api_id]);
    assert!(api_log.contains("POST /v1/messages"), "{api_log}");
    // Every request the upstream saw carried exactly the key, which the agent never had.
    let auth: Vec<&str> = api_log
        .lines()
        .filter_map(|l| l.strip_prefix("api auth "))
        .filter(|l| !l.starts_with("x-api-key=- authorization=-")) // the broker's TLS check
        .collect();
    assert!(!auth.is_empty(), "{api_log}");
    for line in &auth {
        assert!(
            line.starts_with(&format!("x-api-key={key} authorization=-")),
            "{line}"
        );
    }
    let agent = format!("cctui-{name}");
    let found = std::process::Command::new("docker")
        .args(["exec", "-i", &agent, "sh", "-c", "read -r k; grep -rlF -e \"$k\" / --exclude-dir=proc --exclude-dir=sys 2>/dev/null; true"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(format!("{key}\n").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        String::from_utf8_lossy(&found.stdout).trim().is_empty(),
        "the agent holds the key: {}",
        String::from_utf8_lossy(&found.stdout)
    );
}
