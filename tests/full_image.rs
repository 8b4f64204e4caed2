//! The full recipe, built once per run: Debian, Node.js, the tools, and the real Claude Code
//! from the npm registry (through the host's extra CAs, as a corporate user's would be).

mod common;

use cctui::backend::{Backend, ContainerSpec, ExecSpec};
use cctui::image::{ensure_images, AgentIds, BuildOptions, BuildProgress, Recipe};
use common::*;

#[tokio::test]
async fn the_full_recipe_builds_real_claude_code() {
    let b = engine().await;
    let mut config = test_config();
    config.image.extra_ca_certs = extra_cas();
    // No override folder: the recipe embedded in the binary.
    let base = b
        .inspect_image(cctui::image::BASE_FROM)
        .await
        .unwrap()
        .expect("the base image");
    let recipe = Recipe::load(&config, std::path::Path::new("/nonexistent"))
        .unwrap()
        .on_base(&base.id);
    let chain = recipe
        .agent_chain(
            AgentIds {
                uid: 1000,
                gid: 1000,
            },
            &[],
        )
        .unwrap();
    let mut steps = 0;
    let tag = ensure_images(&b, &chain, BuildOptions::default(), |p| {
        if let BuildProgress::Step {
            index, total, text, ..
        } = &p
        {
            steps += 1;
            eprintln!("[full image] {index}/{total} {text}");
        }
    })
    .await
    .expect("the full recipe builds");
    let info = b.inspect_image(&tag).await.unwrap().unwrap();
    assert!(
        info.env
            .iter()
            .any(|e| e == "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"),
        "{:?}",
        info.env
    );

    let name = unique("full");
    let _c = Cleanup::new(&name);
    let mut spec = ContainerSpec::hardened(&name, &tag);
    spec.labels = test_labels();
    spec.labels.insert("cctui.test.owner".into(), name.clone());
    spec.entrypoint = Some(vec!["sleep".into()]);
    spec.cmd = vec!["600".into()];
    spec.network = cctui::backend::NetworkAttach::None;
    let id = b.create_container(&spec).await.unwrap();
    b.start_container(&id).await.unwrap();
    let out = b
        .exec(
            &id,
            &ExecSpec {
                cmd: vec!["claude".into(), "--version".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0, "{}", out.stderr_text());
    assert!(
        out.stdout_text().contains("Claude Code"),
        "{}",
        out.stdout_text()
    );
    eprintln!(
        "claude --version: {} ({steps} build steps run)",
        out.stdout_text().trim()
    );
    let tools = b
        .exec(&id, &ExecSpec { cmd: vec!["sh".into(), "-c".into(), "git --version && rg --version && jq --version && gh --version && node --version && id -un".into()], ..Default::default() })
        .await
        .unwrap();
    assert_eq!(
        tools.exit_code,
        0,
        "{}{}",
        tools.stdout_text(),
        tools.stderr_text()
    );
    assert!(
        tools.stdout_text().trim().ends_with("claude"),
        "runs as the agent user by default"
    );
}
