//! One domain face, on the real engine: `cctui new` and the dashboard's create job make the
//! same containers; a project's second session inherits its profiles; `cctui logs` to a
//! terminal is text, piped it is the bytes.

mod common;

use std::path::Path;
use std::time::Duration;

use cctui::app::effect::Op;
use cctui::config::Config;
use cctui::session::ops::Ops;
use common::pty::PtyApp;
use common::*;
use serde_json::{json, Value};

const UID: u32 = 1234;
const WAIT: Duration = Duration::from_secs(60);

/// The firewall on, with no name rules to resolve: the holder and its rules are made, and
/// nothing needs the outside world.
const FIREWALL_ON: &str =
    "[firewall]\nmode = \"on\"\npresets = []\nallow = [\"192.0.2.1/32:443\"]\n";

/// Ops as the dashboard makes them: the same config file the CLI reads.
async fn dashboard_ops(config_dir: &Path) -> Ops<cctui::backend::DockerBackend> {
    label_config(config_dir);
    let config = Config::load(&config_dir.join("config.toml")).unwrap();
    Ops::new(engine().await, config, config_dir.to_path_buf())
}

/// What a container is made of, with its session's own names and ids made generic.
fn spec_of(container: &str, session: &str, holder_id: Option<&str>) -> Value {
    let inspected: Value = serde_json::from_str(&docker(&["inspect", container])).unwrap();
    let c = &inspected[0];
    let (config, host) = (&c["Config"], &c["HostConfig"]);
    let mut env: Vec<String> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().split('=').next().unwrap().to_string())
        .collect();
    env.sort();
    // The engine lists mounts in no fixed order.
    let mut mounts: Vec<Value> = c["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!([m["Type"], m["Source"], m["Destination"], m["RW"]]))
        .collect();
    mounts.sort_by_key(|m| m.to_string());
    let mut networks: Vec<String> = c["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    networks.sort();
    let mut labels = config["Labels"].clone();
    labels.as_object_mut().unwrap().remove("cctui.session");
    let spec = json!({
        "image": config["Image"],
        "cmd": config["Cmd"],
        "user": config["User"],
        "workdir": config["WorkingDir"],
        "tty": config["Tty"],
        "env": env,
        "labels": labels,
        "mounts": mounts,
        "tmpfs": host["Tmpfs"],
        "network_mode": host["NetworkMode"],
        "networks": networks,
        "cap_add": host["CapAdd"],
        "cap_drop": host["CapDrop"],
        "security_opt": host["SecurityOpt"],
        "readonly_rootfs": host["ReadonlyRootfs"],
        "privileged": host["Privileged"],
        "pids_limit": host["PidsLimit"],
        "memory": host["Memory"],
        "nano_cpus": host["NanoCpus"],
        "sysctls": host["Sysctls"],
        "init": host["Init"],
    });
    let mut text = spec.to_string();
    if let Some(id) = holder_id {
        text = text.replace(id, "HOLDER");
    }
    serde_json::from_str(&text.replace(session, "SESSION")).unwrap()
}

fn container_id(name: &str) -> String {
    docker(&["inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_string()
}

#[tokio::test]
async fn the_cli_and_the_dashboard_make_the_same_containers() {
    let prefix = unique("face");
    let (by_cli, by_dashboard) = (format!("{prefix}-cli"), format!("{prefix}-dash"));
    let _c = Cleanup::new(&prefix);
    let cfg = TempFolder::new(&format!("{prefix}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_ON);
    let project = TempFolder::new(&prefix, UID);
    let mut vols = Cleanup::new(&format!("{prefix}-vols"));
    vols.volumes = project_volumes(&project.path);
    // A proposal not accepted: both faces say so, and neither applies it.
    std::fs::write(
        project.path.join(".cctui.toml"),
        "[session]\nenv = { PROPOSED = \"yes\" }\n",
    )
    .unwrap();
    let path = project.path.to_str().unwrap();

    let (code, _, err) = cctui(&cfg.path, &["new", path, "--name", &by_cli]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("proposes settings"), "{err}");

    let ops = dashboard_ops(&cfg.path).await;
    let create = Op::Create(cctui::app::forms::NewRequest {
        path: path.to_string(),
        name: Some(by_dashboard.clone()),
        profiles: None,
        networks: vec![],
        engine: None,
    });
    let said = cctui::app::jobs::run(&ops, &by_dashboard, create, |_| {})
        .await
        .unwrap();
    assert!(said.contains("proposes settings"), "{said}");

    for (role, suffix) in [("agent", ""), ("holder", "-net")] {
        let specs: Vec<Value> = [&by_cli, &by_dashboard]
            .iter()
            .map(|name| {
                let holder = container_id(&format!("cctui-{name}-net"));
                spec_of(&format!("cctui-{name}{suffix}"), name, Some(&holder))
            })
            .collect();
        assert_eq!(
            specs[0], specs[1],
            "the {role} containers differ between `cctui new` and the dashboard"
        );
        assert!(
            !specs[0]["env"].to_string().contains("PROPOSED"),
            "an unaccepted proposal applied: {}",
            specs[0]["env"]
        );
    }
    // The comparison sees what matters: the agent shares its holder's namespace, and the
    // holder has capabilities the agent has not.
    let agent = spec_of(&format!("cctui-{by_cli}"), &by_cli, None);
    assert!(
        agent["network_mode"]
            .as_str()
            .unwrap()
            .starts_with("container:"),
        "{agent}"
    );
    let holder = spec_of(&format!("cctui-{by_cli}-net"), &by_cli, None);
    assert_ne!(agent["cap_add"], holder["cap_add"]);
}

#[tokio::test]
async fn a_second_session_of_a_project_inherits_its_profiles() {
    let first = unique("inherit");
    let second = format!("{first}-2");
    let _c = Cleanup::new(&first);
    let cfg = TempFolder::new(&format!("{first}-cfg"), 0);
    write_cli_config(&cfg.path, FIREWALL_OFF);
    let project = TempFolder::new(&first, UID);
    let mut vols = Cleanup::new(&format!("{first}-vols"));
    vols.volumes = project_volumes(&project.path);
    let path = project.path.to_str().unwrap();

    let (code, _, err) = cctui(
        &cfg.path,
        &["new", path, "--name", &first, "--profile", "python"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cctui(&cfg.path, &["new", path, "--name", &second]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ls_entry(&cfg.path, &second)["profiles"], json!(["python"]));
    assert_eq!(
        docker(&[
            "inspect",
            "-f",
            "{{.Config.Image}}",
            &format!("cctui-{first}")
        ]),
        docker(&[
            "inspect",
            "-f",
            "{{.Config.Image}}",
            &format!("cctui-{second}")
        ]),
        "the same toolchains, the same image"
    );
    // Another project starts from the config's profiles.
    let other = TempFolder::new(&format!("{first}-other"), UID);
    let mut other_vols = Cleanup::new(&format!("{first}-ovols"));
    other_vols.volumes = project_volumes(&other.path);
    let fourth = format!("{first}-4");
    let other_path = other.path.to_str().unwrap();
    let (code, _, err) = cctui(&cfg.path, &["new", other_path, "--name", &fourth]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ls_entry(&cfg.path, &fourth)["profiles"], json!([]));
}

/// What claude's screen does to a terminal: the alternate screen, mouse tracking, a hidden
/// cursor, and queries a terminal answers by typing at the prompt.
const SCREEN_CODES: [&str; 6] = [
    "\x1b[?1049h",
    "\x1b[?1000h",
    "\x1b[?25l",
    "\x1b[6n",
    "\x1b]11;?\x07",
    "\x1b[c",
];

#[tokio::test]
async fn logs_to_a_terminal_are_text_and_piped_are_the_bytes() {
    let name = unique("logs");
    let _c = Cleanup::new(&name);
    let cfg = TempFolder::new(&format!("{name}-cfg"), 0);
    // The fake claude prints its arguments: these are the screen codes.
    let args: String = SCREEN_CODES
        .iter()
        .map(|c| format!("{:?}, ", format!("{c}shown")))
        .collect::<String>()
        .replace("\\u{1b}", "\\u001b")
        .replace("\\u{7}", "\\u0007");
    write_cli_config(
        &cfg.path,
        &format!("{FIREWALL_OFF}[session]\nclaude_args = [{args}\"end-of-codes\"]\n"),
    );
    let project = TempFolder::new(&name, UID);
    let mut vols = Cleanup::new(&format!("{name}-vols"));
    vols.volumes = project_volumes(&project.path);
    let (code, _, err) = cctui(
        &cfg.path,
        &["new", project.path.to_str().unwrap(), "--name", &name],
    );
    assert_eq!(code, 0, "{err}");

    // Piped: the bytes as claude wrote them (the control: the codes are in the logs).
    let deadline = std::time::Instant::now() + WAIT;
    let raw = loop {
        let (code, out, err) = cctui(&cfg.path, &["logs", &name]);
        assert_eq!(code, 0, "{err}");
        if out.contains("end-of-codes") {
            break out;
        }
        assert!(std::time::Instant::now() < deadline, "no logs: {out}");
        std::thread::sleep(Duration::from_millis(200));
    };
    for c in SCREEN_CODES {
        assert!(raw.contains(c), "{c:?} not in the piped logs: {raw:?}");
    }

    // To a terminal: the words, none of the codes, and the terminal as it was.
    let mut app = PtyApp::cctui(&cfg.path, &["logs", &name], 24, 100);
    assert!(app.wait_exit(WAIT), "cctui logs did not end");
    let shown = String::from_utf8_lossy(&app.output.lock().unwrap()).into_owned();
    assert!(shown.contains("end-of-codes"), "{shown:?}");
    assert!(shown.contains("shown"), "{shown:?}");
    for c in SCREEN_CODES {
        assert!(!shown.contains(c), "{c:?} reached the terminal: {shown:?}");
    }
    assert!(
        !shown.contains('\x1b'),
        "an escape reached the terminal: {shown:?}"
    );
    let parser = app.parser.lock().unwrap();
    let screen = parser.screen();
    assert!(!screen.alternate_screen(), "left in the alternate screen");
    assert!(!screen.hide_cursor(), "the cursor is hidden");
    assert_eq!(
        screen.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse tracking is on"
    );
}
