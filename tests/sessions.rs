//! Per-project sandboxes on the real engine: lifecycle, volumes, ownership, hardening,
//! mounts, profiles, image reuse, and bad input.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use cctui::backend::{Backend, ContainerState, ExecSpec, MountedKind};
use cctui::config::{Config, FirewallMode};
use cctui::image::BuildProgress;
use cctui::session::ops::{Ops, Progress};
use cctui::session::plan_session;
use common::*;

const UID: u32 = 1234;

fn config_off() -> Config {
    let mut c = test_config();
    c.firewall.mode = FirewallMode::Off;
    c
}

async fn ops_with(config: Config, dir: &Path) -> Ops<cctui::backend::DockerBackend> {
    let mut ops = small_ops(dir).await;
    ops.config = config;
    ops
}

async fn exec_as_agent(
    ops: &Ops<cctui::backend::DockerBackend>,
    name: &str,
    script: &str,
) -> cctui::backend::ExecOutput {
    sh_in(ops, name, None, script).await
}

/// Unix time, in seconds with nanoseconds, of an RFC 3339 timestamp (the host's `date`).
fn unix_of(rfc3339: &str) -> f64 {
    let out = std::process::Command::new("date")
        .args(["-d", rfc3339, "+%s.%N"])
        .output()
        .unwrap();
    assert!(out.status.success(), "date -d {rfc3339}");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The process that runs claude is the fake's script itself (the entrypoint exec'd it: no
/// `cctui-agent` is left waiting), a child of the init; and the order is: the holder's
/// verification, then `/run/cctui/ready`, then claude's first output.
async fn claude_runs_after_the_firewall_and_ready(
    ops: &Ops<cctui::backend::DockerBackend>,
    name: &str,
) {
    // The entrypoint polls for the ready file every 0.1 s: give it a moment.
    let mut tries = 0;
    let text = loop {
        let text = exec_as_agent(ops, name, "ps -eo pid=,ppid=,args=")
            .await
            .stdout_text();
        tries += 1;
        if tries == 50 || !text.contains("sh /usr/local/bin/cctui-agent") {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let claude: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("/usr/local/bin/claude --dangerously-skip-permissions"))
        .filter(|l| !l.contains("docker-init") && !l.contains("cctui-agent"))
        .collect();
    assert_eq!(claude.len(), 1, "one process runs claude:\n{text}");
    let fields: Vec<&str> = claude[0].split_whitespace().collect();
    assert_eq!(fields[1], "1", "claude is not the init's child:\n{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.contains("cctui-agent") && !l.contains("docker-init")),
        "the entrypoint is still waiting:\n{text}"
    );

    let stat = |out: cctui::backend::ExecOutput, what: &str| -> f64 {
        assert_eq!(out.exit_code, 0, "{what}: {}", out.stderr_text());
        out.stdout_text().trim().parse().unwrap()
    };
    let holder = ops.running_holder(name).await.unwrap();
    let verified = stat(
        ops.backend
            .exec(
                &holder,
                &ExecSpec {
                    cmd: ["stat", "-c", "%.9Y", "/run/cctui/last-verify"]
                        .map(String::from)
                        .to_vec(),
                    user: Some("0:0".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        "the holder's last verification",
    );
    let ready = stat(
        exec_as_agent(ops, name, "stat -c %.9Y /run/cctui/ready").await,
        "the ready file",
    );
    let agent = ops.running_agent(name).await.unwrap();
    let logs = docker(&["logs", "-t", &agent]);
    let first = logs
        .lines()
        .find(|l| l.contains("fake claude"))
        .unwrap_or_else(|| panic!("claude printed nothing: {logs}"));
    let said = unix_of(first.split_whitespace().next().unwrap());
    eprintln!(
        "verified -> ready {:.0} ms -> claude's first output {:.0} ms",
        (ready - verified) * 1000.0,
        (said - ready) * 1000.0
    );
    assert!(
        verified < ready && ready < said,
        "out of order: firewall verified at {verified:.3}, ready at {ready:.3}, \
         claude's first output at {said:.3}"
    );
}

#[tokio::test]
async fn lifecycle_new_ls_stop_start_rm_and_volumes_survive() {
    let name = unique("life");
    let _c = Cleanup::new(&name);
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(&name, UID);
    // The firewall is on (no rules needed), so that claude's start can be ordered after it.
    let mut config = test_config();
    config.firewall.presets = vec![];
    let ops = ops_with(config, &dir.path).await;
    let plan = plan_session(&ops.config, &project.path, Some(&name), &[], &[]).unwrap();
    // The test removes the volumes itself at the end; this guard does it if it fails first.
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = vec![plan.project.config_volume(), plan.project.history_volume()];

    let session = ops.create(&plan, |_| {}).await.unwrap();
    assert_eq!(session.state(), ContainerState::Running);
    assert!(ops.list().await.unwrap().iter().any(|s| s.name == name));

    // claude (here the fake) is the long-running process, and it started only after the
    // firewall was verified and the session made ready.
    claude_runs_after_the_firewall_and_ready(&ops, &name).await;

    // Workspace files belong to the host user.
    let touch = exec_as_agent(
        &ops,
        &name,
        &format!("touch {}/made-inside && id -u", project.path.display()),
    )
    .await;
    assert_eq!(touch.stdout_text().trim(), UID.to_string());
    let meta = std::fs::metadata(project.path.join("made-inside")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (UID, UID));

    // Login state persists: write into the config dir, remove the session, recreate, read.
    let w = exec_as_agent(
        &ops,
        &name,
        "echo kept > $CLAUDE_CONFIG_DIR/probe && echo hist >> /commandhistory/.bash_history",
    )
    .await;
    assert_eq!(w.exit_code, 0, "{}", w.stderr_text());

    ops.stop(&name).await.unwrap();
    let stopped = ops.find(&name).await.unwrap();
    assert!(
        matches!(stopped.state(), ContainerState::Exited(_)),
        "{:?}",
        stopped.state()
    );
    ops.start(&name, |_| {}).await.unwrap();
    assert_eq!(
        ops.find(&name).await.unwrap().state(),
        ContainerState::Running
    );

    let removed = ops.remove(&name, false).await.unwrap();
    assert!(removed.volumes.is_empty());
    assert!(ops.find(&name).await.is_err());
    for v in [plan.project.config_volume(), plan.project.history_volume()] {
        assert!(
            ops.backend.inspect_volume(&v).await.unwrap().is_some(),
            "{v} was deleted"
        );
    }

    ops.create(&plan, |_| {}).await.unwrap();
    let r = exec_as_agent(
        &ops,
        &name,
        "cat $CLAUDE_CONFIG_DIR/probe /commandhistory/.bash_history",
    )
    .await;
    assert_eq!(r.stdout_text(), "kept\nhist\n");

    let removed = ops.remove(&name, true).await.unwrap();
    assert_eq!(removed.volumes.len(), 2);
    assert!(ops
        .backend
        .inspect_volume(&plan.project.config_volume())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_agent_has_no_capabilities_and_sees_only_the_project_folder() {
    let name = unique("caps");
    let _c = Cleanup::new(&name);
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(&name, UID);
    let ops = ops_with(config_off(), &dir.path).await;
    let plan = plan_session(&ops.config, &project.path, Some(&name), &[], &[]).unwrap();
    let mut cleanup_vols = Cleanup::new(&format!("{name}-vols"));
    cleanup_vols.volumes = vec![plan.project.config_volume(), plan.project.history_volume()];
    ops.create(&plan, |_| {}).await.unwrap();
    let id = ops.running_agent(&name).await.unwrap();

    let status = exec_as_agent(
        &ops,
        &name,
        "grep -E '^Cap(Eff|Prm|Bnd)' /proc/1/status; grep NoNewPrivs /proc/self/status",
    )
    .await;
    let text = status.stdout_text();
    for cap in ["CapEff", "CapPrm", "CapBnd"] {
        assert!(
            text.contains(&format!("{cap}:\t0000000000000000")),
            "{cap} not empty:\n{text}"
        );
    }
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");
    // And as uid 0 in the container: a non-root process's CapEff and CapPrm are zero even
    // without --cap-drop, root's are not.
    let root = sh_in(
        &ops,
        &name,
        Some("0:0"),
        "id -u; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status",
    )
    .await;
    let text = root.stdout_text();
    assert!(text.starts_with("0\n"), "not root: {text}");
    for cap in ["CapEff", "CapPrm", "CapBnd"] {
        assert!(
            text.contains(&format!("{cap}:\t0000000000000000")),
            "{cap} of root in the container not empty:\n{text}"
        );
    }

    // Even root inside the container cannot mount.
    let mount = ops
        .backend
        .exec(
            &id,
            &ExecSpec {
                cmd: vec![
                    "mount".into(),
                    "-t".into(),
                    "tmpfs".into(),
                    "none".into(),
                    "/mnt".into(),
                ],
                user: Some("0:0".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_ne!(
        mount.exit_code,
        0,
        "mount succeeded: {}",
        mount.stdout_text()
    );

    let d = ops.backend.inspect_container(&id).await.unwrap();
    let binds: Vec<_> = d
        .mounts
        .iter()
        .filter(|m| m.kind == MountedKind::Bind)
        .collect();
    assert_eq!(binds.len(), 1, "{:?}", d.mounts);
    assert_eq!(
        Path::new(&binds[0].source),
        project.path.canonicalize().unwrap()
    );
    assert_eq!(
        binds[0].target, binds[0].source,
        "the project is at the same path inside"
    );
    let mut volumes: Vec<_> = d
        .mounts
        .iter()
        .filter(|m| m.kind == MountedKind::Volume)
        .map(|m| m.source.clone())
        .collect();
    volumes.sort();
    let mut expected = vec![plan.project.config_volume(), plan.project.history_volume()];
    expected.sort();
    assert_eq!(volumes, expected);
    assert!(!d
        .mounts
        .iter()
        .any(|m| m.source.contains("docker.sock") || m.target.contains("tmux")));
    assert_eq!(d.cap_drop, vec!["ALL".to_string()]);
    assert!(d.cap_add.is_empty());
    assert!(d.init && d.tty);
    assert_eq!(d.pids_limit, ops.config.session.pids_limit);
    assert_eq!(d.memory_bytes, ops.config.memory_bytes());
    assert_eq!(d.user, format!("{UID}:{UID}"));
    ops.remove(&name, false).await.unwrap();
}

#[tokio::test]
async fn profiles_put_their_toolchain_on_path_and_images_are_reused() {
    let a = unique("prof-a");
    let b = unique("prof-b");
    let _ca = Cleanup::new(&a);
    let _cb = Cleanup::new(&b);
    let dir = TempFolder::new(&format!("{a}-cfg"), 0);
    let pa = TempFolder::new(&a, UID);
    let pb = TempFolder::new(&b, UID);
    let ops = ops_with(config_off(), &dir.path).await;
    let python = vec!["python".to_string()];

    let plan_a = plan_session(&ops.config, &pa.path, Some(&a), &python, &[]).unwrap();
    let mut vols = Cleanup::new(&format!("{a}-vols"));
    let plan_b = plan_session(&ops.config, &pb.path, Some(&b), &python, &[]).unwrap();
    vols.volumes = vec![
        plan_a.project.config_volume(),
        plan_a.project.history_volume(),
        plan_b.project.config_volume(),
        plan_b.project.history_volume(),
    ];
    ops.create(&plan_a, |_| {}).await.unwrap();
    let v = exec_as_agent(&ops, &a, "python3 --version && command -v python3").await;
    assert_eq!(v.exit_code, 0, "{}", v.stderr_text());
    assert!(
        v.stdout_text().starts_with("Python 3"),
        "{}",
        v.stdout_text()
    );

    // A second project with the same profiles builds nothing.
    let mut events = Vec::new();
    ops.create(&plan_b, |p| events.push(p)).await.unwrap();
    let built: Vec<_> = events
        .iter()
        .filter(|p| matches!(p, Progress::Build(BuildProgress::Started { .. })))
        .collect();
    assert!(built.is_empty(), "rebuilt: {built:?}");
    assert!(events.iter().any(
        |p| matches!(p, Progress::Build(BuildProgress::Cached { layer, .. }) if layer == "python")
    ));
    let ia = ops.find(&a).await.unwrap().agent.unwrap().image;
    let ib = ops.find(&b).await.unwrap().agent.unwrap().image;
    assert_eq!(ia, ib);
    assert!(ia.starts_with("cctui-python:"), "{ia}");
    ops.remove(&a, false).await.unwrap();
    ops.remove(&b, false).await.unwrap();
}

#[tokio::test]
async fn a_failed_new_removes_what_it_made_and_keeps_the_volumes() {
    let name = unique("half");
    let _c = Cleanup::new(&name);
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(&name, UID);
    let ops = ops_with(config_off(), &dir.path).await;
    let plan = plan_session(&ops.config, &project.path, Some(&name), &[], &[]).unwrap();
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = vec![plan.project.config_volume(), plan.project.history_volume()];

    // Someone else's container already has the agent's name: creating the agent fails late,
    // after the session's network was made.
    let image = tiny_image(&ops.backend).await;
    let mut squatter = cctui::backend::ContainerSpec::hardened(plan.name.agent_container(), image);
    squatter.labels = test_labels();
    squatter
        .labels
        .insert("cctui.test.owner".into(), name.clone());
    let squatter_id = ops.backend.create_container(&squatter).await.unwrap();

    let err = ops.create(&plan, |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("onflict"), "{err}");
    assert!(
        ops.find(&name).await.is_err(),
        "a half-made session was left"
    );
    assert!(ops
        .backend
        .inspect_network(&plan.name.network())
        .await
        .unwrap()
        .is_none());
    assert!(
        ops.backend.inspect_container(&squatter_id).await.is_ok(),
        "removed the user's container"
    );
    assert!(ops
        .backend
        .inspect_volume(&plan.project.config_volume())
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn the_cli_rejects_bad_input_with_exit_code_2() {
    let name = unique("cli-bad");
    let _c = Cleanup::new(&name);
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(&name, UID);
    let root_owned = TempFolder::new(&format!("{name}-root"), 0);
    let file = project.path.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let p = project.path.to_str().unwrap();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["start", "no-such-session"], "no session named"),
        (vec!["new", file.to_str().unwrap()], "not a folder"),
        (vec!["new", "/no/such/folder"], "No such file"),
        (vec!["new", p, "--profile", "cobol"], "unknown profile"),
        (
            vec!["new", p, "--name", "Bad Name"],
            "not a valid session name",
        ),
        (
            vec!["new", root_owned.path.to_str().unwrap()],
            "owned by root",
        ),
        (
            vec!["new", p, "--network", "no-such-network-xyz"],
            "no Docker network",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, err) = cctui(&dir.path, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let (code, _, err) = cctui(&dir.path, &["rm", "no-such", "--volumes"]);
    assert_eq!(code, 2, "{err}");
}

/// Promise 7: only the project folder is mounted, never the home folder or cctui's own.
#[tokio::test]
async fn the_home_folder_and_folders_holding_cctuis_own_are_never_mounted() {
    let name = unique("cli-home");
    let _c = Cleanup::new(&name);
    let project = TempFolder::new(&name, UID);
    let p = project.path.to_str().unwrap();
    let outside = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&outside.path, FIREWALL_OFF);
    let mut as_home = cctui_cmd(&outside.path, &["new", p, "--name", &name]);
    as_home.env("HOME", &project.path);
    let inside = project.path.join("cctui-config");
    std::fs::create_dir_all(&inside).unwrap();
    write_cli_config(&inside, FIREWALL_OFF);
    let holding_config = cctui_cmd(&inside, &["new", p, "--name", &name]);
    for (cmd, expected) in [
        (as_home, "holds your home folder"),
        (holding_config, "holds cctui's own folder"),
    ] {
        let (code, out, err) = run_cmd(cmd);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains(expected), "{err}");
    }
    assert_eq!(
        docker(&["ps", "-aq", "--filter", &format!("name=cctui-{name}")]).trim(),
        "",
        "nothing was made"
    );
}

#[tokio::test]
async fn the_cli_runs_the_whole_lifecycle_and_headless_claude() {
    let name = unique("cli");
    let _c = Cleanup::new(&name);
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&dir.path, FIREWALL_OFF);
    let project = TempFolder::new(&name, UID);
    let plan_vols = cctui::session::Project::at(&project.path).unwrap();
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = vec![plan_vols.config_volume(), plan_vols.history_volume()];
    let p = project.path.to_str().unwrap();

    let (code, out, err) = cctui(&dir.path, &["new", p, "--name", &name]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = cctui(&dir.path, &["new", p, "--name", &name]);
    assert_eq!(code, 2, "a taken name: {err}");
    assert!(err.contains("taken"), "{err}");

    let me = ls_entry(&dir.path, &name);
    assert_eq!(me["state"], "running");
    assert_eq!(me["running"], true);
    assert_eq!(me["firewall"], "off");
    assert_eq!(
        me["project"],
        project.path.canonicalize().unwrap().to_str().unwrap()
    );

    let (code, out, _) = cctui(&dir.path, &["run", &name, "--", "-p", "hello there"]);
    assert_eq!(code, 0);
    assert!(out.contains("answer to: hello there"), "{out}");
    let (code, out, _) = cctui(&dir.path, &["exec", &name, "--", "sh", "-c", "pwd; exit 5"]);
    assert_eq!(code, 5);
    assert_eq!(
        out.trim(),
        project.path.canonicalize().unwrap().to_str().unwrap()
    );

    let (code, _, _) = cctui(&dir.path, &["stop", &name]);
    assert_eq!(code, 0);
    let me = ls_entry(&dir.path, &name);
    assert!(
        me["state"] == "stopped" && me["running"] == false,
        "the session is not stopped: {me}"
    );
    let (code, _, err) = cctui(&dir.path, &["rm", &name, "--volumes"]);
    assert_eq!(code, 2, "no tty and no --yes must refuse: {err}");
    let (code, out, _) = cctui(&dir.path, &["rm", &name]);
    assert_eq!(code, 0);
    assert!(out.contains("volumes kept"), "{out}");
}

#[tokio::test]
async fn repository_proposals_apply_only_after_acceptance() {
    let name = unique("proposal");
    let _c = Cleanup::new(&name);
    let _c2 = Cleanup::new(&format!("{name}-2"));
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&dir.path, FIREWALL_OFF);
    let project = TempFolder::new(&name, UID);
    let p = cctui::session::Project::at(&project.path).unwrap();
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = vec![p.config_volume(), p.history_volume()];
    std::fs::write(
        project.path.join(".cctui.toml"),
        "[session]\nenv = { PROPOSED = \"yes\" }\n",
    )
    .unwrap();
    let path = project.path.to_str().unwrap();

    let (code, _, err) = cctui(&dir.path, &["new", path, "--name", &name]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("proposes settings that are not in effect"),
        "{err}"
    );
    let (_, env, _) = cctui(
        &dir.path,
        &["exec", &name, "--", "sh", "-c", "echo ${PROPOSED:-unset}"],
    );
    assert_eq!(
        env.trim(),
        "unset",
        "a proposal took effect without acceptance"
    );

    let (code, diff, _) = cctui(&dir.path, &["project", "diff", path]);
    assert_eq!(code, 0);
    assert!(diff.contains("+ env = { PROPOSED = \"yes\" }"), "{diff}");
    let (code, out, err) = cctui(&dir.path, &["project", "accept", path]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = cctui(&dir.path, &["new", path, "--name", &format!("{name}-2")]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("proposes"), "{err}");
    let (_, env, _) = cctui(
        &dir.path,
        &[
            "exec",
            &format!("{name}-2"),
            "--",
            "sh",
            "-c",
            "echo ${PROPOSED:-unset}",
        ],
    );
    assert_eq!(env.trim(), "yes");
    // The accepted copy lives in cctui's folder, not the repository.
    assert!(dir
        .path
        .join("projects")
        .join(format!("{}.toml", p.slug))
        .exists());
}

/// `cctui ARGS` run in `cwd` with extra environment variables.
fn cctui_in(
    config_dir: &Path,
    cwd: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let mut cmd = cctui_cmd(config_dir, args);
    cmd.current_dir(cwd)
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .envs(env.iter().copied());
    run_cmd(cmd)
}

#[tokio::test]
async fn doctor_and_build_in_a_root_owned_folder_use_the_images_new_uses() {
    let name = unique("rootcwd");
    let _c = Cleanup::new(&name);
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&dir.path, FIREWALL_OFF);
    let project = TempFolder::new(&name, UID);
    let root_owned = TempFolder::new(&format!("{name}-root"), 0);
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);

    let (code, out, err) = cctui(
        &dir.path,
        &["new", project.path.to_str().unwrap(), "--name", &name],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (_, json, _) = cctui(&dir.path, &["ls", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let image = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name.as_str())
        .expect("listed")["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(image.starts_with("cctui-base:"), "{image}");

    // The tests run as root, so the user is the one behind sudo, as with `sudo cctui doctor`.
    let uid = UID.to_string();
    let sudo = [("SUDO_UID", uid.as_str()), ("SUDO_GID", uid.as_str())];
    let (_, out, _) = cctui_in(&dir.path, &root_owned.path, &sudo, &["doctor"]);
    assert!(
        out.lines()
            .any(|l| l == format!("ok   image          {image}")),
        "doctor does not see the image `new` used:\n{out}"
    );
    assert!(out.contains(&format!("for agent uid {UID}:{UID}")), "{out}");
    let (code, out, err) = cctui_in(&dir.path, &root_owned.path, &sudo, &["build"]);
    assert_eq!(code, 0, "{out}{err}");
    // Progress goes to stderr.
    assert!(err.contains(&format!("{image} (cached)")), "{out}{err}");

    // Positive control: as root with no user behind it, there is no agent to build for.
    let (code, _, err) = cctui_in(&dir.path, &root_owned.path, &[], &["build"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("owned by root") && err.contains("--path") && !err.contains("chown"),
        "no recursive chown of a folder the user may not own: {err}"
    );
    let (code, _, err) = cctui(&dir.path, &["rm", &name]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn a_build_that_stalls_is_cancelled_naming_its_step_and_new_leaves_nothing() {
    let name = unique("stall");
    let _c = Cleanup::new(&name);
    let dir = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(
        &dir.path,
        "build_stall_secs = 4\n[firewall]\nmode = \"off\"\n",
    );
    let project = TempFolder::new(&name, UID);
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    // A step that sleeps silently; the marker names its build container. (No step before it
    // makes a layer, so a cancelled build leaves no intermediate image either.)
    let marker = format!("cctui-stall-{}", run_id());
    let base = "FROM debian:bookworm-slim\nARG AGENT_UID\nARG AGENT_GID\nARG TZ\n\
                ARG CLAUDE_CODE_VERSION\n";
    std::fs::write(
        dir.path.join("recipe/base.Dockerfile"),
        format!("{base}RUN sleep 300 # {marker}\n"),
    )
    .unwrap();
    let build_containers = || {
        docker(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"])
            .lines()
            .filter(|l| l.contains(&marker))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };

    let started = std::time::Instant::now();
    let (code, out, err) = cctui(
        &dir.path,
        &["new", project.path.to_str().unwrap(), "--name", &name],
    );
    let took = started.elapsed();
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        took < std::time::Duration::from_secs(40),
        "took {took:?}: {err}"
    );
    assert!(
        err.contains("building the base image failed at step 6/")
            && err.contains(&format!(": RUN sleep 300 # {marker}:")),
        "{err}"
    );
    assert!(err.contains("stalled: no output for 4 s"), "{err}");
    // Nothing behind: no session, no network, no volume, and the build's step is gone.
    let (_, json, _) = cctui(&dir.path, &["ls", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == name.as_str()),
        "{json}"
    );
    let ops = small_ops(&dir.path).await;
    let plan = plan_session(&ops.config, &project.path, Some(&name), &[], &[]).unwrap();
    assert!(ops
        .backend
        .inspect_network(&plan.name.network())
        .await
        .unwrap()
        .is_none());
    for v in project_volumes(&project.path) {
        assert!(
            ops.backend.inspect_volume(&v).await.unwrap().is_none(),
            "{v}"
        );
    }
    assert_eq!(
        build_containers(),
        Vec::<String>::new(),
        "the stalled step still runs"
    );

    // Positive control: a step that runs longer than the stall time but keeps printing builds.
    std::fs::write(
        dir.path.join("recipe/base.Dockerfile"),
        format!("{base}RUN for i in 1 2 3 4 5 6 7 8; do echo {marker} $i; sleep 1; done\n"),
    )
    .unwrap();
    let (code, out, err) = cctui(
        &dir.path,
        &["build", "--path", project.path.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    for line in err.lines().filter(|l| l.contains("cctui-base:")) {
        if let Some(tag) = line
            .split_whitespace()
            .find(|w| w.starts_with("cctui-base:"))
        {
            let _ = std::process::Command::new("docker")
                .args(["rmi", tag])
                .output();
        }
    }
}
