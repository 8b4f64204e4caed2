//! A project's own devcontainer.json on the real engine: its image built from its Dockerfile
//! on the local base, cctui's agent layered on top, its env and post-create command, the
//! firewall verified; widening keys ignored and named; unaccepted files unused; malformed
//! files one line with file, line and column.

mod common;

use std::path::Path;

use common::*;

const UID: u32 = 1000;

/// A project folder with `.devcontainer/` holding these files.
fn project_with(name: &str, files: &[(&str, &str)]) -> TempFolder {
    let project = TempFolder::new(name, UID);
    let dir = project.path.join(".devcontainer");
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    project
}

fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let (code, out, err) = cctui(dir, args);
    assert_eq!(code, 0, "cctui {args:?}:\n{out}\n{err}");
    (out, err)
}

const BUILT: &str = r#"{
  // The project's own image, from its Dockerfile on the local base.
  "build": { "dockerfile": "Dockerfile", "args": { "GREETING": "hello from the project" } },
  "containerEnv": { "APP_MODE": "devcontainer-test" },
  "remoteUser": "dev",
  "postCreateCommand": "echo made > /tmp/post-create && id -un > /tmp/post-create-user",
  "postStartCommand": ["sh", "-c", "echo started >> /tmp/post-start"],
}
"#;

const DOCKERFILE: &str = "FROM debian:bookworm-slim\nARG GREETING\n\
    RUN useradd -m -u 4321 dev && echo \"$GREETING\" > /etc/greeting\n";

#[tokio::test]
async fn an_accepted_devcontainer_builds_the_projects_image_under_cctuis_agent() {
    let name = unique("dcbuild");
    let _c = Cleanup::new(&name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, "");
    let project = project_with(
        &name,
        &[("devcontainer.json", BUILT), ("Dockerfile", DOCKERFILE)],
    );
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    let p = project.path.to_str().unwrap();

    // Not accepted: not used, and the user is told how to review it.
    let (_, err) = ok(&cfg.path, &["new", p, "--name", &name]);
    assert!(err.contains("cctui project diff"), "{err}");
    assert_eq!(ls_entry(&cfg.path, &name)["environment"], "cctui recipe");
    let (code, _, _) = cctui(
        &cfg.path,
        &["exec", &name, "--", "test", "-e", "/etc/greeting"],
    );
    assert_eq!(code, 1, "the unaccepted devcontainer's image is in use");
    ok(&cfg.path, &["rm", &name]);

    let (diff, _) = ok(&cfg.path, &["project", "diff", p]);
    assert!(diff.contains("+ FROM debian:bookworm-slim"), "{diff}");
    assert!(diff.contains("+   \"containerEnv\""), "{diff}");
    ok(&cfg.path, &["project", "accept", p]);

    let (_, err) = ok(&cfg.path, &["new", p, "--name", &name]);
    assert!(err.contains("firewall verified"), "{err}");
    assert!(err.contains("devcontainer: ran `sh -c echo made"), "{err}");
    let me = ls_entry(&cfg.path, &name);
    assert_eq!(
        me["environment"],
        "devcontainer (.devcontainer/devcontainer.json)"
    );
    assert_eq!(me["firewall"], "on");
    let (out, _) = ok(&cfg.path, &["exec", &name, "--", "claude", "--version"]);
    assert!(
        out.contains("fake Claude Code"),
        "claude is layered on: {out}"
    );
    let script = "echo \"$APP_MODE\"; cat /etc/greeting /tmp/post-create /tmp/post-create-user; \
                  id -u; id -un; grep CapEff /proc/self/status";
    let (out, _) = ok(&cfg.path, &["exec", &name, "--", "sh", "-c", script]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "devcontainer-test",
            "hello from the project",
            "made",
            "dev",
            "1000",
            "dev",
            "CapEff:\t0000000000000000"
        ],
        "{out}"
    );
    ok(&cfg.path, &["fw", "verify", &name]);
    // postStartCommand runs at create and again at each start, before claude.
    let (out, _) = ok(&cfg.path, &["exec", &name, "--", "cat", "/tmp/post-start"]);
    assert_eq!(out, "started\n");
    ok(&cfg.path, &["restart", &name]);
    let (out, _) = ok(&cfg.path, &["exec", &name, "--", "cat", "/tmp/post-start"]);
    assert_eq!(out, "started\nstarted\n");

    // A change to the Dockerfile is a new proposal; the session keeps the accepted one.
    std::fs::write(
        project.path.join(".devcontainer/Dockerfile"),
        format!("{DOCKERFILE}RUN echo changed\n"),
    )
    .unwrap();
    let (diff, _) = ok(&cfg.path, &["project", "diff", p]);
    assert!(diff.contains("+ RUN echo changed"), "{diff}");
}

#[tokio::test]
async fn widening_keys_are_ignored_with_a_warning_naming_each() {
    let name = unique("dcwide");
    let _c = Cleanup::new(&name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    write_cli_config(&cfg.path, "");
    let json = r#"{ "image": "debian:bookworm-slim", "privileged": true,
        "capAdd": ["NET_ADMIN"], "runArgs": ["--cap-add=NET_RAW", "--network=host"] }"#;
    let project = project_with(&name, &[("devcontainer.json", json)]);
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    let p = project.path.to_str().unwrap();
    let (diff, _) = ok(&cfg.path, &["project", "diff", p]);
    assert!(diff.contains("! ignored `privileged`"), "{diff}");
    ok(&cfg.path, &["project", "accept", p]);

    let (_, err) = ok(&cfg.path, &["new", p, "--name", &name]);
    for named in [
        "privileged",
        "capAdd: NET_ADMIN",
        "--cap-add=NET_RAW",
        "--network=host",
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains("devcontainer: ignored") && l.contains(named)),
            "{named} not named:\n{err}"
        );
    }
    let (out, _) = ok(
        &cfg.path,
        &["exec", &name, "--", "grep", "Cap", "/proc/self/status"],
    );
    for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert!(
            out.contains(&format!("{cap}:\t0000000000000000")),
            "{cap} not empty:\n{out}"
        );
    }
    let agent = format!("cctui-{name}");
    let host = docker(&[
        "inspect",
        "-f",
        "{{.HostConfig.Privileged}} {{.HostConfig.CapAdd}} {{.HostConfig.NetworkMode}}",
        &agent,
    ]);
    // Not privileged, nothing added, and still inside the holder's namespace (the firewall).
    assert!(host.starts_with("false [] container:"), "{host}");
    ok(&cfg.path, &["fw", "verify", &name]);
}

#[test]
fn malformed_jsonc_is_one_line_with_file_line_and_column() {
    let name = unique("dcbad");
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let json = "{\n  // fine so far\n  \"image\": \"debian:bookworm-slim\"\n  \"remoteUser\": \"dev\"\n}\n";
    let project = project_with(&name, &[("devcontainer.json", json)]);
    let p = project.path.to_str().unwrap();
    let (code, _, err) = cctui(&cfg.path, &["project", "diff", p]);
    assert_eq!(code, 2, "{err}");
    let file = project
        .path
        .canonicalize()
        .unwrap()
        .join(".devcontainer/devcontainer.json");
    assert!(
        err.starts_with(&format!("cctui: {}:3:34: Expected comma", file.display())),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
