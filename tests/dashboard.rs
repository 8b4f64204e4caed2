//! The dashboard end to end: the real binary in a real PTY (and in tmux) against the real
//! engine with three sessions.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::pty::PtyApp;
use common::*;

const UID: u32 = 1234;
const WAIT: Duration = Duration::from_secs(30);

struct Three {
    cfg: TempFolder,
    names: Vec<String>,
    _projects: Vec<TempFolder>,
    _cleanups: Vec<Cleanup>,
}

fn three_sessions(prefix: &str) -> Three {
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    let mut names = Vec::new();
    let mut projects = Vec::new();
    let mut cleanups = Vec::new();
    for i in 1..=3 {
        let name = format!("{prefix}-{i}");
        let project = TempFolder::new(&name, UID);
        let p = cctui::session::Project::at(&project.path).unwrap();
        let mut c = Cleanup::new(&name);
        c.volumes = vec![p.config_volume(), p.history_volume()];
        let (code, out, err) = cctui(
            &cfg.path,
            &["new", project.path.to_str().unwrap(), "--name", &name],
        );
        assert_eq!(code, 0, "{out}{err}");
        names.push(name);
        projects.push(project);
        cleanups.push(c);
    }
    Three {
        cfg,
        names,
        _projects: projects,
        _cleanups: cleanups,
    }
}

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(&format!(" {name} ")))
        .unwrap_or("")
}

fn engine_state(name: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        "{{.State.Status}}",
        &format!("cctui-{name}"),
    ])
    .trim()
    .to_string()
}

/// Moves the selection to `name` by pressing j from the top, reading the screen.
fn select(app: &mut PtyApp, name: &str) {
    app.send(b"g");
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(60));
        if row(&app.screen(), name).contains('▸') {
            return;
        }
        app.send(b"j");
    }
    panic!("could not select {name}:\n{}", app.screen());
}

fn wait_engine(name: &str, want: &str) {
    let start = Instant::now();
    while engine_state(name) != want {
        assert!(start.elapsed() < WAIT, "{name} never became {want}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_dashboard_lists_sessions_and_drives_them_with_keys() {
    let prefix = unique("dash");
    let three = three_sessions(&prefix);
    let mut app = PtyApp::cctui(&three.cfg.path, &[], 40, 160);
    for n in &three.names {
        app.wait_until(&format!("{n} listed as running"), WAIT, |s| {
            row(s, n).contains("running")
        });
    }

    // Stop and start the second with keys; the engine follows.
    let second = &three.names[1];
    select(&mut app, second);
    app.send(b"x");
    wait_engine(second, "exited");
    app.wait_until("the row to show stopped", WAIT, |s| {
        row(s, second).contains("stopped")
    });
    app.send(b"s");
    wait_engine(second, "running");
    app.wait_until("the row to show running", WAIT, |s| {
        row(s, second).contains("running")
    });
    // The start's message on the status line (the screen's last line) goes by itself.
    let status_names = |s: &str| s.lines().last().unwrap_or("").contains(second.as_str());
    app.wait_until("the start's message", WAIT, status_names);
    let shown = Instant::now();
    app.wait_until("the message to expire", Duration::from_secs(15), |s| {
        !status_names(s)
    });
    eprintln!("the status message went after {:?}", shown.elapsed());

    // Stopped behind cctui's back: the row changes within a second, driven by the event.
    let third = &three.names[2];
    docker(&["stop", "-t", "1", &format!("cctui-{third}")]);
    let stopped_at = Instant::now();
    app.wait_until("the externally stopped row", Duration::from_secs(1), |s| {
        row(s, third).contains("stopped")
    });
    eprintln!("external stop shown after {:?}", stopped_at.elapsed());

    // The help overlay lists the live keymap; q quits and the sessions keep running.
    app.send(b"?");
    app.wait_for("any key closes this help", WAIT);
    app.send(b" ");
    app.send(b"q");
    assert!(app.wait_exit(Duration::from_secs(5)), "q did not quit");
    assert_eq!(engine_state(&three.names[0]), "running");
}

#[test]
fn in_tmux_t_opens_the_session_in_a_new_pane() {
    let prefix = unique("tmux");
    let three = three_sessions(&prefix);
    let socket = format!("cctui-test-{}", run_id());
    let tmux = |args: &[&str]| {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bin = env!("CARGO_BIN_EXE_cctui");
    label_config(&three.cfg.path);
    // The engine is set for the dashboard only, never for the tmux server: the pane that
    // `t` opens must get the dashboard's engine from cctui, or it dies at once (finding 6).
    let engine = format!(
        "DOCKER_HOST={}",
        std::env::var("DOCKER_HOST").unwrap_or_default()
    );
    let status = Command::new("tmux")
        .args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "40",
            "env",
            &engine,
            bin,
        ])
        .env_remove("DOCKER_HOST")
        .env("CCTUI_CONFIG_DIR", &three.cfg.path)
        .env("CCTUI_STATE_DIR", three.cfg.path.join("state"))
        .status()
        .unwrap();
    assert!(status.success());
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["-L", &self.0, "kill-server"])
                .status();
        }
    }
    let _kill = Kill(socket.clone());
    let target = &three.names[0];
    let deadline = Instant::now() + WAIT;
    let capture = || tmux(&["capture-pane", "-p", "-t", "%0"]);
    while !row(&capture(), target).contains("running") {
        assert!(
            Instant::now() < deadline,
            "not listed in tmux:\n{}",
            capture()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&["send-keys", "-t", "%0", "g"]);
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(80));
        if row(&capture(), target).contains('▸') {
            break;
        }
        tmux(&["send-keys", "-t", "%0", "j"]);
    }
    tmux(&["send-keys", "-t", "%0", "t"]);
    let deadline = Instant::now() + WAIT;
    loop {
        let panes = tmux(&["list-panes", "-a", "-F", "#{pane_id} #{pane_start_command}"]);
        if let Some(line) = panes.lines().find(|l| !l.starts_with("%0 ")) {
            assert!(line.contains(&format!("attach '{target}'")), "{panes}");
            let id = line.split_whitespace().next().unwrap().to_string();
            let screen_deadline = Instant::now() + WAIT;
            while !tmux(&["capture-pane", "-p", "-t", &id]).contains("fake claude") {
                assert!(
                    Instant::now() < screen_deadline,
                    "the new pane shows:\n{}",
                    tmux(&["capture-pane", "-p", "-t", &id])
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new pane:\n{panes}\n{}",
            capture()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Path::new(&socket);
}
