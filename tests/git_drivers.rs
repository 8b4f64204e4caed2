//! Filters and drivers that the agent's `.gitattributes` selects from the user's own git
//! config never run in cctui's git calls: import, diff, merge, apply, push and discard, with
//! this host's git and with Debian 12's git 2.39 (no `--attr-source`). The user's config
//! (a test global config) defines `filter=evil`, `diff=evil`, `merge=evil` and an lfs-like
//! `filter=lfs` as commands that leave a marker file; the agent selects them all and adds an
//! `.lfsconfig`. Positive control: plain git with the same config in the same repository
//! leaves every marker.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use cctui::backend::DockerBackend;
use cctui::session::ops::Ops;
use common::*;

const UID: u32 = 1234;

const BASE_CONFIG: &str = "[safe]\n\tdirectory = *\n[user]\n\tname = Host User\n\t\
                           email = user@host.test\n[init]\n\tdefaultBranch = main\n\
                           [advice]\n\tdetachedHead = false\n";

const LFS_POINTER: &str = "version https://git-lfs.github.com/spec/v1\n\
                           oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n\
                           size 12345\n";

/// The user's git config with every kind of driver, each leaving a marker in `marks`.
fn driver_config(marks: &Path) -> String {
    let m = marks.display();
    format!(
        "{BASE_CONFIG}\
[filter \"evil\"]\n\tclean = \"touch {m}/filter-clean; cat\"\n\
\tsmudge = \"touch {m}/filter-smudge; sed 's/^/SMUDGED:/'\"\n\trequired = true\n\
[filter \"lfs\"]\n\tprocess = \"touch {m}/lfs-process; exit 1\"\n\
\tclean = \"touch {m}/lfs-clean; cat\"\n\tsmudge = \"touch {m}/lfs-smudge; cat\"\n\
\trequired = true\n\
[diff \"evil\"]\n\tcommand = \"touch {m}/diff-command; :\"\n\
\ttextconv = \"touch {m}/textconv; cat\"\n\
[merge \"evil\"]\n\tdriver = \"touch {m}/merge-driver; false\"\n"
    )
}

/// One host git: its binary, and a PATH on which `git` is that binary.
struct HostGit {
    bin: PathBuf,
    /// Where the drivers leave their markers (named in a failure).
    marks: PathBuf,
    /// The environment of every git that cctui started.
    env_log: PathBuf,
    path_env: String,
    _dir: TempFolder,
}

fn host_git(name: &str, bin: &Path, marks: &Path) -> HostGit {
    assert!(
        bin.exists(),
        "{} is missing: install it (Debian: apt-get install git) to run this test",
        bin.display()
    );
    let dir = TempFolder::new(&format!("{name}-bin"), 0);
    // A `git` that records the environment cctui gives it, then runs the real one.
    let env_log = dir.path.join("env.log");
    let wrapper = dir.path.join("git");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nenv >> '{}'\nexec '{}' \"$@\"\n",
            env_log.display(),
            bin.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path_env = format!(
        "{}:{}",
        dir.path.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    HostGit {
        bin: bin.to_path_buf(),
        env_log,
        marks: marks.to_path_buf(),
        path_env,
        _dir: dir,
    }
}

impl HostGit {
    /// Plain git in `dir` with the global config `config`, as the user would run it.
    fn raw(&self, config: &Path, dir: &Path, args: &[&str]) -> std::process::Output {
        Command::new(&self.bin)
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", config)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("PATH", &self.path_env)
            .output()
            .unwrap()
    }

    fn ok(&self, config: &Path, dir: &Path, args: &[&str]) -> String {
        let out = self.raw(config, dir, args);
        assert!(
            out.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn version(&self) -> String {
        let out = Command::new(&self.bin).arg("--version").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// cctui with the user's config `config`, this git first on PATH, and the key variables
    /// set to canaries (see [`KEY_CANARIES`]).
    fn cctui(&self, cfg: &Path, config: &Path, args: &[&str]) -> String {
        let out = self.cctui_with(cfg, config, args, KEY_CANARIES);
        assert!(
            out.status.success(),
            "cctui {args:?} (drivers that ran: {:?}):\n{}\n{}",
            marks_in(&self.marks),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn cctui_with(
        &self,
        cfg: &Path,
        config: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::process::Output {
        label_config(cfg);
        Command::new(env!("CARGO_BIN_EXE_cctui"))
            .args(args)
            .envs(env.iter().copied())
            .env("CCTUI_CONFIG_DIR", cfg)
            .env("CCTUI_STATE_DIR", cfg.join("state"))
            .env("GIT_CONFIG_GLOBAL", config)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("PATH", &self.path_env)
            .env("PAGER", "cat")
            .output()
            .unwrap()
    }
}

/// Key variables cctui must take out of its environment before it starts anything, and a
/// plain variable that must pass (the control that the log sees cctui's environment).
const KEY_CANARIES: &[(&str, &str)] = &[
    (
        "CLAUDE_CODE_OAUTH_TOKEN",
        "sk-ant-oat01-canaryTOKENcanaryTOKENcanaryTOKEN",
    ),
    (
        "CLAUDE_CODE_OAUTH_TOKEN_FILE",
        "/nonexistent/canary-oauth-file",
    ),
    (
        "ANTHROPIC_API_KEY",
        "sk-ant-api03-canaryKEYcanaryKEYcanaryKEYcanaryKEY",
    ),
    ("ANTHROPIC_API_KEY_FILE", "/nonexistent/canary-key-file"),
    ("CCTUI_TEST_PLAIN_CANARY", "passes-through"),
];

/// No git that cctui started saw a key variable; the plain canary shows they were looked for.
fn assert_no_key_reached_git(git: &HostGit) {
    let log = std::fs::read_to_string(&git.env_log).unwrap_or_default();
    assert!(
        log.contains("CCTUI_TEST_PLAIN_CANARY=passes-through"),
        "the control: cctui's git saw none of its environment:\n{log}"
    );
    for (name, value) in &KEY_CANARIES[..4] {
        assert!(
            !log.contains(&format!("{name}=")) && !log.contains(value),
            "{name} reached a git that cctui started"
        );
    }
}

fn marks_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn assert_nothing_ran(marks: &Path, after: &str) {
    assert_eq!(
        marks_in(marks),
        Vec::<String>::new(),
        "a driver from the user's config ran during {after}"
    );
}

fn ten_lines(first: &str, last: &str) -> String {
    let mut lines: Vec<String> = (1..=10).map(|i| format!("line {i}\n")).collect();
    lines[0] = format!("{first}\n");
    lines[9] = format!("{last}\n");
    lines.concat()
}

async fn agent(ops: &Ops<DockerBackend>, name: &str, script: &str) {
    let out = sh_in(ops, name, None, script).await;
    assert_eq!(
        out.exit_code,
        0,
        "in {name}: {script}\n{}{}",
        out.stdout_text(),
        out.stderr_text()
    );
}

fn write_git_recipe(config_dir: &Path) {
    let recipe = config_dir.join("recipe");
    copy_dir(&small_recipe_dir().join("recipe"), &recipe);
    let file = recipe.join("base.Dockerfile");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(" procps"), "{text}");
    std::fs::write(&file, text.replace(" procps", " procps git")).unwrap();
}

async fn no_driver_runs_in_cctuis_git_calls(tag: &str, git_bin: &Path) {
    let name = unique(tag);

    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    write_git_recipe(&cfg.path);
    let marks = TempFolder::new(&format!("{name}-marks"), 0);
    let git = host_git(&name, git_bin, &marks.path);
    let base_config = cfg.path.join("base.gitconfig");
    let user_config = cfg.path.join("user.gitconfig");
    std::fs::write(&base_config, BASE_CONFIG).unwrap();
    std::fs::write(&user_config, driver_config(&marks.path)).unwrap();

    let project = TempFolder::new(&name, UID);
    let path = project.path.canonicalize().unwrap();
    let p = path.display().to_string();
    let base = &base_config;
    git.ok(base, &path, &["init", "-q", "-b", "main"]);
    std::fs::write(path.join("f.txt"), "one\n").unwrap();
    std::fs::write(path.join("m.txt"), ten_lines("line 1", "line 10")).unwrap();
    git.ok(base, &path, &["add", "-A"]);
    git.ok(base, &path, &["commit", "-q", "-m", "base"]);
    let remote = TempFolder::new(&format!("{name}-remote"), 0);
    git.ok(base, &remote.path, &["init", "-q", "--bare"]);
    git.ok(
        base,
        &path,
        &[
            "remote",
            "add",
            "origin",
            &remote.path.display().to_string(),
        ],
    );
    Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(&path)
        .status()
        .unwrap();
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&path);
    vols.volumes.push(cctui::workspace::work_volume(&name));
    let _g = (Cleanup::new(&name), vols);
    let user = &user_config;
    eprintln!("host git: {}", git.version());

    // A setup token never goes into a session whose firewall is off: refused, and nothing
    // made. The control is the same command without it, next.
    let refused = git.cctui_with(
        &cfg.path,
        user,
        &["new", &p, "--name", &name],
        &[(KEY_CANARIES[0].0, KEY_CANARIES[0].1)],
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("setup token"),
        "a setup token with the firewall off: {err}"
    );
    assert_eq!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=cctui.session={name}")
        ])
        .trim(),
        "",
        "a refused session left a container"
    );
    let plain = |args: &[&str]| {
        let out = git.cctui_with(&cfg.path, user, args, &[]);
        assert!(
            out.status.success(),
            "cctui {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    plain(&["new", &p, "--name", &name]);
    // The same at a start.
    plain(&["stop", &name]);
    let refused = git.cctui_with(
        &cfg.path,
        user,
        &["start", &name],
        &[(KEY_CANARIES[0].0, KEY_CANARIES[0].1)],
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("setup token"),
        "a setup token with the firewall off, at a start: {err}"
    );
    plain(&["start", &name]);
    let ops = small_ops(&cfg.path).await;
    // Round 1: the agent selects every driver by name, and points lfs elsewhere.
    agent(
        &ops,
        &name,
        &format!(
            "set -e; cd {p}
printf '*.txt filter=evil diff=evil merge=evil\\n*.bin filter=lfs diff=lfs merge=lfs -text\\n' > .gitattributes
printf '[lfs]\\n\\turl = http://127.0.0.1:9/agent\\n' > .lfsconfig
printf '{}' > big.bin
echo two >> f.txt
git add -A && git commit -qm 'select drivers'"
        , LFS_POINTER.replace('\n', "\\n")),
    )
    .await;
    git.cctui(&cfg.path, user, &["import", &name]);
    let diff = git.cctui(&cfg.path, user, &["diff", &name]);
    assert!(diff.contains("+*.txt filter=evil"), "{diff}");
    assert!(diff.contains("+two"), "{diff}");
    git.cctui(&cfg.path, user, &["diff", &name, "--stat"]);
    git.cctui(&cfg.path, user, &["diff", &name, "--committed"]);
    assert_nothing_ran(&marks.path, "import and diff");
    git.cctui(&cfg.path, user, &["merge", &name]);
    assert_nothing_ran(
        &marks.path,
        "the first merge (a checkout of the agent's files)",
    );
    // The user's worktree holds the raw blobs: no smudge ran.
    assert_eq!(
        std::fs::read_to_string(path.join("f.txt")).unwrap(),
        "one\ntwo\n"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("big.bin")).unwrap(),
        LFS_POINTER
    );
    assert!(path.join(".lfsconfig").exists());

    // Round 2: both change m.txt (a three-way merge under `merge=evil`), and the agent leaves
    // uncommitted changes for apply. The user's own commit runs without the drivers.
    std::fs::write(path.join("m.txt"), ten_lines("line 1", "user's line 10")).unwrap();
    git.ok(base, &path, &["commit", "-q", "-am", "user edits m.txt"]);
    let user_tip = git.ok(base, &path, &["rev-parse", "HEAD"]);
    agent(
        &ops,
        &name,
        &format!(
            "set -e; cd {p}; sed -i 's/^line 1$/agent line 1/' m.txt; git commit -qam 'agent edits m.txt'
echo three >> f.txt; echo more >> big.bin"
        ),
    )
    .await;
    git.cctui(&cfg.path, user, &["import", &name]);
    let agent_tip = git.ok(base, &path, &["rev-parse", &format!("cctui/{name}")]);
    git.cctui(&cfg.path, user, &["diff", &name]);
    git.cctui(&cfg.path, user, &["merge", &name]);
    assert_nothing_ran(&marks.path, "the three-way merge");
    assert_eq!(
        std::fs::read_to_string(path.join("m.txt")).unwrap(),
        ten_lines("agent line 1", "user's line 10"),
        "git's own text merge, as without a driver"
    );
    git.cctui(&cfg.path, user, &["apply", &name]);
    assert_nothing_ran(&marks.path, "apply");
    assert_eq!(
        std::fs::read_to_string(path.join("f.txt")).unwrap(),
        "one\ntwo\nthree\n"
    );
    git.cctui(&cfg.path, user, &["push", &name]);
    assert_nothing_ran(&marks.path, "push");
    git.cctui(&cfg.path, user, &["discard", &name, "--yes"]);
    assert_nothing_ran(&marks.path, "discard");
    assert_no_key_reached_git(&git);

    // Positive controls: plain git with the same config in the same repository (and a clone
    // of it) runs every driver the agent selected.
    let _ = git.raw(user, &path, &["diff", "HEAD~1", "HEAD"]);
    let _ = git.raw(user, &path, &["diff", "--no-ext-diff", "HEAD~1", "HEAD"]);
    let control = TempFolder::new(&format!("{name}-control"), 0);
    let c2 = control.path.join("c2");
    git.ok(base, &control.path, &["clone", "-q", &p, "c2"]);
    git.ok(base, &c2, &["checkout", "-q", &user_tip]);
    // (lfs off for this one: its failing process filter would stop the merge first.)
    let merged = git.raw(
        user,
        &c2,
        &[
            "-c",
            "filter.lfs.process=",
            "-c",
            "filter.lfs.required=false",
            "merge",
            "--no-edit",
            &agent_tip,
        ],
    );
    let c = control.path.join("c");
    git.ok(base, &control.path, &["clone", "-q", &p, "c"]);
    std::fs::remove_file(c.join("f.txt")).unwrap();
    let _ = git.raw(user, &c, &["checkout", "--", "f.txt"]);
    let smudged = std::fs::read_to_string(c.join("f.txt")).unwrap_or_default();
    assert!(smudged.starts_with("SMUDGED:"), "the control: {smudged:?}");
    std::fs::remove_file(c.join("big.bin")).unwrap();
    let _ = git.raw(user, &c, &["checkout", "--", "big.bin"]);
    std::fs::write(c.join("f.txt"), "changed\n").unwrap();
    let _ = git.raw(user, &c, &["add", "f.txt"]);
    let _ = git.raw(user, &c, &["reset", "-q", "--hard"]);
    let fired = marks_in(&marks.path);
    for must in [
        "diff-command",
        "filter-clean",
        "filter-smudge",
        "lfs-process",
        "merge-driver",
        "textconv",
    ] {
        assert!(
            fired.iter().any(|f| f == must),
            "the control did not run {must}: {fired:?} (merge: {})",
            String::from_utf8_lossy(&merged.stderr)
        );
    }
}

#[tokio::test]
async fn no_driver_the_agent_selects_runs_with_this_hosts_git() {
    let on_path = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join("git"))
        .find(|g| g.is_file())
        .expect("git on PATH");
    no_driver_runs_in_cctuis_git_calls("gitdrv", &on_path).await;
}

#[tokio::test]
async fn no_driver_the_agent_selects_runs_with_debian_12s_git() {
    no_driver_runs_in_cctuis_git_calls("gitdrv239", Path::new("/usr/bin/git")).await;
}
