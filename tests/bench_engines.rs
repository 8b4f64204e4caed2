//! The dashboard over several engines, measured (`cargo test --test bench_engines -- --ignored
//! --nocapture`): the first full frame with 3 engines of 100 sessions each against 1 engine
//! with 300, and the idle CPU at that size. It makes 500 small running containers (100 on each
//! of three engines, then 200 more on the first), and removes them, one at a time.

#[allow(dead_code)]
mod benchkit;
mod common;
mod engines_kit;

use std::time::{Duration, Instant};

use benchkit::*;
use cctui::backend::{Backend, ContainerSpec, DockerBackend, EngineAddress, NetworkAttach};
use common::pty::PtyApp;
use common::*;
use engines_kit::{engine1, engine2, OwnEngine};

async fn connect(host: &str) -> DockerBackend {
    let address = EngineAddress {
        host: host.to_string(),
        tls: None,
        ssh_key: None,
    };
    DockerBackend::connect_to(&address, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{host}: {e}"))
}

/// `count` running tty containers that list as sessions, named `{prefix}-{i}`, in 20
/// projects, six made at a time; their ids.
async fn make_sessions(b: &DockerBackend, prefix: &str, count: usize) -> Vec<String> {
    let image = tiny_image(b).await;
    let mut ids = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(6) {
        let mut tasks = Vec::new();
        for &i in chunk {
            let (b, image, prefix) = (b.clone(), image.clone(), prefix.to_string());
            tasks.push(tokio::spawn(async move {
                let name = format!("{prefix}-{i:03}");
                let mut s = ContainerSpec::hardened(format!("cctui-{name}"), image);
                s.labels = test_labels();
                s.labels.insert("cctui.test.owner".into(), prefix.clone());
                s.labels.insert("cctui.session".into(), name);
                s.labels.insert("cctui.role".into(), "agent".into());
                s.labels.insert(
                    "cctui.project".into(),
                    format!("/bench/project-{:02}", i % 20),
                );
                s.labels.insert("cctui.firewall".into(), "off".into());
                s.tty = true;
                s.open_stdin = true;
                s.network = NetworkAttach::None;
                let id = b.create_container(&s).await.unwrap();
                b.start_container(&id).await.unwrap();
                id
            }));
        }
        for t in tasks {
            ids.push(t.await.unwrap());
        }
    }
    ids
}

/// Removes these containers, one at a time (the 20.10 engine deadlocks on bulk removal).
async fn remove_all(b: &DockerBackend, ids: &[String]) {
    for id in ids {
        let _ = b.remove_container(id).await;
    }
}

/// A config folder: these engines, or (none) the one of DOCKER_HOST.
fn config(name: &str, engines: &[(&str, &str)]) -> TempFolder {
    let cfg = TempFolder::new(name, 0);
    let mut text = String::new();
    for (name, host) in engines {
        text.push_str(&format!(
            "[[engines]]\nname = {name:?}\nhost = {host:?}\n\n"
        ));
    }
    std::fs::write(cfg.path.join("config.toml"), text).unwrap();
    cfg
}

/// Spawn to the first screen whose header counts `count` running, `rounds` times.
fn first_frames(cfg: &std::path::Path, count: usize, rounds: usize) -> Vec<Duration> {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            let mut app = PtyApp::cctui(cfg, &[], 50, 200);
            let took = wait_fine(&app, start, "all listed", Duration::from_secs(60), |s| {
                cctui_running(s).is_some_and(|n| n >= count)
            });
            let _ = app.child.kill();
            let _ = app.child.wait();
            std::thread::sleep(Duration::from_secs(2));
            took
        })
        .collect()
}

/// cctui's CPU (percent of a core) over `secs` seconds.
async fn cpu_over(pid: u32, secs: u64) -> f64 {
    let t0 = cpu_ticks(&[pid]);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    (cpu_ticks(&[pid]) - t0) as f64 / secs as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_three_engines_against_one() {
    let prefix = unique("beng");
    let rounds = std::env::var("CCTUI_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let own = OwnEngine::start();
    let hosts = [engine1(), engine2(), own.host.clone()];
    let mut engines = Vec::new();
    for h in &hosts {
        engines.push(connect(h).await);
    }
    let made = Instant::now();
    let mut ids = Vec::new();
    for (i, b) in engines.iter().enumerate() {
        ids.push(make_sessions(b, &format!("{prefix}-{i}"), 100).await);
    }
    println!(
        "\n== several engines: 3 x 100 sessions (made in {:.1} s) ==",
        made.elapsed().as_secs_f64()
    );
    let three = config(
        &format!("{prefix}-three"),
        &[("one", &hosts[0]), ("two", &hosts[1]), ("three", &hosts[2])],
    );
    let times3 = first_frames(&three.path, 300, rounds);
    println!("first full frame, 3 engines x 100: {}", summary(&times3));

    // Idle at that size: the first minute (live figures of the selected session streamed),
    // then the next, after they paused for want of input.
    let mut app = PtyApp::cctui(&three.path, &[], 50, 200);
    wait_fine(
        &app,
        Instant::now(),
        "all listed",
        Duration::from_secs(60),
        |s| cctui_running(s).is_some_and(|n| n >= 300),
    );
    let pid = app.child.process_id().unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let live = cpu_over(pid, 55).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let paused = cpu_over(pid, 60).await;
    let screen = app.screen();
    println!(
        "idle CPU with 3 engines x 100: {live:.2}% of a core in the first minute (live \
         figures), {paused:.2}% in the next (paused: {})",
        screen.contains("live figures paused")
    );
    app.send(b"q");
    drop(app);

    // One engine with 300: 200 more on the first.
    ids.push(make_sessions(&engines[0], &format!("{prefix}-x"), 200).await);
    let one = config(&format!("{prefix}-one"), &[]);
    let times1 = first_frames(&one.path, 300, rounds);
    println!("first full frame, 1 engine x 300: {}", summary(&times1));
    let median = |t: &[Duration]| percentile(&sorted_ms(t), 50.0);
    println!(
        "3 engines / 1 engine: {:.2}x (goal: at most 1.2x)",
        median(&times3) / median(&times1)
    );

    for (b, ids) in engines.iter().zip(&ids).chain([(&engines[0], &ids[3])]) {
        remove_all(b, ids).await;
    }
}
