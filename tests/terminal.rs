//! The terminal, end to end: the real cctui binary in a real PTY, attached to a real
//! container's tty. Typing, resizing, detaching and re-attaching, and every key encoding
//! against a program in the container that prints the bytes it receives.

mod common;

use std::time::Duration;

use common::pty::PtyApp;
use common::*;

const UID: u32 = 1234;
const WAIT: Duration = Duration::from_secs(20);

/// The dashboard lists every session on the engine and fits the one it shows to its pane, so
/// a dashboard opened by one test would resize another test's session: these tests take
/// turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn attach_types_resizes_detaches_and_reattaches_with_the_screen_intact() {
    let _turn = take_turn();
    let name = unique("attach");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg;

    let mut app = PtyApp::cctui(&cfg.path, &["attach", &name], 24, 80);
    let first = app.wait_for("fake claude --dangerously-skip-permissions", WAIT);
    eprintln!("attach: first full screen after {first:?}");
    app.send(b"echo hi\r");
    app.wait_for("you said: echo hi", WAIT);

    // The container's tty has the terminal's size, and follows a resize.
    app.send(b"!size\r");
    app.wait_for("24 80", WAIT);
    app.resize(30, 100);
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"!size\r");
    app.wait_for("30 100", WAIT);

    // Ctrl-C goes to the program, not to cctui.
    app.send(b"\x03");
    app.wait_for("interrupted", WAIT);
    assert!(app.child.try_wait().unwrap().is_none(), "Ctrl-C quit cctui");

    // The detach key leaves; the session keeps running.
    app.send(b"\x1c");
    assert!(
        app.wait_exit(Duration::from_secs(5)),
        "the detach key did not leave"
    );
    let me = ls_entry(&cfg.path, &name);
    assert!(
        me["running"] == true && me["state"] == "running",
        "the session is not running after detaching: {me}"
    );

    // Output produced while detached is not lost, and re-attaching shows the screen at once.
    let (code, _, _) = cctui(
        &cfg.path,
        &[
            "exec",
            &name,
            "--",
            "sh",
            "-c",
            "echo made-while-detached > /proc/1/fd/1",
        ],
    );
    assert_eq!(code, 0);
    let again = PtyApp::cctui(&cfg.path, &["attach", &name], 30, 100);
    let t = again.wait_until("the earlier screen", WAIT, |s| {
        s.contains("you said: echo hi") && s.contains("made-while-detached")
    });
    eprintln!("re-attach: earlier screen shown after {t:?}");
}

#[test]
fn every_key_reaches_the_program_encoded_as_a_terminal_would() {
    let _turn = take_turn();
    let name = unique("keys");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg;
    let mut app = PtyApp::cctui(&cfg.path, &["attach", &name], 24, 200);
    app.wait_for("fake claude", WAIT);

    let flat = |s: &str| s.replace('\n', "");
    let run = |app: &mut PtyApp, mode: &str, keys: &[(&str, &[u8], &str)]| {
        app.send(format!("{mode}\r").as_bytes());
        app.wait_until("raw mode", WAIT, |s| {
            s.matches("raw").count() > s.matches("cooked").count()
        });
        let mut expected = String::new();
        for (what, input, hex) in keys {
            app.send(input);
            expected.push_str(hex);
            expected.push(' ');
            let want = expected.clone();
            app.wait_until(&format!("{what} as `{hex}`"), WAIT, |s| {
                flat(s).contains(&want)
            });
        }
        app.send(b"q");
        app.wait_until("cooked mode", WAIT, |s| {
            s.matches("raw").count() == s.matches("cooked").count()
        });
    };
    run(
        &mut app,
        "!keys",
        &[
            ("a letter", b"a", "61"),
            ("UTF-8", "é".as_bytes(), "c3 a9"),
            ("Enter", b"\r", "0d"),
            ("Tab", b"\t", "09"),
            ("Backspace", b"\x7f", "7f"),
            ("Ctrl-A", b"\x01", "01"),
            ("Ctrl-C", b"\x03", "03"),
            ("Alt-x", b"\x1bx", "1b 78"),
            ("Up", b"\x1b[A", "1b 5b 41"),
            ("Left", b"\x1b[D", "1b 5b 44"),
            ("Ctrl-Left", b"\x1b[1;5D", "1b 5b 31 3b 35 44"),
            ("Shift-Up", b"\x1b[1;2A", "1b 5b 31 3b 32 41"),
            ("Home", b"\x1b[H", "1b 5b 48"),
            ("End", b"\x1b[F", "1b 5b 46"),
            ("PgUp", b"\x1b[5~", "1b 5b 35 7e"),
            ("PgDn", b"\x1b[6~", "1b 5b 36 7e"),
            ("Insert", b"\x1b[2~", "1b 5b 32 7e"),
            ("Delete", b"\x1b[3~", "1b 5b 33 7e"),
            ("Shift-Tab", b"\x1b[Z", "1b 5b 5a"),
            ("F1", b"\x1bOP", "1b 4f 50"),
            ("F4", b"\x1bOS", "1b 4f 53"),
            ("F5", b"\x1b[15~", "1b 5b 31 35 7e"),
            ("F12", b"\x1b[24~", "1b 5b 32 34 7e"),
            ("Ctrl-F5", b"\x1b[15;5~", "1b 5b 31 35 3b 35 7e"),
            (
                "a bracketed paste",
                b"\x1b[200~hi\x1b[201~",
                "1b 5b 32 30 30 7e 68 69 1b 5b 32 30 31 7e",
            ),
        ],
    );
    // Application cursor mode, switched on by the program, changes arrows and Home/End.
    run(
        &mut app,
        "!appkeys",
        &[
            ("Up in application mode", b"\x1b[A", "1b 4f 41"),
            ("Right in application mode", b"\x1b[C", "1b 4f 43"),
            ("Home in application mode", b"\x1b[H", "1b 4f 48"),
        ],
    );
}

/// SIGTERM and SIGHUP quit cctui in every mode, with the terminal restored (normal screen,
/// cursor shown) and nothing sent to claude: no interrupt, no keys. The dashboard runs with
/// `quit` rebound, so no key can stand in for the signal.
#[test]
fn a_signal_quits_in_every_mode_restores_the_terminal_and_sends_claude_nothing() {
    let _turn = take_turn();
    let name = unique("signal");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg;
    let config = cfg.path.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}[keys]\nquit = \"Q\"\n")).unwrap();
    let container = format!("cctui-{name}");
    let received = || {
        let logs = docker(&["logs", &container]);
        logs.matches("interrupted").count() + logs.matches("you said").count()
    };
    let before = received();
    for (mode, signal) in [
        ("dashboard", "TERM"),
        ("dashboard", "HUP"),
        ("pane", "TERM"),
        ("pane", "HUP"),
        ("full screen", "TERM"),
        ("full screen", "HUP"),
        ("attach", "TERM"),
        ("attach", "HUP"),
    ] {
        let args: &[&str] = if mode == "attach" {
            &["attach", &name]
        } else {
            &[]
        };
        let mut app = PtyApp::cctui(&cfg.path, args, 30, 120);
        match mode {
            "dashboard" => {
                app.wait_for(&name, WAIT);
            }
            "pane" => {
                app.wait_for(&name, WAIT);
                app.send(b"\r");
                app.wait_for("typing into claude", WAIT);
            }
            "full screen" => {
                app.wait_for(&name, WAIT);
                app.send(b"f");
                app.wait_until("full screen", WAIT, |s| !s.contains("Sessions"));
            }
            _ => {
                app.wait_for("fake claude", WAIT);
            }
        }
        let pid = app.child.process_id().expect("a pid").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(
            app.wait_exit(Duration::from_secs(5)),
            "SIG{signal} did not quit cctui in {mode} mode; the screen:\n{}",
            app.screen()
        );
        // Whatever the last bytes were, the terminal is back to normal.
        std::thread::sleep(Duration::from_millis(200));
        let parser = app.parser.lock().unwrap();
        let screen = parser.screen();
        assert!(
            !screen.alternate_screen(),
            "SIG{signal} in {mode} mode left the alternate screen on"
        );
        assert!(
            !screen.hide_cursor(),
            "SIG{signal} in {mode} mode left the cursor hidden"
        );
    }
    // Give the container's log a moment, then check claude was sent nothing.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        received(),
        before,
        "claude received input from a signal: {}",
        docker(&["logs", &container])
    );
}
