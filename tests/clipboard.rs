//! Copy and paste through the sandbox, end to end: the real cctui binary in a real PTY,
//! attached to a real container's tty, and (for images) a real X clipboard under Xvfb.
//!
//! - OSC 52 printed in the session reaches the outer terminal, as cctui's own escape, only
//!   while the user is attached (`cctui attach`, the focused pane, full screen); never from
//!   the replay of what the session printed before, nor while the user looks at the list.
//! - Queries (OSC 52 reads and the rest) get nothing back, inside or outside.
//! - The paste-image key puts the X clipboard's image into the session's paste tmpfs and
//!   types its path; with no image the key goes through as it was.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::pty::PtyApp;
use common::*;

const UID: u32 = 1234;
const WAIT: Duration = Duration::from_secs(30);

/// The dashboard fits the session it shows: these tests take turns, like tests/terminal.rs.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `cmd` in the session's container; returns its stdout.
fn exec_in(cfg: &Path, name: &str, cmd: &[&str]) -> String {
    let mut args = vec!["exec", name, "--"];
    args.extend_from_slice(cmd);
    let (code, out, err) = cctui(cfg, &args);
    assert_eq!(code, 0, "exec {cmd:?}: {out}{err}");
    out
}

/// Prints `text` on the session's tty, as claude would.
fn print_in(cfg: &Path, name: &str, text: &str) {
    exec_in(
        cfg,
        name,
        &["sh", "-c", "printf '%s' \"$1\" > /proc/1/fd/1", "sh", text],
    );
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The escape cctui sends for a copy of `bytes`.
fn cctuis_copy(bytes: &[u8]) -> Vec<u8> {
    format!("\x1b]52;c;{}\x07", b64(bytes)).into_bytes()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn output_has(app: &PtyApp, needle: &[u8]) -> bool {
    contains(&app.output.lock().unwrap(), needle)
}

fn wait_output(app: &PtyApp, what: &str, needle: &[u8]) {
    let start = Instant::now();
    while !output_has(app, needle) {
        assert!(
            start.elapsed() < WAIT,
            "{what} never reached the outer terminal; the screen:\n{}",
            app.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// cctui in a PTY, never inside the caller's tmux, with these extra variables.
fn cctui_in_pty(cfg: &Path, args: &[&str], display: Option<&str>) -> PtyApp {
    label_config(cfg);
    let mut env = vec![
        ("CCTUI_CONFIG_DIR", cfg.display().to_string()),
        ("CCTUI_STATE_DIR", cfg.join("state").display().to_string()),
        (
            "DOCKER_HOST",
            std::env::var("DOCKER_HOST").unwrap_or_default(),
        ),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("TMUX", String::new()),
        ("WAYLAND_DISPLAY", String::new()),
    ];
    env.push(("DISPLAY", display.unwrap_or_default().to_string()));
    PtyApp::spawn(env!("CARGO_BIN_EXE_cctui"), args, &env, 30, 120)
}

#[test]
fn a_copy_reaches_the_outer_terminal_only_while_attached_with_cctui_attach() {
    let _turn = take_turn();
    let name = unique("catt");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;
    // Copied while nobody is attached: it is in the logs the attachment replays.
    print_in(
        cfg,
        &name,
        "\x1b]52;c;ZWFybHktY29weQ==\x07before-attach\r\n",
    );

    let mut app = cctui_in_pty(cfg, &["attach", &name], None);
    app.wait_for("before-attach", WAIT);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !output_has(&app, b"]52;"),
        "a copy made while detached reached the terminal on attach"
    );

    // Attached, but the user has typed nothing: a copy is not one they asked for.
    print_in(cfg, &name, "\x1b]52;c;dW5hc2tlZA==\x07");
    app.wait_for("after your last key: not forwarded", WAIT);
    assert!(
        !output_has(&app, b"]52;"),
        "a copy with no key before it went out"
    );

    // Attached, just after a key: the session's copy arrives as cctui's own escape, not
    // the agent's bytes (selection `p`, ended by ST), and the banner says so.
    let copied = "copied while attached ✓";
    let agents = format!("\x1b]52;p;{}\x1b\\", b64(copied.as_bytes()));
    app.send(b"k");
    print_in(cfg, &name, &agents);
    wait_output(&app, "the attached copy", &cctuis_copy(copied.as_bytes()));
    assert!(
        !output_has(&app, agents.as_bytes()),
        "the agent's bytes passed through"
    );
    let said = format!("{name} copied {} bytes to the clipboard", copied.len());
    app.wait_for(&said, WAIT);
}

/// A tmux server of the test's own (its own socket), killed by name when dropped.
struct TmuxServer(String);

impl TmuxServer {
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.0])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// `cctui attach NAME` in a tmux of its own (tmux's defaults: no allow-passthrough,
/// set-clipboard external), in a PTY that stands for the outer terminal.
fn attach_in_tmux(cfg: &Path, name: &str, server: &str) -> (TmuxServer, PtyApp) {
    label_config(cfg);
    let tmux = TmuxServer(format!("cctui-{}-{server}", run_id()));
    let cctui_cmd = format!(
        "CCTUI_CONFIG_DIR={} CCTUI_STATE_DIR={} {} attach {name}",
        cfg.display(),
        cfg.join("state").display(),
        env!("CARGO_BIN_EXE_cctui")
    );
    let env = [
        (
            "DOCKER_HOST",
            std::env::var("DOCKER_HOST").unwrap_or_default(),
        ),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("TMUX", String::new()),
    ];
    let app = PtyApp::spawn(
        "tmux",
        &["-L", &tmux.0, "-f", "/dev/null", "new-session", &cctui_cmd],
        &env,
        30,
        120,
    );
    app.wait_for("fake claude", WAIT);
    (tmux, app)
}

/// Prints a copy of `text` in the session until tmux forwards it to the outer terminal:
/// claude's screen can show before the attach and tmux's client are live (a copy then is,
/// rightly, not forwarded).
fn copy_through_tmux(app: &mut PtyApp, cfg: &Path, name: &str, text: &str) {
    // tmux's own escape for its clipboard (`Ms`): an empty selection, the same bytes.
    let tmuxs_copy = format!("\x1b]52;;{}\x07", b64(text.as_bytes()));
    let start = Instant::now();
    while !output_has(app, tmuxs_copy.as_bytes()) {
        assert!(
            start.elapsed() < WAIT,
            "tmux's copy never reached the outer terminal; the screen:\n{}",
            app.screen()
        );
        // The user's key: only a copy soon after one goes out.
        app.send(b"k");
        print_in(
            cfg,
            name,
            &format!("\x1b]52;c;{}\x07", b64(text.as_bytes())),
        );
        let printed = Instant::now();
        while printed.elapsed() < Duration::from_secs(2) && !output_has(app, tmuxs_copy.as_bytes())
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn inside_tmux_a_copy_goes_through_tmuxs_buffer_to_the_outer_terminal() {
    let _turn = take_turn();
    let name = unique("ctmux");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;
    let (tmux, mut app) = attach_in_tmux(cfg, &name, "clip");
    let text = "through tmux";
    copy_through_tmux(&mut app, cfg, &name, text);
    assert_eq!(
        tmux.cmd(&["show-buffer"]),
        text,
        "tmux's buffer holds the copy"
    );
}

/// The agent copies as fast as it likes; the host runs one `tmux load-buffer` at a time,
/// and the latest copy wins.
#[test]
fn a_flood_of_copies_runs_few_tmux_processes_and_the_latest_wins() {
    let _turn = take_turn();
    let name = unique("cflood");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;
    let (tmux, mut app) = attach_in_tmux(cfg, &name, "flood");
    copy_through_tmux(&mut app, cfg, &name, "first");
    let copies = 300;
    // One write each, a few ms apart: each reaches cctui as a copy of its own.
    let script = format!(
        "i=0; while [ $i -lt {copies} ]; do \
         printf '\\033]52;c;%s\\007' \"$(printf 'copy %d' $i | base64)\" > /proc/1/fd/1; \
         sleep 0.005; i=$((i+1)); done"
    );
    tmux.cmd(&["set", "-g", "buffer-limit", "100000"]);
    let flooding = Instant::now();
    app.send(b"k");
    exec_in(cfg, &name, &["sh", "-c", &script]);
    let flood_time = flooding.elapsed();
    let last = format!("copy {}", copies - 1);
    let start = Instant::now();
    while tmux.cmd(&["show-buffer"]) != last {
        assert!(start.elapsed() < WAIT, "the latest copy never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // One `load-buffer` per copy gap at most (100 ms), plus the first copy and the last.
    let buffers = tmux.cmd(&["list-buffers"]).lines().count();
    let bound = (flood_time.as_millis() / 100) as usize + 3;
    println!("{copies} copies in {flood_time:?} made {buffers} tmux buffers (bound {bound})");
    assert!(
        buffers <= bound,
        "{buffers} tmux buffers for {copies} copies in {flood_time:?}: more than one per 100 ms"
    );
    assert_eq!(tmux.cmd(&["show-buffer"]), last, "the latest copy wins");
}

/// Moves the dashboard's selection to `name` (g, then j until its row is marked).
fn select(app: &mut PtyApp, name: &str) {
    app.send(b"g");
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(60));
        let screen = app.screen();
        if screen
            .lines()
            .any(|l| l.contains(&format!(" {name} ")) && l.contains('▸'))
        {
            return;
        }
        app.send(b"j");
    }
    panic!("could not select {name}:\n{}", app.screen());
}

#[test]
fn in_the_dashboard_a_copy_goes_out_from_the_focused_pane_and_full_screen_only() {
    let _turn = take_turn();
    let name = unique("cdash");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;
    let mut app = cctui_in_pty(cfg, &[], None);
    app.wait_for(&name, WAIT);
    select(&mut app, &name);
    app.wait_for("fake claude", WAIT);

    // The session is on screen, but the user is in the list: not attached.
    print_in(cfg, &name, "\x1b]52;c;bGlzdA==\x07shown-in-the-list\r\n");
    app.wait_for("shown-in-the-list", WAIT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!output_has(&app, b"]52;"), "copied while not attached");

    // Typing into the pane: attached.
    app.send(b"\r");
    app.wait_for("typing into claude", WAIT);
    app.send(b"k");
    print_in(cfg, &name, "\x1b]52;c;cGFuZQ==\x07");
    wait_output(&app, "the pane's copy", &cctuis_copy(b"pane"));
    app.wait_for(&format!("{name} copied 4 bytes"), WAIT);

    // Left again: not attached.
    app.send(b"\x1c");
    std::thread::sleep(Duration::from_millis(300));
    print_in(cfg, &name, "\x1b]52;c;bGVmdA==\x07after-leaving\r\n");
    app.wait_for("after-leaving", WAIT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !output_has(&app, &cctuis_copy(b"left")),
        "copied after leaving"
    );

    // Full screen: attached.
    app.send(b"f");
    std::thread::sleep(Duration::from_millis(300));
    app.send(b"k");
    print_in(cfg, &name, "\x1b]52;c;ZnVsbA==\x07");
    wait_output(&app, "the full screen's copy", &cctuis_copy(b"full"));
    app.send(b"\x1c");
    app.send(b"q");
}

#[test]
fn queries_get_nothing_back_inside_or_outside() {
    let _turn = take_turn();
    let name = unique("cquery");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;
    let mut app = cctui_in_pty(cfg, &["attach", &name], None);
    app.wait_for("fake claude", WAIT);
    // The fake claude prints, in hex, every byte its tty receives.
    app.send(b"!keys\r");
    app.wait_for("raw", WAIT);
    let queries = [
        "\x1b]52;c;?\x07",          // the clipboard, BEL
        "\x1b]52;;?\x1b\\",         // the clipboard, ST
        "\x1b]11;?\x07",            // the background colour
        "\x1b[c",                   // device attributes
        "\x1b[6n",                  // the cursor's position
        "\x1b[>0q",                 // the terminal's version
        "\x1bP$qm\x1b\\",           // a setting (DECRQSS)
        "\x1b]2;title\x07\x1b[21t", // the title, read back
    ];
    print_in(cfg, &name, &queries.concat());
    std::thread::sleep(Duration::from_secs(2));
    // A key after them: whatever came back would show before it.
    app.send(b"z");
    app.wait_for("7a", WAIT);
    let screen = app.screen();
    let after_raw = screen.split("raw").nth(1).unwrap_or_default();
    assert_eq!(
        after_raw.split_whitespace().collect::<Vec<_>>(),
        ["7a"],
        "something was typed back into the session:\n{screen}"
    );
    for q in queries {
        assert!(
            !output_has(&app, q.as_bytes()),
            "{q:?} reached the outer terminal"
        );
    }
    app.send(b"q");
    app.wait_for("cooked", WAIT);
}

/// An X server of the test's own (Xvfb on a free display), and whatever owns its clipboard;
/// both ended by their pids when dropped.
struct XDisplay {
    name: String,
    server: Child,
    owner: Option<Child>,
}

impl XDisplay {
    fn start() -> XDisplay {
        let n = (70..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                    && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            })
            .expect("a free X display number");
        let name = format!(":{n}");
        let server = Command::new("Xvfb")
            .args([&name, "-nolisten", "tcp", "-screen", "0", "320x240x24"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (apt-get install xvfb; tests/run.sh installs it)");
        let socket = format!("/tmp/.X11-unix/X{n}");
        let start = Instant::now();
        while !Path::new(&socket).exists() {
            assert!(start.elapsed() < WAIT, "Xvfb did not start on {name}");
            std::thread::sleep(Duration::from_millis(50));
        }
        XDisplay {
            name,
            server,
            owner: None,
        }
    }

    /// Puts `bytes` of type `mime` on the clipboard: xclip owns it while it runs.
    fn own_clipboard(&mut self, mime: &str, bytes: &[u8]) {
        if let Some(mut old) = self.owner.take() {
            let _ = old.kill();
            let _ = old.wait();
        }
        let file = std::env::temp_dir().join(format!("cctui-{}-clip", run_id()));
        std::fs::write(&file, bytes).unwrap();
        let owner = Command::new("xclip")
            .args(["-quiet", "-selection", "clipboard", "-t", mime, "-i"])
            .arg(&file)
            .env("DISPLAY", &self.name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xclip (apt-get install xclip; tests/run.sh installs it)");
        self.owner = Some(owner);
        let start = Instant::now();
        loop {
            let targets = Command::new("xclip")
                .args(["-o", "-selection", "clipboard", "-t", "TARGETS"])
                .env("DISPLAY", &self.name)
                .output()
                .unwrap();
            if String::from_utf8_lossy(&targets.stdout).contains(mime) {
                return;
            }
            assert!(start.elapsed() < WAIT, "xclip never owned the clipboard");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for XDisplay {
    fn drop(&mut self) {
        if let Some(owner) = &mut self.owner {
            let _ = owner.kill();
            let _ = owner.wait();
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A small image whose every pixel differs, as RGBA and as the PNG a screenshot tool would
/// put on the clipboard (with a text chunk, which must not reach the session).
fn test_image() -> (u32, u32, Vec<u8>, Vec<u8>) {
    let (w, h) = (7u32, 5u32);
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            [
                (i * 5) as u8,
                (255 - i) as u8,
                (i * 11) as u8,
                255 - (i % 3) as u8,
            ]
        })
        .collect();
    let mut png_bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut png_bytes, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.add_text_chunk("Comment".into(), "host-secret-canary".into())
        .unwrap();
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&rgba).unwrap();
    writer.finish().unwrap();
    (w, h, rgba, png_bytes)
}

fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn an_image_on_the_x_clipboard_lands_in_the_sessions_tmpfs_and_its_path_in_claudes_input() {
    let _turn = take_turn();
    let name = unique("cpaste");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;
    let mut x = XDisplay::start();
    let (w, h, rgba, png_bytes) = test_image();
    x.own_clipboard("image/png", &png_bytes);

    let mut app = cctui_in_pty(cfg, &["attach", &name], Some(&x.name));
    app.wait_for("fake claude", WAIT);
    app.send(b"\x16");
    app.wait_for("/run/cctui/paste/image-", WAIT);
    // The banner (full screen's status line) says it, until the next key.
    app.wait_for("pasted an image (", WAIT);
    let banner = app.screen();
    app.send(b"\r");
    app.wait_for("you said: /run/cctui/paste/image-", WAIT);
    let screen = app.screen();
    let path = screen
        .split("you said: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(path.ends_with(".png"), "{path}");

    // On the paste tmpfs, the agent's own, readable by it alone.
    let mount = exec_in(
        cfg,
        &name,
        &[
            "sh",
            "-c",
            "awk '$2 == \"/run/cctui/paste\" { print $3 }' /proc/mounts",
        ],
    );
    assert_eq!(mount.trim(), "tmpfs");
    let stat = exec_in(cfg, &name, &["stat", "-c", "%s %a %u", &path]);
    let fields: Vec<&str> = stat.split_whitespace().collect();
    assert_eq!(fields[1..], ["600", &UID.to_string()], "{stat}");
    let said = format!("pasted an image ({} bytes) into {name}", fields[0]);
    assert!(banner.contains(&said), "{said:?} not in:\n{banner}");

    // The same pixels, and nothing else of the host's file.
    let copied = exec_in(cfg, &name, &["base64", "-w0", &path]);
    let inside = base64::engine::general_purpose::STANDARD
        .decode(copied.trim())
        .unwrap();
    assert_eq!(decode_png(&inside), (w, h, rgba));
    assert!(!contains(&inside, b"host-secret-canary"));
}

#[test]
fn with_no_image_on_the_clipboard_the_key_goes_through_unchanged() {
    let _turn = take_turn();
    let name = unique("cnone");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;
    let mut x = XDisplay::start();
    x.own_clipboard("UTF8_STRING", b"just text");

    // Text on the clipboard, then no display at all: Ctrl-V reaches claude either way.
    for display in [Some(x.name.as_str()), None] {
        let mut app = cctui_in_pty(cfg, &["attach", &name], display);
        app.wait_for("fake claude", WAIT);
        std::thread::sleep(Duration::from_millis(500));
        // The replay may show an earlier round's "raw": wait for one more.
        let before = app.screen().matches("raw").count();
        app.send(b"!keys\r");
        app.wait_until("raw mode", WAIT, |s| s.matches("raw").count() > before);
        app.send(b"\x16z");
        app.wait_until("Ctrl-V and z", WAIT, |s| {
            s.rsplit("raw").next().unwrap_or_default().contains("16 7a")
        });
        app.send(b"q");
        app.wait_for("cooked", WAIT);
        app.send(b"\x1c");
        assert!(app.wait_exit(WAIT), "the detach key did not leave");
    }
    let listed = exec_in(cfg, &name, &["ls", "-A", "/run/cctui/paste"]);
    assert_eq!(listed.trim(), "", "something was pasted");
}

/// `cctui exec` and `shell` write the sandbox's output unrendered: to a terminal, clipboard
/// escapes, queries, titles and DCS are held back; piped, the bytes stay exact (the control).
#[test]
fn cctui_exec_to_a_terminal_passes_no_clipboard_escape_or_query() {
    let _turn = take_turn();
    let name = unique("cexec");
    let s = cli_session(&name, UID);
    let cfg = &s.cfg.path;
    let script = "printf 'before\\033]52;c;?\\007\\033]52;c;aGk=\\033\\\\\\033]11;?\\007\\033Ptmux;\\033\\033]52;c;?\\007\\033\\\\\\033]0;ok-title\\007after\\n'";
    let escapes: [&[u8]; 4] = [b"\x1b]52;", b"\x1b]11;?", b"\x1bPtmux", b"aGk="];
    let app = cctui_in_pty(cfg, &["exec", &name, "--", "sh", "-c", script], None);
    wait_output(&app, "the text after the escapes", b"after");
    std::thread::sleep(Duration::from_millis(300));
    let seen = app.output.lock().unwrap().clone();
    for e in escapes {
        assert!(
            !contains(&seen, e),
            "{:?} reached the terminal",
            String::from_utf8_lossy(e)
        );
    }
    assert!(contains(&seen, b"before"));
    assert!(
        !contains(&seen, b"ok-title"),
        "a title is an OSC too: none passes"
    );
    // Piped, byte-exact.
    let piped = exec_in(cfg, &name, &["sh", "-c", script]);
    for e in escapes {
        assert!(contains(piped.as_bytes(), e), "piped output lost {e:?}");
    }
}
