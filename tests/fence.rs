//! Fenced builds on the real engine: a build of a repository's content reaches only the build
//! allowlist, through the gate, over HTTP and HTTPS; a blocked host, raw DNS, Docker's own
//! resolver, direct addresses, IPv6 and a change of uid do not get out. Each probe's positive
//! control is the same build on the test hosts' own network, unfenced.

mod common;

use std::collections::BTreeMap;

use cctui::backend::{Backend, BuildEvent, BuildSpec, DockerBackend};
use cctui::image::{self, BuildOptions, BuildProgress, ImagePlan};
use common::*;
use futures_util::StreamExt;

/// The test world: one host serving allowed.test and blocked.test (HTTP and HTTPS) and a
/// listener that logs every TCP connection and UDP datagram (the "anywhere" a build must not
/// reach by address).
struct World {
    net: String,
    names: String,
    ca: String,
    listener: String,
    listener_ip: String,
}

async fn world(b: &DockerBackend, prefix: &str) -> World {
    let net = test_network(b, prefix).await;
    let (names, ca) = start_tls_server(
        b,
        prefix,
        &net,
        &["allowed.test", "blocked.test"],
        &["allowed.test", "blocked.test"],
        "python3 /usr/local/bin/names.py /tmp/tls",
    )
    .await;
    let listener = start_server(
        b,
        prefix,
        &net,
        "listener.test",
        &["python3", "/usr/local/bin/listen.py", "80", "443"],
    )
    .await;
    let listener_ip = ip_on(&net, &listener);
    World {
        net,
        names,
        ca,
        listener,
        listener_ip,
    }
}

/// Ops whose build allowlist is allowed.test only, and whose gate looks names up on the world.
async fn fence_ops(dir: &std::path::Path, w: &World) -> cctui::session::ops::Ops<DockerBackend> {
    let mut ops = small_ops(dir).await;
    ops.config.image.build_presets = Vec::new();
    ops.config.image.build_allow = vec!["allowed.test:80,443".into()];
    ops.config.image.build_networks = vec![w.net.clone()];
    ops
}

/// A plan for `run` on the holder image (it has curl, dig, nc, setpriv), with the test CA.
fn plan(ops_recipe: &image::Recipe, prefix: &str, run: &str, ca: &str) -> ImagePlan {
    let from = ops_recipe.net_image().tag;
    ImagePlan {
        tag: format!("cctui-test-fence-{prefix}:probe"),
        layer: "project".into(),
        dockerfile: format!("FROM {from}\nCOPY ca.pem /ca.pem\nRUN {run}\n"),
        build_args: BTreeMap::new(),
        context: BTreeMap::from([("ca.pem".to_string(), ca.as_bytes().to_vec())]),
        hash: prefix.to_string(),
        fence: Some(ops_recipe.build_fence()),
    }
}

/// Builds `plan` through cctui (fenced), returning the RUN step's output or the error.
async fn fenced(b: &DockerBackend, plan: &ImagePlan) -> (Result<String, String>, String) {
    let mut out = String::new();
    let options = BuildOptions {
        no_cache: true,
        ..Default::default()
    };
    let r = image::ensure_images(b, std::slice::from_ref(plan), options, |p| {
        if let BuildProgress::Output { line, .. } = p {
            out.push_str(&line);
            out.push('\n');
        }
    })
    .await;
    let _ = b.remove_image(&plan.tag).await;
    (r.map_err(|e| e.to_string()), out)
}

/// The positive control: the same build with the engine's network as an unfenced build has,
/// here the world network (where the test hosts are), so without any fence.
async fn unfenced(b: &DockerBackend, plan: &ImagePlan, net: &str) -> String {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("Dockerfile", plan.dockerfile.as_bytes()),
        ("ca.pem", plan.context["ca.pem"].as_slice()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, data).unwrap();
    }
    let spec = BuildSpec {
        context_tar: tar.into_inner().unwrap(),
        dockerfile: "Dockerfile".into(),
        tag: format!("{}-control", plan.tag),
        build_args: BTreeMap::new(),
        labels: test_labels(),
        no_cache: true,
        pull: false,
        network_mode: Some(net.to_string()),
    };
    let mut stream = b.build_image(spec);
    let mut out = String::new();
    while let Some(e) = stream.next().await {
        match e {
            Ok(BuildEvent::Output(l)) => {
                out.push_str(&l);
                out.push('\n');
            }
            Ok(_) => {}
            Err(e) => panic!("the control build failed: {e}\n{out}"),
        }
    }
    let _ = b.remove_image(&format!("{}-control", plan.tag)).await;
    out
}

fn logs(id: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["logs", id])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test]
async fn a_fenced_build_reaches_allowed_names_over_http_and_https() {
    let prefix = unique("fenceok");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let w = world(&b, &prefix).await;
    let dir = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let ops = fence_ops(&dir.path, &w).await;
    let recipe = ops.recipe().await.unwrap();
    let run = "set -e; curl -sS -m10 http://allowed.test/apt; \
               curl -sS -m10 --cacert /ca.pem https://allowed.test/npm";
    let (r, out) = fenced(&b, &plan(&recipe, &prefix, run, &w.ca)).await;
    r.unwrap_or_else(|e| panic!("the fenced build failed: {e}"));
    assert!(out.contains("served http sni=- host=allowed.test"), "{out}");
    assert!(
        out.contains("served https sni=allowed.test host=allowed.test"),
        "{out}"
    );
    let served = logs(&w.names);
    assert!(
        served.contains("path=/apt") && served.contains("path=/npm"),
        "{served}"
    );
    // Nothing of the fence is left.
    let mine = format!("name=cctui-fence-{prefix}-");
    let left = docker(&["ps", "-a", "-q", "--filter", &mine]);
    let left_nets = docker(&["network", "ls", "-q", "--filter", &mine]);
    assert_eq!(
        format!("{left}{left_nets}").trim(),
        "",
        "the fence was left behind"
    );
}

#[tokio::test]
async fn a_fenced_build_cannot_reach_a_blocked_host_and_the_error_names_it() {
    let prefix = unique("fenceblk");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let w = world(&b, &prefix).await;
    let dir = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let ops = fence_ops(&dir.path, &w).await;
    let recipe = ops.recipe().await.unwrap();
    let run = "curl -sS -m10 http://blocked.test/exfil";
    let p = plan(&recipe, &prefix, run, &w.ca);
    let (r, _) = fenced(&b, &p).await;
    let err = r.expect_err("the fenced build reached blocked.test");
    assert!(
        err.contains("the build's network fence refused: blocked.test"),
        "{err}"
    );
    // Allowed name, blocked Host: refused by the gate.
    let run = "curl -sS -m10 -f -H 'Host: blocked.test' http://allowed.test/fronted";
    let (r, _) = fenced(&b, &plan(&recipe, &prefix, run, &w.ca)).await;
    let err = r.expect_err("a Host of blocked.test got through");
    assert!(err.contains("refused: blocked.test"), "{err}");
    let served = logs(&w.names);
    assert!(
        !served.contains("/exfil") && !served.contains("/fronted"),
        "{served}"
    );
    // The control: the same step, unfenced, reaches the blocked host.
    let control = unfenced(&b, &p, &w.net).await;
    assert!(control.contains("host=blocked.test"), "control: {control}");
    assert!(logs(&w.names).contains("path=/exfil"));
}

/// Each probe prints `NAME ok` when it got out.
const TRICKS: &str = "\
probe() { n=$1; shift; if \"$@\" >/dev/null 2>&1; then echo \"$n ok\"; else echo \"$n no\"; fi; }; \
probe direct-ip nc -z -w3 LISTENER 80; \
probe direct-ip-tls nc -z -w3 LISTENER 443; \
dig +tries=1 +time=2 -p 5353 @LISTENER leak.test >/dev/null 2>&1; \
probe docker-dns sh -c 'dig +tries=1 +time=2 @127.0.0.11 -x $(getent ahostsv4 allowed.test | head -1 | cut -d\\  -f1) | grep -q status:'; \
probe setuid setpriv --reuid 64997 --regid 64997 --clear-groups nc -z -w3 LISTENER 80; \
probe setuid-root-other setpriv --reuid 12345 --regid 12345 --clear-groups nc -z -w3 LISTENER 443; \
probe ipv6 sh -c 'grep -q . /proc/net/if_inet6 && nc -6 -z -w3 ::1 53'; \
probe sni-front sh -c 'curl -sS -m5 -k --connect-to blocked.test:443:allowed.test:443 https://blocked.test/ | grep -q served'; \
true";

#[tokio::test]
async fn dns_direct_addresses_ipv6_and_uid_tricks_do_not_get_out() {
    let prefix = unique("fencetrk");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let w = world(&b, &prefix).await;
    let dir = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let ops = fence_ops(&dir.path, &w).await;
    let recipe = ops.recipe().await.unwrap();
    let run = TRICKS.replace("LISTENER", &w.listener_ip);
    let p = plan(&recipe, &prefix, &run, &w.ca);
    let (r, out) = fenced(&b, &p).await;
    r.unwrap_or_else(|e| panic!("the probe build failed: {e}"));
    // Fenced first: the listener must have heard nothing by now.
    let heard = logs(&w.listener);
    assert!(
        !heard.contains(" from "),
        "the listener heard the fenced build:\n{heard}"
    );
    let control = unfenced(&b, &p, &w.net).await;
    for probe in [
        "direct-ip",
        "direct-ip-tls",
        "docker-dns",
        "setuid",
        "setuid-root-other",
        "sni-front",
    ] {
        assert!(
            control.contains(&format!("{probe} ok")),
            "control: {probe} did not get out unfenced:\n{control}"
        );
        assert!(
            out.contains(&format!("{probe} no")),
            "{probe} got out of the fence:\n{out}"
        );
    }
    // Raw DNS to another resolver: the listener logs each datagram (its UDP 5353).
    assert!(
        logs(&w.listener).contains("udp 5353 from"),
        "control: raw DNS did not get out unfenced"
    );
    // IPv6: the engine gives these namespaces none (so no control); the fence drops it too.
    assert!(out.contains("ipv6 no"), "{out}");
}

#[tokio::test]
async fn a_fence_that_cannot_be_set_up_stops_the_build_and_leaves_nothing() {
    let prefix = unique("fenceclosed");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let dir = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let mut ops = small_ops(&dir.path).await;
    // The gate cannot join a network that does not exist, so the fence is not up.
    ops.config.image.build_networks = vec![format!("{prefix}-missing")];
    let recipe = ops.recipe().await.unwrap();
    let (r, out) = fenced(&b, &plan(&recipe, &prefix, "echo step-ran", "none")).await;
    let err = r.expect_err("the build ran without its fence");
    assert!(
        err.contains("could not set up the network fence for the build, so it did not run"),
        "{err}"
    );
    assert!(!out.contains("step-ran"), "{out}");
    let mine = format!("name=cctui-fence-{prefix}-");
    let left = docker(&["ps", "-a", "-q", "--filter", &mine]);
    let left_nets = docker(&["network", "ls", "-q", "--filter", &mine]);
    assert_eq!(
        format!("{left}{left_nets}").trim(),
        "",
        "the fence was left behind"
    );
}

/// End to end: `cctui new` on a project whose accepted devcontainer builds a Dockerfile that
/// reaches for a blocked host fails, naming it. (The control, the same step reaching the
/// host unfenced, is in `a_fenced_build_cannot_reach_a_blocked_host_and_the_error_names_it`.)
#[tokio::test]
async fn an_accepted_devcontainer_that_fetches_from_a_blocked_host_does_not_build() {
    let name = unique("fencedc");
    let _c = Cleanup::new(&name);
    let b = engine().await;
    let w = world(&b, &name).await;
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let extra = format!(
        "build_presets = []\nbuild_allow = [\"allowed.test\"]\nbuild_networks = [{:?}]\n\
         {FIREWALL_OFF}[session]\nnetworks = [{:?}]\n",
        w.net, w.net
    );
    write_cli_config(&cfg.path, &extra);
    label_config(&cfg.path);
    let project = TempFolder::new(&name, 1000);
    let dc = project.path.join(".devcontainer");
    std::fs::create_dir_all(&dc).unwrap();
    std::fs::write(
        dc.join("devcontainer.json"),
        r#"{ "build": { "dockerfile": "Dockerfile" } }"#,
    )
    .unwrap();
    std::fs::write(
        dc.join("Dockerfile"),
        format!("FROM debian:bookworm-slim\nRUN getent hosts blocked.test # {name}\n"),
    )
    .unwrap();
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    let p = project.path.to_str().unwrap();
    let (code, _, err) = cctui(&cfg.path, &["project", "accept", p]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cctui(&cfg.path, &["new", p, "--name", &name]);
    assert_ne!(code, 0, "the session was made: {err}");
    assert!(
        err.contains("the build's network fence refused: blocked.test"),
        "{err}"
    );
    assert!(
        err.contains("getent hosts blocked.test"),
        "the step is named: {err}"
    );
}
