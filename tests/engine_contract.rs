//! Contract tests: every backend method against the real engine, with throwaway containers
//! from a tiny image the suite builds itself.

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

#[tokio::test]
async fn info_reports_the_engine() {
    let b = engine().await;
    let info = b.info().await.unwrap();
    assert!(!info.version.is_empty());
    assert!(info.api_version.starts_with("1."), "{info:?}");
}

#[tokio::test]
async fn container_lifecycle_list_inspect_stop_remove() {
    let b = engine().await;
    let name = unique("life");
    let _cleanup = Cleanup::new(&name);
    let image = tiny_image(&b).await;
    let mut s = spec(&name, &image);
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
    assert!(d
        .security_opt
        .iter()
        .any(|o| o.starts_with("no-new-privileges")));
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

#[tokio::test]
async fn events_are_filtered_by_label_and_carry_the_action() {
    let b = engine().await;
    let name = unique("events");
    let _cleanup = Cleanup::new(&name);
    let image = tiny_image(&b).await;
    let mut events = b.events(&LabelFilter::eq("cctui.test.owner", &name));
    // An unrelated container must not appear in the filtered stream.
    let other_name = unique("events-other");
    let _other_cleanup = Cleanup::new(&other_name);
    let other = b
        .create_container(&spec(&other_name, &image))
        .await
        .unwrap();
    let id = b.create_container(&spec(&name, &image)).await.unwrap();
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

#[tokio::test]
async fn logs_tail_and_follow() {
    let b = engine().await;
    let name = unique("logs");
    let _cleanup = Cleanup::new(&name);
    let image = tiny_image(&b).await;
    let mut s = spec(&name, &image);
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

#[tokio::test]
async fn exec_captures_output_exit_code_user_and_stdin() {
    let b = engine().await;
    let name = unique("exec");
    let _cleanup = Cleanup::new(&name);
    let image = tiny_image(&b).await;
    let id = b.create_container(&spec(&name, &image)).await.unwrap();
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

#[tokio::test]
async fn build_streams_steps_and_reports_the_failing_step() {
    let b = engine().await;
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

#[tokio::test]
async fn volumes_and_networks() {
    let b = engine().await;
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
    let image = tiny_image(&b).await;
    let id = b.create_container(&spec(&name, &image)).await.unwrap();
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
