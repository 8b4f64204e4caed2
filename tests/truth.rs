//! What the dashboard shows must be true at a glance (issue 13): the firewall badge follows
//! the holder, sessions nobody selected show claude's state, the footer's figures are live,
//! the Logs tab shows the container's output, a bad new-session folder is said in the dialog,
//! and the dashboard waits for an engine that is not there yet. The real binary in a real
//! PTY against the real engine.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::pty::PtyApp;
use common::*;

const UID: u32 = 1234;
const WAIT: Duration = Duration::from_secs(60);

/// The dashboard lists every session on the engine and sizes their ttys, so dashboards of
/// two tests would touch each other's sessions: these tests take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fake `claude` that behaves as Claude Code does at its prompt: it says it started (with
/// a token no other session prints), draws nothing into a tty that has no size (Claude Code's
/// renderer needs a width), and draws its idle prompt once the tty has one, and again on
/// every resize (a tty made 0x0 gets a cleared screen). In a project holding `.quiet` it
/// prints nothing at all.
const CLAUDE_AT_ITS_PROMPT: &str = r#"#!/bin/bash
if [ "$1" = "--version" ]; then echo "9.9.9 (fake Claude Code)"; exit 0; fi
[ -e .quiet ] && exec sleep infinity
echo "fake claude started, token $$-$RANDOM$RANDOM"
draw() {
  read -r rows cols < <(stty size 2>/dev/null)
  # The newline ends the line for the engine's log, which holds a partial line back.
  printf '\033[2J\033[H\n'
  [ "${cols:-0}" -gt 0 ] || return 0
  printf '╭──────────────────────────────────────╮\n'
  printf '│ > Try "fix lint errors"              │\n'
  printf '╰──────────────────────────────────────╯\n'
  printf '  ? for shortcuts\n'
}
trap draw WINCH
draw
while :; do sleep 1 & wait $!; done
"#;

const FIREWALL_ON: &str =
    "[firewall]\nmode = \"on\"\npresets = []\nallow = [\"192.0.2.1/32:443\"]\n";

/// Running sessions `<prefix>-1`, `<prefix>-2`, … made with `cctui new` (the small recipe,
/// with CLAUDE_AT_ITS_PROMPT as claude); a name in `quiet` gets a project whose claude prints
/// nothing. Everything goes when dropped, containers before volumes.
struct Sessions {
    cfg: TempFolder,
    names: Vec<String>,
    _projects: Vec<TempFolder>,
    _cleanups: Vec<Cleanup>,
}

fn sessions(prefix: &str, count: usize, firewall: &str, quiet: &[usize]) -> Sessions {
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    write_cli_config(&cfg.path, firewall);
    std::fs::write(cfg.path.join("recipe/files/claude"), CLAUDE_AT_ITS_PROMPT).unwrap();
    let (mut names, mut projects, mut cleanups) = (Vec::new(), Vec::new(), Vec::new());
    for i in 1..=count {
        let name = format!("{prefix}-{i}");
        let project = TempFolder::new(&name, UID);
        if quiet.contains(&i) {
            std::fs::write(project.path.join(".quiet"), "").unwrap();
        }
        let mut c = Cleanup::new(&name);
        c.volumes = project_volumes(&project.path);
        cleanups.push(c);
        let path = project.path.to_str().unwrap();
        let (code, out, err) = cctui(&cfg.path, &["new", path, "--name", &name]);
        assert_eq!(code, 0, "{out}{err}");
        names.push(name);
        projects.push(project);
    }
    Sessions {
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

fn dashboard(s: &Sessions) -> PtyApp {
    let app = PtyApp::cctui(&s.cfg.path, &[], 50, 160);
    for n in &s.names {
        app.wait_until(&format!("{n} listed as running"), WAIT, |s| {
            row(s, n).contains("running")
        });
    }
    app
}

/// Finding 1: the badge follows the holder's own events, with the Terminal tab shown.
#[test]
fn a_killed_network_holder_turns_the_badge_degraded_without_opening_the_firewall_tab() {
    let _turn = take_turn();
    let s = sessions(&unique("holder"), 1, FIREWALL_ON, &[]);
    let name = &s.names[0];
    let app = dashboard(&s);
    app.wait_until("the verified badge", WAIT, |s| {
        row(s, name).contains("✔ fw")
    });
    assert!(
        app.screen().contains("Terminal"),
        "not on the Terminal tab:\n{}",
        app.screen()
    );
    docker(&["kill", &format!("cctui-{name}-net")]);
    let killed = Instant::now();
    app.wait_until("the degraded badge", Duration::from_secs(5), |s| {
        let r = row(s, name);
        r.contains("! fw") && !r.contains("✔ fw")
    });
    eprintln!("degraded shown {:?} after the kill", killed.elapsed());
}

/// Finding 2: a session nobody selected still shows claude's state. Claude draws nothing
/// into a tty without a size, so the dashboard must give every tty one, in view or not.
#[test]
fn an_unselected_session_turns_idle_without_being_selected() {
    let _turn = take_turn();
    let s = sessions(&unique("unsel"), 2, FIREWALL_OFF, &[]);
    // Any dashboard on this engine (another test's) sizes new ttys once: make them 0x0
    // again, so that only this test's dashboard can give them a size.
    for n in &s.names {
        unsize_tty(n);
    }
    let app = dashboard(&s);
    let screen = app.screen();
    let unselected = s
        .names
        .iter()
        .find(|n| !row(&screen, n).contains('▸'))
        .expect("one of two sessions is not selected");
    let took = app.wait_until(
        "the unselected session idle",
        Duration::from_secs(20),
        |s| row(s, unselected).contains("idle"),
    );
    eprintln!("unselected {unselected} idle after {took:?}");
    assert!(
        !row(&app.screen(), unselected).contains('▸'),
        "{unselected} was selected:\n{}",
        app.screen()
    );
}

/// Makes the session's tty 0x0, and waits until its claude has cleared its screen for it.
fn unsize_tty(name: &str) {
    let container = format!("cctui-{name}");
    let tty = "stty -F /dev/console rows 0 cols 0";
    docker(&["exec", &container, "sh", "-c", tty]);
    let start = Instant::now();
    loop {
        let logs = docker(&["logs", &container]);
        let screen = logs.rsplit("\x1b[2J").next().unwrap_or_default();
        if logs.contains("fake claude started") && !screen.contains("? for shortcuts") {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "claude in {name} still shows its prompt in a 0x0 tty: {logs}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The footer of the selected session: its first line (name, profiles, uptime) and second
/// (firewall, memory, cpu).
fn footer(screen: &str, name: &str) -> (String, String) {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&format!("{name} ")) && l.contains(" · up "))
        .unwrap_or_else(|| panic!("no footer for {name}:\n{screen}"));
    (
        lines[at].to_string(),
        lines.get(at + 1).unwrap_or(&"").to_string(),
    )
}

/// "up 12 seconds" as seconds; None for minutes and longer.
fn uptime_secs(line: &str) -> Option<u64> {
    let rest = line.split(" · up ").nth(1)?;
    let mut words = rest.split_whitespace();
    let n = words.next()?.parse().ok()?;
    words.next()?.starts_with("second").then_some(n)
}

fn cpu_percent(line: &str) -> Option<f64> {
    line.split("cpu ")
        .nth(1)?
        .split('%')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Finding 3: uptime, cpu and memory are live while a session stays selected.
#[test]
fn the_footer_uptime_and_cpu_change_while_a_session_stays_selected() {
    let _turn = take_turn();
    let s = sessions(&unique("stats"), 1, FIREWALL_OFF, &[]);
    let name = &s.names[0];
    let mut app = dashboard(&s);
    select(&mut app, name);
    app.wait_until("uptime and cpu in the footer", WAIT, |s| {
        s.contains(" · up ") && s.contains("cpu ")
    });
    let (up, usage) = footer(&app.screen(), name);
    let first = uptime_secs(&up).unwrap_or_else(|| panic!("uptime not in seconds: {up}"));
    let idle_cpu = cpu_percent(&usage).unwrap_or_else(|| panic!("no cpu figure: {usage}"));
    // Nothing happens to the session: the clock alone must move the uptime.
    app.wait_until("the uptime to advance", Duration::from_secs(10), |s| {
        let (up, _) = footer(s, name);
        uptime_secs(&up).is_none_or(|n| n >= first + 4)
    });
    // A busy loop in the container: the cpu figure must follow.
    let container = format!("cctui-{name}");
    docker(&[
        "exec",
        "-d",
        &container,
        "timeout",
        "30",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    app.wait_until("the cpu to rise", Duration::from_secs(15), |s| {
        let (_, usage) = footer(s, name);
        cpu_percent(&usage).is_some_and(|c| c > idle_cpu + 20.0)
    });
    eprintln!("footer:\n{}", footer(&app.screen(), name).1);
}

/// Finding 4: the Logs tab shows what `docker logs` shows, running or stopped; `/` on an
/// empty pane shows its prompt.
#[test]
fn the_logs_tab_shows_the_containers_output_running_and_stopped() {
    let _turn = take_turn();
    let s = sessions(&unique("logs"), 2, FIREWALL_OFF, &[2]);
    let (talker, quiet) = (&s.names[0], &s.names[1]);
    let container = format!("cctui-{talker}");
    let mut app = dashboard(&s);
    select(&mut app, talker);
    app.send(b"\t");
    let logs = docker(&["logs", &container]);
    let token = logs
        .lines()
        .find(|l| l.starts_with("fake claude started"))
        .unwrap_or_else(|| panic!("docker logs has no start line: {logs}"))
        .trim()
        .to_string();
    app.wait_for(&token, WAIT);
    app.wait_for("? for shortcuts", WAIT);

    // Stopped: select away and back, so the pane loads the stopped container's logs anew.
    docker(&["stop", "-t", "1", &container]);
    app.wait_until("the row stopped", WAIT, |s| {
        row(s, talker).contains("stopped")
    });
    select(&mut app, quiet);
    select(&mut app, talker);
    app.wait_for(&token, WAIT);

    // The quiet session has no output: the pane says so, and `/` shows its prompt.
    select(&mut app, quiet);
    app.wait_for("no output yet", WAIT);
    app.send(b"/");
    app.wait_for("Enter finds · Esc cancels", Duration::from_secs(5));
    app.send(b"abc");
    app.wait_for("/abc", Duration::from_secs(5));
    app.send(b"\x1b");
    app.wait_until("the prompt gone", Duration::from_secs(5), |s| {
        !s.contains("Enter finds")
    });
}

/// Finding 14: a bad folder is said inside the dialog, which keeps what was typed.
#[test]
fn a_bad_folder_in_the_new_session_dialog_keeps_the_text_and_shows_the_error_inside() {
    let _turn = take_turn();
    let s = sessions(&unique("dialog"), 1, FIREWALL_OFF, &[]);
    let mut app = dashboard(&s);
    app.send(b"n");
    app.wait_for("Enter creates · Esc cancels", WAIT);
    let bad = format!("/nonexistent-{}/project", run_id());
    app.send(b"\x15"); // Ctrl-U clears the folder
    app.send(bad.as_bytes());
    app.wait_for(&bad, Duration::from_secs(5));
    app.send(b"\r");
    let err_in_dialog = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        let top = lines.iter().position(|l| l.contains("New session"));
        let bottom = lines.iter().position(|l| l.contains("Enter creates"));
        let (Some(top), Some(bottom)) = (top, bottom) else {
            return false;
        };
        lines[top..bottom].iter().any(|l| {
            !l.contains("folder") && (l.contains("No such file") || l.contains("does not exist"))
        }) && lines[top..bottom].iter().any(|l| l.contains(&bad))
    };
    app.wait_until("the error inside the open dialog", WAIT, err_in_dialog);
    eprintln!("{}", app.screen());
}

/// A second Docker engine of this test's own, on a socket in a temporary folder, with a
/// bridge of its own (never `--bridge=none`: that makes dockerd delete the host's docker0,
/// which the test engine uses). Stopped by its pid, and its bridge removed, when dropped.
struct OwnEngine {
    dir: PathBuf,
    bridge: String,
    child: Option<Child>,
}

impl OwnEngine {
    fn new(what: &str) -> OwnEngine {
        let dir = PathBuf::from(format!("/tmp/cctui-{}-{what}", run_id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bridge = format!("ctb{}", std::process::id() % 100_000);
        OwnEngine {
            dir,
            bridge,
            child: None,
        }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.join("d.sock").display())
    }

    fn start(&mut self) {
        let ip = |args: &[&str]| {
            let ok = Command::new("ip").args(args).status().unwrap().success();
            assert!(ok, "ip {args:?}");
        };
        let address = format!("10.213.{}.1/24", std::process::id() % 200);
        ip(&["link", "add", &self.bridge, "type", "bridge"]);
        ip(&["addr", "add", &address, "dev", &self.bridge]);
        ip(&["link", "set", &self.bridge, "up"]);
        let dir = &self.dir;
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("d.pid"))
            .args(["-H", &self.host(), "--bridge", &self.bridge])
            .args(["--iptables=false", "--ip-masq=false", "--ip-forward=false"])
            .arg("--storage-driver=vfs")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd");
        self.child = Some(child);
    }
}

impl Drop for OwnEngine {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            let _ = Command::new("ip")
                .args(["link", "del", &self.bridge])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Finding 17: with no engine the dashboard starts, says so, and shows the list once the
/// engine comes, without a restart. Other commands stop with exit code 3.
#[test]
fn the_dashboard_waits_for_an_engine_that_is_not_there_yet() {
    let mut engine = OwnEngine::new("engine");
    let cfg = TempFolder::new(&format!("{}-cfg", unique("noengine")), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    label_config(&cfg.path);

    let mut ls = cctui_cmd(&cfg.path, &["ls"]);
    ls.env("DOCKER_HOST", engine.host());
    let (code, out, err) = run_cmd(ls);
    assert_eq!(code, 3, "ls without an engine: {out}{err}");
    assert!(
        err.contains("cannot reach the Docker engine") && err.contains(&engine.host()),
        "{err}"
    );

    let env = vec![
        ("CCTUI_CONFIG_DIR", cfg.path.display().to_string()),
        (
            "CCTUI_STATE_DIR",
            cfg.path.join("state").display().to_string(),
        ),
        ("DOCKER_HOST", engine.host()),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
    ];
    let mut app = PtyApp::spawn(env!("CARGO_BIN_EXE_cctui"), &[], &env, 40, 200);
    app.wait_until("the unreachable banner", Duration::from_secs(15), |s| {
        s.contains("ENGINE UNREACHABLE · retry ") && s.contains(&engine.host())
    });
    assert!(
        app.child.try_wait().unwrap().is_none(),
        "the dashboard exited without an engine:\n{}",
        app.screen()
    );
    app.wait_for("retry 2", Duration::from_secs(15));
    engine.start();
    let took = app.wait_until("the list from the new engine", WAIT, |s| {
        s.contains("No sessions yet") && !s.contains("UNREACHABLE")
    });
    eprintln!(
        "listed {took:?} after the engine started:\n{}",
        app.screen()
    );
    assert!(app.screen().contains("0 sessions"), "{}", app.screen());
    app.send(b"q");
    assert!(app.wait_exit(Duration::from_secs(5)), "q did not quit");
    let _ = Path::new(&engine.dir);
}
