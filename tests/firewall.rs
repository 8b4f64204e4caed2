//! The egress firewall with real packets between the project's own containers on its own
//! Docker networks: an allowed host, a blocked host, a host allowed on one port only, and a
//! rogue resolver. No packet is aimed outside this machine.

mod common;

use std::path::Path;
use std::time::Duration;

use cctui::backend::{
    Backend, ContainerSpec, DockerBackend, ExecOutput, ExecSpec, NetworkAttach, NetworkSpec,
};
use cctui::session::ops::Ops;
use cctui::session::plan_session;
use common::*;

const UID: u32 = 1234;
const ROGUE_ANSWER: &str = "192.0.2.66";

/// The test network and its servers; returns (network, blocked host's IPv4).
struct World {
    net: String,
    allowed: String,
    blocked: String,
    blocked_ip: String,
    blocked_ip6: String,
    rogue: String,
    rogue_ip: String,
}

async fn world(b: &DockerBackend, prefix: &str) -> World {
    let image = server_image(b).await;
    let net = format!("{prefix}-world");
    let mut labels = test_labels();
    labels.insert("cctui.test.owner".into(), prefix.to_string());
    // IPv6 is enabled on the test network, so that blocking it is tested, not assumed.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let v6 = format!("fd00:{:x}:{n:x}::/64", std::process::id() % 0xffff);
    b.create_network(&NetworkSpec {
        name: net.clone(),
        labels: labels.clone(),
        enable_ipv6: true,
        ipv6_subnet: Some(v6),
        ..Default::default()
    })
    .await
    .unwrap();
    let start = |name: &str, alias: &str, cmd: Vec<&str>| {
        let mut s = ContainerSpec::hardened(format!("{prefix}-{name}"), image.clone());
        s.labels = labels.clone();
        s.cap_add = vec![
            "NET_BIND_SERVICE".into(),
            "SETUID".into(),
            "SETGID".into(),
            "NET_RAW".into(),
            "CHOWN".into(),
        ];
        s.no_new_privileges = true;
        s.cmd = cmd.into_iter().map(String::from).collect();
        s.network = NetworkAttach::Network {
            name: net.clone(),
            aliases: vec![alias.to_string()],
        };
        s
    };
    let allowed = start(
        "allowed",
        "allowed.test",
        vec!["python3", "/usr/local/bin/listen.py", "443", "8080"],
    );
    let blocked = start(
        "blocked",
        "blocked.test",
        vec!["python3", "/usr/local/bin/listen.py", "443"],
    );
    let rogue = start(
        "rogue",
        "rogue.test",
        vec![
            "dnsmasq",
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--log-queries",
            "--log-facility=-",
            "--user=root",
            &format!("--address=/#/{ROGUE_ANSWER}"),
        ],
    );
    let mut ids = Vec::new();
    for spec in [allowed, blocked, rogue] {
        let id = b.create_container(&spec).await.unwrap();
        b.start_container(&id).await.unwrap();
        ids.push(id);
    }
    let ip = |out: String| out.trim().to_string();
    let blocked_ip = ip(docker(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
        &ids[1],
    ]));
    let rogue_ip = ip(docker(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
        &ids[2],
    ]));
    let blocked_ip6 = ip(docker(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").GlobalIPv6Address}}}}"),
        &ids[1],
    ]));
    assert!(
        blocked_ip6.contains(':'),
        "the test network has no IPv6: {blocked_ip6:?}"
    );
    World {
        net,
        allowed: ids[0].clone(),
        blocked: ids[1].clone(),
        blocked_ip,
        blocked_ip6,
        rogue: ids[2].clone(),
        rogue_ip,
    }
}

async fn ops_for(dir: &Path, rules: &[&str]) -> Ops<DockerBackend> {
    let mut ops = small_ops(dir).await;
    ops.config.firewall.presets = vec![];
    ops.config.firewall.allow = rules.iter().map(|s| s.to_string()).collect();
    ops
}

async fn sh(ops: &Ops<DockerBackend>, name: &str, user: Option<&str>, script: &str) -> ExecOutput {
    sh_in(ops, name, user, script).await
}

/// "open" or "closed": a TCP connect from the agent to `host:port`.
async fn port(ops: &Ops<DockerBackend>, name: &str, host: &str, port: u16) -> String {
    sh(ops, name, None, &connect(host, port))
        .await
        .stdout_text()
        .trim()
        .to_string()
}

/// A container's logs (stdout and stderr); panics if docker cannot read them, so that a failed
/// read never passes for "nothing arrived".
fn container_logs(id: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["logs", id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker logs {id} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Polls the holder's blocked log (up to 5 s, the reject logger writes asynchronously) until
/// an entry matches; panics with the log otherwise.
async fn await_blocked(
    b: &DockerBackend,
    holder: &str,
    what: &str,
    pred: impl Fn(&cctui::sandbox::firewall::Blocked) -> bool,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let log = cctui::sandbox::firewall::blocked_log(b, holder, 500)
            .await
            .unwrap();
        if log.iter().any(&pred) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} is not in the firewall's blocked log: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `script` with `sh -c` as root in a throwaway container on `network` (`--network
/// NAME`, or `container:ID` to join a namespace), from `image`, with extra `docker run` flags.
/// Labelled for this test's cleanup; returns (exit code, stdout + stderr).
fn side_container(
    prefix: &str,
    network: &str,
    image: &str,
    flags: &[&str],
    script: &str,
) -> (i32, String) {
    let run = format!("cctui.test={}", run_id());
    let owner = format!("cctui.test.owner={prefix}");
    let mut args = vec![
        "run",
        "--rm",
        "--label",
        &run,
        "--label",
        &owner,
        "--network",
        network,
        "--user",
        "0:0",
        "--entrypoint",
        "sh",
    ];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[image, "-c", script]);
    let out = std::process::Command::new("docker")
        .args(&args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The sum of the packet counters of the holder's ip6tables REJECT rules.
async fn v6_rejects(b: &DockerBackend, holder: &str) -> u64 {
    let out = b
        .exec(
            holder,
            &ExecSpec {
                cmd: vec![
                    "sh".into(),
                    "-c".into(),
                    "ip6tables-$(cat /run/cctui/backend) -w 5 -L OUTPUT -v -x -n".into(),
                ],
                user: Some("0:0".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0, "{}", out.stderr_text());
    out.stdout_text()
        .lines()
        .filter(|l| l.contains("cctui-reject") && l.split_whitespace().nth(2) == Some("REJECT"))
        .map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// The IPv4 or IPv6 (`GlobalIPv6Address`) address of a container on `net`.
fn address_on(id: &str, net: &str, field: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").{field}}}}}"),
        id,
    ])
    .trim()
    .to_string()
}

/// What the agent would run to open its egress: each needs CAP_NET_ADMIN in the namespace.
const TAMPER: [&str; 5] = [
    "iptables -F",
    "iptables -P OUTPUT ACCEPT",
    "ip6tables -F",
    "ipset flush",
    "ip route add 198.51.100.0/24 dev lo",
];

/// One script running every tamper probe, each framed so that `tamper_results` can split them.
fn tamper_script() -> String {
    TAMPER
        .iter()
        .map(|c| format!("echo '>>> {c}'; {c} 2>&1; echo \"<<< rc=$?\""))
        .collect::<Vec<_>>()
        .join("; ")
}

/// (command, exit code, output) of each probe in `tamper_script`'s output; panics unless all ran.
fn tamper_results(text: &str) -> Vec<(String, i32, String)> {
    let results: Vec<_> = text
        .split(">>> ")
        .skip(1)
        .map(|chunk| {
            let (cmd, rest) = chunk.split_once('\n').unwrap_or((chunk, ""));
            let (out, rc) = rest.rsplit_once("<<< rc=").unwrap_or((rest, "-1"));
            (
                cmd.to_string(),
                rc.trim().parse().unwrap_or(-1),
                out.to_string(),
            )
        })
        .collect();
    assert_eq!(results.len(), TAMPER.len(), "not every probe ran: {text}");
    results
}

/// Every tamper probe failed, each for want of a privilege (EPERM or EACCES from the kernel),
/// with the program there to run.
fn assert_tamper_refused(text: &str, who: &str) {
    for (cmd, rc, out) in tamper_results(text) {
        let lower = out.to_lowercase();
        assert!(
            rc != 0 && !lower.contains("not found"),
            "`{cmd}` {who}: rc {rc}: {out}"
        );
        assert!(
            lower.contains("operation not permitted") || lower.contains("permission denied"),
            "`{cmd}` {who} failed for another reason than a missing privilege: {out}"
        );
    }
}

/// TCP connect with a short timeout: prints "open" or "closed".
fn connect(host: &str, port: u16) -> String {
    format!("if nc -z -w 3 {host} {port} 2>/dev/null; then echo open; else echo closed; fi")
}

/// A firewalled session's surroundings: guards first, so that they drop last.
struct Setup {
    _cleanup: Cleanup,
    _volumes: Cleanup,
    _cfg: TempFolder,
    _project: TempFolder,
    ops: Ops<DockerBackend>,
    name: String,
    plan: cctui::session::SessionPlan,
}

/// Config, project and plan for a session named `<prefix>-s` allowing `rules`, joined to
/// `network` if given; `tweak` adjusts the config before the plan is made.
async fn setup(
    prefix: &str,
    rules: &[&str],
    network: Option<&str>,
    tweak: impl FnOnce(&mut Ops<DockerBackend>),
) -> Setup {
    let cleanup = Cleanup::new(prefix);
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let project = TempFolder::new(prefix, UID);
    let mut ops = ops_for(&cfg.path, rules).await;
    tweak(&mut ops);
    let name = format!("{prefix}-s");
    let networks: Vec<String> = network.into_iter().map(String::from).collect();
    let plan = plan_session(&ops.config, &project.path, Some(&name), &[], &networks).unwrap();
    let mut volumes = Cleanup::new(&format!("{prefix}-vols"));
    volumes.volumes = vec![plan.project.config_volume(), plan.project.history_volume()];
    Setup {
        _cleanup: cleanup,
        _volumes: volumes,
        _cfg: cfg,
        _project: project,
        ops,
        name,
        plan,
    }
}

#[tokio::test]
async fn the_allowlist_holds_against_every_side_channel() {
    let prefix = unique("fw");
    let b = engine().await;
    let w = world(&b, &prefix).await;
    let Setup {
        ops, name, plan, ..
    } = &setup(&prefix, &["allowed.test"], Some(&w.net), |_| {}).await;
    let (ops, name) = (ops, name.as_str());
    let started = std::time::Instant::now();
    ops.create(plan, |_| {}).await.unwrap();
    eprintln!(
        "new -> verified firewall and running agent: {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // The allowed name resolves and connects on 443; not on 8080 (not in its rule).
    let r = sh(ops, name, None, "getent hosts allowed.test").await;
    assert_eq!(
        r.exit_code,
        0,
        "allowed.test must resolve: {}",
        r.stderr_text()
    );
    assert_eq!(port(ops, name, "allowed.test", 443).await, "open");
    assert_eq!(port(ops, name, "allowed.test", 8080).await, "closed");

    // The blocked name does not resolve; its address is refused, fast (REJECT, not DROP).
    let r = sh(ops, name, None, "getent hosts blocked.test").await;
    assert_ne!(r.exit_code, 0, "blocked.test resolved: {}", r.stdout_text());
    let t = std::time::Instant::now();
    assert_eq!(port(ops, name, &w.blocked_ip, 443).await, "closed");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "refusal took {:?}: DROP instead of REJECT?",
        t.elapsed()
    );

    // No resolver but the filter: the rogue's answer never arrives, nor Docker's for a blocked
    // name. Positive control: the rogue does answer a container outside the sandbox, and logs
    // that query; it never logs one of the sandbox's (each names "sbx-" and this test).
    let agent_image = docker(&[
        "inspect",
        "-f",
        "{{.Config.Image}}",
        &ops.running_agent(name).await.unwrap(),
    ]);
    let control = format!("ctl.{prefix}.example");
    let (rc, outside) = side_container(
        &prefix,
        &w.net,
        agent_image.trim(),
        &[],
        &format!("dig +short +time=2 +tries=2 @{} {control}", w.rogue_ip),
    );
    assert!(
        rc == 0 && outside.trim() == ROGUE_ANSWER,
        "the rogue resolver does not answer outside the sandbox (rc {rc}): {outside}"
    );
    let rogue = sh(ops, name, None, &format!("dig +short +time=2 +tries=1 @{ip} sbx-udp.{prefix}.example; dig +short +tcp +time=2 +tries=1 @{ip} sbx-tcp.{prefix}.example", ip = w.rogue_ip)).await;
    assert!(
        !rogue.stdout_text().contains(ROGUE_ANSWER),
        "the rogue resolver answered: {}",
        rogue.stdout_text()
    );
    let docker_dns = sh(
        ops,
        name,
        None,
        "dig +short +time=2 +tries=1 @127.0.0.11 blocked.test",
    )
    .await;
    assert!(
        docker_dns.stdout_text().trim().is_empty(),
        "Docker's resolver answered: {}",
        docker_dns.stdout_text()
    );
    // Positive control: the same query, from a container on the same network without the
    // firewall, is answered by Docker's resolver.
    let (rc, outside) = side_container(
        &prefix,
        &w.net,
        agent_image.trim(),
        &[],
        "dig +short +time=2 +tries=1 @127.0.0.11 blocked.test",
    );
    assert!(
        rc == 0 && outside.trim() == w.blocked_ip,
        "Docker's resolver does not answer outside the sandbox (rc {rc}): {outside}"
    );

    // UDP to the blocked host never arrives there.
    sh(
        ops,
        name,
        None,
        &format!("echo canary-udp | nc -u -w 1 {} 5353; true", w.blocked_ip),
    )
    .await;
    sh(
        ops,
        name,
        None,
        &format!("echo canary-tcp | nc -w 1 {} 443; true", w.blocked_ip),
    )
    .await;
    // Positive control: the same datagram from outside the sandbox arrives.
    let (rc, outside) = side_container(
        &prefix,
        &w.net,
        agent_image.trim(),
        &[],
        &format!("echo canary-ctl-udp | nc -u -w 1 {} 5353", w.blocked_ip),
    );
    assert_eq!(rc, 0, "{outside}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = container_logs(&w.blocked);
    assert!(
        seen.contains("canary-ctl-udp"),
        "the control datagram did not arrive, so the UDP probe proves nothing: {seen}"
    );
    assert!(
        !seen.contains("canary-udp") && !seen.contains("tcp 443"),
        "the blocked host received: {seen}"
    );

    // ICMP: the agent's ping gets no answer, and the firewall logs why. Positive control: the
    // same ping, as the same unprivileged uid with no capabilities, from a container outside
    // the sandbox, is answered.
    let ping = format!("ping -n -c 1 -W 2 {}", w.blocked_ip);
    let (rc, outside) = side_container(
        &prefix,
        &w.net,
        agent_image.trim(),
        &[
            "--user",
            &format!("{UID}:{UID}"),
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
        ],
        &ping,
    );
    assert!(
        rc == 0 && outside.contains("1 received"),
        "ping is not answered outside the sandbox (rc {rc}): {outside}"
    );
    let inside = sh(ops, name, None, &format!("{ping} 2>&1; echo rc=$?"))
        .await
        .stdout_text();
    assert!(
        !inside.contains("rc=0") && !inside.contains("1 received"),
        "ICMP got through: {inside}"
    );
    let holder = ops.running_holder(name).await.unwrap();
    await_blocked(&b, &holder, &format!("icmp {}", w.blocked_ip), |e| {
        e.kind == "icmp" && e.destination == w.blocked_ip
    })
    .await;

    // The gateway and link-local addresses are refused.
    let gw = b
        .inspect_network(&plan.name.network())
        .await
        .unwrap()
        .unwrap()
        .gateway
        .unwrap();
    assert_eq!(port(ops, name, &gw, 22).await, "closed");
    assert_eq!(port(ops, name, "169.254.169.254", 80).await, "closed");
    // "closed" is what most hosts answer with no firewall at all: the refusal must be the
    // firewall's own.
    await_blocked(&b, &holder, &format!("tcp {gw}:22"), |e| {
        e.kind == "tcp" && e.destination == gw && e.port == Some(22)
    })
    .await;
    await_blocked(&b, &holder, "tcp 169.254.169.254:80", |e| {
        e.kind == "tcp" && e.destination == "169.254.169.254" && e.port == Some(80)
    })
    .await;

    // IPv6, on a network that has it. The holder disables it by sysctl, so the agent has no
    // global IPv6 address (scope 00 in /proc/net/if_inet6) and nothing gets through, to any port.
    let if6 = sh(ops, name, None, "cat /proc/net/if_inet6 2>/dev/null; true")
        .await
        .stdout_text();
    assert!(
        !if6.lines()
            .any(|l| l.split_whitespace().nth(3) == Some("00")),
        "the agent has a global IPv6 address: {if6}"
    );
    for port in [443u16, 8080] {
        let v6 = sh(
            ops,
            name,
            None,
            &format!(
                "if nc -6 -z -w 2 {} {port} 2>/dev/null; then echo open; else echo closed; fi",
                w.blocked_ip6
            ),
        )
        .await;
        assert_eq!(
            v6.stdout_text().trim(),
            "closed",
            "IPv6 to {} got through",
            w.blocked_ip6
        );
    }
    // The ip6tables layer itself, where IPv6 is on: a helper with NET_ADMIN in the holder's
    // namespace (the host's side, never the agent's) turns IPv6 back on and gives the holder's
    // interface on the test network its address. The blocked host answers on IPv6 from outside
    // the sandbox; from the agent, TCP is reset by the ip6tables REJECT rule (its counter
    // moves) and UDP never arrives.
    let (rc, reach) = side_container(
        &prefix,
        &w.net,
        &server_image(&b).await,
        &[],
        &format!(
            "python3 -c 'import socket; socket.create_connection((\"{}\", 443), 3); print(\"reached\")'",
            w.blocked_ip6
        ),
    );
    assert!(
        rc == 0 && reach.contains("reached"),
        "the blocked host is not reachable on IPv6 outside the sandbox: {reach}"
    );
    let holder_ip = address_on(&holder, &w.net, "IPAddress");
    let mut holder_ip6 = address_on(&holder, &w.net, "GlobalIPv6Address");
    if !holder_ip6.contains(':') {
        // Docker left it unassigned (IPv6 was off): one of the subnet's, unused.
        holder_ip6 = format!(
            "{}ff66",
            &w.blocked_ip6[..=w.blocked_ip6.rfind(':').unwrap()]
        );
    }
    let holder_image = docker(&["inspect", "-f", "{{.Config.Image}}", &holder]);
    let (rc, on) = side_container(
        &prefix,
        &format!("container:{holder}"),
        holder_image.trim(),
        // NET_ADMIN for the address; /proc/sys writable for the sysctl.
        &[
            "--cap-add",
            "NET_ADMIN",
            "--security-opt",
            "systempaths=unconfined",
        ],
        &format!(
            "set -e; dev=$(ip -o -4 addr show | awk '$4 ~ /^{ip4}\\// {{ print $2 }}'); \
             for c in all default lo $dev; do echo 0 > /proc/sys/net/ipv6/conf/$c/disable_ipv6; done; \
             ip -6 addr replace {holder_ip6}/64 dev $dev nodad; ip -6 addr show dev $dev scope global",
            ip4 = holder_ip.replace('.', "\\.")
        ),
    );
    assert!(
        rc == 0 && on.contains(&holder_ip6),
        "could not turn IPv6 on in the holder's namespace (rc {rc}): {on}"
    );
    let if6 = sh(ops, name, None, "cat /proc/net/if_inet6")
        .await
        .stdout_text();
    assert!(
        if6.lines()
            .any(|l| l.split_whitespace().nth(3) == Some("00")),
        "IPv6 is still off in the agent: {if6}"
    );
    let rejects = v6_rejects(&b, &holder).await;
    let v6 = sh(
        ops,
        name,
        None,
        &format!(
            "nc -6 -z -v -w 2 {ip} 443 2>&1; echo rc=$?; echo canary-udp6 | nc -6 -u -w 1 {ip} 5353; true",
            ip = w.blocked_ip6
        ),
    )
    .await
    .stdout_text();
    assert!(
        v6.contains("refused") && !v6.contains("rc=0"),
        "IPv6 TCP from the agent was not refused: {v6}"
    );
    assert!(
        v6_rejects(&b, &holder).await > rejects,
        "the ip6tables REJECT rule did not see the packets: {v6}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = container_logs(&w.blocked);
    assert!(
        !seen.contains("canary-udp6") && !seen.contains(&format!("from {holder_ip6}")),
        "the blocked host received over IPv6: {seen}"
    );

    // The agent cannot change the rules or routes, as itself or as root in its container, and
    // the reason is the missing capability (not a missing program). Positive control: the same
    // commands, from the same image, as root with NET_ADMIN in a namespace of their own, work.
    for user in [None, Some("0:0")] {
        let tamper = sh(ops, name, user, &tamper_script()).await.stdout_text();
        assert_tamper_refused(&tamper, &format!("as {user:?}"));
    }
    let (rc, with_cap) = side_container(
        &prefix,
        "none",
        agent_image.trim(),
        &["--cap-add", "NET_ADMIN"],
        &tamper_script(),
    );
    assert_eq!(rc, 0, "{with_cap}");
    for (cmd, rc, out) in tamper_results(&with_cap) {
        assert_eq!(rc, 0, "`{cmd}` fails even with NET_ADMIN: {out}");
    }
    let resolv = sh(
        ops,
        name,
        None,
        &format!("echo nameserver {} > /etc/resolv.conf", w.rogue_ip),
    )
    .await;
    assert_ne!(resolv.exit_code, 0, "the agent rewrote resolv.conf");
    // Root in the container (which the agent cannot become) can point resolv.conf at the
    // rogue; every query still goes to the filter.
    let rewrite = sh(
        ops,
        name,
        Some("0:0"),
        &format!(
            "echo nameserver {} > /etc/resolv.conf && cat /etc/resolv.conf",
            w.rogue_ip
        ),
    )
    .await;
    assert!(
        rewrite.exit_code == 0
            && rewrite.stdout_text().trim() == format!("nameserver {}", w.rogue_ip),
        "root did not rewrite resolv.conf (rc {}): {}{}",
        rewrite.exit_code,
        rewrite.stdout_text(),
        rewrite.stderr_text()
    );
    let via_rogue = sh(
        ops,
        name,
        None,
        &format!("getent hosts blocked.test; getent hosts sbx-resolv.{prefix}.example; true"),
    )
    .await;
    assert!(
        via_rogue.stdout_text().trim().is_empty(),
        "resolved through the rogue: {}",
        via_rogue.stdout_text()
    );
    assert_eq!(port(ops, name, &w.blocked_ip, 443).await, "closed");
    assert_ne!(
        sh(ops, name, None, "getent hosts blocked.test")
            .await
            .exit_code,
        0
    );
    // The rogue saw the control's query, and none of the sandbox's.
    let rogue_log = container_logs(&w.rogue);
    assert!(
        rogue_log.contains(&control),
        "the rogue's query log lacks the control query: {rogue_log}"
    );
    assert!(
        !rogue_log.contains("sbx-"),
        "the rogue resolver saw the sandbox's queries: {rogue_log}"
    );

    // Blocked attempts are visible: counters and the log name what was refused.
    let counters = cctui::sandbox::firewall::counters(&b, &holder)
        .await
        .unwrap();
    assert!(counters.rejected_packets > 0, "{counters:?}");
    let log = cctui::sandbox::firewall::blocked_log(&b, &holder, 200)
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.kind == "dns" && e.destination.contains("blocked.test")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|e| e.destination == w.blocked_ip && e.port == Some(443)),
        "{log:?}"
    );
    assert_eq!(
        cctui::sandbox::firewall::verify(&b, &holder).await.unwrap(),
        Ok(())
    );

    // A change to the allowlist applies to the running session; claude is not restarted.
    let before = ops
        .backend
        .inspect_container(&ops.running_agent(name).await.unwrap())
        .await
        .unwrap()
        .started_at;
    ops.change_allowlist(name, "blocked.test", false)
        .await
        .unwrap();
    assert_eq!(
        sh(
            ops,
            name,
            None,
            "getent hosts blocked.test >/dev/null && echo yes"
        )
        .await
        .stdout_text()
        .trim(),
        "yes"
    );
    assert_eq!(port(ops, name, "blocked.test", 443).await, "open");
    let after = ops
        .backend
        .inspect_container(&ops.running_agent(name).await.unwrap())
        .await
        .unwrap()
        .started_at;
    assert_eq!(before, after, "the agent was restarted");
    ops.change_allowlist(name, "blocked.test", true)
        .await
        .unwrap();
    assert_ne!(
        sh(ops, name, None, "getent hosts blocked.test")
            .await
            .exit_code,
        0,
        "deny did not apply"
    );

    // Killing the holder leaves egress blocked, even to the allowed host by address.
    let allowed_ip = docker(&[
        "inspect",
        "-f",
        &format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            w.net
        ),
        &w.allowed,
    ]);
    ops.backend.kill_container(&holder).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dead = sh(
        ops,
        name,
        None,
        &format!(
            "{}; getent hosts allowed.test || echo noname",
            connect(allowed_ip.trim(), 443)
        ),
    )
    .await;
    assert_eq!(
        dead.stdout_text().trim(),
        "closed\nnoname",
        "egress with a dead holder: {}",
        dead.stdout_text()
    );
    let report = ops.firewall_report(name).await.unwrap();
    assert_eq!(report.status.label(), "degraded");

    // Restarting re-applies and re-verifies.
    ops.restart(name, |_| {}).await.unwrap();
    assert_eq!(port(ops, name, "allowed.test", 443).await, "open");
    assert_ne!(
        sh(ops, name, None, "getent hosts blocked.test")
            .await
            .exit_code,
        0
    );
    ops.remove(name, false).await.unwrap();
}

#[tokio::test]
async fn a_failing_firewall_setup_leaves_no_agent_running() {
    let prefix = unique("fwfail");
    let _c = Cleanup::new(&prefix);
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let project = TempFolder::new(&prefix, UID);
    let ops = ops_for(&cfg.path, &[]).await;
    // A holder whose rules cannot be applied: the real script, in an image without dnsmasq,
    // fails for real, and the step it names is the one cctui reports.
    std::fs::create_dir_all(cfg.path.join("recipe")).unwrap();
    std::fs::write(
        cfg.path.join("recipe/net.Dockerfile"),
        format!(
            "{}RUN rm /usr/sbin/dnsmasq\n",
            include_str!("../config/recipe/net.Dockerfile")
        ),
    )
    .unwrap();
    let name = format!("{prefix}-s");
    let plan = plan_session(&ops.config, &project.path, Some(&name), &[], &[]).unwrap();
    let mut vols = Cleanup::new(&format!("{prefix}-vols"));
    vols.volumes = vec![plan.project.config_volume(), plan.project.history_volume()];
    let err = ops.create(&plan, |_| {}).await.unwrap_err().to_string();
    assert!(
        err.contains("apply failed at step dnsmasq") && err.contains("dnsmasq: not found"),
        "the error names the step that failed: {err}"
    );
    assert!(
        ops.find(&name).await.is_err(),
        "containers were left behind"
    );
    let leftovers = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=cctui.session={name}"),
        "-q",
    ]);
    assert!(leftovers.trim().is_empty(), "{leftovers}");
    assert!(
        ops.backend
            .inspect_volume(&plan.project.config_volume())
            .await
            .unwrap()
            .is_some(),
        "volumes are kept"
    );

    // A broken rule in the config is refused before anything is made.
    let mut bad = ops.clone();
    bad.config.firewall.allow = vec!["not a rule!".into()];
    let err = bad.create(&plan, |_| {}).await.unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
}

/// The holder re-verifies on its own; a firewall tampered with from outside the agent is
/// caught, the deny-all baseline goes in, and the holder exits: the session shows degraded.
#[tokio::test]
async fn periodic_verification_catches_tampering_and_fails_closed() {
    let prefix = unique("fwper");
    let b = engine().await;
    let w = world(&b, &prefix).await;
    let Setup {
        ops, name, plan, ..
    } = &setup(&prefix, &["allowed.test"], Some(&w.net), |ops| {
        ops.config.firewall.verify_interval_secs = 10
    })
    .await;
    let (ops, name) = (ops, name.as_str());
    ops.create(plan, |_| {}).await.unwrap();
    let holder = ops.running_holder(name).await.unwrap();
    let status = cctui::sandbox::firewall::last_verification(&b, &holder)
        .await
        .unwrap();
    assert_eq!(status.label(), "verified", "{status:?}");

    // Someone with root on the host opens the holder's OUTPUT chain.
    let open = b
        .exec(
            &holder,
            &ExecSpec {
                cmd: vec![
                    "sh".into(),
                    "-c".into(),
                    "iptables -P OUTPUT ACCEPT && iptables -I OUTPUT -j ACCEPT".into(),
                ],
                user: Some("0:0".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(open.exit_code, 0, "{}", open.stderr_text());
    // The tampering did open egress: the blocked host is reachable by address and sees the
    // agent's connection. (Verification needs two failures 3 s apart before it acts, so this
    // runs inside the window.)
    let opened = sh(ops, name, None, &connect(&w.blocked_ip, 443)).await;
    assert_eq!(
        opened.stdout_text().trim(),
        "open",
        "the tampering did not open egress: {}",
        opened.stderr_text()
    );
    let seen = container_logs(&w.blocked);
    assert!(
        seen.contains("tcp 443 from"),
        "the blocked host did not see the agent: {seen}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let s = ops.find(name).await.unwrap();
        if !s.holder.as_ref().unwrap().state.is_running() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the holder did not catch the tampering"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // What stopped it is the verification, not a crash: cctui-fw's own exit code for a failed
    // periodic verification (3, passed on by tini), its log line naming the failed check,
    // and no OOM kill.
    let state = docker(&[
        "inspect",
        "-f",
        "{{.State.ExitCode}} oom={{.State.OOMKilled}}",
        &holder,
    ]);
    let logs = container_logs(&holder);
    assert_eq!(
        state.trim(),
        "3 oom=false",
        "the holder stopped for another reason: {logs}"
    );
    assert!(
        logs.contains("cctui-fw: periodic verification failed:") && logs.contains("ipv4-rules"),
        "no verification failure in the holder's log: {logs}"
    );
    let report = ops.firewall_report(name).await.unwrap();
    assert_eq!(report.status.label(), "degraded");
    let cut = sh(ops, name, None, &connect(&w.blocked_ip, 443)).await;
    assert_eq!(cut.stdout_text().trim(), "closed");
    ops.remove(name, false).await.unwrap();
}

/// What the fake upstream saw of credentials, one line per request ("x-api-key=K
/// authorization=A beta=B", every value of a repeated header joined by " | ").
fn upstream_auth(api: &str) -> Vec<String> {
    container_logs(api)
        .lines()
        .filter_map(|l| l.strip_prefix("api auth "))
        .map(String::from)
        .collect()
}

/// `curl` from the agent: prints "rc=N" and then whatever came back.
async fn curl(ops: &Ops<DockerBackend>, name: &str, args: &str) -> (i32, String) {
    let out = sh(
        ops,
        name,
        None,
        &format!("curl -sS -k --max-time 5 {args} 2>&1; echo \"rc=$?\""),
    )
    .await
    .stdout_text();
    let rc = out
        .rsplit_once("rc=")
        .and_then(|(_, rc)| rc.trim().parse().ok())
        .unwrap_or(-1);
    (rc, out)
}

/// Promise 9: an allowed address opens only the allowed names. One host serves two names from
/// one address; only one is allowed. Asking that address for the other name is refused, by
/// SNI and by Host, and so is a connection that names nothing; the allowed name works by name
/// and through its address; and the proxy connects to the name, never to the address the
/// agent picked.
#[tokio::test]
async fn an_allowed_address_opens_only_the_allowed_names() {
    let prefix = unique("fwname");
    let b = engine().await;
    let _c = Cleanup::new(&prefix);
    let net = test_network(&b, &prefix).await;
    let (names_id, _ca) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["good.test", "other.test"],
        &["good.test", "other.test"],
        "python3 /usr/local/bin/names.py /tmp/tls",
    )
    .await;
    let decoy = start_server(
        &b,
        &prefix,
        &net,
        "decoy.test",
        &["python3", "/usr/local/bin/listen.py", "443"],
    )
    .await;
    let ip = ip_on(&net, &names_id);
    let decoy_ip = ip_on(&net, &decoy);

    // Positive control: the host does serve the other name to whoever asks it directly.
    let direct = b
        .exec(
            &names_id,
            &ExecSpec {
                cmd: vec![
                    "python3".into(),
                    "-c".into(),
                    "import ssl,socket\nc=ssl.create_default_context(cafile='/tmp/tls/ca.pem')\n\
                     s=c.wrap_socket(socket.create_connection(('127.0.0.1',443)),server_hostname='other.test')\n\
                     s.sendall(b'GET / HTTP/1.1\\r\\nHost: other.test\\r\\nConnection: close\\r\\n\\r\\n')\n\
                     print(s.makefile('rb').read().decode())"
                        .into(),
                ],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        direct.stdout_text().contains("served https sni=other.test"),
        "{}{}",
        direct.stdout_text(),
        direct.stderr_text()
    );
    // And an absolute URI that names the other host, with the allowed Host header, is served
    // and reported as such (so the refusal below is one the server would show).
    let direct = b
        .exec(
            &names_id,
            &ExecSpec {
                cmd: vec![
                    "python3".into(),
                    "-c".into(),
                    "import socket\ns=socket.create_connection(('127.0.0.1',80))\n\
                     s.sendall(b'GET http://other.test/ HTTP/1.1\\r\\nHost: good.test\\r\\nConnection: close\\r\\n\\r\\n')\n\
                     print(s.makefile('rb').read().decode())"
                        .into(),
                ],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        direct.stdout_text().contains("target=http://other.test/"),
        "{}{}",
        direct.stdout_text(),
        direct.stderr_text()
    );
    let control_lines = container_logs(&names_id).len();

    let Setup {
        ops, name, plan, ..
    } = &setup(
        &prefix,
        &["good.test:443,80", "decoy.test"],
        Some(&net),
        |_| {},
    )
    .await;
    let (ops, name) = (ops, name.as_str());
    ops.create(plan, |_| {}).await.unwrap();

    // The allowed name, by name (TLS and HTTP) and through its address.
    let (rc, out) = curl(ops, name, "https://good.test/").await;
    assert!(
        rc == 0 && out.contains("served https sni=good.test host=good.test"),
        "{out}"
    );
    let (rc, out) = curl(ops, name, "http://good.test/").await;
    assert!(
        rc == 0 && out.contains("served http sni=- host=good.test"),
        "{out}"
    );
    let (rc, out) = curl(
        ops,
        name,
        &format!("--resolve good.test:443:{ip} https://good.test/"),
    )
    .await;
    assert!(rc == 0 && out.contains("sni=good.test"), "{out}");
    let (rc, out) = curl(ops, name, &format!("-H 'Host: good.test' http://{ip}/")).await;
    assert!(rc == 0 && out.contains("host=good.test"), "{out}");

    // The other name, at the allowed address: refused by SNI, and by Host.
    let (rc, out) = curl(
        ops,
        name,
        &format!("--resolve other.test:443:{ip} https://other.test/"),
    )
    .await;
    assert_ne!(rc, 0, "SNI other.test got through: {out}");
    let (rc, out) = curl(ops, name, &format!("-H 'Host: other.test' http://{ip}/")).await;
    assert_ne!(rc, 0, "Host other.test got through: {out}");
    // An absolute URI naming the other host, with the allowed Host header: refused too (the
    // server names the request line's target in its reply and log; see the control above).
    let (rc, out) = curl(
        ops,
        name,
        &format!("--request-target http://other.test/ -H 'Host: good.test' http://{ip}/"),
    )
    .await;
    assert!(
        rc != 0 && !out.contains("other.test"),
        "an absolute URI naming other.test got through: {out}"
    );
    // No name at all, on a port whose rule needs one.
    let (rc, out) = curl(ops, name, &format!("https://{ip}/")).await;
    assert_ne!(rc, 0, "a TLS connection without SNI got through: {out}");
    // The proxy connects to the name, not to the address the agent picked: the decoy's
    // address, asked for good.test, reaches the names host.
    sh(ops, name, None, "getent hosts decoy.test").await;
    let (rc, out) = curl(
        ops,
        name,
        &format!("--resolve good.test:443:{decoy_ip} https://good.test/"),
    )
    .await;
    assert!(
        rc == 0 && out.contains("served https sni=good.test"),
        "{out}"
    );
    // QUIC (UDP 443) to the allowed name stays blocked.
    sh(
        ops,
        name,
        None,
        "echo quic | nc -u -w 1 good.test 443; true",
    )
    .await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let served = container_logs(&names_id)[control_lines..].to_string();
    assert!(served.contains("sni=good.test"), "{served}");
    assert!(
        !served.contains("other.test"),
        "the other name was served through the filter (by SNI, Host or target): {served}"
    );
    let decoy_log = container_logs(&decoy);
    assert!(
        !decoy_log.contains("tcp 443"),
        "the decoy was reached: {decoy_log}"
    );

    // Visible: refusals by name, with kind, name and port; counted.
    let holder = ops.running_holder(name).await.unwrap();
    let mut log = Vec::new();
    for _ in 0..30 {
        log = cctui::sandbox::firewall::blocked_log(&b, &holder, 200)
            .await
            .unwrap();
        if log.iter().any(|e| e.kind == "udp" && e.port == Some(443)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let has = |kind: &str, dest: &str, port: u16| {
        log.iter()
            .any(|e| e.kind == kind && e.destination == dest && e.port == Some(port))
    };
    assert!(has("sni", "other.test", 443), "{log:?}");
    assert!(has("host", "other.test", 80), "{log:?}");
    assert!(has("sni", "-", 443), "{log:?}");
    assert!(
        log.iter().any(|e| e.kind == "udp" && e.port == Some(443)),
        "{log:?}"
    );
    let counters = cctui::sandbox::firewall::counters(&b, &holder)
        .await
        .unwrap();
    assert!(counters.refused_by_name >= 3, "{counters:?}");
    let report = ops.firewall_report(name).await.unwrap();
    assert_eq!(report.status.label(), "verified", "{:?}", report.status);
    let json = serde_json::to_value(&report).unwrap();
    let good = json["allowlist"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "good.test:80,443")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(good["checks"][0]["checked"], "host", "{good}");
    assert_eq!(good["checks"][1]["checked"], "sni", "{good}");
    assert_eq!(
        cctui::sandbox::firewall::verify(&b, &holder).await.unwrap(),
        Ok(())
    );
    ops.remove(name, false).await.unwrap();
}

/// Promise 2 for the proxy and the broker: kill the proxy, kill the broker, remove the proxy's
/// rules from the host side. Each time egress stays blocked (by name and to the broker), and
/// the session shows degraded; a restart brings both back.
#[tokio::test]
async fn the_proxy_and_the_broker_fail_closed() {
    let prefix = unique("fwfault");
    let b = engine().await;
    let _c = Cleanup::new(&prefix);
    let net = test_network(&b, &prefix).await;
    start_tls_server(
        &b,
        &prefix,
        &net,
        &["good.test"],
        &["good.test"],
        "python3 /usr/local/bin/names.py /tmp/tls",
    )
    .await;
    let (api, ca) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["api.fake.test"],
        &["api.fake.test"],
        "python3 /usr/local/bin/fake_api.py 443 0 /tmp/tls",
    )
    .await;
    // Positive control: the fake upstream logs every value of a repeated credential header.
    let (rc, out) = side_container(
        &prefix,
        &net,
        &server_image(&b).await,
        &[],
        "python3 -c \"import http.client,ssl\nc=http.client.HTTPSConnection('api.fake.test',\
         context=ssl._create_unverified_context())\nc.putrequest('GET','/v1/models')\n\
         c.putheader('x-api-key','ctl-one')\nc.putheader('x-api-key','ctl-two')\nc.endheaders()\n\
         print(c.getresponse().status)\"",
    );
    assert!(rc == 0 && out.contains("200"), "{out}");
    assert!(
        upstream_auth(&api)
            .iter()
            .any(|l| l.starts_with("x-api-key=ctl-one | ctl-two ")),
        "{:?}",
        upstream_auth(&api)
    );
    let keys = TempFolder::new(&format!("{prefix}-keys"), 0);
    let (key, ca_file) = (keys.path.join("key"), keys.path.join("ca.pem"));
    std::fs::write(&key, "sk-ant-api03-fault-test-canary-not-a-key\n").unwrap();
    std::fs::write(&ca_file, ca).unwrap();
    let Setup {
        ops, name, plan, ..
    } = &setup(&prefix, &["good.test"], Some(&net), |ops| {
        ops.config.firewall.verify_interval_secs = 10;
        ops.config.broker.upstream = "https://api.fake.test".into();
        ops.config.broker.extra_ca_certs = vec![ca_file.clone()];
        ops.config.secrets.anthropic_api_key = Some(cctui::config::SecretSource {
            file: Some(key.clone()),
            ..Default::default()
        });
    })
    .await;
    let (ops, name) = (ops, name.as_str());
    ops.create(plan, |_| {}).await.unwrap();

    let by_name = || curl(ops, name, "https://good.test/");
    let brokered = || {
        curl(
            ops,
            name,
            "-H 'content-type: application/json' -d '{\"max_tokens\":5,\"messages\":[]}' \
             http://127.0.0.1:999/v1/messages",
        )
    };
    let works = |(rc, out): (i32, String), what: &str| {
        assert!(rc == 0 && out.contains(what), "expected {what}: {out}");
    };
    let blocked = |(rc, out): (i32, String)| {
        assert_ne!(rc, 0, "egress got through: {out}");
    };
    let bref = &b;
    let holder_exec = |user: &str, script: &str| {
        let (user, script) = (user.to_string(), script.to_string());
        async move {
            let b = bref;
            let h = ops.running_holder(name).await.unwrap();
            b.exec(
                &h,
                &ExecSpec {
                    cmd: vec!["sh".into(), "-c".into(), script],
                    user: Some(user),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let wait_degraded = |what: &'static str, secs: u64| async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let s = ops.find(name).await.unwrap();
            if !s.holder.as_ref().unwrap().state.is_running() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the holder did not fail closed after: {what}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let report = ops.firewall_report(name).await.unwrap();
        assert_eq!(
            report.status.label(),
            "degraded",
            "{what}: {:?}",
            report.status
        );
    };
    works(by_name().await, "sni=good.test");
    works(brokered().await, "msg_fake");
    // The agent repeats the credential headers: each request that reaches the upstream
    // carries the broker's key once and nothing of the agent's (nginx may refuse a repeated
    // Authorization outright; a repeated x-api-key is forwarded).
    let before = upstream_auth(&api).len();
    let body = format!(
        "-H 'content-type: application/json' -d '{{\"max_tokens\":5,\"messages\":[]}}' \
         http://127.0.0.1:{}/v1/messages",
        cctui::sandbox::broker::BROKER_PORT
    );
    works(
        curl(
            ops,
            name,
            &format!("-H 'x-api-key: agent-one' -H 'x-api-key: agent-two' {body}"),
        )
        .await,
        "msg_fake",
    );
    curl(
        ops,
        name,
        &format!("-H 'Authorization: Bearer agent-a1' -H 'Authorization: Bearer agent-a2' {body}"),
    )
    .await;
    let seen = upstream_auth(&api);
    assert!(seen.len() > before, "{seen:?}");
    for line in &seen[before..] {
        assert_eq!(
            line, "x-api-key=sk-ant-api03-fault-test-canary-not-a-key authorization=- beta=-",
            "{seen:?}"
        );
    }

    // 1. Every process of the proxy's uid killed: names are blocked at once, and the holder
    //    fails closed (its last word says why).
    holder_exec("64997:64997", "kill -KILL -1").await;
    blocked(by_name().await);
    let holder = ops.find(name).await.unwrap().holder.unwrap().id;
    wait_degraded("the proxy was killed", 10).await;
    blocked(by_name().await);
    blocked(brokered().await);
    let last = container_logs(&holder);
    assert!(last.contains("proxy died"), "{last}");
    ops.restart(name, |_| {}).await.unwrap();
    works(by_name().await, "sni=good.test");
    works(brokered().await, "msg_fake");

    // 2. The broker killed: nothing reaches the upstream, and the holder fails closed.
    holder_exec("64996:64996", "kill -KILL -1").await;
    blocked(brokered().await);
    wait_degraded("the broker was killed", 10).await;
    blocked(brokered().await);
    blocked(by_name().await);
    let last = container_logs(&holder);
    assert!(last.contains("broker died"), "{last}");
    ops.restart(name, |_| {}).await.unwrap();
    works(by_name().await, "sni=good.test");

    // 3. The proxy's redirects removed from the host side: the agent's connections to the
    //    allowed address are not proxied, and only the proxy's uid may make them directly.
    let flush = holder_exec(
        "0:0",
        "iptables-$(cat /run/cctui/backend) -w 5 -t nat -F CCTUI-PROXY",
    )
    .await;
    assert_eq!(flush.exit_code, 0, "{}", flush.stderr_text());
    blocked(by_name().await);
    let h = ops.running_holder(name).await.unwrap();
    let v = cctui::sandbox::firewall::verify(&b, &h).await.unwrap();
    assert!(
        v.as_ref().is_err_and(|why| why.contains("proxy-rules")),
        "{v:?}"
    );
    wait_degraded("the proxy's rules were removed", 40).await;
    blocked(by_name().await);
    ops.remove(name, false).await.unwrap();
}

/// Starts a plain listener (listen.py on `port`) on `net` under `alias`; returns its id.
async fn listener(b: &DockerBackend, prefix: &str, net: &str, alias: &str, port: &str) -> String {
    start_server(
        b,
        prefix,
        net,
        alias,
        &["python3", "/usr/local/bin/listen.py", port],
    )
    .await
}

/// How many TCP connections to `port` from `ip` the listener `id` logged (a dual-stack
/// listener sees IPv4 peers as ::ffff:A.B.C.D).
fn arrivals(id: &str, port: u16, ip: &str) -> usize {
    container_logs(id)
        .lines()
        .filter(|l| {
            l.strip_prefix(&format!("tcp {port} from "))
                .is_some_and(|from| from.trim_start_matches("::ffff:") == ip)
        })
        .count()
}

/// Exact names, wildcards and marked ports, with real DNS (Docker's resolver answering the
/// test hosts' aliases). A rule for exactly `api.x.test` does not let `sub.api.x.test` resolve
/// or connect; `*.w.test` lets `w.test` and its subdomains at any depth, and not `xw.test`.
/// A port marked /tls or /http is checked by name (the right one passes, a wrong one is
/// refused and never arrives); an unmarked port is checked by address only. Positive control
/// for each refusal: the same request from a container outside the sandbox gets through.
#[tokio::test]
async fn exact_names_wildcards_and_marked_ports_with_real_dns() {
    let prefix = unique("fwexact");
    let b = engine().await;
    let _c = Cleanup::new(&prefix);
    let net = test_network(&b, &prefix).await;
    let (names_id, _ca) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["good.test", "other.test"],
        &["good.test", "other.test"],
        "sh -c 'python3 /usr/local/bin/listen.py 9000 & \
         exec python3 /usr/local/bin/names.py /tmp/tls 8443 8080'",
    )
    .await;
    let mut hosts = std::collections::BTreeMap::new();
    for alias in [
        "api.x.test",
        "sub.api.x.test",
        "w.test",
        "sub.w.test",
        "deep.sub.w.test",
        "xw.test",
    ] {
        hosts.insert(alias, listener(&b, &prefix, &net, alias, "9000").await);
    }
    let ip = ip_on(&net, &names_id);
    let agent_image = {
        let cfg = TempFolder::new(&format!("{prefix}-img"), 0);
        let ops = ops_for(&cfg.path, &[]).await;
        let project = TempFolder::new(&format!("{prefix}-imgp"), UID);
        let plan = plan_session(&ops.config, &project.path, None, &[], &[]).unwrap();
        let (agent, _) = ops
            .ensure_images(&plan, Default::default(), &mut |_| {})
            .await
            .unwrap();
        agent
    };

    // Positive controls, outside the sandbox: every name resolves and connects, and the names
    // host serves the other name on its marked ports.
    let names: Vec<&str> = hosts.keys().copied().collect();
    let script = names
        .iter()
        .map(|n| format!("getent hosts {n} >/dev/null && {}", connect(n, 9000)))
        .collect::<Vec<_>>()
        .join("; ");
    let (rc, out) = side_container(&prefix, &net, &agent_image, &[], &script);
    assert_eq!(
        out.lines().filter(|l| *l == "open").count(),
        names.len(),
        "(rc {rc}) {out}"
    );
    let (_, out) = side_container(
        &prefix,
        &net,
        &agent_image,
        &[],
        &format!(
            "curl -sSk --resolve other.test:8443:{ip} https://other.test:8443/; \
             curl -sS -H 'Host: other.test' http://{ip}:8080/"
        ),
    );
    assert!(
        out.contains("served https sni=other.test")
            && out.contains("served http sni=- host=other.test"),
        "{out}"
    );
    let control_lines = container_logs(&names_id).len();

    let Setup {
        ops, name, plan, ..
    } = &setup(
        &prefix,
        &[
            "api.x.test:9000",
            "*.w.test:9000",
            "good.test:8443/tls,8080/http,9000",
        ],
        Some(&net),
        |_| {},
    )
    .await;
    let (ops, name) = (ops, name.as_str());
    ops.create(plan, |_| {}).await.unwrap();
    let holder = ops.running_holder(name).await.unwrap();
    let holder_ip = ip_on(&net, &holder);

    // Names: resolved (or not) through the filter, connected by name and by address.
    for (alias, allowed) in [
        ("api.x.test", true),
        ("sub.api.x.test", false),
        ("w.test", true),
        ("sub.w.test", true),
        ("deep.sub.w.test", true),
        ("xw.test", false),
    ] {
        let resolved = sh(ops, name, None, &format!("getent hosts {alias}")).await;
        assert_eq!(
            resolved.exit_code == 0,
            allowed,
            "{alias} resolved: {}",
            resolved.stdout_text()
        );
        let addr = ip_on(&net, &hosts[alias]);
        let want = if allowed { "open" } else { "closed" };
        // Counted before and after: the holder may have the address a control container had.
        let before = arrivals(&hosts[alias], 9000, &holder_ip);
        assert_eq!(
            port(ops, name, &addr, 9000).await,
            want,
            "{alias} at {addr}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let arrived = arrivals(&hosts[alias], 9000, &holder_ip) > before;
        assert_eq!(
            arrived, allowed,
            "{alias}: the agent's connection arrived: {arrived}"
        );
    }

    // Marked ports: checked by name, both ways.
    let (rc, out) = curl(ops, name, "https://good.test:8443/").await;
    assert!(
        rc == 0 && out.contains("served https sni=good.test host=good.test:8443"),
        "{out}"
    );
    let (rc, out) = curl(ops, name, "http://good.test:8080/").await;
    assert!(
        rc == 0 && out.contains("served http sni=- host=good.test:8080"),
        "{out}"
    );
    let (rc, out) = curl(
        ops,
        name,
        &format!("--resolve other.test:8443:{ip} https://other.test:8443/"),
    )
    .await;
    assert!(
        rc != 0 && !out.contains("served"),
        "SNI other.test on 8443/tls: {out}"
    );
    let (rc, out) = curl(
        ops,
        name,
        &format!("-H 'Host: other.test' http://{ip}:8080/"),
    )
    .await;
    assert!(
        rc != 0 && !out.contains("served"),
        "Host other.test on 8080/http: {out}"
    );
    // The unmarked port: by address only, so a TLS hello naming the other host reaches it.
    let before = arrivals(&names_id, 9000, &holder_ip);
    curl(
        ops,
        name,
        &format!("--resolve other.test:9000:{ip} https://other.test:9000/"),
    )
    .await;
    assert_eq!(port(ops, name, &ip, 9000).await, "open");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = arrivals(&names_id, 9000, &holder_ip);
    assert_eq!(after, before + 2, "the unmarked port was checked by name");
    let served = container_logs(&names_id)[control_lines..].to_string();
    assert!(
        served.contains("sni=good.test") && served.contains("host=good.test:8080"),
        "{served}"
    );
    assert!(
        !served.contains("other.test"),
        "the other name was served through a marked port: {served}"
    );
    let log = cctui::sandbox::firewall::blocked_log(&b, &holder, 200)
        .await
        .unwrap();
    let has = |kind: &str, dest: &str, port: u16| {
        log.iter()
            .any(|e| e.kind == kind && e.destination == dest && e.port == Some(port))
    };
    assert!(has("sni", "other.test", 8443), "{log:?}");
    assert!(has("host", "other.test", 8080), "{log:?}");
    assert!(
        log.iter()
            .any(|e| e.kind == "dns" && e.destination.contains("sub.api.x.test")),
        "{log:?}"
    );
    ops.remove(name, false).await.unwrap();
}

/// A probe in Python (the server image has no nc or dig), run as an unprivileged uid with no
/// capabilities: DNS for `name` from each resolver, TCP to each target, a UDP datagram
/// `canary` to the UDP target. Prints one "probe result" line each.
fn probe_script(name: &str, resolvers: &[&str], tcp: &[(&str, u16)], udp: (&str, &str)) -> String {
    let py = format!(
        r#"import socket, struct
def dns(server, name):
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    try:
        s.sendto(q, (server, 53)); r = s.recv(512)
    except OSError as e:
        return "none:" + type(e).__name__
    an = struct.unpack(">H", r[6:8])[0]
    return "rcode=%d,answers=%d,last=%s" % (r[3] & 15, an, socket.inet_ntoa(r[-4:]) if an else "-")
def tcp(host, port):
    try:
        socket.create_connection((host, port), 3).close(); return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        return "failed:" + type(e).__name__
for r in {resolvers:?}:
    print("dns@%s %s" % (r, dns(r, "{name}")), flush=True)
for h, p in {tcp:?}:
    print("tcp@%s:%d %s" % (h, p, tcp(h, p)), flush=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"{canary}\n", ("{udp_host}", 5353)); print("udp sent", flush=True)
except OSError as e:
    print("udp %s" % type(e).__name__, flush=True)
"#,
        resolvers = resolvers,
        tcp = tcp
            .iter()
            .map(|(h, p)| (h.to_string(), *p))
            .collect::<Vec<_>>(),
        canary = udp.1,
        udp_host = udp.0,
    );
    format!("python3 -c '{}'", py.replace('\'', "'\\''"))
}

/// The probe's results by key ("dns@127.0.0.11", "tcp@10.0.0.2:443", "udp").
fn probe_results(out: &str) -> std::collections::BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// The real holder script, with `apply` held back until the test creates /run/cctui/go: the
/// holder runs `hold` alone meanwhile, as it does between its start and the first apply.
fn gated_holder_script() -> String {
    let real = include_str!("../config/recipe/net/cctui-fw");
    let gated = real.replace(
        "\napply) cmd_apply ;;",
        "\napply) while [ ! -e \"$RUN/go\" ]; do sleep 0.2; done; cmd_apply ;;",
    );
    assert_ne!(
        gated, real,
        "cctui-fw's command dispatch changed; update this test"
    );
    gated
}

/// Promise 1 before any rule: between the holder's start and the first apply, the namespace
/// is deny-all. Observed from the namespace itself (a probe container joined to the held
/// namespace, unprivileged): no resolver answers, no TCP connects, no datagram arrives.
/// Positive controls: the same probe from outside the sandbox gets everything through; after
/// apply the allowed name resolves and its port connects, and the rest stays refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deny_all_baseline_holds_before_any_rule() {
    let prefix = unique("fwbase");
    let b = engine().await;
    let w = world(&b, &prefix).await;
    let Setup {
        ops, name, plan, ..
    } = &setup(&prefix, &["allowed.test:8080"], Some(&w.net), |ops| {
        let net = ops.config_dir.join("recipe/net");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(net.join("cctui-fw"), gated_holder_script()).unwrap();
    })
    .await;
    let allowed_ip = address_on(&w.allowed, &w.net, "IPAddress");
    let probe = |canary: &str| {
        probe_script(
            "allowed.test",
            &["127.0.0.11", &w.rogue_ip],
            &[(&allowed_ip, 443), (&allowed_ip, 8080)],
            (&allowed_ip, canary),
        )
    };
    let unprivileged = [
        "--user",
        "1234:1234",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    ];
    let server = server_image(&b).await;
    let dns = format!("dns@{}", "127.0.0.11");
    let rogue = format!("dns@{}", w.rogue_ip);
    let (t443, t8080) = (
        format!("tcp@{allowed_ip}:443"),
        format!("tcp@{allowed_ip}:8080"),
    );

    // Control: outside the sandbox, everything gets through.
    let (rc, out) = side_container(
        &prefix,
        &w.net,
        &server,
        &unprivileged,
        &probe("canary-ctl"),
    );
    let r = probe_results(&out);
    assert!(
        rc == 0
            && r[&dns] == format!("rcode=0,answers=1,last={allowed_ip}")
            && r[&rogue] == format!("rcode=0,answers=1,last={ROGUE_ANSWER}")
            && r[&t443] == "open"
            && r[&t8080] == "open",
        "the probe does not get through without a firewall (rc {rc}): {out}"
    );

    let (ops2, plan2) = (ops.clone(), plan.clone());
    let created = tokio::spawn(async move { ops2.create(&plan2, |_| {}).await.map(|_| ()) });
    // The holder is up and holding (its namespace recorded), and apply waits at the gate.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let holder = loop {
        let id = docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=cctui.session={name}"),
            "--filter",
            "label=cctui.role=net",
        ]);
        let id = id.trim();
        if !id.is_empty() && docker_ok(&["exec", id, "test", "-e", "/run/cctui/held"]) {
            break id.to_string();
        }
        assert!(
            !created.is_finished() && std::time::Instant::now() < deadline,
            "the holder did not come up to hold"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let (rc, out) = side_container(
        &prefix,
        &format!("container:{holder}"),
        &server,
        &unprivileged,
        &probe("canary-baseline"),
    );
    let r = probe_results(&out);
    assert!(
        rc == 0
            && r[&dns].starts_with("none:")
            && r[&rogue].starts_with("none:")
            && r[&t443] == "refused"
            && r[&t8080] == "refused",
        "egress before any rule (rc {rc}): {out}"
    );
    assert!(!created.is_finished(), "apply did not wait at the gate");

    docker(&["exec", &holder, "touch", "/run/cctui/go"]);
    created.await.unwrap().unwrap();
    let (rc, out) = side_container(
        &prefix,
        &format!("container:{holder}"),
        &server,
        &unprivileged,
        &probe("canary-applied"),
    );
    let r = probe_results(&out);
    assert!(
        rc == 0
            && r[&dns] == format!("rcode=0,answers=1,last={allowed_ip}")
            && r[&rogue] == format!("rcode=0,answers=1,last={allowed_ip}")
            && r[&t443] == "refused"
            && r[&t8080] == "open",
        "after apply (rc {rc}): {out}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = container_logs(&w.allowed);
    assert!(seen.contains("canary-ctl"), "{seen}");
    assert!(
        !seen.contains("canary-baseline") && !seen.contains("canary-applied"),
        "a datagram got out of the sandbox: {seen}"
    );
    ops.remove(name, false).await.unwrap();
}

/// `docker ARGS` succeeded.
fn docker_ok(args: &[&str]) -> bool {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}
