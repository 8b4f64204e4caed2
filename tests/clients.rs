//! Several clients on one session's terminal: the dashboard and `cctui attach` in terminals of
//! different sizes, the real binary in real PTYs against a real container. The tty has one
//! size at a time, the latest active client's; every client shows the screen at that size
//! (cut or padded, never re-wrapped), and the one the user types into takes the size.

mod common;

use std::time::Duration;

use common::pty::PtyApp;
use common::*;

const UID: u32 = 1234;
const WAIT: Duration = Duration::from_secs(30);

fn select(app: &mut PtyApp, name: &str) {
    app.send(b"g");
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(60));
        if app
            .screen()
            .lines()
            .any(|l| l.contains(&format!(" {name} ")) && l.contains('▸'))
        {
            return;
        }
        app.send(b"j");
    }
    panic!("could not select {name}:\n{}", app.screen());
}

/// `rows cols` as the fake claude's `!size` prints them, anywhere in a pane's row.
fn sizes_shown(screen: &str) -> Vec<(u16, u16)> {
    screen
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l
                .split(|c: char| c == '│' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            match words[..] {
                [r, c] => Some((r.parse().ok()?, c.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn an_attach_of_another_size_leaves_the_dashboards_pane_intact_and_typing_takes_the_size() {
    let name = unique("clients");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;

    let mut dash = PtyApp::cctui(cfg, &[], 30, 120);
    dash.wait_until("the session listed", WAIT, |s| {
        s.lines()
            .any(|l| l.contains(&format!(" {name} ")) && l.contains("running"))
    });
    select(&mut dash, &name);
    dash.wait_for("fake claude", WAIT);

    // `cctui attach` in a bigger terminal: the latest client, it takes the tty's size.
    let mut attach = PtyApp::cctui(cfg, &["attach", &name], 45, 200);
    attach.wait_for("fake claude", WAIT);
    attach.send(b"!size\r");
    attach.wait_for("45 200", WAIT);
    // A line as wide as the attach's terminal, and claude's prompt after it.
    let long = format!("L{}QZXEND", "=".repeat(150));
    attach.send(format!("{long}\r").as_bytes());
    attach.wait_for(&format!("you said: {long}"), WAIT);

    // The dashboard shows that screen at its size, cut to the pane: the line is not wrapped
    // onto the next rows, and the prompt after it is there.
    dash.wait_for("you said: L====", WAIT);
    std::thread::sleep(Duration::from_millis(500));
    let screen = dash.screen();
    eprintln!("dashboard with the attach at 45x200:\n{screen}");
    assert!(
        !screen.contains("QZXEND"),
        "the attach's line was re-wrapped into the pane:\n{screen}"
    );
    // The pane: what is right of the sessions list's border.
    let pane: Vec<&str> = screen
        .lines()
        .map(|l| l.split_once("││").map_or("", |(_, p)| p))
        .collect();
    let said = pane
        .iter()
        .rposition(|l| l.starts_with("you said: L===="))
        .unwrap();
    assert!(
        pane[said + 1].starts_with("> "),
        "no prompt line under the reply:\n{screen}"
    );

    // Typing in the dashboard's pane takes the size back for it.
    dash.send(b"\r");
    std::thread::sleep(Duration::from_millis(300));
    dash.send(b"!size\r");
    let t = dash.wait_until("the pane's size in the tty", WAIT, |s| {
        sizes_shown(s)
            .iter()
            .any(|&(r, c)| (r, c) != (45, 200) && r < 30 && c < 120)
    });
    eprintln!("the pane took the size after {t:?}:\n{}", dash.screen());
    // The attach, no longer the latest, shows the screen at that size, padded.
    attach.wait_until("the attach shows the pane's size", WAIT, |s| {
        sizes_shown(s)
            .iter()
            .any(|&(r, c)| (r, c) != (45, 200) && r < 30 && c < 120)
    });
    dash.send(b"\x1c");
    attach.send(b"\x1c");
}

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(&format!(" {name} ")))
        .unwrap_or("")
}

/// The real claude (full recipe) answering through the broker from a fake Messages API (see
/// tests/claude.rs). A turn typed into `cctui attach` in a terminal of another size is seen
/// by the dashboard: working, then idle, and a "finished its turn" entry in its queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_driven_from_an_attach_of_another_size_is_seen_by_the_dashboard() {
    use cctui::config::SecretSource;
    const LONG: Duration = Duration::from_secs(90);
    let prefix = unique("clientsc");
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
    let path = project.path.to_str().unwrap();
    let args = ["new", path, "--name", &name, "--network", &net];
    let (code, out, err) = cctui(&cfg.path, &args);
    assert_eq!(code, 0, "{out}{err}");

    let mut dash = PtyApp::cctui(&cfg.path, &[], 40, 140);
    dash.wait_until("the session listed", LONG, |s| {
        row(s, &name).contains("running")
    });
    select(&mut dash, &name);
    dash.wait_until("claude idle at its prompt", LONG, |s| {
        row(s, &name).contains("idle")
    });

    // The user works in `cctui attach`, in a bigger terminal: it takes the tty's size.
    let mut attach = PtyApp::cctui(&cfg.path, &["attach", &name], 50, 220);
    std::thread::sleep(Duration::from_secs(2));
    attach.send(b"say hello");
    std::thread::sleep(Duration::from_millis(300));
    attach.send(b"\r");
    dash.wait_until("claude working", LONG, |s| {
        row(s, &name).contains("working")
    });
    dash.wait_until("claude idle after the reply", LONG, |s| {
        row(s, &name).contains("idle")
    });
    eprintln!("the dashboard after the turn:\n{}", dash.screen());
    eprintln!("the attach after the turn:\n{}", attach.screen());
    dash.wait_for("in the queue", WAIT);
    dash.send(b"w");
    dash.wait_for("finished its turn", WAIT);
    attach.send(b"\x1c");
}
