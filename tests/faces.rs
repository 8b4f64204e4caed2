//! Issue 23, "no false states": what each face of cctui shows of a session is true and
//! readable. The real binary in a real PTY against the real engine.

mod common;

use std::time::Duration;

use common::pty::PtyApp;
use common::*;

const UID: u32 = 1234;

/// A fake `claude` that draws its splash screen as Claude Code does: by moving the cursor,
/// a newline only after each whole redraw (which the engine's log needs to pass a line
/// on), redrawing the whole screen 16 times.
const CLAUDE_REDRAWING: &str = r#"#!/bin/bash
if [ "$1" = "--version" ]; then echo "9.9.9 (fake Claude Code)"; exit 0; fi
for i in $(seq 1 16); do
  printf '\033[2J\033[1;1H* Welcome to Claude Code (redraw %s)\033[2;1H  cwd: /workspace' "$i"
  printf '\033[4;1H> Try "fix lint errors"\033[5;1H  ? for shortcuts\r\n'
done
exec sleep infinity
"#;

/// A running session made with `cctui new` whose claude is `claude`; goes when dropped.
struct OneSession {
    cfg: TempFolder,
    name: String,
    _project: TempFolder,
    _cleanup: Cleanup,
}

fn one_session(prefix: &str, claude: &str) -> OneSession {
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    std::fs::write(cfg.path.join("recipe/files/claude"), claude).unwrap();
    let name = prefix.to_string();
    let project = TempFolder::new(&name, UID);
    let mut cleanup = Cleanup::new(&name);
    cleanup.volumes = project_volumes(&project.path);
    let path = project.path.to_str().unwrap();
    let (code, out, err) = cctui(&cfg.path, &["new", path, "--name", &name]);
    assert_eq!(code, 0, "{out}{err}");
    OneSession {
        cfg,
        name,
        _project: project,
        _cleanup: cleanup,
    }
}

/// Finding: `logs --tail 5` printed the whole stream, claude's splash 16 times, on a
/// terminal. Now: at most 5 lines, the screen as it was last drawn.
#[test]
fn logs_tail_on_a_terminal_shows_the_last_lines_of_the_screen_not_every_redraw() {
    let s = one_session(&unique("logtail"), CLAUDE_REDRAWING);
    let container = format!("cctui-{}", s.name);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !docker(&["logs", &container]).contains("redraw 16") {
        assert!(
            std::time::Instant::now() < deadline,
            "claude never drew 16 times"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut app = PtyApp::cctui(&s.cfg.path, &["logs", "--tail", "5", &s.name], 40, 120);
    assert!(
        app.wait_exit(Duration::from_secs(60)),
        "cctui logs did not end"
    );
    let out = String::from_utf8_lossy(&app.output.lock().unwrap()).into_owned();
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        out.matches("Welcome to Claude Code").count(),
        1,
        "the splash once, as last drawn:\n{out}"
    );
    assert!(out.contains("redraw 16"), "the last drawing:\n{out}");
    assert!(
        lines.len() <= 5,
        "at most 5 lines, got {}:\n{out}",
        lines.len()
    );
    assert!(
        out.contains("? for shortcuts"),
        "the screen's last line:\n{out}"
    );
}

/// "Errors in cctui's words": a missing command in `exec`, `attach` without a terminal, and
/// doctor's key line (says whether a key was found, never the key).
#[test]
fn exec_attach_and_doctor_say_what_is_wrong_in_cctuis_words() {
    let s = one_session(&unique("words"), "#!/bin/bash\nexec sleep infinity\n");
    let (code, out, err) = cctui(&s.cfg.path, &["exec", &s.name, "--", "no-such-command-xyz"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("`no-such-command-xyz` is not a command in session") && !out.contains("OCI"),
        "exec of a missing command, in cctui's words:\nout: {out}\nerr: {err}"
    );
    // A command that is there still runs, its code passed on.
    let (code, out, _) = cctui(
        &s.cfg.path,
        &["exec", &s.name, "--", "sh", "-c", "echo hi; exit 3"],
    );
    assert_eq!((code, out.trim()), (3, "hi"));

    let (code, out, err) = cctui(&s.cfg.path, &["attach", &s.name]);
    assert_ne!(code, 0);
    assert!(
        err.contains("`cctui attach` needs a terminal") && !err.contains("os error"),
        "attach without a terminal:\nout: {out}\nerr: {err}"
    );

    // The project is a plain folder: there is no branch to diff, and that is what is said.
    let (code, out, err) = cctui(&s.cfg.path, &["diff", &s.name]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no branch of its own to diff") && !err.contains("import"),
        "diff of a session that is not a git project:\nout: {out}\nerr: {err}"
    );

    let secret = "sk-ant-faces-test-0123456789";
    let mut cmd = cctui_cmd(&s.cfg.path, &["doctor"]);
    cmd.env("ANTHROPIC_API_KEY", secret)
        .env_remove("CLAUDE_CODE_OAUTH_TOKEN");
    let (_, out, err) = run_cmd(cmd);
    let key_line = out.lines().find(|l| l.contains("api key")).unwrap_or("");
    assert!(
        key_line.contains("found: ANTHROPIC_API_KEY is set")
            && !out.contains(secret)
            && !err.contains(secret),
        "doctor says the key was found without showing it: {key_line}"
    );
    let mut cmd = cctui_cmd(&s.cfg.path, &["doctor"]);
    cmd.env_remove("ANTHROPIC_API_KEY")
        .env_remove("CLAUDE_CODE_OAUTH_TOKEN");
    let (_, out, _) = run_cmd(cmd);
    let key_line = out.lines().find(|l| l.contains("api key")).unwrap_or("");
    assert!(
        key_line.contains("no key found"),
        "doctor without a key: {key_line}"
    );
}

/// Finding: `t` split tmux's active window, not cctui's, and on a stopped session said it
/// opened a pane that died at once. cctui runs in window `dash`; another window is active.
#[test]
fn t_splits_cctuis_own_window_and_refuses_a_stopped_session() {
    let run = unique("tpane");
    let up = one_session(&format!("{run}-a"), "#!/bin/bash\nexec sleep infinity\n");
    let socket = format!("faces-{run}");
    let tmux = |args: &[&str]| {
        let out = std::process::Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    struct Kill<F: Fn(&[&str]) -> String>(F);
    impl<F: Fn(&[&str]) -> String> Drop for Kill<F> {
        fn drop(&mut self) {
            (self.0)(&["kill-server"]);
        }
    }
    let tmux = Kill(tmux);
    let cfg = up.cfg.path.display().to_string();
    label_config(&up.cfg.path);
    let dash = format!(
        "env CCTUI_CONFIG_DIR={cfg} CCTUI_STATE_DIR={cfg}/state DOCKER_HOST={} {}",
        std::env::var("DOCKER_HOST").unwrap_or_default(),
        env!("CARGO_BIN_EXE_cctui")
    );
    (tmux.0)(&[
        "new-session",
        "-d",
        "-x",
        "160",
        "-y",
        "50",
        "-n",
        "dash",
        &dash,
    ]);
    (tmux.0)(&["new-window", "-n", "other", "sleep 600"]);
    let panes = |w: &str| (tmux.0)(&["list-panes", "-t", w]).lines().count();
    let screen = || (tmux.0)(&["capture-pane", "-p", "-t", "dash"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !screen().contains(&up.name) {
        assert!(
            std::time::Instant::now() < deadline,
            "no row:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(2));
    (tmux.0)(&["send-keys", "-t", "dash", "t"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while panes("dash") < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        (panes("dash"), panes("other")),
        (2, 1),
        "the pane opens beside cctui, not in the active window"
    );
    // The new pane is active now: back to cctui's, then stop the session and press t again.
    (tmux.0)(&["kill-pane", "-a", "-t", "dash.0"]);
    let (code, out, err) = cctui(&up.cfg.path, &["stop", &up.name]);
    assert_eq!(code, 0, "{out}{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !screen()
        .lines()
        .any(|l| l.contains(&up.name) && l.contains("stopped"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "not stopped:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The refusal replaces the status of the first press ("opened ... in a tmux pane").
    (tmux.0)(&["send-keys", "-t", "dash.0", "t"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !screen().contains("is not running: start it (s)") {
        assert!(
            std::time::Instant::now() < deadline,
            "no refusal:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!screen().contains("opened"), "{}", screen());
    assert_eq!(panes("dash"), 1);
}
