//! The network holder against the agent as an adversary that shares its namespace: the name
//! the proxy checks is the name the server sees (issue 21, class 2); the agent can take none
//! of the holder's ports and the holder's daemons talk only to their own peers, and a failed
//! apply shows (class 3); the broker is the only way to its upstream and forwards only what
//! claude needs, over a certificate it trusts (classes 6 and 7). Test servers only, on the
//! project's own Docker networks.

mod common;

use std::path::Path;
use std::time::Duration;

use cctui::backend::{Backend, DockerBackend, ExecOutput, ExecSpec};
use cctui::session::ops::Ops;
use cctui::session::plan_session;
use common::*;

const UID: u32 = 1234;
const CANARY: &str = "sk-ant-api03-holder-test-canary-not-a-key";
const AGENT_KEY: &str = "sk-ant-api03-the-agents-own-key";

/// A firewalled session's surroundings: guards first, so that they drop last.
struct Setup {
    _cleanup: Cleanup,
    _volumes: Cleanup,
    cfg: TempFolder,
    _project: TempFolder,
    ops: Ops<DockerBackend>,
    name: String,
    plan: cctui::session::SessionPlan,
}

/// Config, project and plan for a session `<prefix>-s` allowing `rules` on `net`.
async fn setup(
    prefix: &str,
    rules: &[&str],
    net: &str,
    tweak: impl FnOnce(&mut Ops<DockerBackend>),
) -> Setup {
    let cleanup = Cleanup::new(prefix);
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    let project = TempFolder::new(prefix, UID);
    let mut ops = small_ops(&cfg.path).await;
    ops.config.firewall.presets = vec![];
    ops.config.firewall.allow = rules.iter().map(|s| s.to_string()).collect();
    tweak(&mut ops);
    let name = format!("{prefix}-s");
    let plan = plan_session(
        &ops.config,
        &project.path,
        Some(&name),
        &[],
        &[net.to_string()],
    )
    .unwrap();
    let mut volumes = Cleanup::new(&format!("{prefix}-vols"));
    volumes.volumes = vec![plan.project.config_volume(), plan.project.history_volume()];
    Setup {
        _cleanup: cleanup,
        _volumes: volumes,
        cfg,
        _project: project,
        ops,
        name,
        plan,
    }
}

/// `curl` from the agent: the exit code, and whatever came back then "rc=N".
async fn curl(ops: &Ops<DockerBackend>, name: &str, args: &str) -> (i32, String) {
    let out = sh_in(
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

/// A container's logs; panics if docker cannot read them (a failed read is never "nothing").
fn logs(id: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["logs", id])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker logs {id}: {:?}", out);
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Runs `script` in the session's holder as `user` ("uid:gid").
async fn in_holder(ops: &Ops<DockerBackend>, name: &str, user: &str, script: &str) -> ExecOutput {
    let holder = ops.running_holder(name).await.unwrap();
    ops.backend
        .exec(
            &holder,
            &ExecSpec {
                cmd: vec!["sh".into(), "-c".into(), script.into()],
                user: Some(user.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

/// Class 2: on an HTTP port the proxy forwards only the name it checked. A request whose
/// absolute URI and Host header differ, or that has two Host headers or none, is refused and
/// never reaches the server; the same server under the allowed name works.
#[tokio::test]
async fn the_proxy_forwards_only_the_name_it_checked() {
    let prefix = unique("hname");
    let b = engine().await;
    let _c = Cleanup::new(&prefix);
    let net = test_network(&b, &prefix).await;
    let (names, _ca) = start_tls_server(
        &b,
        &prefix,
        &net,
        &["good.test", "other.test"],
        &["good.test", "other.test"],
        "python3 /usr/local/bin/names.py /tmp/tls",
    )
    .await;
    let s = setup(&prefix, &["good.test:80,443"], &net, |_| {}).await;
    let (ops, name) = (&s.ops, s.name.as_str());
    ops.create(&s.plan, |_| {}).await.unwrap();

    // Positive controls: the allowed name, plainly and as an absolute URI with its own Host.
    let (rc, out) = curl(ops, name, "http://good.test/").await;
    assert!(
        rc == 0 && out.contains("served http sni=- host=good.test"),
        "{out}"
    );
    let (rc, out) = curl(
        ops,
        name,
        "--request-target http://good.test/abs -H 'Host: GOOD.test' http://good.test/",
    )
    .await;
    assert!(
        rc == 0 && out.to_lowercase().contains("host=good.test"),
        "{out}"
    );

    // The request line names the allowed host, the Host header another (and the reverse, and
    // with https:// in the request line): refused.
    for target in [
        "--request-target http://good.test/m1 -H 'Host: other.test'",
        "--request-target http://other.test/m2 -H 'Host: good.test'",
        "--request-target https://good.test/m3 -H 'Host: other.test'",
        "--request-target http://good.test/m4 -H 'Host: other.test:80'",
    ] {
        let (rc, out) = curl(ops, name, &format!("{target} http://good.test/")).await;
        assert!(
            rc != 0 && !out.contains("served"),
            "{target} got through: {out}"
        );
    }
    // Two Host headers; an absolute URI with no Host header at all (HTTP/1.0).
    let raw = |req: &str| {
        format!(
            "printf '{req}' | nc -w 3 good.test 80; echo; echo done",
            req = req.replace('\n', "\\r\\n")
        )
    };
    for req in [
        "GET /m5 HTTP/1.1\nHost: good.test\nHost: other.test\nConnection: close\n\n",
        "GET http://good.test/m6 HTTP/1.0\n\n",
        "GET http://other.test/m7 HTTP/1.0\nHost: good.test\n\n",
    ] {
        let out = sh_in(ops, name, None, &raw(req)).await.stdout_text();
        assert!(!out.contains("served"), "{req:?} got through: {out}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let served = logs(&names);
    for m in ["m1", "m2", "m3", "m4", "m5", "m6", "m7"] {
        assert!(
            !served.contains(&format!("path=/{m}")) && !served.contains(&format!("good.test/{m}")),
            "refused request {m} arrived: {served}"
        );
    }
    assert!(!served.contains("host=other.test"), "{served}");
    assert!(served.contains("/abs"), "{served}");

    // Logged as such.
    let holder = ops.running_holder(name).await.unwrap();
    let log = cctui::sandbox::firewall::blocked_log(&b, &holder, 200)
        .await
        .unwrap();
    assert!(
        log.iter().any(|e| e.kind == "host-mismatch"
            && e.destination == "good.test"
            && e.port == Some(80)),
        "{log:?}"
    );
    ops.remove(name, false).await.unwrap();
}

/// What a bind by uid 1234 with no capabilities gives, for each of `targets`
/// ("tcp|udp ADDR PORT [reuseport]"): one "TARGET: ok" or "TARGET: <error>" line each.
fn bind_script(targets: &[&str]) -> String {
    let list = targets.join(";");
    format!(
        r#"perl -MSocket=:all -e '
for my $t (split /;/, $ARGV[0]) {{
  my ($proto, $addr, $port, $reuse) = split / /, $t;
  my $v6 = $addr =~ /:/;
  my $fam = $v6 ? AF_INET6 : AF_INET;
  my $type = $proto eq "udp" ? SOCK_DGRAM : SOCK_STREAM;
  my $s;
  if (!socket($s, $fam, $type, 0)) {{ print "$t: socket: $!\n"; next }}
  setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
  setsockopt($s, SOL_SOCKET, SO_REUSEPORT, 1) if $reuse;
  my $sa = $v6 ? pack_sockaddr_in6($port, inet_pton(AF_INET6, $addr)) : pack_sockaddr_in($port, inet_aton($addr));
  if (bind($s, $sa)) {{ print "$t: ok\n" }} else {{ print "$t: $!\n" }}
  close($s);
}}' '{list}'"#
    )
}

const HOLDER_PORTS: &[&str] = &[
    "udp 127.0.0.1 53",
    "tcp 127.0.0.1 53",
    "udp 127.0.0.1 53 reuseport",
    "udp 0.0.0.0 53",
    "udp 127.0.0.2 53",
    "udp :: 53",
    "tcp 127.0.0.1 900",
    "tcp 127.0.0.1 900 reuseport",
    "tcp 0.0.0.0 950",
    "tcp 127.0.0.2 950",
    "tcp :: 950",
    "tcp 127.0.0.1 999",
    "tcp 127.0.0.1 999 reuseport",
    "tcp 0.0.0.0 999",
    "tcp 127.0.0.1 1023",
];

/// Class 3: the agent (uid 1234, no capabilities, in the holder's namespace) can bind no port
/// the holder uses or may use, on any address, with or without SO_REUSEPORT; it still binds
/// its own ports from 1024. Control: in a namespace of Docker's defaults, the same user binds
/// them all. The holder's daemons reach nothing of the agent's on loopback.
#[tokio::test]
async fn the_agent_can_take_no_port_of_the_holder() {
    let prefix = unique("hports");
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
    let s = setup(&prefix, &["good.test:80,443"], &net, |_| {}).await;
    let (ops, name) = (&s.ops, s.name.as_str());
    ops.create(&s.plan, |_| {}).await.unwrap();
    let agent_image = ops
        .backend
        .inspect_container(&ops.running_agent(name).await.unwrap())
        .await
        .unwrap()
        .summary
        .image;

    // Control: Docker's own default (unprivileged ports from 0) lets this user bind them.
    let (rc, control) = {
        let run = format!("cctui.test={}", run_id());
        let out = std::process::Command::new("docker")
            .args([
                "run",
                "--rm",
                "--label",
                &run,
                "--network",
                &net,
                "--user",
                "1234:1234",
                "--cap-drop",
                "ALL",
                "--entrypoint",
                "sh",
                &agent_image,
                "-c",
                &bind_script(&HOLDER_PORTS[..5]),
            ])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(rc, Some(0), "{control}");
    assert_eq!(control.matches(": ok").count(), 5, "control: {control}");

    let mut targets = HOLDER_PORTS.to_vec();
    targets.push("tcp 127.0.0.1 1024");
    targets.push("udp 0.0.0.0 40000");
    let out = sh_in(ops, name, None, &bind_script(&targets)).await;
    let text = out.stdout_text();
    for t in HOLDER_PORTS {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{t}: ")))
            .unwrap_or_else(|| panic!("{t}: no result: {text}{}", out.stderr_text()));
        assert!(!line.ends_with(": ok"), "the agent bound {line}\n{text}");
        if !t.contains("::") {
            assert!(line.contains("Permission denied"), "{line}\n{text}");
        }
    }
    assert!(text.contains("tcp 127.0.0.1 1024: ok"), "{text}");
    assert!(text.contains("udp 0.0.0.0 40000: ok"), "{text}");
    // The holder says so too.
    let holder = ops.running_holder(name).await.unwrap();
    let v = cctui::sandbox::firewall::verify(&b, &holder).await.unwrap();
    assert_eq!(v, Ok(()), "{v:?}");

    // The agent listens on loopback and on its own address; the holder's daemons' uids may
    // not connect there, the agent itself may (control).
    sh_in(
        ops,
        name,
        None,
        "(nc -lk 0.0.0.0 8443 >/dev/null 2>&1 &) ; (nc -lk 127.0.0.1 5353 >/dev/null 2>&1 &); sleep 0.3",
    )
    .await;
    let own = in_holder(ops, name, "0:0", "hostname -i | awk '{print $1}'")
        .await
        .stdout_text()
        .trim()
        .to_string();
    let probe = |host: &str, port: u16| {
        format!("if nc -z -w 2 {host} {port} 2>/dev/null; then echo open; else echo closed; fi")
    };
    for (host, port) in [
        ("127.0.0.1", 8443),
        (own.as_str(), 8443),
        ("127.0.0.1", 5353),
    ] {
        let agent = sh_in(ops, name, None, &probe(host, port))
            .await
            .stdout_text();
        assert_eq!(
            agent.trim(),
            "open",
            "control: the agent reaches {host}:{port}"
        );
        for uid in ["64998", "64997", "64996"] {
            let out = in_holder(ops, name, &format!("{uid}:{uid}"), &probe(host, port))
                .await
                .stdout_text();
            assert_eq!(
                out.trim(),
                "closed",
                "uid {uid} reached the agent's {host}:{port}"
            );
        }
    }
    ops.remove(name, false).await.unwrap();
}

/// Class 3: an apply that fails after it touched the rules (here: the port the next
/// name-checked listener needs is taken, by root in the holder, as nothing else can) is what
/// `fw status`, `ls` and the broker section show: degraded, never verified or "on", and the
/// broker of a session that holds a key never "none".
#[tokio::test]
async fn a_failed_apply_shows_everywhere() {
    let prefix = unique("happly");
    let b = engine().await;
    let _c = Cleanup::new(&prefix);
    let net = test_network(&b, &prefix).await;
    start_tls_server(
        &b,
        &prefix,
        &net,
        &["good.test", "other.test"],
        &["good.test", "other.test"],
        "python3 /usr/local/bin/names.py /tmp/tls",
    )
    .await;
    let (_api, _, keys) = fake_api(&b, &prefix, &net).await;
    let s = setup(&prefix, &["good.test:443"], &net, |ops| {
        broker_config(ops, &keys.path, true)
    })
    .await;
    let (ops, name) = (&s.ops, s.name.as_str());
    ops.create(&s.plan, |_| {}).await.unwrap();
    let before = ops.firewall_report(name).await.unwrap();
    assert_eq!(before.status.label(), "verified", "{:?}", before.status);

    // The first HTTP listener's port (950), taken before the allowlist needs it.
    let take = in_holder(
        ops,
        name,
        "0:0",
        "nohup nc -lk 127.0.0.1 950 >/dev/null 2>&1 </dev/null & sleep 0.3; echo taken",
    )
    .await;
    assert!(
        take.stdout_text().contains("taken"),
        "{}",
        take.stderr_text()
    );
    let err = ops
        .change_allowlist(name, "other.test:80", false)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("step proxy"), "{err}");

    // The holder fails closed (it stops); until then it already says the apply failed.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let down = !ops
            .find(name)
            .await
            .unwrap()
            .holder
            .unwrap()
            .state
            .is_running();
        // A holder that stops while it is read gives an error: read it again.
        if let Ok(report) = ops.firewall_report(name).await {
            assert_ne!(report.status.label(), "verified", "after a failed apply");
            seen.push(format!("{:?}", report.status));
            // The session holds a key: its broker is never reported as absent.
            let lines = report.broker_lines().join("\n");
            assert!(!lines.contains("none"), "{lines}");
            if down {
                assert_eq!(report.status.label(), "degraded", "{:?}", report.status);
                assert!(lines.contains("unknown"), "{lines}");
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the holder still runs after a failed apply: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    label_config(&s.cfg.path);
    let (code, out, err) = cctui(&s.cfg.path, &["ls"]);
    assert_eq!(code, 0, "{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("degraded"), "{row}");
    let (_, status, _) = cctui(&s.cfg.path, &["fw", "status", name]);
    assert!(status.contains("firewall: degraded"), "{status}");
    assert!(status.contains("broker: unknown"), "{status}");
    // Egress is blocked meanwhile.
    let (rc, out) = curl(ops, name, "https://good.test/").await;
    assert_ne!(rc, 0, "{out}");
    ops.remove(name, false).await.unwrap();
}

/// The fake API on `net` (TLS, api.fake.test), and a config for a session whose broker holds
/// the canary key for it. Returns the API container, its address and the CA file's folder.
async fn fake_api(b: &DockerBackend, prefix: &str, net: &str) -> (String, String, TempFolder) {
    let (api, ca) = start_tls_server(
        b,
        prefix,
        net,
        &["api.fake.test"],
        &["api.fake.test"],
        "python3 /usr/local/bin/fake_api.py 443 0 /tmp/tls",
    )
    .await;
    let keys = TempFolder::new(&format!("{prefix}-keys"), 0);
    std::fs::write(keys.path.join("key"), format!("{CANARY}\n")).unwrap();
    std::fs::write(keys.path.join("ca.pem"), ca).unwrap();
    let ip = ip_on(net, &api);
    (api, ip, keys)
}

fn broker_config(ops: &mut Ops<DockerBackend>, keys: &Path, trusted: bool) {
    ops.config.broker.upstream = "https://api.fake.test".into();
    if trusted {
        ops.config.broker.extra_ca_certs = vec![keys.join("ca.pem")];
    }
    ops.config.secrets.anthropic_api_key = Some(cctui::config::SecretSource {
        file: Some(keys.join("key")),
        ..Default::default()
    });
}

/// A brokered request: `METHOD PATH` through the broker with the agent's own key.
fn via_broker(method: &str, path: &str) -> String {
    let port = cctui::sandbox::broker::BROKER_PORT;
    format!(
        "--path-as-is -o /dev/null -w 'status=%{{http_code}}' -X {method} -H 'x-api-key: {AGENT_KEY}' \
         -H 'content-type: application/json' {} http://127.0.0.1:{port}{path}",
        if method == "POST" {
            "-d '{\"max_tokens\":5,\"messages\":[]}'"
        } else {
            ""
        }
    )
}

/// Classes 6 and 7: whatever the allowlist says about the broker's upstream (its exact name,
/// a wildcard over it, a cidr over its address), the agent reaches it only through the
/// broker, which forwards only what claude needs, with the key it holds, and only over a
/// certificate it trusts (at setup, and after the upstream's changes).
#[tokio::test]
async fn the_broker_is_the_only_way_to_its_upstream() {
    let prefix = unique("hbroker");
    let b = engine().await;
    let _c = Cleanup::new(&prefix);
    let net = test_network(&b, &prefix).await;
    let (api, ip, keys) = fake_api(&b, &prefix, &net).await;
    start_tls_server(
        &b,
        &prefix,
        &net,
        &["good.fake.test"],
        &["good.fake.test"],
        "python3 /usr/local/bin/names.py /tmp/tls",
    )
    .await;

    // Without a credential (claude's own login) the upstream is the agent's to reach, as its
    // rule says: the exclusivity below comes from holding a key, not from the name.
    {
        let s = setup(&format!("{prefix}l"), &["api.fake.test"], &net, |ops| {
            ops.config.broker.upstream = "https://api.fake.test".into();
        })
        .await;
        s.ops.create(&s.plan, |_| {}).await.unwrap();
        let (rc, out) = curl(&s.ops, &s.name, "https://api.fake.test/v1/models").await;
        assert!(rc == 0 && out.contains("data"), "{out}");
        s.ops.remove(&s.name, false).await.unwrap();
    }
    let login_requests = logs(&api).matches("api auth").count();

    // An upstream whose certificate is not trusted: refused at setup, naming the step.
    {
        let s = setup(&format!("{prefix}u"), &[], &net, |ops| {
            broker_config(ops, &keys.path, false)
        })
        .await;
        let err = s.ops.create(&s.plan, |_| {}).await.unwrap_err().to_string();
        assert!(err.contains("upstream-tls"), "{err}");
        assert_eq!(logs(&api).matches("api auth").count(), login_requests);
    }

    let s = setup(&prefix, &[], &net, |ops| {
        broker_config(ops, &keys.path, true)
    })
    .await;
    let (ops, name) = (&s.ops, s.name.as_str());
    ops.create(&s.plan, |_| {}).await.unwrap();
    let arrived = |key: &str| logs(&api).matches(&format!("x-api-key={key}")).count();

    // Through the broker (the positive control): it arrives, with the canary key.
    let (rc, out) = curl(ops, name, &via_broker("POST", "/v1/messages?beta=true")).await;
    assert!(rc == 0 && out.contains("status=200"), "{out}");
    assert_eq!(arrived(CANARY), 1, "{}", logs(&api));

    // Directly, under each kind of rule that covers it: refused, and never arrives.
    let direct = [
        format!("-H 'x-api-key: {AGENT_KEY}' https://api.fake.test/v1/files"),
        format!("-H 'x-api-key: {AGENT_KEY}' --resolve api.fake.test:443:{ip} https://api.fake.test/v1/files"),
        format!("-H 'x-api-key: {AGENT_KEY}' -H 'Host: api.fake.test' https://{ip}/v1/files"),
        format!("-H 'x-api-key: {AGENT_KEY}' http://{ip}:443/v1/files"),
    ];
    let cidr = format!("{ip}/32:443");
    for rule in ["api.fake.test", "*.fake.test", cidr.as_str()] {
        ops.change_allowlist(name, rule, false).await.unwrap();
        for d in &direct {
            let (rc, out) = curl(ops, name, d).await;
            assert!(
                rc != 0 || !out.contains("{"),
                "{rule}: {d} got through: {out}"
            );
        }
        assert_eq!(arrived(AGENT_KEY), 0, "{rule}: {}", logs(&api));
        if rule.starts_with('*') {
            // Control: the wildcard does allow another name under it.
            let (rc, out) = curl(ops, name, "https://good.fake.test/").await;
            assert!(rc == 0 && out.contains("sni=good.fake.test"), "{out}");
        }
        ops.change_allowlist(name, rule, true).await.unwrap();
    }

    // Only what claude needs is forwarded; the rest is refused (403) and never arrives.
    let before = arrived(CANARY);
    for (method, path) in [
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens?beta=true"),
        ("HEAD", "/api/hello"),
        ("GET", "/v1/models"),
    ] {
        let (rc, out) = curl(ops, name, &via_broker(method, path)).await;
        assert!(
            rc == 0 && out.contains("status=200"),
            "{method} {path}: {out}"
        );
    }
    assert_eq!(arrived(CANARY), before + 4, "{}", logs(&api));
    for (method, path) in [
        ("GET", "/v1/organizations/org_1/api_keys"),
        ("POST", "/v1/files"),
        ("GET", "/v1/files"),
        ("GET", "/oauth/authorize"),
        ("POST", "/v1/oauth/token"),
        ("GET", "/api/oauth/profile"),
        ("PUT", "/v1/messages"),
        ("POST", "/v1/messages/../files"),
        ("POST", "/v1/messages/%2e%2e/files"),
        ("POST", "/v1/messages%2F..%2Ffiles"),
        ("POST", "/v1/messages?x=/../files"),
    ] {
        let (_, out) = curl(ops, name, &via_broker(method, path)).await;
        assert!(out.contains("status=403"), "{method} {path}: {out}");
    }
    let api_log = logs(&api);
    assert_eq!(arrived(CANARY), before + 4, "{api_log}");
    for bad in ["files", "organizations", "oauth"] {
        assert!(!api_log.contains(bad), "{bad} arrived: {api_log}");
    }

    // After a start: the upstream comes back with a certificate from another CA. The broker
    // refuses it, and nothing arrives.
    let restart = std::process::Command::new("docker")
        .args(["restart", "-t", "1", &api])
        .output()
        .unwrap();
    assert!(restart.status.success(), "{restart:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        ip_on(&net, &api),
        ip,
        "the upstream moved: the test would prove nothing"
    );
    let before = arrived(CANARY);
    let (_, out) = curl(ops, name, &via_broker("POST", "/v1/messages")).await;
    assert!(out.contains("status=502"), "{out}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(arrived(CANARY), before, "{}", logs(&api));
    ops.remove(name, false).await.unwrap();
}
