//! Benchmarks that print figures; they assert nothing about speed. Run them with
//!
//!     tests/run.sh -- --ignored --nocapture --test-threads 1 bench_
//!
//! or, with an engine already up, `cargo test --release --test bench -- --ignored --nocapture --test-threads 1`.

mod benchkit;
mod common;

use std::time::{Duration, Instant};

use benchkit::*;
use cctui::backend::{Backend, ContainerSpec, DockerBackend, ExecSpec, NetworkAttach};
use cctui::session::ops::{Ops, Progress};
use cctui::session::plan_session;
use common::pty::PtyApp;
use common::*;

const UID: u32 = 1234;

async fn exec_sh(b: &DockerBackend, id: &str, user: &str, script: &str) -> String {
    let out = b
        .exec(
            id,
            &ExecSpec {
                cmd: vec!["bash".into(), "-c".into(), script.into()],
                user: Some(user.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    out.stdout_text()
}

/// Average milliseconds per TCP connect to `host`:443, measured inside the container. Every
/// one of the `n` connects must succeed: a timed rejection is not a connect.
async fn connect_ms(b: &DockerBackend, id: &str, user: &str, host: &str, n: u32) -> f64 {
    let script = format!(
        "ok=0; s=$(date +%s%N); for i in $(seq {n}); do nc -z -w 2 {host} 443 && ok=$((ok + 1)); done; e=$(date +%s%N); echo \"$ok $(( (e - s) / {n} ))\""
    );
    let out = exec_sh(b, id, user, &script).await;
    let (ok, ns) = out
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("the connect loop to {host} printed {out:?}"));
    assert_eq!(
        ok,
        n.to_string(),
        "only {ok} of {n} connects to {host}:443 succeeded"
    );
    ns.parse::<f64>()
        .unwrap_or_else(|e| panic!("the connect loop to {host} printed {out:?}: {e}"))
        / 1e6
}

#[tokio::test]
#[ignore]
async fn bench_firewall() {
    let prefix = unique("bfw");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let net = test_network(&b, &prefix).await;
    let cmd = ["python3", "/usr/local/bin/listen.py", "443"];
    let srv_id = start_server(&b, &prefix, &net, "allowed.test", &cmd).await;
    let srv_ip = docker(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
        &srv_id,
    ])
    .trim()
    .to_string();

    let mut results = Vec::new();
    for (label, on) in [("firewall off", false), ("firewall on", true)] {
        let cfg = TempFolder::new(&format!("{prefix}-{on}-cfg"), 0);
        let project = TempFolder::new(&format!("{prefix}-{on}"), UID);
        let mut ops: Ops<DockerBackend> = small_ops(&cfg.path).await;
        ops.config.firewall.presets = vec![];
        ops.config.firewall.allow = vec!["allowed.test".into()];
        ops.config.firewall.mode = if on {
            cctui::config::FirewallMode::On
        } else {
            cctui::config::FirewallMode::Off
        };
        let name = format!("{prefix}-{on}");
        let plan = plan_session(
            &ops.config,
            &project.path,
            Some(&name),
            &[],
            std::slice::from_ref(&net),
        )
        .unwrap();
        let mut vols = Cleanup::new(&format!("{prefix}-v{on}"));
        vols.volumes = vec![plan.project.config_volume(), plan.project.history_volume()];
        // Warm the images so that only the start is timed.
        ops.ensure_images(&plan, Default::default(), &mut |_| {})
            .await
            .unwrap();
        let start = Instant::now();
        let mut verified_at = None;
        ops.create(&plan, |p| {
            if let Progress::Note(n) = p {
                if n.starts_with("firewall verified") {
                    verified_at = Some(start.elapsed());
                }
            }
        })
        .await
        .unwrap();
        let total = start.elapsed();
        let id = ops.running_agent(&name).await.unwrap();
        let user = format!("{UID}:{UID}");
        // The name first: with the firewall on, its address is allowed only once the filter
        // has handed it out, so a by-address loop before it would time rejections.
        let resolved = exec_sh(&b, &id, &user, "getent hosts allowed.test").await;
        assert_eq!(
            resolved.split_whitespace().next(),
            Some(srv_ip.as_str()),
            "{label}: allowed.test resolved to {resolved:?}"
        );
        connect_ms(&b, &id, &user, &srv_ip, 20).await; // warm up
        let by_ip = connect_ms(&b, &id, &user, &srv_ip, 200).await;
        let by_name = connect_ms(&b, &id, &user, "allowed.test", 200).await;
        results.push((label, total, verified_at, by_ip, by_name));
        ops.remove(&name, false).await.unwrap();
    }
    println!("\n== firewall benchmark (small recipe, warm images) ==");
    for (label, total, verified, ip, name) in &results {
        println!(
            "{label:<13} new -> running: {:>6.0} ms   new -> verified firewall: {}   connect by IP: {ip:.2} ms   connect by name (resolve + connect): {name:.2} ms",
            total.as_secs_f64() * 1e3,
            verified.map(|v| format!("{:.0} ms", v.as_secs_f64() * 1e3)).unwrap_or_else(|| "-".into()),
        );
    }
    let extra = results[1].1.as_secs_f64() - results[0].1.as_secs_f64();
    println!(
        "extra start time spent on the firewall: {:.0} ms",
        extra * 1e3
    );
}

/// Makes `count` running containers that the dashboard lists as sessions: cheap labelled
/// tty containers, in 20 projects, labelled with the test run so that the sweeps remove
/// them. The first one holds a million log lines.
async fn make_sessions(b: &DockerBackend, prefix: &str, count: usize) {
    let image = tiny_image(b).await;
    let mut tasks = Vec::new();
    for i in 0..count {
        let (b, image, prefix) = (b.clone(), image.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let name = format!("{prefix}-{i:03}");
            let mut s = ContainerSpec::hardened(format!("cctui-{name}"), image);
            s.labels = test_labels();
            s.labels.insert("cctui.test.owner".into(), prefix.clone());
            s.labels.insert("cctui.session".into(), name.clone());
            s.labels.insert("cctui.role".into(), "agent".into());
            s.labels.insert(
                "cctui.project".into(),
                format!("/bench/project-{:02}", i % 20),
            );
            s.labels.insert("cctui.firewall".into(), "off".into());
            s.tty = true;
            s.open_stdin = true;
            s.network = NetworkAttach::None;
            if i == 0 {
                s.cmd = vec![
                    "sh".into(),
                    "-c".into(),
                    "seq 1 1000000; exec sleep infinity".into(),
                ];
            }
            let id = b.create_container(&s).await.unwrap();
            b.start_container(&id).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The programs whose first frame is timed, each in a 50x200 PTY.
enum Launch<'a> {
    /// `printf` of a frame's worth of text: what the PTY, the process start and the
    /// sampling cost by themselves.
    Floor,
    Cctui(&'a std::path::Path),
    Oxker(&'a std::path::Path, &'a std::path::Path),
}

impl Launch<'_> {
    fn label(&self) -> &'static str {
        match self {
            Launch::Floor => "PTY floor (printf)",
            Launch::Cctui(_) => "cctui",
            Launch::Oxker(..) => "oxker 0.13.4",
        }
    }

    /// Time from the spawn to the first screen that lists all `count` containers: cctui's
    /// header counts them running, oxker's list title counts them.
    fn first_frame(&self, count: usize) -> Duration {
        let host = std::env::var("DOCKER_HOST").unwrap_or_default();
        let start = Instant::now();
        let mut app = match self {
            Launch::Floor => PtyApp::spawn(
                "printf",
                &[&format!("{count} sessions, {count} running\\n")],
                &[],
                50,
                200,
            ),
            Launch::Cctui(cfg) => PtyApp::cctui(cfg, &[], 50, 200),
            Launch::Oxker(oxker, home) => PtyApp::spawn(
                oxker.to_str().unwrap(),
                &["--host", &host],
                &[("HOME", home.display().to_string())],
                50,
                200,
            ),
        };
        let listed = |s: &str| match self {
            Launch::Oxker(..) => s
                .split("Containers 1/")
                .nth(1)
                .and_then(|a| a.split_whitespace().next()?.parse::<usize>().ok())
                .is_some_and(|n| n >= count),
            _ => cctui_running(s).is_some_and(|n| n >= count),
        };
        let took = wait_fine(
            &app,
            start,
            "a frame listing all",
            Duration::from_secs(60),
            listed,
        );
        let _ = app.child.kill();
        let _ = app.child.wait();
        took
    }
}

/// cctui, oxker and the floor, launched in turns (the order alternating), `rounds` each.
async fn first_frames(cfg: &std::path::Path, home: &std::path::Path, count: usize, rounds: usize) {
    let oxker = oxker();
    let launches = [
        Launch::Floor,
        Launch::Cctui(cfg),
        Launch::Oxker(&oxker, home),
    ];
    let mut times = vec![Vec::new(); launches.len()];
    for round in 0..rounds {
        let order: &[usize] = if round % 2 == 0 {
            &[0, 1, 2]
        } else {
            &[0, 2, 1]
        };
        for &i in order {
            times[i].push(launches[i].first_frame(count));
            settle().await;
        }
    }
    println!("launch -> first frame listing all {count}, sampled every 1 ms:");
    for (l, t) in launches.iter().zip(&times) {
        println!("  {:<20} {}  {:.0?}", l.label(), summary(t), sorted_ms(t));
    }
}

/// Waits (2 to 10 s) for the engine to settle from what the last program asked of it
/// (oxker's stats streams): until it used under 10% of a core over half a second.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let engine = engine_pids();
    for _ in 0..16 {
        let t0 = cpu_ticks(&engine);
        tokio::time::sleep(Duration::from_millis(500)).await;
        if cpu_ticks(&engine) - t0 < 5 {
            return;
        }
    }
}

/// Over 60 s after a settling `warm`: the CPU of each of `pids` and of the engine (percent
/// of a core), and how many events about sessions the engine sent meanwhile (other tests'
/// sessions, on a shared engine, make an "idle" dashboard list again).
async fn engine_idle_with(pids: &[u32], warm: Duration) -> (Vec<f64>, f64, usize) {
    tokio::time::sleep(warm).await;
    let engine = engine_pids();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let own0: Vec<u64> = pids.iter().map(|p| cpu_ticks(&[*p])).collect();
    let e0 = cpu_ticks(&engine);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let own1: Vec<u64> = pids.iter().map(|p| cpu_ticks(&[*p])).collect();
    let e1 = cpu_ticks(&engine);
    let events = docker(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &(since + 60).to_string(),
        "--filter",
        "label=cctui.session",
        "--format",
        "{{.Action}}",
    ]);
    let pct = |a: u64, b: u64| (b - a) as f64 / 100.0 / 60.0 * 100.0;
    let own = own0.iter().zip(&own1).map(|(a, b)| pct(*a, *b)).collect();
    (own, pct(e0, e1), events.lines().count())
}

/// Idle with the queue running: the dashboard's queue view open (`w`: what it draws, and
/// the firewalls it reads while open) and `cctui watch` beside it (a second runtime that
/// follows every session's terminal for the queue). Leaves the queue view closed again.
async fn idle_with_the_queue(app: &mut PtyApp, cfg: &std::path::Path, engine_before: f64) {
    let mut watch = cctui_cmd(cfg, &["watch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    app.send(b"w");
    app.wait_until("the queue view", Duration::from_secs(10), |s| {
        s.contains("Needs you")
    });
    let pid = app.child.process_id().unwrap();
    let (cpu, engine_with, events) =
        engine_idle_with(&[pid, watch.id()], Duration::from_secs(5)).await;
    println!(
        "idle CPU over 60 s with the queue running (its view open, `cctui watch` beside): \
         cctui {:.2}% of a core, cctui watch {:.2}%; dockerd+containerd+shims {engine_with:.2}% \
         vs {engine_before:.2}% without (session events meanwhile: {events})",
        cpu[0], cpu[1]
    );
    let _ = watch.kill();
    let _ = watch.wait();
    app.send(b"w");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_dashboard_200_sessions() {
    let prefix = unique("bdash");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let env_num = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let count = env_num("CCTUI_BENCH_SESSIONS", 200);
    let rounds = env_num("CCTUI_BENCH_ROUNDS", 5);
    let made = Instant::now();
    make_sessions(&b, &prefix, count).await;
    println!(
        "\n== dashboard benchmark: {count} sessions (made in {:.1} s) ==",
        made.elapsed().as_secs_f64()
    );
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let home = TempFolder::new(&format!("{prefix}-oxker-home"), 0);
    let (_, engine_before, events_before) = engine_idle_with(&[], Duration::from_secs(3)).await;

    first_frames(&cfg.path, &home.path, count, rounds).await;

    let started = Instant::now();
    let mut app = PtyApp::cctui(&cfg.path, &[], 50, 200);
    wait_fine(
        &app,
        started,
        "all sessions listed",
        Duration::from_secs(60),
        |s| cctui_running(s).is_some_and(|n| n >= count),
    );
    let pid = app.child.process_id().unwrap();
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(started.elapsed())).await;
    println!("RSS after 10 s: {:.1} MiB", rss_kib(pid) as f64 / 1024.0);

    // Idle: terminal tab, nothing happening.
    let (cpu, engine_with, events) = engine_idle_with(&[pid], Duration::from_secs(5)).await;
    let cctui_cpu = cpu[0];
    println!(
        "idle CPU over 60 s: cctui {cctui_cpu:.2}% of a core; dockerd+containerd+shims \
         {engine_with:.2}% with cctui vs {engine_before:.2}% without (session events from \
         other tests meanwhile: {events} with, {events_before} without)"
    );

    idle_with_the_queue(&mut app, &cfg.path, engine_before).await;

    // The session with a million log lines, in the logs tab.
    app.send(b"g");
    app.send(b"\t");
    tokio::time::sleep(Duration::from_secs(8)).await;
    println!(
        "RSS with the million-line session's logs open: {:.1} MiB",
        rss_kib(pid) as f64 / 1024.0
    );
    app.send(b"\x1b[Z");

    // External stop to the row changing (the header's running count).
    let victim = format!("cctui-{prefix}-{:03}", count - 1);
    let running = cctui_running(&app.screen()).unwrap();
    let t = Instant::now();
    docker(&["kill", &victim]);
    let killed = t.elapsed();
    let shown = wait_fine(&app, t, "the stop to show", Duration::from_secs(10), |s| {
        cctui_running(s).is_some_and(|n| n < running)
    });
    println!(
        "external docker kill -> row changed: {:.0} ms (kill took {:.0} ms)",
        shown.as_secs_f64() * 1e3,
        killed.as_secs_f64() * 1e3
    );
    drop(app);
    docker(&["start", &victim]);

    // oxker's cost to the engine, idle, for comparison.
    let oxker = oxker();
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let ox = PtyApp::spawn(
        oxker.to_str().unwrap(),
        &["--host", &host],
        &[("HOME", home.path.display().to_string())],
        50,
        200,
    );
    let ox_pid: Vec<u32> = ox.child.process_id().into_iter().collect();
    let (ox_cpu, engine_ox, events_ox) = engine_idle_with(&ox_pid, Duration::from_secs(5)).await;
    let ox_cpu = ox_cpu.first().copied().unwrap_or_default();
    println!(
        "idle CPU over 60 s with oxker instead: oxker {ox_cpu:.2}% of a core; the engine \
         {engine_ox:.2}% (session events meanwhile: {events_ox})"
    );
    drop(ox);
    let _vols = ls_timings(&b, &cfg.path, &prefix, count).await;
    sweep(&b, Some(&prefix)).await;
}

/// `cctui ls` against `cctui ls --json` (which reads usage) over the benchmark's sessions,
/// each of their 20 projects given a transcript: while the agents run (every project read
/// by a helper container), then stopped (read once and kept, then from the kept tallies).
/// The volumes go with the returned guard.
async fn ls_timings(
    b: &DockerBackend,
    cfg: &std::path::Path,
    prefix: &str,
    count: usize,
) -> Cleanup {
    let image = tiny_image(b).await;
    let mut vols = Cleanup::new(&format!("{prefix}-vols"));
    let line = r#"{"type":"assistant","message":{"id":"m","model":"claude-opus-5-5","usage":{"input_tokens":1000,"output_tokens":100}}}"#;
    for i in 0..count.min(20) {
        let project =
            cctui::session::Project::from_canonical(format!("/bench/project-{i:02}").into());
        let v = project.config_volume();
        docker(&["volume", "create", &v]);
        vols.volumes.push(v.clone());
        docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-e",
            &format!("T={line}"),
            "-v",
            &format!("{v}:/v"),
            &image,
            "sh",
            "-c",
            "mkdir -p /v/projects/p && echo \"$T\" > /v/projects/p/t.jsonl",
        ]);
    }
    let time = |args: &[&str]| -> (Duration, String) {
        let t = Instant::now();
        let out = cctui_cmd(cfg, args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            t.elapsed(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let runs = |args: &[&str]| -> (Vec<Duration>, String) {
        let all: Vec<(Duration, String)> = (0..3).map(|_| time(args)).collect();
        let out = all[0].1.clone();
        (all.into_iter().map(|(d, _)| d).collect(), out)
    };
    let (plain, _) = runs(&["ls"]);
    let (json, out) = runs(&["ls", "--json"]);
    assert!(
        out.contains("\"input_tokens\": 1000"),
        "no usage read: {out:.2000}"
    );
    println!(
        "{count} sessions in 20 projects, running: cctui ls {:.0?}; cctui ls --json (a helper \
         container per project) {:.0?}",
        sorted_ms(&plain),
        sorted_ms(&json)
    );
    for i in 0..count {
        docker(&["kill", &format!("cctui-{prefix}-{i:03}")]);
    }
    let (first, _) = time(&["ls", "--json"]);
    let (kept, out) = runs(&["ls", "--json"]);
    assert!(
        out.contains("\"input_tokens\": 1000"),
        "no usage kept: {out:.2000}"
    );
    println!(
        "stopped: cctui ls --json {:.0} ms reading and keeping every project, then {:.0?} \
         from the kept tallies",
        first.as_secs_f64() * 1e3,
        sorted_ms(&kept)
    );
    vols
}

/// Keystrokes timed per program in the echo benchmark.
const ECHO_KEYS: usize = 50;

/// The time from each of ECHO_KEYS keystrokes to its echo on `app`'s screen. Each is a rare
/// letter typed at a settled prompt; Ctrl-U then clears the line, and its echo is awaited.
fn echo_times(app: &mut PtyApp) -> Vec<Duration> {
    let letters = ['Q', 'X', 'Z', 'J', 'K', 'V', 'W', 'Y'];
    let mut times = Vec::new();
    for i in 0..ECHO_KEYS {
        let c = letters[i % letters.len()];
        let before = app.screen().matches(c).count();
        let t = Instant::now();
        app.send(c.to_string().as_bytes());
        times.push(wait_fine(&*app, t, "echo", Duration::from_secs(5), |s| {
            s.matches(c).count() > before
        }));
        app.send(b"\x15"); // Ctrl-U clears the line
        wait_fine(
            &*app,
            Instant::now(),
            "the line cleared",
            Duration::from_secs(5),
            |s| s.matches(c).count() == before,
        );
        std::thread::sleep(Duration::from_millis(20 + (i as u64 * 7) % 20));
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_terminal() {
    let name = unique("bterm");
    let _c = Cleanup::new(&name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(&name, UID);
    let p = cctui::session::Project::at(&project.path).unwrap();
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = vec![p.config_volume(), p.history_volume()];
    write_cli_config(&cfg.path, FIREWALL_OFF);
    let (code, out, err) = cctui(
        &cfg.path,
        &["new", project.path.to_str().unwrap(), "--name", &name],
    );
    assert_eq!(code, 0, "{out}{err}");
    let b = engine().await;
    let id = format!("cctui-{name}");
    let user = format!("{UID}:{UID}");
    let mb = 50;
    exec_sh(
        &b,
        &id,
        &user,
        &format!(
            "head -c {}M /dev/urandom | base64 -w 100 | head -c {}M > /tmp/big",
            mb, mb
        ),
    )
    .await;
    println!("\n== terminal benchmark ==");

    let mut attached = PtyApp::cctui(&cfg.path, &["attach", &name], 40, 120);
    attached.wait_for("fake claude", Duration::from_secs(20));
    let mut echoes = vec![("cctui attach (full screen)", echo_times(&mut attached))];
    let env = vec![
        (
            "DOCKER_HOST",
            std::env::var("DOCKER_HOST").unwrap_or_default(),
        ),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
    ];
    let mut direct = PtyApp::spawn(
        "docker",
        &["exec", "-it", "-u", &user, &id, "bash", "--norc"],
        &env,
        40,
        120,
    );
    direct.wait_for("bash-", Duration::from_secs(10));
    echoes.push(("docker exec -it, bash", echo_times(&mut direct)));
    drop(direct);
    let mut local = PtyApp::spawn("bash", &["--norc"], &env, 40, 120);
    local.wait_for("bash-", Duration::from_secs(10));
    echoes.push(("bash on the host (PTY floor)", echo_times(&mut local)));
    drop(local);

    // Throughput: 50 MB to the session's tty while a viewer drains it.
    let cat = |b: DockerBackend, id: String, user: String| async move {
        let t = Instant::now();
        exec_sh(&b, &id, &user, "cat /tmp/big > /proc/1/fd/1").await;
        mb as f64 / t.elapsed().as_secs_f64()
    };
    let full = cat(b.clone(), id.clone(), user.clone()).await;
    println!("throughput, cctui attach (full screen): {full:.1} MB/s");
    attached.send(b"\x1c");
    attached.wait_exit(Duration::from_secs(5));

    let mut dash = PtyApp::cctui(&cfg.path, &[], 40, 160);
    dash.wait_for(&name, Duration::from_secs(20));
    // Select our session and give the pane focus-free view (terminal tab).
    dash.send(b"g");
    for _ in 0..100 {
        if dash
            .screen()
            .lines()
            .any(|l| l.contains('▸') && l.contains(&name))
        {
            break;
        }
        dash.send(b"j");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Keys into the pane (Enter gives it the keyboard, the detach key takes it back).
    dash.send(b"\r");
    std::thread::sleep(Duration::from_millis(500));
    echoes.insert(0, ("cctui dashboard pane", echo_times(&mut dash)));
    dash.send(b"\x1c");
    std::thread::sleep(Duration::from_millis(300));
    println!("keystroke echo, {ECHO_KEYS} keys sampled every 1 ms:");
    for (label, times) in &echoes {
        let ms = sorted_ms(times);
        println!(
            "  {label:<30} median {:.1} ms, p95 {:.1} ms",
            percentile(&ms, 50.0),
            percentile(&ms, 95.0)
        );
    }
    let job = tokio::spawn(cat(b.clone(), id.clone(), user.clone()));
    // Is the dashboard responsive meanwhile? The help overlay opens and closes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    dash.send(b"?");
    let resp = dash.wait_for("any key closes this help", Duration::from_secs(10));
    dash.send(b" ");
    let pane = job.await.unwrap();
    println!(
        "throughput, dashboard pane: {pane:.1} MB/s; help overlay opened in {:.0} ms while it ran",
        resp.as_secs_f64() * 1e3
    );
    let _ = t;

    // Attach key to full screen, for a running session, once the output has settled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut times = Vec::new();
    for _ in 0..5 {
        dash.send(b"f");
        let fs = dash.wait_until("full screen", Duration::from_secs(5), |s| {
            !s.contains("┌ Sessions")
        });
        times.push(fs.as_secs_f64() * 1e3);
        dash.send(b"\x1c");
        dash.wait_for("┌ Sessions", Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(200));
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "attach key (f) -> full screen: median {:.0} ms (of 5: {times:.0?})",
        times[2]
    );
    drop(dash);

    // docker exec -it directly, drained by a bare PTY, and under tmux.
    let mut direct = PtyApp::spawn(
        "docker",
        &["exec", "-it", "-u", &user, &id, "bash", "--norc"],
        &env,
        40,
        160,
    );
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    direct.send(b"cat /tmp/big; echo DONE-$((6*7))\r");
    direct.wait_for("DONE-42", Duration::from_secs(300));
    println!(
        "throughput, docker exec -it in a bare PTY: {:.1} MB/s",
        mb as f64 / t.elapsed().as_secs_f64()
    );
    drop(direct);
    let sock = format!("bench-{}", run_id());
    let dh = std::env::var("DOCKER_HOST").unwrap_or_default();
    let script = format!(
        "DOCKER_HOST={dh} docker exec -u {user} {id} sh -c 'cat /tmp/big' >/dev/null; true"
    );
    let _ = script;
    let t = Instant::now();
    let st = std::process::Command::new("tmux")
        .args(["-L", &sock, "-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "40"])
        .arg(format!("DOCKER_HOST={dh} docker exec -it -u {user} {id} cat /tmp/big; tmux -L {sock} wait-for -S done"))
        .status()
        .unwrap();
    assert!(st.success());
    std::process::Command::new("tmux")
        .args(["-L", &sock, "wait-for", "done"])
        .status()
        .unwrap();
    println!(
        "throughput, docker exec -it under tmux: {:.1} MB/s",
        mb as f64 / t.elapsed().as_secs_f64()
    );
    let _ = std::process::Command::new("tmux")
        .args(["-L", &sock, "kill-server"])
        .status();
    let (code, _, _) = cctui(&cfg.path, &["rm", &name]);
    assert_eq!(code, 0);
}

/// Averages of curl's timings over `n` runs in the container: prints "connect appconnect
/// starttransfer total" in ms. Panics if any run fails, so that no figure times a refusal.
async fn curl_ms(b: &DockerBackend, id: &str, user: &str, args: &str, n: u32) -> [f64; 4] {
    let script = format!(
        "for i in $(seq {n}); do curl -sS -k -o /dev/null --max-time 10 \
         -w '%{{time_connect}} %{{time_appconnect}} %{{time_starttransfer}} %{{time_total}} %{{http_code}}\\n' \
         {args} || echo fail; done"
    );
    let out = exec_sh(b, id, user, &script).await;
    let mut sum = [0.0f64; 4];
    let mut count = 0;
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(
            f.len() == 5 && f[4] == "200",
            "a timed request failed: {line:?} in\n{out}"
        );
        for (i, v) in f[..4].iter().enumerate() {
            sum[i] += v.parse::<f64>().unwrap() * 1e3;
        }
        count += 1;
    }
    assert_eq!(count, n, "{out}");
    sum.map(|s| s / n as f64)
}

/// The name-checking proxy and the credential broker against going direct (firewall off):
/// TCP connect + TLS handshake, bulk throughput, time to the first SSE byte, and the start.
#[tokio::test]
#[ignore]
async fn bench_name_proxy_and_broker() {
    let prefix = unique("bnp");
    let _c = Cleanup::new(&prefix);
    let b = engine().await;
    let net = test_network(&b, &prefix).await;
    let (names, _) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["good.test"],
        &["good.test"],
        "python3 /usr/local/bin/names.py /tmp/tls",
    )
    .await;
    let (_api, ca) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["api.fake.test"],
        &["api.fake.test"],
        "python3 /usr/local/bin/fake_api.py 443 0 /tmp/tls",
    )
    .await;
    // Timed requests go to the address (no name lookup in the figure), with the name as SNI.
    let good = format!(
        "--resolve good.test:443:{} https://good.test",
        ip_on(&net, &names)
    );
    let keys = TempFolder::new(&format!("{prefix}-keys"), 0);
    let (key, ca_file) = (keys.path.join("key"), keys.path.join("ca.pem"));
    std::fs::write(&key, "sk-ant-api03-bench-not-a-key\n").unwrap();
    std::fs::write(&ca_file, ca).unwrap();
    let sse = "-N -H 'content-type: application/json' \
               -d '{\"model\":\"m\",\"max_tokens\":5,\"stream\":true,\"messages\":[]}'";

    struct Row {
        label: &'static str,
        start_ms: f64,
        tls: [f64; 4],
        mbps: f64,
        sse: [f64; 4],
    }
    let mut rows = Vec::new();
    for (label, on, with_key) in [
        ("direct (firewall off)", false, false),
        ("firewall on, no key", true, false),
        ("through proxy + broker", true, true),
    ] {
        let tag = format!("{}{}", on as u8, with_key as u8);
        let cfg = TempFolder::new(&format!("{prefix}-{tag}-cfg"), 0);
        let project = TempFolder::new(&format!("{prefix}-{tag}"), UID);
        let mut ops: Ops<DockerBackend> = small_ops(&cfg.path).await;
        ops.config.firewall.presets = vec![];
        ops.config.firewall.allow = vec!["good.test".into(), "api.fake.test".into()];
        ops.config.firewall.mode = if on {
            cctui::config::FirewallMode::On
        } else {
            cctui::config::FirewallMode::Off
        };
        ops.config.broker.upstream = "https://api.fake.test".into();
        ops.config.broker.extra_ca_certs = vec![ca_file.clone()];
        if with_key {
            ops.config.secrets.anthropic_api_key = Some(cctui::config::SecretSource {
                file: Some(key.clone()),
                ..Default::default()
            });
        }
        let name = format!("{prefix}-{tag}");
        let plan = plan_session(
            &ops.config,
            &project.path,
            Some(&name),
            &[],
            std::slice::from_ref(&net),
        )
        .unwrap();
        let mut vols = Cleanup::new(&format!("{prefix}-v{tag}"));
        vols.volumes = vec![plan.project.config_volume(), plan.project.history_volume()];
        ops.ensure_images(&plan, Default::default(), &mut |_| {})
            .await
            .unwrap();
        let t = Instant::now();
        ops.create(&plan, |p| {
            if let Progress::Note(n) = p {
                if n.starts_with("credential broker ready") {
                    println!("  {n}");
                }
            }
        })
        .await
        .unwrap();
        let start_ms = t.elapsed().as_secs_f64() * 1e3;
        let id = ops.running_agent(&name).await.unwrap();
        let user = format!("{UID}:{UID}");
        // Warm up (this also resolves the name, which allows its address).
        curl_ms(&b, &id, &user, "https://good.test/", 10).await;
        let tls = curl_ms(&b, &id, &user, &format!("{good}/"), 100).await;
        let bulk = exec_sh(
            &b,
            &id,
            &user,
            &format!("curl -sS -k -o /dev/null -w '%{{speed_download}}' {good}/bulk/300000000"),
        )
        .await;
        let mbps = bulk.trim().parse::<f64>().expect("bulk transfer") / 1e6;
        let sse = if with_key {
            curl_ms(
                &b,
                &id,
                &user,
                &format!("{sse} http://127.0.0.1:999/v1/messages"),
                50,
            )
            .await
        } else if !on {
            curl_ms(
                &b,
                &id,
                &user,
                &format!("{sse} https://api.fake.test/v1/messages"),
                50,
            )
            .await
        } else {
            [f64::NAN; 4]
        };
        rows.push(Row {
            label,
            start_ms,
            tls,
            mbps,
            sse,
        });
        ops.remove(&name, false).await.unwrap();
    }
    println!("\n== name-checking proxy and credential broker (small recipe, warm images) ==");
    for r in &rows {
        println!(
            "{:<24} new -> running {:>5.0} ms | TLS to good.test: connect {:.2} ms, connect+handshake {:.2} ms | bulk {:.0} MB/s | SSE first byte {:.2} ms (total {:.2} ms)",
            r.label, r.start_ms, r.tls[0], r.tls[1], r.mbps, r.sse[2], r.sse[3]
        );
    }
    let (d, p) = (&rows[0], &rows[2]);
    println!(
        "added by the proxy: {:.2} ms per connect+handshake; throughput {:.0}% of direct; \
         added by the broker to the first SSE byte: {:.2} ms; the broker adds {:.0} ms to a \
         start (vs firewall on without a key)",
        p.tls[1] - d.tls[1],
        100.0 * p.mbps / d.mbps,
        p.sse[2] - d.sse[2],
        p.start_ms - rows[1].start_ms
    );
}

/// A repository of `files` files and `commits` commits, made with `git fast-import`, checked
/// out, and owned by UID.
fn big_repo(dir: &std::path::Path, files: usize, commits: usize) {
    use std::io::Write;
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    let mut stream = Vec::new();
    for c in 0..commits {
        writeln!(stream, "commit refs/heads/main").unwrap();
        writeln!(
            stream,
            "committer Bench <bench@example.test> {} +0000",
            1_700_000_000 + c
        )
        .unwrap();
        let msg = format!("commit {c}");
        writeln!(stream, "data {}\n{msg}", msg.len()).unwrap();
        let range = if c == 0 {
            0..files
        } else {
            (c % files)..(c % files + 1)
        };
        for f in range {
            let body = format!("file {f}, version {c}\n{}\n", "x".repeat(200));
            writeln!(stream, "M 644 inline src/d{}/f{f}.txt", f % 100).unwrap();
            writeln!(stream, "data {}\n{body}", body.len()).unwrap();
        }
        writeln!(stream).unwrap();
    }
    let mut child = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success());
    git(&["reset", "-q", "--hard", "main"]);
    git(&["gc", "-q"]);
    std::process::Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(dir)
        .status()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_git_sessions() {
    use cctui::workspace::WorkspacePlan;
    // Tests run as root in folders owned by UID: git needs to be told that is fine.
    let global = std::env::temp_dir().join(format!("cctui-{}-bench-gitconfig", run_id()));
    std::fs::write(
        &global,
        "[safe]\n\tdirectory = *\n[user]\n\tname = B\n\temail = b@b.test\n",
    )
    .unwrap();
    // SAFETY: set before any session or git process is started.
    unsafe { std::env::set_var("GIT_CONFIG_GLOBAL", &global) };
    let (repo_name, inplace_name) = (unique("bgit"), unique("bgitip"));
    let cfg = TempFolder::new(&format!("{repo_name}-cfg"), 0);
    let project = TempFolder::new(&repo_name, UID);
    let _c = [Cleanup::new(&repo_name), Cleanup::new(&inplace_name)];
    let mut vols = Cleanup::new(&format!("{repo_name}-vols"));
    vols.volumes = project_volumes(&project.path);
    vols.volumes.push(cctui::workspace::work_volume(&repo_name));
    let t = Instant::now();
    big_repo(&project.path, 10_000, 5_000);
    println!(
        "made a repository of 10,000 files and 5,000 commits in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let recipe = cfg.path.join("recipe");
    copy_dir(&small_recipe_dir().join("recipe"), &recipe);
    let df = recipe.join("base.Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    std::fs::write(&df, text.replace(" procps", " procps git")).unwrap();
    let mut ops = small_ops(&cfg.path).await;
    ops.config.firewall.mode = cctui::config::FirewallMode::Off;
    let path = project.path.canonicalize().unwrap();

    // Warm the images first, so that both starts measure the start alone.
    let mut plan = plan_session(&ops.config, &path, Some(&inplace_name), &[], &[]).unwrap();
    plan.workspace = WorkspacePlan::in_place(&path);
    ops.create(&plan, |_| {}).await.unwrap();
    ops.remove(&inplace_name, false).await.unwrap();

    let mut inplace = Vec::new();
    let mut own = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        ops.create(&plan, |_| {}).await.unwrap();
        inplace.push(t.elapsed().as_secs_f64());
        ops.remove(&inplace_name, false).await.unwrap();

        let repo_plan = plan_session(&ops.config, &path, Some(&repo_name), &[], &[]).unwrap();
        let t = Instant::now();
        let mut note = String::new();
        ops.create(&repo_plan, |p| {
            if let Progress::Note(n) = p {
                if n.starts_with("checkout") {
                    note = n;
                }
            }
        })
        .await
        .unwrap();
        own.push(t.elapsed().as_secs_f64());
        println!("  {note}");
        ops.remove_with(&repo_name, false, true).await.unwrap();
    }
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("cctui new, in place (s): {}", fmt(&inplace));
    println!("cctui new, a repository of its own (s): {}", fmt(&own));

    // Import plus diff of a 500-file change.
    let repo_plan = plan_session(&ops.config, &path, Some(&repo_name), &[], &[]).unwrap();
    ops.create(&repo_plan, |_| {}).await.unwrap();
    let id = ops.running_agent(&repo_name).await.unwrap();
    let user = ops.backend.inspect_container(&id).await.unwrap().user;
    let p = path.display();
    exec_sh(
        &ops.backend,
        &id,
        &user,
        &format!(
            "cd {p} && for i in $(seq 0 499); do echo changed >> src/d$((i % 100))/f$i.txt; done \
             && git commit -qam 'change 500 files' && for i in $(seq 500 549); do echo wip >> src/d$((i % 100))/f$i.txt; done"
        ),
    )
    .await;
    let rs = ops.repo_session(&repo_name).await.unwrap();
    for round in ["first", "again (nothing new)"] {
        let t = Instant::now();
        let imported = ops.import(&repo_name, true).await.unwrap();
        let import = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let text = cctui::workspace::review::diff_text(&rs.repo, &rs.base, imported.tip(), false)
            .await
            .unwrap();
        let diff = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let view = cctui::workspace::review::changes_view(&rs, &imported, 0)
            .await
            .unwrap();
        let tab = t.elapsed().as_secs_f64();
        println!(
            "import ({round}) {:.2} s + diff {:.2} s ({} lines, {} files) = {:.2} s; Changes view {:.2} s",
            import,
            diff,
            text.lines().count(),
            view.files.len(),
            import + diff,
            tab
        );
    }
    ops.remove_with(&repo_name, false, true).await.unwrap();
}
