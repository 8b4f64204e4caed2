use super::*;

fn parse(text: &str) -> Result<DevContainer> {
    let root = Path::new("/srv/app");
    DevContainer::parse(text, &root.join(".devcontainer/devcontainer.json"), root)
}

#[test]
fn the_supported_keys_are_read_with_comments_and_trailing_commas() {
    let dc = parse(
        r#"{
        // The project's own image, built from its Dockerfile.
        "build": { "dockerfile": "Dockerfile", "context": "..", "args": { "TZ": "${localEnv:TZ:Europe/Paris}", "N": 3 } },
        "containerEnv": { "APP_MODE": "test", "ROOT": "${containerWorkspaceFolder}" },
        "remoteEnv": { "APP_MODE": "dev" },
        "remoteUser": "node",
        "postCreateCommand": "touch /tmp/made",
        "postStartCommand": ["echo", "hi"],
        "customizations": { "vscode": {} },
    }"#,
    )
    .unwrap();
    let b = dc.build.as_ref().unwrap();
    assert_eq!(b.dockerfile, Path::new("/srv/app/.devcontainer/Dockerfile"));
    assert_eq!(b.context, Path::new("/srv/app/.devcontainer/.."));
    assert_eq!(b.args["TZ"], "Europe/Paris", "localEnv is never read");
    assert_eq!(b.args["N"], "3");
    assert_eq!(dc.env["APP_MODE"], "dev", "remoteEnv wins");
    assert_eq!(dc.env["ROOT"], "/srv/app");
    assert_eq!(dc.remote_user.as_deref(), Some("node"));
    assert_eq!(dc.post_create, vec![vec!["sh", "-c", "touch /tmp/made"]]);
    assert_eq!(dc.post_start, vec![vec!["echo", "hi"]]);
    assert!(dc.warnings.is_empty(), "{:?}", dc.warnings);
}

#[test]
fn widening_keys_are_ignored_and_each_is_named() {
    let dc = parse(
        r#"{ "image": "debian:bookworm-slim", "privileged": true,
             "runArgs": ["--cap-add=NET_ADMIN", "--network=host", "--device=/dev/kvm"],
             "capAdd": ["SYS_ADMIN"], "mounts": ["source=/,target=/host,type=bind"],
             "init": false, "remoteUser": "root" }"#,
    )
    .unwrap();
    let all = dc.warnings.join("\n");
    for named in [
        "privileged",
        "--cap-add=NET_ADMIN",
        "--network=host",
        "--device=/dev/kvm",
        "SYS_ADMIN",
        "mounts",
        "init",
        "remoteUser: root",
    ] {
        assert!(all.contains(named), "{named} not named in:\n{all}");
    }
    assert_eq!(dc.remote_user, None);
}

#[test]
fn malformed_jsonc_is_one_line_with_file_line_and_column() {
    let err = parse("{\n  \"image\": \"x\",\n  \"build\": { \"dockerfile\" \"Dockerfile\" }\n}")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/srv/app/.devcontainer/devcontainer.json:3:"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn secrets_in_the_environment_and_files_without_an_image_are_refused() {
    let err = parse(
        r#"{ "image": "x", "containerEnv": { "KEY": "sk-ant-api03-abcdefghijklmnopqrstuv" } }"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("looks like an API key"), "{err}");
    assert_eq!(err.exit_code(), 2);
    let err = parse(r#"{ "dockerComposeFile": "compose.yml" }"#).unwrap_err();
    assert!(err.to_string().contains("give `image`"), "{err}");
}

#[test]
fn features_that_need_a_download_are_named_and_skipped() {
    let root = std::env::temp_dir().join(format!("cctui-dc-features-{}", std::process::id()));
    let local = root.join(".devcontainer/hello");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join("install.sh"), "#!/bin/sh\n").unwrap();
    let text = r#"{ "image": "x", "features": {
        "ghcr.io/devcontainers/features/node:1": {},
        "./hello": { "greeting": "hey", "withDots": true } } }"#;
    let dc =
        DevContainer::parse(text, &root.join(".devcontainer/devcontainer.json"), &root).unwrap();
    assert_eq!(dc.features.len(), 1);
    assert_eq!(dc.features[0].options["GREETING"], "hey");
    assert_eq!(dc.features[0].options["WITHDOTS"], "true");
    assert!(
        dc.warnings
            .iter()
            .any(|w| w.contains("ghcr.io/devcontainers/features/node:1") && w.contains("download")),
        "{:?}",
        dc.warnings
    );
    std::fs::remove_dir_all(&root).unwrap();
}
