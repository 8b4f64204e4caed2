//! `cctui port` on the real engine: an agent's server answers on the host's loopback while
//! forwarded, and not after `--rm` or `stop`; the agent's egress is unchanged; bad input is
//! refused with exit code 2.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use cctui::backend::{Backend, ExecSpec};

use common::*;

const UID: u32 = 1234;
/// The agent's HTTP server: one nc per request, forever (the small recipe has no Python).
const SERVER: &str = "nohup sh -c 'while :; do printf \"HTTP/1.0 200 OK\\r\\nContent-Length: 13\\r\\n\\r\\nhello, agent\\n\" | nc -l -N 8080 >/dev/null 2>&1; done' >/dev/null 2>&1 &";

/// A host port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.0 GET to 127.0.0.1:`port`; the whole answer, or why there is none.
fn get(port: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    if out.is_empty() {
        return Err("closed with no answer".into());
    }
    Ok(out)
}

/// `get` until it answers (the agent's server loop may be between two nc's), up to 10 s.
fn get_answer(port: u16) -> String {
    let start = Instant::now();
    loop {
        match get(port) {
            Ok(text) if text.contains("hello, agent") => return text,
            other if start.elapsed() > Duration::from_secs(10) => {
                panic!("no answer through port {port}: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn expect_code(cfg: &Path, args: &[&str], code: i32, says: &str) {
    let (got, out, err) = cctui(cfg, args);
    assert_eq!(got, code, "cctui {args:?}: {out}{err}");
    assert!(
        err.contains(says),
        "cctui {args:?} does not say {says:?}: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agents_server_answers_on_loopback_until_rm_and_stop_and_egress_is_unchanged() {
    let b = engine().await;
    let name = unique("port");
    let _cleanup = Cleanup::new(&name);
    let net = test_network(&b, &name).await;
    let blocked = start_server(
        &b,
        &name,
        &net,
        "blocked.test",
        &["python3", "/usr/local/bin/listen.py", "8443"],
    )
    .await;
    let blocked_ip = ip_on(&net, &blocked);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(&name, UID);
    let mut volumes = Cleanup::new(&format!("{name}-vols"));
    volumes.volumes = project_volumes(&project.path);
    write_cli_config(&cfg.path, "");
    let p = project.path.to_str().unwrap();
    let (code, out, err) = cctui(&cfg.path, &["new", p, "--name", &name, "--network", &net]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cctui(&cfg.path, &["exec", &name, "--", "sh", "-c", SERVER]);
    assert_eq!(code, 0, "{out}{err}");

    let host = free_port();
    let spec = format!("8080:{host}");
    let (code, out, err) = cctui(&cfg.path, &["port", &name, &spec]);
    assert_eq!(code, 0, "{out}{err}");
    let answer = get_answer(host);
    assert!(answer.starts_with("HTTP/1.0 200 OK"), "{answer}");
    let (_, listed, _) = cctui(&cfg.path, &["port", &name]);
    assert!(
        listed.contains(&format!("8080  ->  127.0.0.1:{host}")),
        "{listed}"
    );
    let entry = ls_entry(&cfg.path, &name);
    assert_eq!(
        entry["ports"],
        serde_json::json!([{"port": 8080, "host_port": host, "bind": "127.0.0.1"}]),
        "{entry}"
    );

    egress_is_unchanged(&b, &cfg.path, &name, &blocked_ip).await;
    bad_input_is_refused(&cfg.path, &name, host);

    // Finished connections leave no relay behind: only the one started ahead waits.
    relays_settle_at(&b, &cfg.path, &name, 1).await;
    let (code, out, err) = cctui(&cfg.path, &["port", &name, "--rm", "8080"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(get(host).is_err(), "still answering after --rm");
    relays_settle_at(&b, &cfg.path, &name, 0).await;
    assert_eq!(ls_entry(&cfg.path, &name)["ports"], serde_json::json!([]));

    // Again, then `stop` ends it.
    let (code, out, err) = cctui(&cfg.path, &["port", &name, &spec]);
    assert_eq!(code, 0, "{out}{err}");
    get_answer(host);
    let (code, out, err) = cctui(&cfg.path, &["stop", &name]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(get(host).is_err(), "still answering after stop");
    let (code, listed, err) = cctui(&cfg.path, &["port", &name]);
    assert_eq!((code, listed.as_str()), (0, ""), "{err}");
}

/// With a forward active, the agent reaches nothing new: a name off the allowlist does not
/// resolve, its address stays refused, from the agent and from the relay's own user in the
/// holder, which has no capabilities.
async fn egress_is_unchanged(
    b: &cctui::backend::DockerBackend,
    cfg: &Path,
    name: &str,
    blocked_ip: &str,
) {
    // The probe's own control first: the agent's server on loopback answers it.
    let probe = format!(
        "for i in $(seq 25); do bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null && {{ echo LOCAL; break; }}; sleep 0.2; done; \
         getent hosts blocked.test && echo RESOLVED; \
         timeout 5 bash -c 'exec 3<>/dev/tcp/{blocked_ip}/8443' 2>/dev/null && echo CONNECTED; echo done"
    );
    let (code, out, err) = cctui(cfg, &["exec", name, "--", "bash", "-c", &probe]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.trim(),
        "LOCAL\ndone",
        "the agent got out with a forward active"
    );

    // Exactly where and as whom a relay runs.
    let ops = small_ops(cfg).await;
    let (target, relay) = cctui::session::ports::relay_target(&ops, name, 8080)
        .await
        .unwrap();
    let holder = ops.find(name).await.unwrap().holder.expect("a holder").id;
    assert_eq!(target, holder, "the relay does not run in the holder");
    let spec = ExecSpec {
        cmd: vec![
            "bash".into(),
            "-c".into(),
            format!("{probe}; grep CapEff /proc/self/status"),
        ],
        ..relay
    };
    let out = b.exec(&target, &spec).await.unwrap().stdout_text();
    assert_eq!(
        out.trim(),
        "LOCAL\ndone\nCapEff:\t0000000000000000",
        "the relay's user in the holder is not fenced like the agent"
    );
}

/// Waits up to 5 s for the holder to run exactly `count` relay processes.
async fn relays_settle_at(b: &cctui::backend::DockerBackend, cfg: &Path, name: &str, count: usize) {
    let ops = small_ops(cfg).await;
    let holder = ops.find(name).await.unwrap().holder.expect("a holder").id;
    let spec = ExecSpec {
        cmd: vec!["ps".into(), "-eo".into(), "args=".into()],
        user: Some("0:0".into()),
        ..Default::default()
    };
    let start = Instant::now();
    loop {
        let ps = b.exec(&holder, &spec).await.unwrap().stdout_text();
        let relays = ps.lines().filter(|l| l.contains("cctui-relay")).count();
        if relays == count {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{relays} relays, not {count}:\n{ps}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn bad_input_is_refused(cfg: &Path, name: &str, taken: u16) {
    let other = free_port();
    expect_code(cfg, &["port", name, "0"], 2, "1024-65535");
    expect_code(cfg, &["port", name, "9090:0"], 2, "host port 0");
    expect_code(cfg, &["port", name, "999"], 2, "firewall's own listeners");
    expect_code(cfg, &["port", name, "http"], 2, "PORT or PORT:HOSTPORT");
    expect_code(
        cfg,
        &["port", name, &format!("9090:{taken}")],
        2,
        "cannot listen",
    );
    expect_code(
        cfg,
        &["port", name, &format!("8080:{other}")],
        2,
        "already forwarded",
    );
    expect_code(
        cfg,
        &["port", name, "--rm", "9999"],
        2,
        "no forward of port 9999",
    );
    let nobody = format!("{name}-nobody");
    expect_code(cfg, &["port", &nobody, "8080"], 2, "no session named");
    // None of these left a forward behind.
    let (_, listed, _) = cctui(cfg, &["port", name]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
}

/// A firewall-off session (the relay runs in the agent itself); `rm` ends its forwards.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_firewall_the_relay_runs_in_the_agent_and_rm_ends_it() {
    let name = unique("portoff");
    let (_cleanup, cfg, _project, _volumes) = session(&name, FIREWALL_OFF);
    let host = free_port();
    let (code, out, err) = cctui(&cfg.path, &["port", &name, &format!("8080:{host}")]);
    assert_eq!(code, 0, "{out}{err}");
    let ops = small_ops(&cfg.path).await;
    let (target, _) = cctui::session::ports::relay_target(&ops, &name, 8080)
        .await
        .unwrap();
    assert_eq!(target, ops.running_agent(&name).await.unwrap());
    assert!(get_answer(host).starts_with("HTTP/1.0 200 OK"));
    let (code, out, err) = cctui(&cfg.path, &["rm", &name, "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(get(host).is_err(), "still answering after rm");
    let files = std::fs::read_dir(cfg.path.join("state/ports").join(&name))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(files, 0, "a forward's state file outlived rm");
}

/// A session of the small recipe with the agent's HTTP server running on 8080.
fn session(name: &str, config: &str) -> (Cleanup, TempFolder, TempFolder, Cleanup) {
    let cleanup = Cleanup::new(name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    let project = TempFolder::new(name, UID);
    let mut volumes = Cleanup::new(&format!("{name}-vols"));
    volumes.volumes = project_volumes(&project.path);
    write_cli_config(&cfg.path, config);
    let p = project.path.to_str().unwrap();
    let (code, out, err) = cctui(&cfg.path, &["new", p, "--name", name]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cctui(&cfg.path, &["exec", name, "--", "sh", "-c", SERVER]);
    assert_eq!(code, 0, "{out}{err}");
    (cleanup, cfg, project, volumes)
}

/// `n` sequential GETs; (requests per second, median and worst latency in ms).
fn measure(n: usize, connect: impl Fn() -> Result<String, String>) -> (f64, f64, f64) {
    let mut took = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let answer = connect().expect("an answer");
        assert!(answer.contains("hello, agent"), "{answer}");
        took.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    took.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (rate, took[n / 2], took[n - 1])
}

/// The same agent server, through `cctui port` and straight at its address on the engine's
/// network, side by side in one run. Prints figures; run with `-- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn bench_port_vs_direct() {
    let name = unique("portbench");
    let (_cleanup, cfg, _project, _volumes) = session(&name, FIREWALL_OFF);
    let host = free_port();
    let (code, out, err) = cctui(&cfg.path, &["port", &name, &format!("8080:{host}")]);
    assert_eq!(code, 0, "{out}{err}");
    get_answer(host);
    let ops = small_ops(&cfg.path).await;
    let agent = ops.running_agent(&name).await.unwrap();
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &agent,
    ]);
    let ip = ip.trim().to_string();
    let direct = |ip: String| move || get_at(&ip, 8080);
    // The agent's server is one nc per request, so a GET can meet it between two: retry.
    static TRIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let retrying = |f: Box<dyn Fn() -> Result<String, String>>| {
        move || {
            (0..50)
                .find_map(|_| {
                    TRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    f().ok().filter(|a| a.contains("hello")).or_else(|| {
                        std::thread::sleep(Duration::from_millis(2));
                        None
                    })
                })
                .ok_or_else(|| "no answer".to_string())
        }
    };
    let n = 200;
    let (d_rate, d_med, d_max) = measure(n, retrying(Box::new(direct(ip.clone()))));
    let d_tries = TRIES.swap(0, std::sync::atomic::Ordering::Relaxed);
    let (p_rate, p_med, p_max) = measure(n, retrying(Box::new(move || get(host))));
    let p_tries = TRIES.swap(0, std::sync::atomic::Ordering::Relaxed);
    let mut firsts: Vec<f64> = (0..20).map(|_| first_byte_ms(host)).collect();
    firsts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "attempts: direct {d_tries}, port {p_tries}; through the port, first byte after a median {:.2} ms (the rest is the exec's end)",
        firsts[10]
    );
    println!("cctui port vs direct, {n} sequential HTTP/1.0 GETs to the agent's server (nc per request):");
    println!(
        "  direct {ip}:8080      {d_rate:7.1} req/s, median {d_med:6.2} ms, worst {d_max:7.2} ms"
    );
    println!(
        "  port 127.0.0.1:{host}  {p_rate:7.1} req/s, median {p_med:6.2} ms, worst {p_max:7.2} ms"
    );
}

/// Milliseconds from connecting to the first byte of the answer.
fn first_byte_ms(port: u16) -> f64 {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut one = [0u8; 1];
    let _ = s.read(&mut one);
    let took = start.elapsed().as_secs_f64() * 1000.0;
    let _ = s.read_to_end(&mut Vec::new());
    took
}

fn get_at(ip: &str, port: u16) -> Result<String, String> {
    let addr: std::net::SocketAddr = format!("{ip}:{port}").parse().map_err(|e| format!("{e}"))?;
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}
