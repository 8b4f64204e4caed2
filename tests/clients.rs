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

/// A running session (small recipe: the fake claude; firewall off) and its cleanup.
struct Session {
    _cleanup: Cleanup,
    _volumes: Cleanup,
    cfg: TempFolder,
    _project: TempFolder,
}

fn session(name: &str) -> Session {
    let cleanup = Cleanup::new(name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(name, UID);
    let mut volumes = Cleanup::new(&format!("{name}-vols"));
    volumes.volumes = project_volumes(&project.path);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    let path = project.path.to_str().unwrap();
    let (code, out, err) = cctui(&cfg.path, &["new", path, "--name", name]);
    assert_eq!(code, 0, "{out}{err}");
    Session {
        _cleanup: cleanup,
        _volumes: volumes,
        cfg,
        _project: project,
    }
}

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
    let s = session(&name);
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
