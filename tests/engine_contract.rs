//! Contract tests: what every `Backend` must do, written once over the trait and run against
//! the real engine, locally and over tcp+TLS (the second engine of tests/engines.sh). A new
//! backend (Kubernetes) passes the same list by adding one `contract_tests!` line with its own
//! constructor; nothing here is mocked.
//!
//! Any backend must:
//! - report its engine (`info`: a version and an API version);
//! - create containers exactly as specified and hardened (all capabilities dropped,
//!   no-new-privileges, not privileged, pids and memory limits, init), list them by label,
//!   inspect them into typed details, stop and remove them; a removed one is `NotFound`;
//! - stream only the events of containers that match the label filter, with their action;
//! - tail logs (only the last lines, stderr kept apart) and follow new ones;
//! - run a command with its exit code, stdout, stderr, user, and stdin delivered;
//! - run one with its streams open (`cctui exec`/`shell`): input written as it comes, stdout
//!   and stderr apart without a tty, one stream on a tty that follows `resize_exec`, and the
//!   exit code once it ends;
//! - build images with their steps and output, and report the failing step;
//! - create, inspect, list and remove volumes and networks, and connect containers to them;
//! - sort errors by the engine's answer: `NotFound` for a missing object, `Conflict` for a
//!   taken name or an object in use, never by the words of a message;
//! - create a sandbox as one unit, in order: volumes, network, the holder running and its
//!   setup step done before the agent exists, then the agent running and its step done;
//! - on a failure at any step, remove everything the create made, keep project volumes, and
//!   never touch what existed before (an existing sandbox volume is a `Conflict`, and kept);
//! - remove a sandbox's parts as one, skipping parts already gone, and report what went.
//!
//! The Docker backend must also say, in one sentence with a fix, that an engine cannot be
//! reached (a closed TCP port, a missing or dead unix socket, a socket that never answers).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use cctui::backend::*;
use common::*;
use futures_util::StreamExt;

fn spec(name: &str, image: &str) -> ContainerSpec {
    let mut s = ContainerSpec::hardened(name, image);
    s.labels = test_labels();
    s.labels.insert("cctui.test.owner".into(), name.into());
    s
}

/// Runs each contract against one backend, made fresh per test by `$make`.
macro_rules! contract_tests {
    ($backend:ident, $make:expr, $image:expr) => {
        mod $backend {
            use super::*;
            contract_tests!(@each $make, $image;
                info_reports_the_engine,
                container_lifecycle_list_inspect_stop_remove,
                events_are_filtered_by_label_and_carry_the_action,
                logs_tail_and_follow,
                exec_captures_output_exit_code_user_and_stdin,
                an_exec_session_streams_both_ways_with_or_without_a_tty,
                build_streams_steps_and_reports_the_failing_step,
                volumes_and_networks,
                error_kinds_come_from_the_engines_answers,
                creates_and_removes_a_sandbox,
                a_failed_create_leaves_nothing_half_made,
                a_failing_holder_step_means_no_agent,
                an_existing_sandbox_volume_is_a_conflict_and_is_kept,
            );
        }
    };
    (@each $make:expr, $image:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                let b = $make;
                let image = $image(&b).await;
                super::$test(&b, &image).await;
            }
        )*
    };
}

contract_tests!(docker, engine().await, tiny_image);
// The same engine code over tcp+TLS, against the second engine of tests/engines.sh.
contract_tests!(docker_tls, tls_engine().await, tiny_image);

/// The second engine over TLS, or a panic saying how to start it.
async fn tls_engine() -> DockerBackend {
    let file = std::fs::read_to_string("/var/lib/cctui-test2/env").unwrap_or_default();
    let get = |key: &str| {
        std::env::var(key).ok().or_else(|| {
            file.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
        })
    };
    let (Some(host), Some(certs)) = (
        get("CCTUI_TEST_ENGINE2_TLS_HOST"),
        get("CCTUI_TEST_ENGINE2_CERTS"),
    ) else {
        panic!(
            "the TLS contract needs the second engine: run `tests/engines.sh start` as root \
             (tests/run.sh does)"
        );
    };
    let address = EngineAddress {
        host,
        tls: Some(TlsFiles::in_folder(std::path::Path::new(&certs))),
        ssh_key: None,
    };
    DockerBackend::connect_to(&address, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("the second engine over TLS: {e}"))
}

async fn info_reports_the_engine<B: Backend>(b: &B, _image: &str) {
    let info = b.info().await.unwrap();
    assert!(!info.version.is_empty());
    assert!(info.api_version.starts_with("1."), "{info:?}");
}

async fn container_lifecycle_list_inspect_stop_remove<B: Backend>(b: &B, image: &str) {
    let name = unique("life");
    let _cleanup = Cleanup::new(&name);
    let mut s = spec(&name, image);
    s.memory_bytes = Some(256 << 20);
    s.pids_limit = Some(64);
    s.env = vec!["A=1".into()];
    let id = b.create_container(&s).await.unwrap();
    let filter = LabelFilter::eq("cctui.test.owner", &name);
    let listed = b.list_containers(&filter).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, ContainerState::Created);
    assert_eq!(listed[0].name, name);

    b.start_container(&id).await.unwrap();
    let d = b.inspect_container(&id).await.unwrap();
    assert_eq!(d.summary.state, ContainerState::Running);
    assert_eq!(d.cap_drop, vec!["ALL".to_string()]);
    assert!(d.drops_all_caps());
    assert!(d.no_new_privileges && !d.privileged, "{d:?}");
    assert_eq!(d.network, NetworkMode::Bridge);
    assert_eq!(d.pids_limit, 64);
    assert_eq!(d.memory_bytes, 256 << 20);
    assert!(d.init);
    assert!(d.env.contains(&"A=1".to_string()));
    assert!(!d.started_at.is_empty());

    b.stop_container(&id, Duration::from_secs(1)).await.unwrap();
    let after = b.list_containers(&filter).await.unwrap();
    assert!(
        matches!(after[0].state, ContainerState::Exited(_)),
        "{:?}",
        after[0].state
    );

    b.remove_container(&id).await.unwrap();
    assert!(b.list_containers(&filter).await.unwrap().is_empty());
    assert!(matches!(
        b.inspect_container(&id).await,
        Err(BackendError::NotFound(_))
    ));
}

async fn events_are_filtered_by_label_and_carry_the_action<B: Backend>(b: &B, image: &str) {
    let name = unique("events");
    let _cleanup = Cleanup::new(&name);
    let mut events = b.events(&LabelFilter::eq("cctui.test.owner", &name));
    // An unrelated container must not appear in the filtered stream.
    let other_name = unique("events-other");
    let _other_cleanup = Cleanup::new(&other_name);
    let other = b.create_container(&spec(&other_name, image)).await.unwrap();
    let id = b.create_container(&spec(&name, image)).await.unwrap();
    b.start_container(&id).await.unwrap();
    b.kill_container(&id).await.unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 3 {
        let e = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("events within 20 s")
            .unwrap()
            .unwrap();
        assert_ne!(
            e.container_id, other,
            "the filter let another container through"
        );
        assert_eq!(e.container_id, id);
        assert_eq!(e.labels.get("cctui.test.owner"), Some(&name));
        seen.push(e.action);
    }
    assert_eq!(seen[0], EventAction::Create);
    assert_eq!(seen[1], EventAction::Start);
    assert!(
        matches!(seen[2], EventAction::Kill | EventAction::Die { .. }),
        "{seen:?}"
    );
}

async fn logs_tail_and_follow<B: Backend>(b: &B, image: &str) {
    let name = unique("logs");
    let _cleanup = Cleanup::new(&name);
    let mut s = spec(&name, image);
    s.cmd = vec![
        "sh".into(),
        "-c".into(),
        "for i in $(seq 1 500); do echo line$i; done; sleep 0.3; echo err >&2; sleep 0.5; echo late; sleep 2; echo later; sleep 30".into(),
    ];
    let id = b.create_container(&s).await.unwrap();
    b.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let tail: Vec<LogChunk> = b.logs(&id, 3, false).map(|c| c.unwrap()).collect().await;
    let text: String = tail
        .iter()
        .map(|c| String::from_utf8_lossy(&c.bytes).into_owned())
        .collect();
    assert!(text.contains("line500") && text.contains("late"), "{text}");
    assert!(!text.contains("line400"), "tail read too much: {text}");
    assert!(
        tail.iter().any(|c| c.stream == LogStream::Stderr),
        "{tail:?}"
    );

    let mut follow = b.logs(&id, 0, true);
    let late = tokio::time::timeout(Duration::from_secs(10), follow.next())
        .await
        .expect("followed output within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&late.bytes).trim(), "later");
}

async fn exec_captures_output_exit_code_user_and_stdin<B: Backend>(b: &B, image: &str) {
    let name = unique("exec");
    let _cleanup = Cleanup::new(&name);
    let id = b.create_container(&spec(&name, image)).await.unwrap();
    b.start_container(&id).await.unwrap();
    let out = b
        .exec(
            &id,
            &ExecSpec {
                cmd: vec![
                    "sh".into(),
                    "-c".into(),
                    "id -u; cat; echo oops >&2; exit 7".into(),
                ],
                user: Some("4321:4321".into()),
                stdin: Some(b"from stdin".to_vec()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, 7);
    assert_eq!(out.stdout_text(), "4321\nfrom stdin");
    assert_eq!(out.stderr_text(), "oops\n");
}

async fn exec_session_output<B: Backend>(
    b: &B,
    id: &str,
    script: &str,
    tty: bool,
    input: &[u8],
) -> (ExecSession, Vec<LogChunk>) {
    use tokio::io::AsyncWriteExt;
    let spec = ExecSpec {
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        user: Some("4321:4321".into()),
        ..Default::default()
    };
    let mut s = b.exec_session(id, &spec, tty).await.unwrap();
    if tty {
        b.resize_exec(&s.id, 33, 111).await.unwrap();
    }
    s.input.write_all(input).await.unwrap();
    if !tty {
        s.input.shutdown().await.unwrap();
    }
    let mut chunks = Vec::new();
    while let Some(c) = tokio::time::timeout(Duration::from_secs(30), s.output.next())
        .await
        .expect("the exec's output ends")
    {
        chunks.push(c.unwrap());
    }
    (s, chunks)
}

async fn an_exec_session_streams_both_ways_with_or_without_a_tty<B: Backend>(b: &B, image: &str) {
    let name = unique("execsess");
    let _cleanup = Cleanup::new(&name);
    let id = b.create_container(&spec(&name, image)).await.unwrap();
    b.start_container(&id).await.unwrap();
    let text = |chunks: &[LogChunk], stream: LogStream| -> String {
        chunks
            .iter()
            .filter(|c| c.stream == stream)
            .map(|c| String::from_utf8_lossy(&c.bytes).into_owned())
            .collect()
    };
    // Without a tty: stdin to its end, stdout and stderr apart, the exit code.
    let (s, chunks) =
        exec_session_output(b, &id, "id -u; cat; echo oops >&2; exit 5", false, b"typed").await;
    assert_eq!(text(&chunks, LogStream::Stdout), "4321\ntyped");
    assert_eq!(text(&chunks, LogStream::Stderr), "oops\n");
    let mut code = None;
    for _ in 0..40 {
        code = b.exec_exit_code(&s.id).await.unwrap();
        if code.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(code, Some(5));
    // On a tty: one stream, the size given, a line read as typed.
    let (_, chunks) = exec_session_output(
        b,
        &id,
        "read line; stty size; echo got-$line",
        true,
        b"keys\r",
    )
    .await;
    let all: String = chunks
        .iter()
        .map(|c| String::from_utf8_lossy(&c.bytes).into_owned())
        .collect();
    assert!(
        all.contains("33 111") && all.contains("got-keys"),
        "{all:?}"
    );
    assert!(
        chunks.iter().all(|c| c.stream != LogStream::Stderr),
        "{chunks:?}"
    );
}

async fn build_streams_steps_and_reports_the_failing_step<B: Backend>(b: &B, _image: &str) {
    let tag = format!("cctui-test-build:{}", run_id());
    let ok = BuildSpec {
        context_tar: tar_of(&[(
            "Dockerfile",
            "FROM debian:bookworm-slim\nARG GREETING\nRUN echo \"say $GREETING\"\n",
        )]),
        dockerfile: "Dockerfile".into(),
        tag: tag.clone(),
        build_args: BTreeMap::from([("GREETING".into(), "hello".into())]),
        labels: test_labels(),
        no_cache: true,
        pull: false,
        network_mode: None,
    };
    let events: Vec<BuildEvent> = b.build_image(ok).map(|e| e.unwrap()).collect().await;
    assert!(
        events.iter().any(
            |e| matches!(e, BuildEvent::Step { index: 3, text, .. } if text.starts_with("RUN echo"))
        ),
        "{events:?}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, BuildEvent::Output(l) if l.contains("say hello"))));
    assert!(matches!(events.last(), Some(BuildEvent::Done { .. })));
    let info = b.inspect_image(&tag).await.unwrap().expect("built");
    assert_eq!(
        info.labels.get(labels::TEST_RUN).map(String::as_str),
        Some(run_id())
    );
    assert!(!b.image_history(&tag).await.unwrap().is_empty());

    let bad = BuildSpec {
        context_tar: tar_of(&[(
            "Dockerfile",
            "FROM debian:bookworm-slim\nRUN echo before && exit 3\n",
        )]),
        dockerfile: "Dockerfile".into(),
        tag: format!("cctui-test-bad:{}", run_id()),
        build_args: BTreeMap::new(),
        labels: test_labels(),
        no_cache: true,
        pull: false,
        network_mode: None,
    };
    let results: Vec<_> = b.build_image(bad).collect().await;
    let err = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("the build fails");
    assert!(
        err.to_string().contains("returned a non-zero code: 3"),
        "{err}"
    );
    b.remove_image(&tag).await.unwrap();
    assert!(b.inspect_image(&tag).await.unwrap().is_none());
}

async fn volumes_and_networks<B: Backend>(b: &B, image: &str) {
    let name = unique("volnet");
    let mut cleanup = Cleanup::new(&name);
    cleanup.volumes.push(name.clone());
    let mut labels = test_labels();
    labels.insert("cctui.test.owner".into(), name.clone());

    b.create_volume(&name, &labels).await.unwrap();
    assert_eq!(
        b.inspect_volume(&name).await.unwrap().unwrap().labels,
        labels
    );
    let listed = b
        .list_volumes(&LabelFilter::eq("cctui.test.owner", &name))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    b.remove_volume(&name).await.unwrap();
    assert!(b.inspect_volume(&name).await.unwrap().is_none());

    b.create_network(&NetworkSpec {
        name: name.clone(),
        labels: labels.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let net = b.inspect_network(&name).await.unwrap().unwrap();
    assert!(net.gateway.is_some() && net.subnet.is_some(), "{net:?}");
    let id = b.create_container(&spec(&name, image)).await.unwrap();
    b.connect_network(&name, &id, &["alias.test".into()])
        .await
        .unwrap();
    b.start_container(&id).await.unwrap();
    let d = b.inspect_container(&id).await.unwrap();
    assert!(d.networks.contains(&name), "{:?}", d.networks);
    assert_eq!(
        b.list_networks(&LabelFilter::eq("cctui.test.owner", &name))
            .await
            .unwrap()
            .len(),
        1
    );
    let stats = b.stats(&id).await.unwrap();
    assert!(
        stats.memory_bytes > 0 && stats.memory_limit > 0,
        "{stats:?}"
    );
    b.remove_container(&id).await.unwrap();
    b.remove_network(&name).await.unwrap();
    assert!(b.inspect_network(&name).await.unwrap().is_none());
}

async fn error_kinds_come_from_the_engines_answers<B: Backend>(b: &B, image: &str) {
    let name = unique("kinds");
    let mut cleanup = Cleanup::new(&name);
    cleanup.volumes.push(name.clone());
    let missing = b.inspect_container(&format!("{name}-missing")).await;
    assert!(
        matches!(missing, Err(BackendError::NotFound(_))),
        "{missing:?}"
    );
    let missing = b.remove_network(&format!("{name}-missing")).await;
    assert!(
        matches!(missing, Err(BackendError::NotFound(_))),
        "{missing:?}"
    );

    let mut s = spec(&name, image);
    s.mounts = vec![MountSpec {
        kind: MountKind::Volume,
        source: name.clone(),
        target: "/data".into(),
        read_only: false,
    }];
    b.create_volume(&name, &test_labels()).await.unwrap();
    b.create_container(&s).await.unwrap();
    let taken = b.create_container(&s).await;
    assert!(matches!(taken, Err(BackendError::Conflict(_))), "{taken:?}");
    let in_use = b.remove_volume(&name).await;
    assert!(
        matches!(in_use, Err(BackendError::Conflict(_))),
        "{in_use:?}"
    );
}

/// A sandbox of the tiny image: holder and agent sharing one namespace, the holder also on
/// `user_network`, a project volume and a sandbox volume of its own.
fn sandbox(name: &str, image: &str, user_network: Option<&str>) -> SandboxSpec {
    let mut labels = test_labels();
    labels.insert("cctui.test.owner".into(), name.into());
    let holder = spec(&format!("{name}-net"), image);
    let mut agent = spec(&format!("{name}-agent"), image);
    agent.network = NetworkAttach::Container(holder.name.clone());
    let mut holder = holder;
    holder.labels = labels.clone();
    holder.network = NetworkAttach::Network {
        name: name.to_string(),
        aliases: vec![],
    };
    agent.labels = labels.clone();
    agent.mounts = vec![MountSpec {
        kind: MountKind::VolumeNoCopy,
        source: format!("{name}-own"),
        target: "/work".into(),
        read_only: false,
    }];
    SandboxSpec {
        network: NetworkSpec {
            name: name.to_string(),
            labels: labels.clone(),
            ..Default::default()
        },
        volumes: vec![
            VolumeSpec {
                name: format!("{name}-project"),
                labels: labels.clone(),
                lifetime: VolumeLifetime::Project,
            },
            VolumeSpec {
                name: format!("{name}-own"),
                labels,
                lifetime: VolumeLifetime::Sandbox,
            },
        ],
        holder: Some(holder),
        agent,
        user_networks: user_network.into_iter().map(String::from).collect(),
    }
}

/// Records the steps it is called at, checks what exists at each, and fails where told.
struct Recorder<'a, B> {
    b: &'a B,
    spec: &'a SandboxSpec,
    fail_at: Option<&'static str>,
    steps: Vec<&'static str>,
    problems: Vec<String>,
}

impl<'a, B: Backend> Recorder<'a, B> {
    fn new(b: &'a B, spec: &'a SandboxSpec, fail_at: Option<&'static str>) -> Self {
        Recorder {
            b,
            spec,
            fail_at,
            steps: Vec::new(),
            problems: Vec::new(),
        }
    }

    async fn agent_exists(&self) -> bool {
        !matches!(
            self.b.inspect_container(&self.spec.agent.name).await,
            Err(BackendError::NotFound(_))
        )
    }

    fn step(&mut self, step: &'static str) -> Result<()> {
        self.steps.push(step);
        match self.fail_at {
            Some(at) if at == step => Err(BackendError::Engine {
                op: "test",
                status: None,
                detail: format!("planted failure at {step}"),
            }),
            _ => Ok(()),
        }
    }
}

impl<B: Backend> SandboxSetup for Recorder<'_, B> {
    type Error = BackendError;

    async fn holder_running(&mut self, holder: &str) -> Result<()> {
        if !self
            .b
            .inspect_container(holder)
            .await?
            .summary
            .state
            .is_running()
        {
            self.problems
                .push("the holder step ran before the holder".into());
        }
        if self.agent_exists().await {
            self.problems
                .push("the agent existed before the holder step".into());
        }
        self.step("holder")
    }

    async fn before_agent(&mut self) -> Result<()> {
        for v in &self.spec.volumes {
            if self.b.inspect_volume(&v.name).await?.is_none() {
                self.problems
                    .push(format!("{} missing before the agent", v.name));
            }
        }
        if self.agent_exists().await {
            self.problems
                .push("the agent existed before its step".into());
        }
        self.step("before agent")
    }

    async fn agent_running(&mut self, agent: &str) -> Result<()> {
        let d = self.b.inspect_container(agent).await?;
        if !d.summary.state.is_running() {
            self.problems
                .push("the agent step ran before the agent".into());
        }
        if !matches!(d.network, NetworkMode::Container(_)) {
            self.problems.push(format!(
                "the agent has a network of its own: {:?}",
                d.network
            ));
        }
        self.step("agent")
    }
}

/// What of this sandbox is left in the engine: containers, network, volumes by name.
async fn left_over<B: Backend>(b: &B, name: &str) -> (usize, bool, Vec<String>) {
    let filter = LabelFilter::eq("cctui.test.owner", name);
    let containers = b.list_containers(&filter).await.unwrap().len();
    let network = b.inspect_network(name).await.unwrap().is_some();
    let mut volumes = Vec::new();
    for v in [
        format!("{name}-project"),
        format!("{name}-own"),
        format!("{name}-old"),
    ] {
        if b.inspect_volume(&v).await.unwrap().is_some() {
            volumes.push(v);
        }
    }
    (containers, network, volumes)
}

fn cleanup_for(name: &str) -> Cleanup {
    let mut cleanup = Cleanup::new(name);
    for v in ["project", "own", "old"] {
        cleanup.volumes.push(format!("{name}-{v}"));
    }
    cleanup
}

async fn creates_and_removes_a_sandbox<B: Backend>(b: &B, image: &str) {
    let name = unique("sbx");
    let _cleanup = cleanup_for(&name);
    let user_net = format!("{name}-user");
    let mut user_labels = test_labels();
    user_labels.insert("cctui.test.owner".into(), format!("{name}-user"));
    b.create_network(&NetworkSpec {
        name: user_net.clone(),
        labels: user_labels,
        ..Default::default()
    })
    .await
    .unwrap();
    let spec = sandbox(&name, image, Some(&user_net));
    let mut setup = Recorder::new(b, &spec, None);
    let ids = b.create_sandbox(&spec, &mut setup).await.unwrap();
    assert_eq!(setup.steps, ["holder", "before agent", "agent"]);
    assert!(setup.problems.is_empty(), "{:?}", setup.problems);
    let holder = ids.holder.clone().expect("a holder");
    let d = b.inspect_container(&holder).await.unwrap();
    assert!(d.networks.contains(&user_net), "{:?}", d.networks);
    assert_eq!(left_over(b, &name).await.0, 2);

    let parts = SandboxParts {
        containers: vec![ids.agent.clone(), holder.clone()],
        network: Some(name.clone()),
        volumes: vec![format!("{name}-own")],
    };
    let removed = b.remove_sandbox(&parts).await.unwrap();
    assert_eq!(removed, parts);
    // The project volume stays; the rest is gone.
    assert_eq!(
        left_over(b, &name).await,
        (0, false, vec![format!("{name}-project")])
    );
    // Again: every part is already gone, which is no error.
    assert!(b.remove_sandbox(&parts).await.unwrap().is_empty());
    b.remove_network(&user_net).await.unwrap();
}

async fn a_failed_create_leaves_nothing_half_made<B: Backend>(b: &B, image: &str) {
    let name = unique("sbxfail");
    let _cleanup = cleanup_for(&name);
    // A project volume that was there before, with something in it.
    let mut spec = sandbox(&name, image, None);
    spec.volumes[0].name = format!("{name}-old");
    b.create_volume(&spec.volumes[0].name, &spec.volumes[0].labels)
        .await
        .unwrap();
    let mut setup = Recorder::new(b, &spec, Some("agent"));
    let err = b.create_sandbox(&spec, &mut setup).await.unwrap_err();
    assert!(
        err.to_string().contains("planted failure at agent"),
        "{err}"
    );
    assert_eq!(setup.steps, ["holder", "before agent", "agent"]);
    assert_eq!(
        left_over(b, &name).await,
        (0, false, vec![format!("{name}-old")])
    );
}

async fn a_failing_holder_step_means_no_agent<B: Backend>(b: &B, image: &str) {
    let name = unique("sbxhold");
    let _cleanup = cleanup_for(&name);
    let spec = sandbox(&name, image, None);
    let mut events = b.events(&LabelFilter::eq("cctui.test.owner", &name));
    let mut setup = Recorder::new(b, &spec, Some("holder"));
    let err = b.create_sandbox(&spec, &mut setup).await.unwrap_err();
    assert!(
        err.to_string().contains("planted failure at holder"),
        "{err}"
    );
    assert_eq!(setup.steps, ["holder"]);
    assert!(setup.problems.is_empty(), "{:?}", setup.problems);
    // A project volume made by the failed create is kept; the sandbox's own one is not.
    assert_eq!(
        left_over(b, &name).await,
        (0, false, vec![format!("{name}-project")])
    );
    // The holder was created and destroyed; no agent was ever created.
    let mut seen = Vec::new();
    while let Ok(Some(Ok(e))) = tokio::time::timeout(Duration::from_secs(2), events.next()).await {
        seen.push((e.name, e.action));
    }
    assert!(
        seen.iter()
            .any(|(n, a)| n == &format!("{name}-net") && *a == EventAction::Destroy),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|(n, _)| n == &spec.agent.name),
        "the agent was created: {seen:?}"
    );
}

async fn an_existing_sandbox_volume_is_a_conflict_and_is_kept<B: Backend>(b: &B, image: &str) {
    let name = unique("sbxvol");
    let _cleanup = cleanup_for(&name);
    let spec = sandbox(&name, image, None);
    let own = &spec.volumes[1];
    b.create_volume(&own.name, &own.labels).await.unwrap();
    let mut setup = Recorder::new(b, &spec, None);
    let err = b.create_sandbox(&spec, &mut setup).await.unwrap_err();
    assert!(matches!(err, BackendError::Conflict(_)), "{err:?}");
    assert!(setup.steps.is_empty());
    let (containers, network, volumes) = left_over(b, &name).await;
    assert_eq!((containers, network), (0, false));
    assert!(volumes.contains(&own.name), "{volumes:?}");
}

/// A closed port and a dead socket are the engine not being there: one sentence that says
/// so and what to do, never the HTTP client's words.
#[tokio::test]
async fn an_unreachable_engine_reads_as_one_clear_sentence() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("tcp://127.0.0.1:{port}");
    let err = connect_error(&host).await;
    assert!(
        err.starts_with(&format!(
            "cannot reach the Docker engine at {host}: connection refused\n"
        )),
        "{err}"
    );
    assert!(
        err.contains("is dockerd running") && err.contains("DOCKER_HOST"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("hyper"), "{err}");

    let dir = tempdir("dead");
    let missing = format!("unix://{}", dir.join("missing.sock").display());
    let err = connect_error(&missing).await;
    assert!(
        err.starts_with(&format!(
            "cannot reach the Docker engine at {missing}: the socket does not exist\n"
        )),
        "{err}"
    );
    assert!(
        err.contains("start Docker") && err.contains("[engine]"),
        "{err}"
    );
    // A socket file that nothing listens on any more.
    let dead = dir.join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    let dead = format!("unix://{}", dead.display());
    let err = connect_error(&dead).await;
    assert!(
        err.starts_with(&format!(
            "cannot reach the Docker engine at {dead}: connection refused\n"
        )),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("hyper"), "{err}");
}

async fn connect_error(host: &str) -> String {
    match DockerBackend::connect(Some(host), Duration::from_secs(5)).await {
        Err(e @ BackendError::Unreachable { .. }) => e.to_string(),
        Err(e) => panic!("{host}: not an unreachable engine: {e:?}"),
        Ok(_) => panic!("{host}: nothing listens there"),
    }
}

/// A hung engine: a socket that accepts and never answers. Calls must time out with a
/// clear error instead of hanging.
#[tokio::test]
async fn a_hung_engine_times_out_with_a_clear_error() {
    let dir = tempdir("hung");
    let sock = dir.join("hung.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let _hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let host = format!("unix://{}", sock.display());
    let started = std::time::Instant::now();
    let err = match DockerBackend::connect(Some(&host), Duration::from_secs(2)).await {
        Err(e) => e,
        Ok(_) => panic!("a silent socket must not pass as an engine"),
    };
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = err.to_string();
    assert!(
        text.contains("cannot reach the Docker engine") && text.contains("fix:"),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_engine_says_what_to_do() {
    let err = match DockerBackend::connect(
        Some("unix:///nonexistent/docker.sock"),
        Duration::from_secs(2),
    )
    .await
    {
        Err(e) => e,
        Ok(_) => panic!("no engine there"),
    };
    assert!(err.to_string().contains("start Docker"), "{err}");
}

fn tempdir(what: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cctui-{}-{what}", run_id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
