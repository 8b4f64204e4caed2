//! Git flow as people expect it, through the real binary on the real engine: a new project
//! (a fresh `git init`, an empty folder) starts a session and merges back; git's refusals are
//! shown as git's reason; a re-created session names its branch; after a merge, `diff` says
//! the work is merged and the merge is told in cctui's words.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

const UID: u32 = 1234;

/// A global git config for every git this test starts (see tests/git.rs: the test runs as
/// root in folders owned by UID).
fn global() -> &'static Path {
    static GLOBAL: OnceLock<PathBuf> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let file = std::env::temp_dir().join(format!("cctui-{}-gitflow-config", run_id()));
        std::fs::write(
            &file,
            "[safe]\n\tdirectory = *\n[user]\n\tname = Host User\n\temail = user@host.test\n\
             [init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        // SAFETY: set once, before any session or git process is started.
        unsafe { std::env::set_var("GIT_CONFIG_GLOBAL", &file) };
        file
    })
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", global())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chown(dir: &Path) {
    let ok = Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(dir)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A config folder with the small recipe plus git, firewall off.
fn config(name: &str) -> TempFolder {
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    let recipe = cfg.path.join("recipe");
    copy_dir(&small_recipe_dir().join("recipe"), &recipe);
    let file = recipe.join("base.Dockerfile");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace(" procps", " procps git")).unwrap();
    cfg
}

/// The binary, with `git_config` as the user's global git config. Returns (code, out+err).
fn cli_with(cfg: &Path, git_config: &Path, args: &[&str]) -> (i32, String) {
    label_config(cfg);
    let out = Command::new(env!("CARGO_BIN_EXE_cctui"))
        .args(args)
        .env("CCTUI_CONFIG_DIR", cfg)
        .env("CCTUI_STATE_DIR", cfg.join("state"))
        .env("GIT_CONFIG_GLOBAL", git_config)
        .env("PAGER", "cat")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn cli_ok(cfg: &Path, args: &[&str]) -> String {
    let (code, text) = cli_with(cfg, global(), args);
    assert_eq!(code, 0, "cctui {args:?}:\n{text}");
    text
}

fn guards(names: &[&str], projects: &[&Path]) -> Vec<Cleanup> {
    let mut out: Vec<Cleanup> = names.iter().map(|n| Cleanup::new(n)).collect();
    let mut vols = Cleanup::new(&format!("{}-vols", names[0]));
    for p in projects {
        vols.volumes.extend(project_volumes(p));
    }
    vols.volumes
        .extend(names.iter().map(|n| cctui::workspace::work_volume(n)));
    out.push(vols);
    out
}

/// The agent commits `file` in its checkout at `folder`.
fn agent_commits(cfg: &Path, name: &str, folder: &str, file: &str) {
    let script = format!(
        "cd {folder} && echo 'made by claude' > {file} && git add {file} && git commit -q -m 'add {file}'"
    );
    cli_ok(cfg, &["exec", name, "--", "sh", "-c", &script]);
}

#[test]
fn a_fresh_repository_and_an_empty_folder_start_and_merge_back() {
    global();
    let name = unique("gfnew");
    let (fresh_name, empty_name) = (format!("{name}a"), format!("{name}b"));
    let cfg = config(&name);
    let fresh = TempFolder::new(&format!("{name}-fresh"), UID);
    git(&fresh.path, &["init", "-q", "-b", "main"]);
    chown(&fresh.path);
    let empty = TempFolder::new(&format!("{name}-empty"), UID);
    let _g = guards(&[&fresh_name, &empty_name], &[&fresh.path, &empty.path]);
    // --git makes only an empty folder a repository; a folder with files is left as it is.
    let full = TempFolder::new(&format!("{name}-full"), UID);
    std::fs::write(full.path.join("notes"), "x\n").unwrap();
    let fp = full.path.display().to_string();
    let (code, text) = cli_with(&cfg.path, global(), &["new", &fp, "--name", &name, "--git"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("has files and is not a git repository"),
        "{text}"
    );
    assert!(!full.path.join(".git").exists());
    for (session, folder) in [(&fresh_name, &fresh.path), (&empty_name, &empty.path)] {
        let p = folder.canonicalize().unwrap().display().to_string();
        let mut args = vec!["new", &p, "--name", session];
        if folder == &empty.path {
            args.push("--git");
        }
        let out = cli_ok(&cfg.path, &args);
        assert!(
            out.contains(&format!("works on the branch cctui/{session}")),
            "{out}"
        );
        assert!(folder.join(".git").is_dir(), "{p} is a repository now");
        agent_commits(&cfg.path, session, &p, "hello.txt");
        let merged = cli_ok(&cfg.path, &["merge", session]);
        assert!(
            merged.contains("are the first of main") && !merged.contains("option"),
            "{merged}"
        );
        let log = git(folder, &["log", "--format=%s", "main"]);
        assert!(log.starts_with("add hello.txt\n"), "{log}");
        assert_eq!(
            std::fs::read_to_string(folder.join("hello.txt")).unwrap(),
            "made by claude\n"
        );
        let diff = cli_ok(&cfg.path, &["diff", session]);
        assert!(
            diff.contains("merged into main: nothing of it is pending"),
            "{diff}"
        );
        // A second change merges like in any project: by fast-forward, in cctui's words.
        agent_commits(&cfg.path, session, &p, "more.txt");
        let merged = cli_ok(&cfg.path, &["merge", session]);
        assert!(merged.contains("by fast-forward: 1 commit(s)"), "{merged}");
        cli_ok(&cfg.path, &["rm", session]);
    }
}

#[test]
fn gits_refusal_is_shown_as_gits_reason() {
    global();
    let name = unique("gfown");
    let cfg = config(&name);
    let repo = TempFolder::new(&format!("{name}-repo"), UID);
    git(&repo.path, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.path.join("README"), "hi\n").unwrap();
    git(&repo.path, &["add", "-A"]);
    git(&repo.path, &["commit", "-q", "-m", "base"]);
    chown(&repo.path);
    let _g = guards(&[&name], &[&repo.path]);
    // A global config without safe.directory: git refuses a folder another user owns.
    let strict = cfg.path.join("strict-gitconfig");
    std::fs::write(&strict, "[user]\n\tname = U\n\temail = u@host.test\n").unwrap();
    let p = repo.path.canonicalize().unwrap().display().to_string();
    let (code, text) = cli_with(&cfg.path, &strict, &["new", &p, "--name", &name]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("dubious ownership") && text.contains("safe.directory"),
        "{text}"
    );
    assert!(!text.contains("no commit"), "{text}");
}

/// cctui's refs in `dir`: branches `cctui/*` and refs under `refs/cctui/`.
fn cctui_refs(dir: &Path) -> String {
    git(
        dir,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/heads/cctui/",
            "refs/cctui/",
        ],
    )
}

#[test]
fn a_recreated_session_names_its_branch_and_prune_cleans_only_what_is_merged() {
    global();
    let name = unique("gfre");
    let cfg = config(&name);
    let repo = TempFolder::new(&format!("{name}-repo"), UID);
    git(&repo.path, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.path.join("README"), "hi\n").unwrap();
    git(&repo.path, &["add", "-A"]);
    git(&repo.path, &["commit", "-q", "-m", "base"]);
    chown(&repo.path);
    let _g = guards(&[&name], &[&repo.path]);
    let p = repo.path.canonicalize().unwrap().display().to_string();
    cli_ok(&cfg.path, &["new", &p, "--name", &name]);
    agent_commits(&cfg.path, &name, &p, "one.txt");
    cli_ok(&cfg.path, &["merge", &name]);
    let out = cli_ok(&cfg.path, &["rm", &name]);
    assert!(out.contains("`cctui prune`"), "{out}");
    let out = cli_ok(&cfg.path, &["new", &p, "--name", &name]);
    assert!(
        out.contains(&format!(
            "the branch cctui/{name} is kept from an earlier session"
        )) && out.contains(&format!("works on the branch cctui/{name}-20")),
        "{out}"
    );
    // The second session's work is imported, never merged, and removed with --force.
    agent_commits(&cfg.path, &name, &p, "two.txt");
    cli_ok(&cfg.path, &["import", &name]);
    cli_ok(&cfg.path, &["rm", &name, "--force"]);
    let before = cctui_refs(&repo.path);
    assert!(
        before.contains(&format!("refs/heads/cctui/{name}\n")),
        "{before}"
    );
    assert!(
        before.contains(&format!("refs/cctui/{name}/base")),
        "{before}"
    );
    // Without --yes and no terminal: it lists, asks, and deletes nothing.
    let (code, text) = cli_with(&cfg.path, global(), &["prune", &p]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains(&format!("cctui/{name} (merged)"))
            && text.contains(&format!("kept cctui/{name}-20")),
        "{text}"
    );
    assert_eq!(cctui_refs(&repo.path), before);
    cli_ok(&cfg.path, &["prune", &p, "--yes"]);
    let after = cctui_refs(&repo.path);
    assert!(
        !after.contains(&format!("refs/heads/cctui/{name}\n"))
            && !after.contains(&format!("refs/cctui/{name}/")),
        "{after}"
    );
    assert!(
        after.contains(&format!("refs/heads/cctui/{name}-20"))
            && after.contains(&format!("refs/cctui/{name}-20")),
        "unmerged work stays: {after}"
    );
}

/// The line of `screen` that holds `text`, or "".
fn line_with<'a>(screen: &'a str, text: &str) -> &'a str {
    screen.lines().find(|l| l.contains(text)).unwrap_or("")
}

#[test]
fn the_dashboard_asks_before_merging_moves_the_file_cursor_and_says_merged() {
    use common::pty::PtyApp;
    use std::time::Duration;
    const WAIT: Duration = Duration::from_secs(60);
    global();
    let name = unique("gfdash");
    let cfg = config(&name);
    let repo = TempFolder::new(&format!("{name}-repo"), UID);
    git(&repo.path, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.path.join("alpha.txt"), "a\n").unwrap();
    std::fs::write(repo.path.join("beta.txt"), "b\n").unwrap();
    git(&repo.path, &["add", "-A"]);
    git(&repo.path, &["commit", "-q", "-m", "base"]);
    chown(&repo.path);
    let _g = guards(&[&name], &[&repo.path]);
    let p = repo.path.canonicalize().unwrap().display().to_string();
    cli_ok(&cfg.path, &["new", &p, "--name", &name]);
    let script = format!(
        "cd {p} && echo A >> alpha.txt && echo B >> beta.txt && git commit -qam 'both files'"
    );
    cli_ok(&cfg.path, &["exec", &name, "--", "sh", "-c", &script]);
    let base_log = git(&repo.path, &["log", "--format=%s", "main"]);

    let mut app = PtyApp::cctui(&cfg.path, &[], 40, 160);
    app.wait_for(&name, WAIT);
    // Terminal, Logs, Firewall, Changes.
    app.send(b"\t\t\t");
    app.wait_for("files (2)", WAIT);
    assert!(
        line_with(&app.screen(), "alpha.txt").contains('▸'),
        "{}",
        app.screen()
    );
    app.send(b"]");
    app.wait_until("the cursor on beta.txt, its diff below", WAIT, |s| {
        line_with(s, "beta.txt").contains('▸') && s.contains("+++ b/beta.txt")
    });
    app.send(b"[");
    app.wait_until("the cursor back on alpha.txt", WAIT, |s| {
        line_with(s, "alpha.txt").contains('▸')
    });
    // m asks; n leaves the project as it was.
    app.send(b"m");
    app.wait_for("Merge session", WAIT);
    app.send(b"n");
    app.wait_until("the question closed", WAIT, |s| {
        !s.contains("Merge session")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(git(&repo.path, &["log", "--format=%s", "main"]), base_log);
    // A asks too.
    app.send(b"A");
    app.wait_for("Apply session", WAIT);
    app.send(b"\x1b");
    app.wait_until("the question closed", WAIT, |s| {
        !s.contains("Apply session")
    });
    // y merges, and the Changes tab says so.
    app.send(b"m");
    app.wait_for("Merge session", WAIT);
    app.send(b"y");
    app.wait_for("merged into main", WAIT);
    let log = git(&repo.path, &["log", "--format=%s", "main"]);
    assert!(log.starts_with("both files\n"), "{log}");
    // The remove dialog names the checkout and the unmerged-work guard.
    app.send(b"d");
    app.wait_for("own checkout", WAIT);
    app.send(b"n");
    app.wait_until("the question closed", WAIT, |s| !s.contains("own checkout"));
    // The file keys are in the help.
    app.send(b"?");
    app.wait_for("next file (Changes tab)", WAIT);
    app.send(b" ");
    app.send(b"q");
    assert!(app.wait_exit(WAIT));
    cli_ok(&cfg.path, &["rm", &name]);
}

#[test]
fn removing_two_slots_of_one_project_with_volumes_removes_both_and_then_the_volumes() {
    global();
    let name = unique("gfvol");
    let (a, b) = (format!("{name}a"), format!("{name}b"));
    let cfg = config(&name);
    let project = TempFolder::new(&format!("{name}-proj"), UID);
    std::fs::write(project.path.join("notes"), "x\n").unwrap();
    let _g = guards(&[&a, &b], &[&project.path]);
    let p = project.path.canonicalize().unwrap().display().to_string();
    cli_ok(&cfg.path, &["new", &p, "--name", &a]);
    cli_ok(&cfg.path, &["new", &p, "--name", &b]);
    let volumes = project_volumes(&project.path);
    let exists = |v: &str| {
        Command::new("docker")
            .args(["volume", "inspect", v])
            .output()
            .unwrap()
            .status
            .success()
    };
    let out = cli_ok(&cfg.path, &["rm", &a, "--volumes", "--yes"]);
    assert!(out.contains(&format!("{b} still use them")), "{out}");
    assert!(volumes.iter().all(|v| exists(v)), "shared volumes stay");
    let out = cli_ok(&cfg.path, &["rm", &b, "--volumes", "--yes"]);
    assert!(out.contains("and volumes"), "{out}");
    assert!(
        volumes.iter().all(|v| !exists(v)),
        "the last one takes them"
    );
}
