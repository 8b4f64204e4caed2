//! The attention queue and its notifications against a real engine and the real `claude`
//! (full recipe, the fake Messages API of tests/claude.rs): the workspace trust dialog is a
//! real "waiting for you". While it waits:
//! - the dashboard (in a PTY) queues it, shows the count and the entry, and writes OSC 9
//!   and OSC 777 with cctui's own words to its terminal;
//! - a second dashboard inside tmux (a real tmux server, a client in a PTY) shows a tmux
//!   message and sets `@cctui_queue`, drawn by the status line. (Its escapes are wrapped for
//!   tmux's passthrough too, but tmux drops passthrough while a client redraws, so they are
//!   not asserted here.)
//! - `cctui watch --json` prints the entry.
//!
//! Attached from the queue, the dialog answered, the entry clears everywhere.

mod common;

use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cctui::config::SecretSource;
use common::pty::PtyApp;
use common::*;

const WAIT: Duration = Duration::from_secs(90);

fn wait_for_line(lines: &Arc<Mutex<Vec<String>>>, what: &str, pred: impl Fn(&str) -> bool) {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if lines.lock().unwrap().iter().any(|l| pred(l)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no line for {what}: {:?}", lines.lock().unwrap());
}

fn output_text(app: &PtyApp) -> String {
    String::from_utf8_lossy(&app.output.lock().unwrap()).into_owned()
}

/// Moves the queue view's selection onto the entry whose line holds `needles`: entries of
/// other tests' sessions may be queued too.
fn select_entry(app: &mut PtyApp, needles: &[&str]) {
    let screen = app.wait_until("the entry in the queue view", WAIT, |s| {
        s.lines().any(|l| needles.iter().all(|n| l.contains(n)))
    });
    let _ = screen;
    let screen = app.screen();
    let index = screen
        .lines()
        .skip_while(|l| !l.contains("Needs you"))
        .skip(1)
        .position(|l| needles.iter().all(|n| l.contains(n)))
        .unwrap_or_else(|| panic!("no entry {needles:?}:\n{screen}"));
    app.send(b"g"); // not a queue key: the selection stays
    for _ in 0..index {
        app.send(b"j");
        std::thread::sleep(Duration::from_millis(50));
    }
    let want = needles.to_vec();
    app.wait_until("the entry selected", WAIT, move |s| {
        s.lines()
            .any(|l| l.contains('▸') && want.iter().all(|n| l.contains(n)))
    });
}

/// A tmux server of this test's own (its own socket), configured for notifications.
struct Tmux {
    socket: String,
    conf: std::path::PathBuf,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "-f"])
            .arg(&self.conf)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_claude_is_queued_notified_in_the_terminal_and_tmux_and_cleared() {
    let prefix = unique("queue");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let net = test_network(&b, &prefix).await;
    let (_api, ca) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["api.fake.test"],
        &["api.fake.test"],
        "python3 /usr/local/bin/fake_api.py 443 0.6 /tmp/tls",
    )
    .await;
    // Another host for the refused-then-allowed name: an address the broker's upstream also
    // had would stay closed to the agent while the broker holds a key.
    start_tls_server(
        &b,
        &prefix,
        &net,
        &["other.fake.test"],
        &["other.fake.test"],
        "python3 /usr/local/bin/fake_api.py 443 0.6 /tmp/tls",
    )
    .await;
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let project = TempFolder::new(&prefix, 1000);
    let key_file = cfg.path.join("key");
    std::fs::write(&key_file, format!("sk-ant-api03-testonly-{}", run_id())).unwrap();
    let ca_file = cfg.path.join("upstream-ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let mut config = test_config();
    config.firewall.presets = vec![];
    config.firewall.allow = vec![];
    config.broker.upstream = "https://api.fake.test".into();
    config.broker.extra_ca_certs = vec![ca_file];
    // The trust dialog: claude waits for the user.
    config.session.trust_workspace = false;
    config.secrets.anthropic_api_key = Some(SecretSource {
        file: Some(key_file),
        ..Default::default()
    });
    std::fs::write(
        cfg.path.join("config.toml"),
        toml::to_string(&config).unwrap(),
    )
    .unwrap();
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

    // `cctui watch --json`, its lines collected.
    let mut watch = cctui_cmd(&cfg.path, &["watch", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let reader = std::io::BufReader::new(watch.stdout.take().unwrap());
    let collected = lines.clone();
    std::thread::spawn(move || {
        for l in reader.lines().map_while(|l| l.ok()) {
            collected.lock().unwrap().push(l);
        }
    });

    // A dashboard inside tmux: a server of this test's own, a client attached in a PTY.
    let conf = cfg.path.join("tmux.conf");
    std::fs::write(
        &conf,
        "set -g allow-passthrough on\nset -g display-time 1000\nset -g status-right \"Q#{@cctui_queue}Q\"\nset -g status-right-length 40\nset -g remain-on-exit on\n",
    )
    .unwrap();
    let tmux = Tmux {
        socket: format!("{prefix}-tmux"),
        conf: conf.clone(),
    };
    let inside = format!(
        "env CCTUI_CONFIG_DIR={} CCTUI_STATE_DIR={} DOCKER_HOST={} {}",
        cfg.path.display(),
        cfg.path.join("state").display(),
        std::env::var("DOCKER_HOST").unwrap_or_default(),
        env!("CARGO_BIN_EXE_cctui")
    );
    let mut tmux_client = PtyApp::spawn(
        "tmux",
        &[
            "-L",
            &tmux.socket,
            "-f",
            conf.to_str().unwrap(),
            "new-session",
            "-s",
            "q",
            &inside,
        ],
        &[("PATH", std::env::var("PATH").unwrap_or_default())],
        40,
        140,
    );

    let mut app = PtyApp::cctui(&cfg.path, &[], 40, 140);
    let waiting_msg = format!("{name} is waiting for you");
    app.wait_until("the entry counted in the header", WAIT, |s| {
        s.contains("in the queue (w)")
    });
    // The terminal's notification escapes, with cctui's words only.
    let deadline = Instant::now() + WAIT;
    while !output_text(&app).contains(&format!("\x1b]9;cctui: {waiting_msg}\x07")) {
        assert!(Instant::now() < deadline, "no OSC 9 for {name}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(output_text(&app).contains(&format!("\x1b]777;notify;cctui;{waiting_msg}\x07")));

    // tmux: the message, the status-line marker, and the escapes passed through.
    let deadline = Instant::now() + WAIT;
    while !tmux
        .cmd(&["show-messages"])
        .contains(&format!("cctui: {waiting_msg}"))
    {
        assert!(Instant::now() < deadline, "no tmux message");
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux_client.wait_until("the status-line marker", WAIT, |s| s.contains("Q▶"));
    let marker = tmux.cmd(&["show-options", "-gqv", "@cctui_queue"]);
    assert!(marker.starts_with('▶'), "{marker:?}");
    // The dashboard in tmux quits (its pane stays, and so does the server): its count
    // leaves the status line with it.
    tmux_client.send(b"q");
    let deadline = Instant::now() + WAIT;
    while !tmux
        .cmd(&["show-options", "-gqv", "@cctui_queue"])
        .trim()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "@cctui_queue outlived the dashboard"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // watch printed it.
    wait_for_line(&lines, "watch's added line", |l| {
        l.contains("\"event\":\"added\"")
            && l.contains(&format!("\"session\":\"{name}\""))
            && l.contains("\"reason\":\"waiting\"")
    });

    // The queue view names it; attach from there and answer the dialog.
    app.send(b"w");
    app.wait_until("the queue view", WAIT, |s| {
        s.contains("Needs you") && s.contains("waiting for you")
    });
    select_entry(&mut app, &[&name, "waiting for you"]);
    app.send(b"\r");
    app.wait_until("typing into claude", WAIT, |s| {
        s.contains("typing into claude")
    });
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"\x1b[B"); // Down: "Yes, I trust this folder"
    std::thread::sleep(Duration::from_millis(200));
    app.send(b"\r");
    app.send(b"\x1c"); // detach
    app.wait_until("claude idle", WAIT, |s| {
        s.lines()
            .any(|l| l.contains(&format!(" {name} ")) && l.contains("idle"))
    });
    app.send(b"w");
    let cleared = app.wait_until("the entry cleared", WAIT, |s| {
        s.contains("Needs you")
            && !s
                .lines()
                .any(|l| l.contains(&name) && l.contains("waiting for you"))
    });
    eprintln!("cleared after {cleared:?}:\n{}", app.screen());
    wait_for_line(&lines, "watch's cleared line", |l| {
        l.contains("\"event\":\"cleared\"") && l.contains(&format!("\"session\":\"{name}\""))
    });

    // A refused name: queued from the firewall's log, allowed from the queue, and then it
    // resolves and connects in the session at once.
    let fetch = "getent hosts other.fake.test >/dev/null && curl -sk -o /dev/null -w '%{http_code}' https://other.fake.test/v1/models || echo refused";
    let (_, before, _) = cctui(&cfg.path, &["exec", &name, "--", "sh", "-c", fetch]);
    assert!(before.contains("refused"), "{before}");
    app.send(b"w"); // closes the view
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"w"); // opens it again, which reads every running firewall
    select_entry(&mut app, &[&name, "firewall refused other.fake.test"]);
    app.send(b"a");
    app.wait_until("the allow done", WAIT, |s| {
        s.contains("allowed other.fake.test")
    });
    let t = Instant::now();
    let (_, after, err) = cctui(&cfg.path, &["exec", &name, "--", "sh", "-c", fetch]);
    assert!(
        !after.contains("refused") && after.trim().len() == 3,
        "{after}{err}"
    );
    eprintln!(
        "resolved and connected in {:?} after the allow",
        t.elapsed()
    );
    app.wait_until("the refusal cleared", WAIT, |s| {
        !s.lines()
            .any(|l| l.contains(&name) && l.contains("refused other.fake.test"))
    });
    let _ = watch.kill();
    let _ = watch.wait();

    // Usage: one turn against the fake API, which serves 10 input tokens and 9 output tokens
    // (in its last usage event) for a streamed reply. Every model costs $1 in and $2 out per
    // million tokens here, by the user's own price table.
    std::fs::write(
        cfg.path.join("prices.toml"),
        "[models.\"claude\"]\ninput = 1.0\noutput = 2.0\ncache_write = 0.0\ncache_read = 0.0\n",
    )
    .unwrap();
    app.send(b"q"); // closes the queue view
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"\r");
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"say hello");
    std::thread::sleep(Duration::from_millis(200));
    app.send(b"\r");
    app.send(b"\x1c");
    let row = |s: &str, what: &str| {
        s.lines()
            .any(|l| l.contains(&format!(" {name} ")) && l.contains(what))
    };
    app.wait_until("claude working", WAIT, |s| row(s, "working"));
    app.wait_until("claude idle after the reply", WAIT, |s| row(s, "idle"));
    // The dashboard reads the project's usage at the turn's end: its figure is on the
    // project's line (19 tokens, $0.000028), with no Info tab opened.
    let folder = project
        .path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    app.wait_until("the project's usage in the list", WAIT, |s| {
        s.lines()
            .any(|l| l.contains(&folder) && l.contains(" 19 $0.00"))
    });
    // `ls --json` has the usage without `--usage`, and so does `--usage`.
    let usage_of = |args: &[&str]| -> serde_json::Value {
        let (code, out, err) = cctui(&cfg.path, args);
        assert_eq!(code, 0, "{err}");
        let list: serde_json::Value = serde_json::from_str(&out).unwrap();
        let me = list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name.as_str())
            .unwrap()
            .clone();
        me["usage"].clone()
    };
    let timed = Instant::now();
    let u = usage_of(&["ls", "--json"]);
    eprintln!(
        "ls --json, one running project read: {:?}; usage: {u}",
        timed.elapsed()
    );
    assert_eq!(u["input_tokens"], 10, "{u}");
    assert_eq!(u["output_tokens"], 9, "{u}");
    assert_eq!(u["cache_read_tokens"], 0, "{u}");
    assert_eq!(u["cache_write_tokens"], 0, "{u}");
    assert!(u["unpriced_models"].as_array().unwrap().is_empty(), "{u}");
    let model = u["models"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    assert_eq!(u["models"][&model]["output"], 9, "{u}");
    let cost = u["cost_usd"].as_f64().expect("priced");
    assert!((cost - (10.0 + 18.0) / 1e6).abs() < 1e-12, "{u}");
    assert_eq!(usage_of(&["ls", "--json", "--usage"]), u);
    // Without the user's table, the shipped one prices the model claude asked for.
    std::fs::remove_file(cfg.path.join("prices.toml")).unwrap();
    let shipped = usage_of(&["ls", "--json"]);
    eprintln!("claude's model {model}, priced by the shipped table: {shipped}");
    let table = cctui::usage::Prices::load(&cfg.path).unwrap();
    let price = table
        .price(&model)
        .unwrap_or_else(|| panic!("config/prices.toml has no price for {model}"));
    let want = (10.0 * price.input + 9.0 * price.output) / 1e6;
    let cost = shipped["cost_usd"].as_f64().expect("priced");
    assert!((cost - want).abs() < 1e-12, "{shipped}");
    std::fs::write(
        cfg.path.join("prices.toml"),
        "[models.\"claude\"]\ninput = 1.0\noutput = 2.0\ncache_write = 0.0\ncache_read = 0.0\n",
    )
    .unwrap();

    // Stopped, the project's tally is kept: a changed copy is believed until the agent runs
    // again, and then the transcripts are read again.
    let (code, _, err) = cctui(&cfg.path, &["stop", &name]);
    assert_eq!(code, 0, "{err}");
    let timed = Instant::now();
    assert_eq!(usage_of(&["ls", "--json"]), u);
    eprintln!("ls --json, stopped, read and kept: {:?}", timed.elapsed());
    let kept = cfg
        .path
        .join("state/usage")
        .join(format!("{}.json", p.config_volume()));
    let text = std::fs::read_to_string(&kept).expect("the tally kept");
    assert!(text.contains("\"output\":9"), "{text}");
    std::fs::write(&kept, text.replace("\"output\":9", "\"output\":9999")).unwrap();
    let timed = Instant::now();
    assert_eq!(usage_of(&["ls", "--json"])["output_tokens"], 9999);
    eprintln!(
        "ls --json, stopped, from the kept tally: {:?}",
        timed.elapsed()
    );
    let (code, _, err) = cctui(&cfg.path, &["start", &name]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(usage_of(&["ls", "--json"])["output_tokens"], 9);
    let (_, text, _) = cctui(&cfg.path, &["ls", "--usage"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with(&name) && l.contains("$0.00")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("(all)")), "{text}");
}
