//! The dashboard over several real engines, in a real PTY: the first engine (DOCKER_HOST),
//! the second one tests/engines.sh starts (CCTUI_TEST_ENGINE2_*), a third this file starts
//! and kills itself (so that killing it disturbs no other test), and a hung endpoint (a TCP
//! listener that accepts and never answers). Figures are printed.

mod common;
mod engines_kit;

use std::path::Path;
use std::time::{Duration, Instant};

use common::pty::PtyApp;
use common::*;
use engines_kit::{docker_at, engine1, engine2, OwnEngine};

const UID: u32 = 1234;
const WAIT: Duration = Duration::from_secs(60);

fn container_state(host: &str, name: &str) -> String {
    docker_at(
        host,
        &[
            "inspect",
            "-f",
            "{{.State.Status}}",
            &format!("cctui-{name}"),
        ],
    )
}

fn wait_container(host: &str, name: &str, want: &str) {
    let start = Instant::now();
    while container_state(host, name) != want {
        assert!(
            start.elapsed() < WAIT,
            "{name} never became {want} on {host}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A session made with `cctui new` on the engine at `host`, removed (with its volumes) from
/// there when dropped.
struct RemoteSession {
    name: String,
    host: String,
    cfg: TempFolder,
    _project: TempFolder,
}

impl RemoteSession {
    fn new(name: &str, host: &str) -> RemoteSession {
        let cfg = TempFolder::new(&format!("{name}-mk"), 0);
        write_cli_config(&cfg.path, FIREWALL_OFF);
        let project = TempFolder::new(name, UID);
        let mut cmd = cctui_cmd(
            &cfg.path,
            &["new", project.path.to_str().unwrap(), "--name", name],
        );
        cmd.env("DOCKER_HOST", host);
        let (code, out, err) = run_cmd(cmd);
        assert_eq!(code, 0, "cctui new {name} on {host}: {out}{err}");
        RemoteSession {
            name: name.to_string(),
            host: host.to_string(),
            cfg,
            _project: project,
        }
    }
}

impl Drop for RemoteSession {
    fn drop(&mut self) {
        let mut cmd = cctui_cmd(
            &self.cfg.path,
            &["rm", &self.name, "--volumes", "--yes", "--force"],
        );
        cmd.env("DOCKER_HOST", &self.host);
        let _ = run_cmd(cmd);
    }
}

/// A config folder for the dashboard over these engines (name, host), in this order.
/// A `host` may carry its TLS folder after a space: "tcp://h:2376 /certs".
fn dashboard_config(prefix: &str, engines: &[(&str, &str)], timeout_secs: u64) -> TempFolder {
    let cfg = TempFolder::new(&format!("{prefix}-dash"), 0);
    let mut extra = format!("{FIREWALL_OFF}[engine]\ntimeout_secs = {timeout_secs}\n");
    for (name, host) in engines {
        let (host, certs) = host.split_once(' ').unwrap_or((host, ""));
        extra.push_str(&format!(
            "\n[[engines]]\nname = {name:?}\nhost = {host:?}\n"
        ));
        if !certs.is_empty() {
            extra.push_str(&format!("cert_path = {certs:?}\n"));
        }
    }
    write_cli_config(&cfg.path, &extra);
    cfg
}

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(&format!(" {name} ")))
        .unwrap_or("")
}

/// The engine's header line in the list.
fn header<'a>(screen: &'a str, engine: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(&format!("■ {engine} · ")))
        .unwrap_or("")
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

/// Keypress to frame: `?` opens the help and a space closes it, `rounds` times; the
/// slowest of the times each took to show.
fn key_to_frame(app: &mut PtyApp, rounds: usize) -> Duration {
    let mut worst = Duration::ZERO;
    for _ in 0..rounds {
        let t = Instant::now();
        app.send(b"?");
        app.wait_for("any key closes this help", Duration::from_secs(2));
        worst = worst.max(t.elapsed());
        let t = Instant::now();
        app.send(b" ");
        app.wait_until("the help to close", Duration::from_secs(2), |s| {
            !s.contains("any key closes this help")
        });
        worst = worst.max(t.elapsed());
    }
    worst
}

/// The second engine over tcp with TLS, as its config entry has it: "host cert_path".
fn engine2_tls() -> String {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k}: see engine2()"));
    format!(
        "{} {}",
        var("CCTUI_TEST_ENGINE2_TLS_HOST"),
        var("CCTUI_TEST_ENGINE2_CERTS")
    )
}

#[test]
fn sessions_on_the_local_and_a_tls_engine_are_listed_driven_with_keys_and_attached() {
    let prefix = unique("deng");
    let (one, two) = (engine1(), engine2());
    let local = RemoteSession::new(&format!("{prefix}-l"), &one);
    let remote = RemoteSession::new(&format!("{prefix}-r"), &two);
    let tls = engine2_tls();
    let cfg = dashboard_config(&prefix, &[("local", &one), ("box", &tls)], 10);
    let mut app = PtyApp::cctui(&cfg.path, &[], 40, 160);
    for s in [&local, &remote] {
        app.wait_until(&format!("{} listed as running", s.name), WAIT, |sc| {
            row(sc, &s.name).contains("running")
        });
    }
    // Each under its engine's header, the local one first.
    let screen = app.screen();
    let at = |needle: &str| {
        screen
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}:\n{screen}"))
    };
    assert!(header(&screen, "local").contains("connected"), "{screen}");
    assert!(header(&screen, "box").contains("connected"), "{screen}");
    assert!(at("■ local") < at(&local.name) && at(&local.name) < at("■ box"));
    assert!(at("■ box") < at(&remote.name), "{screen}");

    // A key stops one on each engine; each engine follows, and so does each row.
    for s in [&local, &remote] {
        select(&mut app, &s.name);
        app.send(b"x");
        wait_container(&s.host, &s.name, "exited");
        app.wait_until("the row to show stopped", WAIT, |sc| {
            row(sc, &s.name).contains("stopped")
        });
    }
    select(&mut app, &remote.name);
    app.send(b"s");
    wait_container(&two, &remote.name, "running");
    app.wait_until("the remote row running again", WAIT, |sc| {
        row(sc, &remote.name).contains("running")
    });

    // Full screen on the remote one: its claude, typed into over the second engine.
    app.send(b"f");
    app.wait_for("fake claude", WAIT);
    app.send(b"over there\r");
    let t = Instant::now();
    app.wait_for("you said: over there", WAIT);
    eprintln!("a line typed over TLS answered after {:?}", t.elapsed());
    app.send(b"\x1c");
    app.wait_until("the list back", WAIT, |sc| sc.contains("■ box"));
    app.send(b"q");
    assert!(app.wait_exit(Duration::from_secs(5)), "q did not quit");
}

#[test]
fn a_killed_engine_shows_lost_at_once_while_the_others_stay_live_and_it_resyncs() {
    let prefix = unique("dkill");
    let own = OwnEngine::start();
    let one = engine1();
    let local = RemoteSession::new(&format!("{prefix}-l"), &one);
    let local2 = RemoteSession::new(&format!("{prefix}-m"), &one);
    let far = RemoteSession::new(&format!("{prefix}-k"), &own.host);
    let cfg = dashboard_config(&prefix, &[("local", &one), ("three", &own.host)], 10);
    let mut app = PtyApp::cctui(&cfg.path, &[], 40, 160);
    for s in [&local, &local2, &far] {
        app.wait_until(&format!("{} listed as running", s.name), WAIT, |sc| {
            row(sc, &s.name).contains("running")
        });
    }
    let before = key_to_frame(&mut app, 5);

    let killed = own.kill();
    app.wait_until("the killed engine's header to say so", WAIT, |sc| {
        header(sc, "three").contains("LOST")
    });
    let shown = killed.elapsed();
    eprintln!("engine killed: its header said LOST after {shown:?}");
    assert!(shown < Duration::from_secs(1), "took {shown:?}");
    assert!(header(&app.screen(), "local").contains("connected"));

    // The local rows stay live, and keys work as before.
    let during = key_to_frame(&mut app, 5);
    eprintln!("keypress to frame: {before:?} before the kill, {during:?} with the engine lost");
    assert!(during < Duration::from_millis(500), "{during:?}");
    select(&mut app, &local2.name);
    let t = Instant::now();
    app.send(b"x");
    wait_container(&one, &local2.name, "exited");
    app.wait_until("the local row to show stopped", WAIT, |sc| {
        row(sc, &local2.name).contains("stopped")
    });
    eprintln!(
        "a local stop while the other engine is lost: {:?}",
        t.elapsed()
    );
    docker_at(&one, &["stop", "-t", "1", &format!("cctui-{}", local.name)]);
    let t = Instant::now();
    app.wait_until(
        "an outside stop on the live engine",
        Duration::from_secs(2),
        |sc| row(sc, &local.name).contains("stopped"),
    );
    eprintln!(
        "an outside stop on the live engine shown after {:?}",
        t.elapsed()
    );

    // Back: the header says connected, and the row is what that engine says now (timed
    // from the daemon answering; the dashboard's backoff is at most 10 s).
    own.run_dockerd();
    let back = Instant::now();
    app.wait_until("the engine back", WAIT, |sc| {
        header(sc, "three").contains("connected")
    });
    let truth = container_state(&own.host, &far.name);
    let want = if truth == "running" {
        "running"
    } else {
        "stopped"
    };
    app.wait_until("the row resynced", WAIT, |sc| {
        row(sc, &far.name).contains(want)
    });
    eprintln!(
        "engine restarted: connected and resynced ({truth}) after {:?}",
        back.elapsed()
    );
    drop(far);
    app.send(b"q");
    assert!(app.wait_exit(Duration::from_secs(5)), "q did not quit");
}

#[test]
fn a_hung_engine_among_others_never_holds_up_the_ui() {
    let prefix = unique("dhung");
    // Accepts, reads nothing, answers nothing; keeps every connection open.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung = format!("tcp://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let (one, two) = (engine1(), engine2());
    let local = RemoteSession::new(&format!("{prefix}-l"), &one);
    let cfg = dashboard_config(
        &prefix,
        &[("local", &one), ("hung", &hung), ("box", &two)],
        4,
    );
    let mut app = PtyApp::cctui(&cfg.path, &[], 40, 160);
    app.wait_until("the local session listed", WAIT, |sc| {
        row(sc, &local.name).contains("running")
    });
    app.wait_until("the box engine connected", WAIT, |sc| {
        header(sc, "box").contains("connected")
    });
    let screen = app.screen();
    assert!(
        header(&screen, "hung").contains("connecting") || header(&screen, "hung").contains("LOST"),
        "{screen}"
    );
    let waiting = key_to_frame(&mut app, 10);
    eprintln!("keypress to frame while an engine hangs: {waiting:?} (slowest of 20)");
    assert!(waiting < Duration::from_millis(500), "{waiting:?}");
    // Its calls time out (4 s here): it is then shown lost, and retried.
    app.wait_until(
        "the hung engine shown lost",
        Duration::from_secs(15),
        |sc| header(sc, "hung").contains("LOST"),
    );
    let lost = key_to_frame(&mut app, 10);
    eprintln!("keypress to frame with the hung engine lost: {lost:?}");
    assert!(lost < Duration::from_millis(500), "{lost:?}");
    assert!(row(&app.screen(), &local.name).contains("running"));
    app.send(b"q");
    assert!(app.wait_exit(Duration::from_secs(5)), "q did not quit");
    let _ = Path::new(&hung);
}

#[test]
fn in_tmux_t_opens_a_remote_session_on_its_engine() {
    let prefix = unique("dtmux");
    let (one, two) = (engine1(), engine2());
    let remote = RemoteSession::new(&format!("{prefix}-r"), &two);
    let tls = engine2_tls();
    let cfg = dashboard_config(&prefix, &[("local", &one), ("box", &tls)], 10);
    label_config(&cfg.path);
    let socket = format!("cctui-test-{}-eng", run_id());
    let tmux = |args: &[&str]| {
        let out = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = std::process::Command::new("tmux")
                .args(["-L", &self.0, "kill-server"])
                .status();
        }
    }
    // No DOCKER_HOST anywhere: the pane must find the session by the engine cctui names.
    let status = std::process::Command::new("tmux")
        .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
        .args(["-x", "160", "-y", "40", env!("CARGO_BIN_EXE_cctui")])
        .env_remove("DOCKER_HOST")
        .env("CCTUI_CONFIG_DIR", &cfg.path)
        .env("CCTUI_STATE_DIR", cfg.path.join("state"))
        .status()
        .unwrap();
    assert!(status.success());
    let _kill = Kill(socket.clone());
    let capture = || tmux(&["capture-pane", "-p", "-t", "%0"]);
    let deadline = Instant::now() + WAIT;
    while !row(&capture(), &remote.name).contains("running") {
        assert!(Instant::now() < deadline, "not listed:\n{}", capture());
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&["send-keys", "-t", "%0", "g"]);
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(80));
        if row(&capture(), &remote.name).contains('▸') {
            break;
        }
        tmux(&["send-keys", "-t", "%0", "j"]);
    }
    tmux(&["send-keys", "-t", "%0", "t"]);
    let deadline = Instant::now() + WAIT;
    loop {
        let panes = tmux(&["list-panes", "-a", "-F", "#{pane_id} #{pane_start_command}"]);
        if let Some(line) = panes.lines().find(|l| !l.starts_with("%0 ")) {
            let want = format!("--engine 'box' attach '{}'", remote.name);
            assert!(line.contains(&want), "{panes}");
            assert!(!line.contains("DOCKER_HOST"), "{panes}");
            let id = line.split_whitespace().next().unwrap().to_string();
            let shown = Instant::now() + WAIT;
            while !tmux(&["capture-pane", "-p", "-t", &id]).contains("fake claude") {
                assert!(
                    Instant::now() < shown,
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
}
