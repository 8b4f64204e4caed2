//! The dashboard drawn into a `TestBackend`: whole-screen text snapshots of every view at
//! three sizes (in `tests/snapshots`), and cell-by-cell checks of the badges' colours, with
//! and without colour (NO_COLOR).
//!
//! The state is built the way the app builds it: containers grouped into sessions, then
//! `update()` fed with the actions the runtime would send (sessions, terminal output, keys,
//! firewall reports, logs). Nothing comes from the clock, the environment or the engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cctui::app::action::Action;
use cctui::app::keymap::Keymap;
use cctui::app::state::{Mode, State, Tab, UiSettings};
use cctui::app::update::update;
use cctui::backend::{
    labels, ContainerDetails, ContainerState, ContainerSummary, MountInfo, MountedKind,
    NetworkMode, Stats,
};
use cctui::image::BuildProgress;
use cctui::sandbox::firewall::{parse_rule, Allowlist, Blocked, Counters, FirewallStatus};
use cctui::sandbox::report::{FirewallReport, HolderReading};
use cctui::session::group_sessions;
use cctui::term::{hook_marker, ClaudeState};
use cctui::usage::{from_transcripts, Prices};
use cctui::workspace::plan::label;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::{Buffer, CellWidth};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

/// Builds a view's state at a size (cols, rows), with colour or not.
type View = fn(u16, u16, bool) -> State;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];
const HOME: &str = "/home/dev";
const SHOP: &str = "/home/dev/code/shop";
const BLOG: &str = "/home/dev/code/blog";
const TOOLS: &str = "/srv/tools";
/// 2023-11-14 22:13:20 UTC.
const T0: i64 = 1_700_000_000;
const LONG_NAME: &str = "yolo-experiments-with-a-long-name";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn container(
    session: &str,
    project: &str,
    role: &str,
    state: ContainerState,
    status: &str,
    firewall: &str,
    profiles: &str,
) -> ContainerSummary {
    let name = if role == "net" {
        format!("cctui-{session}-net")
    } else {
        format!("cctui-{session}")
    };
    let image = if role == "net" {
        "cctui-net:0f3e2d1c".to_string()
    } else {
        "cctui-agent:9a8b7c6d".to_string()
    };
    ContainerSummary {
        id: format!("{role}-{session}-0123456789ab"),
        name,
        image,
        labels: BTreeMap::from([
            (labels::SESSION.to_string(), session.to_string()),
            (labels::PROJECT.to_string(), project.to_string()),
            (labels::ROLE.to_string(), role.to_string()),
            (labels::PROFILES.to_string(), profiles.to_string()),
            (labels::FIREWALL.to_string(), firewall.to_string()),
            (labels::NETWORKS.to_string(), String::new()),
        ]),
        state,
        created: T0 - 3600,
        status: status.to_string(),
    }
}

/// A session's two containers: agent and holder.
fn pair(
    session: &str,
    project: &str,
    agent: (ContainerState, &str),
    holder: (ContainerState, &str),
    firewall: &str,
    profiles: &str,
) -> Vec<ContainerSummary> {
    vec![
        container(
            session, project, "agent", agent.0, agent.1, firewall, profiles,
        ),
        container(
            session, project, "net", holder.0, holder.1, firewall, profiles,
        ),
    ]
}

fn up(s: &str) -> (ContainerState, &str) {
    (ContainerState::Running, s)
}

/// Eight sessions over three projects, one for each state the list can show.
fn containers() -> Vec<ContainerSummary> {
    use ContainerState::*;
    [
        // shop: idle + verified; waiting; holder down (degraded).
        pair(
            "api",
            SHOP,
            up("Up 2 hours"),
            up("Up 2 hours"),
            "on",
            "rust,node",
        ),
        pair(
            "web",
            SHOP,
            up("Up 5 minutes"),
            up("Up 5 minutes"),
            "on",
            "node",
        ),
        pair(
            "infra",
            SHOP,
            up("Up 3 days"),
            (Exited(137), "Exited (137) 2 minutes ago"),
            "on",
            "",
        ),
        // blog: working; stopped (143); created and being started.
        pair(
            "docs",
            BLOG,
            up("Up 40 minutes"),
            up("Up 40 minutes"),
            "on",
            "python",
        ),
        pair(
            "old",
            BLOG,
            (Exited(143), "Exited (143) 3 days ago"),
            (Exited(143), "Exited (143) 3 days ago"),
            "on",
            "",
        ),
        pair(
            "fresh",
            BLOG,
            (Created, "Created"),
            (Created, "Created"),
            "on",
            "",
        ),
        // tools (outside home): crashed with an error; firewall off, with a long name.
        pair(
            "crashy",
            TOOLS,
            (Exited(1), "Exited (1) 10 seconds ago"),
            (Exited(0), "Exited (0) 10 seconds ago"),
            "on",
            "go",
        ),
        vec![container(
            LONG_NAME,
            TOOLS,
            "agent",
            Running,
            "Up 1 minute",
            "off",
            "",
        )],
    ]
    .concat()
}

fn rule(cols: u16) -> String {
    "─".repeat(cols as usize)
}

const ORANGE: &str = "\x1b[38;2;215;119;87m";
const DIM: &str = "\x1b[2m";
const UNDIM: &str = "\x1b[22m";
const BOLD: &str = "\x1b[1m";
const FG: &str = "\x1b[39m";

/// Claude Code's banner, as its 2.x versions draw it.
fn banner() -> String {
    format!(
        "{ORANGE} ▐▛███▜▌{FG}   {BOLD}Claude Code{UNDIM} {DIM}v2.1.12{UNDIM}\n\
         {ORANGE}▝▜█████▛▘{FG}  {DIM}Opus 4.5 · Claude Max{UNDIM}\n\
         {ORANGE}  ▘▘ ▝▝  {FG}  {DIM}/home/dev/code{UNDIM}\n\n"
    )
}

fn footer(cols: u16) -> String {
    format!(
        "{DIM}{}{UNDIM}\n❯ \n{DIM}{}{UNDIM}\n  \x1b[38;2;175;135;255m⏵⏵ bypass permissions on{FG}{DIM} (shift+tab to cycle){UNDIM}",
        rule(cols),
        rule(cols)
    )
}

/// Claude after a finished turn: the input box waits for the next prompt.
fn idle_screen(cols: u16) -> String {
    format!(
        "{}❯ add a /healthz endpoint\n\n\
         ⏺ Done. GET /healthz now answers 200 with the build id.\n\n  \
         - src/routes.rs: new `healthz` route\n  \
         - tests/health.rs: checks the status and body\n\n\
         \x1b[38;5;174m✻\x1b[39m \x1b[3mCooked for 42s\x1b[23m\n\n{}",
        banner(),
        footer(cols)
    )
}

/// Claude asking for permission to run a command: a numbered choice, no input box.
fn waiting_screen(cols: u16) -> String {
    format!(
        "{}❯ run the tests\n\n\
         ⏺ I'll run the full test suite.\n\n\
         {BOLD}⏺ Bash{UNDIM}(cargo test --all)\n  ⎿  Running…\n\n\
         \x1b[38;2;177;185;249m{}{FG}\n {BOLD}Bash command{UNDIM}\n\n   \
         cargo test --all\n   {DIM}Run the full test suite{UNDIM}\n\n \
         Do you want to proceed?\n \
         \x1b[38;2;177;185;249m❯ 1. Yes{FG}\n   \
         2. Yes, and don't ask again for cargo test commands in /workspace\n   \
         3. No, and tell Claude what to do differently (esc)\n\n \
         {DIM}Esc to cancel · Tab to amend{UNDIM}",
        banner(),
        rule(cols)
    )
}

/// Claude in the middle of a turn: the spinner line above the input box.
fn working_screen(cols: u16) -> String {
    format!(
        "{}❯ fix the broken links in the changelog\n\n\
         ⏺ {BOLD}Read{UNDIM}(CHANGELOG.md)\n  ⎿  Read 214 lines\n\n\
         ⏺ {BOLD}Update{UNDIM}(CHANGELOG.md)\n  ⎿  Updated CHANGELOG.md with 3 additions and 3 removals\n       \
         12 \x1b[48;2;61;1;0m\x1b[31m- [v0.3](http://old.example/v0.3)\x1b[0m\n       \
         12 \x1b[48;2;2;40;0m\x1b[32m+ [v0.3](https://blog.example/v0.3)\x1b[0m\n\n\
         {ORANGE}✶{FG} {ORANGE}Forging…{FG} {DIM}(esc to interrupt · 38s · ↓ 1.2k tokens){UNDIM}\n\n{}",
        banner(),
        footer(cols)
    )
}

/// As a terminal receives it: CR LF line ends.
fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn key_code(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        update(state, key(c));
    }
}

fn select(state: &mut State, name: &str) {
    state.selected = state
        .rows
        .iter()
        .position(|r| r.name() == name)
        .unwrap_or_else(|| panic!("no row {name}"));
}

fn pane_cols(state: &State, name: &str) -> u16 {
    state.terminal(name).unwrap().size().1
}

fn new_state(w: u16, h: u16, color: bool) -> State {
    let settings = UiSettings {
        log_lines: 1000,
        bell: true,
        clipboard_copy: true,
        engine_host: "unix:///var/run/docker.sock".into(),
        profiles: vec!["rust".into()],
        color,
        home: PathBuf::from(HOME),
        cwd: PathBuf::from(HOME),
    };
    let mut state = State::new(Keymap::default(), settings);
    update(&mut state, Action::Resize(w, h));
    state
}

/// The full dashboard as the app would hold it after a while.
fn dashboard(w: u16, h: u16, color: bool) -> State {
    let mut state = new_state(w, h, color);
    update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: group_sessions(&containers()),
        },
    );

    // What each running claude has drawn so far (hook markers included, as the tty carries
    // them).
    let screens = [
        (
            "api",
            idle_screen as fn(u16) -> String,
            Some(hook_marker("stop")),
        ),
        ("web", waiting_screen, Some(hook_marker("notification"))),
        ("docs", working_screen, None),
        (LONG_NAME, idle_screen, None),
    ];
    for (name, screen, marker) in screens {
        let cols = pane_cols(&state, name);
        let mut bytes = crlf(&screen(cols));
        if let Some(m) = marker {
            bytes.extend_from_slice(m.as_bytes());
        }
        update(
            &mut state,
            Action::TermOutput {
                session: name.into(),
                bytes,
                at: std::time::Instant::now(),
            },
        );
    }

    // Starting `crashy` failed.
    select(&mut state, "crashy");
    update(&mut state, key('s'));
    let job = state.next_job - 1;
    update(
        &mut state,
        Action::JobDone {
            job,
            result: Err("claude exited with code 1: ANTHROPIC_API_KEY is not set".into()),
        },
    );
    // `fresh` is starting: its image is being built.
    select(&mut state, "fresh");
    update(&mut state, key('s'));
    let job = state.next_job - 1;
    update(
        &mut state,
        Action::JobProgress {
            job,
            progress: BuildProgress::Step {
                layer: "base".into(),
                index: 7,
                total: 22,
                text: "RUN apt-get install -y ripgrep".into(),
            },
        },
    );

    // The waiting session is the one the user looks at.
    select(&mut state, "web");
    update(
        &mut state,
        Action::Stats {
            session: "web".into(),
            stats: Stats {
                cpu_percent: 12.5,
                memory_bytes: 512 << 20,
                memory_limit: 4 << 30,
            },
            // Two hours after the fixture agent started (details: 2023-11-14T20:13:20Z).
            at: 1_700_000_000,
        },
    );
    state
}

/// The session's report as the runtime builds it (`FirewallReport::of`, the rules
/// `firewall_report` uses): from the fixture's containers, and from what a running holder
/// would say (verified, with counters and recent blocks). A holder that is not running is
/// never read, so a degraded or off session shows no counters or blocks.
fn firewall_report(name: &str) -> FirewallReport {
    let rules = [
        "api.anthropic.com",
        "statsig.anthropic.com",
        "*.github.com",
        "registry.npmjs.org",
        "crates.io",
        "static.crates.io",
        "index.crates.io",
        "10.0.0.0/8:5432",
        "git.internal.example:22,443",
    ]
    .iter()
    .map(|r| parse_rule(r).unwrap())
    .collect();
    let blocked = |dt: i64, kind: &str, dest: &str, port: Option<u16>| Blocked {
        time: T0 + dt,
        kind: kind.into(),
        destination: dest.into(),
        port,
    };
    let sessions = group_sessions(&containers());
    let session = sessions.iter().find(|s| s.name == name).unwrap();
    let reading = session.running_holder().map(|_| HolderReading {
        status: FirewallStatus::Verified { at: T0 + 3599 },
        counters: Counters {
            rejected_packets: 17,
            rejected_bytes: 1020,
            refused_names: 5,
            refused_by_name: 0,
        },
        broker: None,
        recent: vec![
            blocked(1, "dns", "telemetry.example.com", None),
            blocked(5, "tcp", "93.184.216.34", Some(80)),
            blocked(12, "udp", "8.8.8.8", Some(53)),
            blocked(30, "dns", "pypi.org", None),
            blocked(61, "tcp", "140.82.112.3", Some(22)),
            blocked(3600, "icmp", "1.1.1.1", None),
        ],
    });
    session.firewall_report(
        Allowlist {
            rules,
            broker_upstream: None,
        },
        reading,
    )
}

fn details(state: &State, name: &str) -> ContainerDetails {
    let row = state.rows.iter().find(|r| r.name() == name).unwrap();
    let agent = row.session.agent.clone().unwrap();
    let project = row.session.project.clone();
    ContainerDetails {
        summary: agent,
        started_at: "2023-11-14T20:13:20Z".into(),
        pid: 4242,
        mounts: vec![
            MountInfo {
                kind: MountedKind::Bind,
                source: project.clone(),
                target: project,
                read_only: false,
            },
            MountInfo {
                kind: MountedKind::Volume,
                source: "cctui-shop-1a2b3c4d-claude".into(),
                target: "/home/claude/.claude".into(),
                read_only: false,
            },
            MountInfo {
                kind: MountedKind::Volume,
                source: "cctui-shop-1a2b3c4d-history".into(),
                target: "/commandhistory".into(),
                read_only: false,
            },
        ],
        network: NetworkMode::Container(format!("net-{name}-0123456789ab")),
        networks: vec![],
        user: "1000:1000".into(),
        env: vec!["CCTUI_SESSION=api".into()],
        cmd: vec!["claude".into()],
        cap_add: vec![],
        cap_drop: vec!["ALL".into()],
        no_new_privileges: true,
        privileged: false,
        read_only_rootfs: false,
        pids_limit: 512,
        memory_bytes: 4 << 30,
        nano_cpus: 2_000_000_000,
        init: true,
        tty: true,
        tmpfs: BTreeMap::from([
            ("/run/cctui".into(), "rw,nosuid,nodev,noexec,size=1m".into()),
            (
                "/run/cctui/secrets".into(),
                "rw,nosuid,nodev,noexec,size=1m,mode=0700".into(),
            ),
        ]),
    }
}

const LOG_LINES: &str = "\
2023-11-14T22:10:00Z cctui-fw: applying 9 rules\n\
2023-11-14T22:10:01Z cctui-fw: verify ok (dns, tcp, udp, icmp)\n\
2023-11-14T22:10:02Z claude: starting in /home/dev/code/shop\n\
2023-11-14T22:11:15Z npm ERR! timeout: GET https://registry.example.com/shop\n\
2023-11-14T22:11:16Z npm ERR! timeout: GET https://registry.example.com/left-pad\n\
2023-11-14T22:12:00Z \x1b[32mcargo\x1b[0m: Compiling shop v0.1.0 (/home/dev/code/shop)\n\
2023-11-14T22:12:30Z cargo: Finished `dev` profile in 29.8s\n\
2023-11-14T22:13:00Z claude: turn finished\n\
2023-11-14T22:13:05Z cctui-fw: verify ok (dns, tcp, udp, icmp)\n";

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

fn terminal_tab(w: u16, h: u16, color: bool) -> State {
    dashboard(w, h, color)
}

fn logs_tab(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    select(&mut state, "api");
    update(&mut state, key_code(KeyCode::Tab));
    assert_eq!(state.tab, Tab::Logs);
    // Many lines, so that the search has to scroll back to its match.
    let mut text = String::from(LOG_LINES);
    for i in 0..60 {
        text.push_str(&format!(
            "2023-11-14T22:14:{:02}Z claude: tool call {i} ok\n",
            i % 60
        ));
    }
    update(
        &mut state,
        Action::LogChunk {
            session: "api".into(),
            bytes: text.into_bytes(),
        },
    );
    update(&mut state, key('/'));
    typed(&mut state, "timeout");
    update(&mut state, key_code(KeyCode::Enter));
    assert_eq!(state.log_search.as_deref(), Some("timeout"));
    assert_eq!(state.mode, Mode::Normal);
    state
}

fn firewall_tab_for(w: u16, h: u16, color: bool, name: &str) -> State {
    let mut state = dashboard(w, h, color);
    select(&mut state, name);
    update(&mut state, key_code(KeyCode::Tab));
    update(&mut state, key_code(KeyCode::Tab));
    assert_eq!(state.tab, Tab::Firewall);
    update(
        &mut state,
        Action::Firewall {
            session: name.into(),
            report: Ok(firewall_report(name)),
        },
    );
    state
}

fn firewall_tab(w: u16, h: u16, color: bool) -> State {
    firewall_tab_for(w, h, color, "api")
}

fn info_tab(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    select(&mut state, "api");
    update(&mut state, key_code(KeyCode::BackTab));
    assert_eq!(state.tab, Tab::Info);
    let d = details(&state, "api");
    update(
        &mut state,
        Action::Details {
            session: "api".into(),
            details: Box::new(d),
        },
    );
    state
}

/// Usage as the runtime brings it, from transcripts priced $1 in and $2 out per million
/// tokens (the shipped table for everything but `gpt-9`): shop's api and web on their own
/// branches (their project's total adds them), blog's docs in place (it reads every line of
/// its project: that is blog's total), and crashy's model has no price.
fn usage_view(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    for name in ["api", "web"] {
        let agent = state.row_mut(name).unwrap().session.agent.as_mut().unwrap();
        let l = &mut agent.labels;
        l.insert(label::MODE.into(), "repo".into());
        l.insert(label::REPO.into(), SHOP.into());
        l.insert(label::BRANCH.into(), format!("cctui/{name}"));
        l.insert(label::BASE.into(), "0123456789abcdef".into());
    }
    let prices: Prices = toml::from_str(
        "[models.claude]\ninput = 1.0\noutput = 2.0\ncache_write = 1.0\ncache_read = 0.0\n",
    )
    .unwrap();
    let line = |branch: &str, id: &str, model: &str, input: u64, read: u64, output: u64| {
        format!(
            r#"{{"type":"assistant","gitBranch":"{branch}","message":{{"id":"{id}","model":"{model}","usage":{{"input_tokens":{input},"cache_read_input_tokens":{read},"output_tokens":{output}}}}}}}"#
        )
    };
    let shop = [
        line("cctui/api", "a1", "claude-x", 9_000, 90_000, 1_000),
        line("cctui/web", "w1", "claude-x", 100_000, 0, 50_000),
        line("cctui/web", "w2", "claude-x", 2_000_000, 0, 110_000),
        line("main", "m1", "claude-x", 777, 0, 0),
    ]
    .join("\n");
    let blog = line("main", "d1", "claude-x", 1_200, 5_000, 300);
    let tools = line("main", "c1", "gpt-9", 40, 0, 2);
    let loaded = [
        ("api", &shop, Some("cctui/api")),
        ("web", &shop, Some("cctui/web")),
        ("docs", &blog, None),
        ("crashy", &tools, None),
    ];
    // A session with nothing used yet shows no figure ("0 $0.00" on most rows is noise).
    update(
        &mut state,
        Action::Usage {
            session: LONG_NAME.into(),
            usage: Ok(Default::default()),
        },
    );
    for (session, text, branch) in loaded {
        let usage = from_transcripts(text, &prices, branch);
        update(
            &mut state,
            Action::Usage {
                session: session.into(),
                usage: Ok(usage),
            },
        );
    }
    state
}

fn help(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    update(&mut state, key('?'));
    assert_eq!(state.mode, Mode::Help);
    state
}

fn confirm_remove(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    update(&mut state, key('d'));
    assert_eq!(state.mode, Mode::ConfirmRemove("web".into()));
    state
}

fn new_session(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    update(&mut state, key('n'));
    // The form starts at the current directory: replace it, for a fixed snapshot.
    update(&mut state, ctrl('u'));
    typed(&mut state, "~/code/sh");
    update(
        &mut state,
        Action::Completions(vec![
            "/home/dev/code/shop/".into(),
            "/home/dev/code/shell-scripts/".into(),
            "/home/dev/code/shared/".into(),
        ]),
    );
    let Mode::New(form) = &state.mode else {
        panic!("not in the new-session dialog: {:?}", state.mode)
    };
    assert_eq!(form.completions.len(), 3);
    state
}

fn allow(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    update(&mut state, key('a'));
    typed(&mut state, "*.pythonhosted.org:443,8443");
    assert!(matches!(state.mode, Mode::Allow { .. }));
    state
}

fn full_screen(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    update(&mut state, key('f'));
    assert_eq!(state.mode, Mode::FullScreen("web".into()));
    assert_eq!(state.terminal("web").unwrap().size(), (h, w));
    // Claude redraws at the new size.
    let mut bytes = b"\x1b[H\x1b[2J".to_vec();
    bytes.extend(crlf(&waiting_screen(w)));
    update(
        &mut state,
        Action::TermOutput {
            session: "web".into(),
            bytes,
            at: std::time::Instant::now(),
        },
    );
    state
}

fn engine_lost(w: u16, h: u16, color: bool) -> State {
    let mut state = dashboard(w, h, color);
    update(
        &mut state,
        Action::EngineLost {
            engine: "local".into(),
            why: "connection refused (unix:///var/run/docker.sock)".into(),
            retries: 3,
            retry_in: std::time::Duration::from_secs(4),
        },
    );
    state
}

/// Three engines: the local one with the shop's sessions, a build box over ssh with the
/// blog's and the tools' (and an `api` of its own, a name the local engine holds too), and a
/// cloud engine that is lost.
fn several_engines(w: u16, h: u16, color: bool) -> State {
    let mut state = new_state(w, h, color);
    state.set_engines(&[
        ("local", "unix:///var/run/docker.sock"),
        ("buildbox", "ssh://dev@buildbox.example"),
        ("cloud", "tcp://10.0.0.7:2376"),
    ]);
    let (shop, mut far): (Vec<_>, Vec<_>) = containers()
        .into_iter()
        .partition(|c| c.labels[labels::PROJECT] == SHOP);
    far.extend(pair(
        "api",
        BLOG,
        up("Up 1 hour"),
        up("Up 1 hour"),
        "on",
        "",
    ));
    let (shop, far) = (group_sessions(&shop), group_sessions(&far));
    for (engine, list) in [("local", shop), ("buildbox", far)] {
        update(
            &mut state,
            Action::Sessions {
                engine: engine.into(),
                list,
            },
        );
    }
    update(
        &mut state,
        Action::EngineLost {
            engine: "cloud".into(),
            why: "connection refused (tcp://10.0.0.7:2376)".into(),
            retries: 2,
            retry_in: std::time::Duration::from_secs(4),
        },
    );
    select(&mut state, "docs");
    state
}

fn empty(w: u16, h: u16, color: bool) -> State {
    let mut state = new_state(w, h, color);
    update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: vec![],
        },
    );
    state
}

// ---------------------------------------------------------------------------------------------
// Rendering helpers
// ---------------------------------------------------------------------------------------------

fn render(state: &State) -> Buffer {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|frame| cctui::ui::draw(frame, state))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The cells of one line, skipping the cells hidden under wide characters: `(x, symbol)`.
fn line_cells(buf: &Buffer, y: u16) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    let mut skip = 0usize;
    for x in 0..buf.area.width {
        let cell = &buf[(x, y)];
        if skip == 0 {
            out.push((x, cell.symbol().to_string()));
        }
        skip = skip.max(cell.cell_width() as usize).saturating_sub(1);
    }
    out
}

fn line_text(buf: &Buffer, y: u16) -> String {
    line_cells(buf, y).into_iter().map(|(_, s)| s).collect()
}

/// The screen as text, one line per row, trailing blanks removed.
fn screen_text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        out.push_str(line_text(buf, y).trim_end());
        out.push('\n');
    }
    out
}

/// Where `needle` starts on row `y` at or after column `from`: its x.
fn find_on_row(buf: &Buffer, y: u16, from: u16, needle: &str) -> Option<u16> {
    let cells: Vec<(u16, String)> = line_cells(buf, y)
        .into_iter()
        .filter(|(x, _)| *x >= from)
        .collect();
    let text: String = cells.iter().map(|(_, s)| s.as_str()).collect();
    let byte = text.find(needle)?;
    // Map the byte offset back to a cell.
    let mut offset = 0;
    for (x, s) in &cells {
        if offset == byte {
            return Some(*x);
        }
        offset += s.len();
    }
    None
}

/// The row of the session list that shows `name` (the list's left column).
fn list_row(buf: &Buffer, name: &str) -> u16 {
    let shown: String = name.chars().take(12).collect();
    (0..buf.area.height)
        .find(|&y| {
            let t = line_text(buf, y);
            t.starts_with(&format!("│  {shown}")) || t.starts_with(&format!("│▸ {shown}"))
        })
        .unwrap_or_else(|| panic!("no list row for {name}:\n{}", screen_text(buf)))
}

/// The badge's cell on the session's list row.
fn badge(buf: &Buffer, name: &str, text: &str) -> (u16, u16) {
    let y = list_row(buf, name);
    let x = find_on_row(buf, y, 1, text).unwrap_or_else(|| {
        panic!(
            "no `{text}` on {name}'s row: {:?}",
            line_text(buf, y).trim_end()
        )
    });
    (x, y)
}

/// Every cell of `text` at (x, y) has this fg and these modifiers.
fn assert_style(buf: &Buffer, at: (u16, u16), text: &str, fg: Color, modifiers: Modifier) {
    let (x0, y) = at;
    let width = text.chars().count() as u16;
    for x in x0..x0 + width {
        let cell = &buf[(x, y)];
        assert_eq!(
            cell.fg,
            fg,
            "fg of `{}` in `{text}` at ({x}, {y})",
            cell.symbol()
        );
        assert!(
            cell.modifier.contains(modifiers),
            "`{text}` at ({x}, {y}) lacks {modifiers:?}: {:?}",
            cell.modifier
        );
    }
}

fn snapshot(name: &str, state: &State) {
    let buf = render(state);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let (w, h) = state.size;
    settings.set_description(format!("{name} at {w}x{h}"));
    settings.bind(|| insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen_text(&buf)));
}

fn snapshot_sizes(name: &str, build: View) {
    for (w, h) in SIZES {
        snapshot(name, &build(w, h, true));
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------------

#[test]
fn fixture_states_are_what_the_snapshots_claim() {
    let mut state = dashboard(120, 40, true);
    // Detected from the screen text alone (no hook held it), for these.
    let detected: Vec<bool> = ["docs", LONG_NAME]
        .iter()
        .map(|n| cctui::term::detect(&state.terminal_mut(n).unwrap().live().text()).is_some())
        .collect();
    let claude = |name: &str| {
        let row = state.rows.iter().find(|r| r.name() == name).unwrap();
        state.claude_state(row)
    };
    let row = |name: &str| state.rows.iter().find(|r| r.name() == name).unwrap();
    assert_eq!(claude("api"), ClaudeState::Idle);
    assert_eq!(claude("web"), ClaudeState::WaitingForYou);
    assert_eq!(claude("docs"), ClaudeState::Working);
    assert_eq!(claude(LONG_NAME), ClaudeState::Idle);
    assert_eq!(claude("infra"), ClaudeState::NotStarted);
    assert_eq!(claude("old"), ClaudeState::Exited);
    assert_eq!(claude("crashy"), ClaudeState::Exited);
    assert!(matches!(
        row("api").firewall,
        FirewallStatus::Verified { .. }
    ));
    assert!(matches!(
        row("infra").firewall,
        FirewallStatus::Degraded { .. }
    ));
    assert_eq!(row(LONG_NAME).firewall, FirewallStatus::Off);
    assert_eq!(row("old").firewall, FirewallStatus::Unknown);
    assert_eq!(row("fresh").busy.as_deref(), Some("starting"));
    assert!(row("crashy").error.is_some());
    assert_eq!(state.jobs.len(), 1);
    assert_eq!(detected, [true, true], "docs and {LONG_NAME}");
    // Projects are grouped in order, home shortened.
    let names: Vec<&str> = state.rows.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        ["docs", "fresh", "old", "api", "infra", "web", "crashy", LONG_NAME]
    );
}

#[test]
fn terminal_tab_snapshots() {
    snapshot_sizes("terminal_tab", terminal_tab);
}

#[test]
fn logs_tab_snapshots() {
    snapshot_sizes("logs_tab", logs_tab);
    // At every size, each line with a hit that is on screen shows the whole hit.
    for (w, h) in SIZES {
        let buf = render(&logs_tab(w, h, true));
        let rows: Vec<String> = (0..h)
            .map(|y| line_text(&buf, y))
            .filter(|l| l.contains("npm ERR!"))
            .collect();
        assert!(!rows.is_empty(), "no search hit on screen at {w}x{h}");
        for row in rows {
            assert!(
                row.contains("npm ERR! timeout"),
                "a cut hit at {w}x{h}: {row}"
            );
        }
    }
}

#[test]
fn firewall_tab_snapshots() {
    snapshot_sizes("firewall_tab", firewall_tab);
    // The other statuses, at one size: infra's holder is down, LONG_NAME's firewall is off.
    let degraded = firewall_tab_for(120, 40, true, "infra");
    let report = degraded
        .row("infra")
        .unwrap()
        .view
        .firewall
        .as_ref()
        .unwrap();
    assert_eq!(report.status.label(), "degraded");
    assert_eq!(
        report.counters,
        Counters::default(),
        "counters of a stopped holder: nothing reads them"
    );
    assert!(report.recent.is_empty(), "blocks of a stopped holder");
    snapshot("firewall_tab_degraded", &degraded);
    let off = firewall_tab_for(120, 40, true, LONG_NAME);
    let report = off.row(LONG_NAME).unwrap().view.firewall.as_ref().unwrap();
    assert_eq!(report.status, FirewallStatus::Off);
    assert_eq!(
        report.counters,
        Counters::default(),
        "counters with the firewall off"
    );
    assert!(report.recent.is_empty(), "blocks with the firewall off");
    snapshot("firewall_tab_off", &off);
}

#[test]
fn info_tab_snapshots() {
    snapshot_sizes("info_tab", info_tab);
}

#[test]
fn usage_snapshots() {
    snapshot_sizes("usage", usage_view);
}

/// The figures of `usage_view`, wherever the width allows: a session's at its row's end,
/// its project's on the project's line, everyone's in the header.
#[test]
fn usage_totals_add_branches_take_an_in_place_project_once_and_leave_out_no_cost() {
    let at = |w, h| screen_text(&render(&usage_view(w, h, false)));
    let wide = at(200, 60);
    // The list's part of the line that starts with `start` inside the list's border.
    let row = |text: &str, start: &str| -> String {
        text.lines()
            .filter_map(|l| l.strip_prefix('│')?.split('│').next())
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start}:\n{text}"))
            .to_string()
    };
    // api: 9k in, 90k read, 1k out = 100k tokens, $0.009 + $0.002.
    assert!(row(&wide, "  api ").ends_with(" 100k $0.01"), "{wide}");
    // web: 2.26M tokens, $2.10 in + $0.32 out.
    assert!(row(&wide, "▸ web ").ends_with(" 2.3M $2.42"), "{wide}");
    // shop: api + web, not main's 777 that no session of it made.
    assert!(row(&wide, "~/code/shop").ends_with(" 2.4M $2.43"), "{wide}");
    // blog: docs in place reads every line: 6.5k tokens, $0.0012 + $0.0006.
    assert!(row(&wide, "~/code/blog").ends_with(" 6.5k $0.00"), "{wide}");
    // tools: gpt-9 has no price: tokens, no cost.
    assert!(row(&wide, "/srv/tools").ends_with(" 42"), "{wide}");
    assert!(row(&wide, "  crashy").ends_with(" 42"), "{wide}");
    assert!(row(&wide, "  yolo").trim_end().ends_with("OFF"), "{wide}");
    // Everyone: tokens of all three projects; no cost, since one model has none.
    let header = wide.lines().next().unwrap();
    assert!(header.contains("usage 2.4M  "), "{header}");
    // Narrower lists keep the project totals and drop the rows' figures.
    let mid = at(120, 40);
    assert!(row(&mid, "~/code/shop").ends_with(" 2.4M $2.43"), "{mid}");
    assert!(!row(&mid, "  api ").contains('$'), "{mid}");
    assert!(!row(&mid, "▸ web ").contains('$'), "{mid}");
}

#[test]
fn help_snapshots() {
    snapshot_sizes("help", help);
}

#[test]
fn confirm_remove_snapshots() {
    snapshot_sizes("confirm_remove", confirm_remove);
}

#[test]
fn new_session_snapshots() {
    snapshot_sizes("new_session", new_session);
}

#[test]
fn allow_snapshots() {
    snapshot_sizes("allow", allow);
}

#[test]
fn full_screen_snapshots() {
    snapshot_sizes("full_screen", full_screen);
}

#[test]
fn engine_lost_snapshots() {
    snapshot_sizes("engine_lost", engine_lost);
}

#[test]
fn several_engines_snapshots() {
    snapshot_sizes("several_engines", several_engines);
    // The grouping: each engine's header over its own rows, in the engines' order, the lost
    // one's with when it is tried next; the name both engines hold is marked on both.
    let text = screen_text(&render(&several_engines(120, 40, false)));
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?}:\n{text}"))
    };
    assert!(at("■ local · connected · 3 sessions") < at(" web "));
    assert!(at(" web ") < at("■ buildbox · connected · 6 sessions"));
    assert!(at("■ buildbox") < at(" docs ") && at(" docs ") < at("■ cloud"));
    assert!(
        text.contains("■ cloud · LOST · retry 2 in 4s · connection re"),
        "{text}"
    );
    assert_eq!(text.matches("⚠ api").count(), 2, "{text}");
    assert!(text.contains("2 of 3 engines connected"), "{text}");
}

#[test]
fn empty_snapshots() {
    snapshot_sizes("empty", empty);
    // Before the first list arrives.
    let loading = new_state(120, 40, true);
    snapshot("loading", &loading);
}

#[test]
fn error_row_selected_snapshot() {
    let mut state = dashboard(120, 40, true);
    select(&mut state, "crashy");
    snapshot("crashy_selected", &state);
}

#[test]
fn too_small_snapshots() {
    for (w, h) in [(50, 10), (59, 30), (100, 11)] {
        let state = dashboard(w, h, true);
        snapshot("too_small", &state);
    }
}

// ---------------------------------------------------------------------------------------------
// Colours, cell by cell
// ---------------------------------------------------------------------------------------------

#[test]
fn badges_have_their_colours() {
    let state = dashboard(120, 40, true);
    let buf = render(&state);
    let none = Modifier::empty();

    assert_style(&buf, badge(&buf, "api", "✔ fw"), "✔ fw", Color::Green, none);
    assert_style(
        &buf,
        badge(&buf, "api", "· idle"),
        "· idle",
        Color::Green,
        none,
    );
    assert_style(
        &buf,
        badge(&buf, "api", "● running"),
        "● running",
        Color::Green,
        none,
    );
    assert_style(
        &buf,
        badge(&buf, LONG_NAME, "✖ OFF"),
        "✖ OFF",
        Color::Red,
        Modifier::BOLD,
    );
    assert_style(
        &buf,
        badge(&buf, "infra", "! fw"),
        "! fw",
        Color::Yellow,
        Modifier::BOLD,
    );
    assert_style(
        &buf,
        badge(&buf, "web", "▶ WAITING"),
        "▶ WAITING",
        Color::Magenta,
        Modifier::BOLD,
    );
    assert_style(
        &buf,
        badge(&buf, "docs", "⋯ working"),
        "⋯ working",
        Color::Cyan,
        none,
    );
    assert_style(
        &buf,
        badge(&buf, "crashy", "✖ exited 1"),
        "✖ exited 1",
        Color::Red,
        none,
    );
    assert_style(
        &buf,
        badge(&buf, "old", "○ stopped"),
        "○ stopped",
        Color::DarkGray,
        none,
    );
    assert_style(
        &buf,
        badge(&buf, "fresh", "◌ starting"),
        "◌ starting",
        Color::Cyan,
        none,
    );
    assert_style(
        &buf,
        badge(&buf, "old", "? fw"),
        "? fw",
        Color::DarkGray,
        none,
    );

    // The header counts the waiting session, in the waiting colour.
    let x = find_on_row(&buf, 0, 0, "▶ 1 waiting for you").expect("header waiting count");
    assert_style(
        &buf,
        (x, 0),
        "▶ 1 waiting for you",
        Color::Magenta,
        Modifier::BOLD,
    );

    // The selected row (web) is reversed, across its whole text; the others are not.
    let y = list_row(&buf, "web");
    assert!(line_text(&buf, y).starts_with("│▸ web"));
    let end = find_on_row(&buf, y, 1, "✔ fw").unwrap() + 4;
    for x in 1..end {
        assert!(
            buf[(x, y)].modifier.contains(Modifier::REVERSED),
            "selected row not reversed at x={x}: {:?}",
            line_text(&buf, y)
        );
    }
    for name in ["api", "infra", "docs", "old", "fresh", "crashy", LONG_NAME] {
        let y = list_row(&buf, name);
        assert!(
            !buf[(3, y)].modifier.contains(Modifier::REVERSED),
            "{name} is reversed"
        );
    }

    // The job in the status line, in the accent colour.
    let status = buf.area.height - 1;
    let x = find_on_row(&buf, status, 0, "starting fresh").expect("job in status line");
    assert_style(
        &buf,
        (x, status),
        "starting fresh",
        Color::Yellow,
        Modifier::BOLD,
    );
    assert!(line_text(&buf, status).contains("[base] 7/22 RUN apt-get install -y ripgrep"));
}

#[test]
fn detail_badges_and_panels_have_their_colours() {
    // The long firewall badge under the list, for the selected session.
    let mut state = dashboard(120, 40, true);
    select(&mut state, "infra");
    let buf = render(&state);
    let y = (0..buf.area.height)
        .find(|&y| line_text(&buf, y).contains("! fw degraded"))
        .expect("degraded badge");
    let x = find_on_row(&buf, y, 0, "! fw degraded").unwrap();
    assert_style(&buf, (x, y), "! fw degraded", Color::Yellow, Modifier::BOLD);

    select(&mut state, "crashy");
    let buf = render(&state);
    let y = (0..buf.area.height)
        .find(|&y| line_text(&buf, y).contains("ANTHROPIC_API_KEY"))
        .expect("the row's error");
    let x = find_on_row(&buf, y, 0, "claude exited").unwrap();
    assert_style(&buf, (x, y), "claude exited", Color::Red, Modifier::BOLD);

    // The firewall tab: the status word.
    let buf = render(&firewall_tab(120, 40, true));
    let y = (0..buf.area.height)
        .find(|&y| line_text(&buf, y).contains("status: ✔ fw ok"))
        .expect("firewall status line");
    let x = find_on_row(&buf, y, 0, "✔ fw ok").unwrap();
    assert_style(&buf, (x, y), "✔ fw ok", Color::Green, Modifier::empty());
    let off = render(&firewall_tab_for(120, 40, true, LONG_NAME));
    let y = (0..off.area.height)
        .find(|&y| line_text(&off, y).contains("status: ✖ fw OFF"))
        .expect("firewall off status line");
    let x = find_on_row(&off, y, 0, "✖ fw OFF").unwrap();
    assert_style(&off, (x, y), "✖ fw OFF", Color::Red, Modifier::BOLD);

    // The log search highlight.
    let buf = render(&logs_tab(120, 40, true));
    let y = (0..buf.area.height)
        .find(|&y| line_text(&buf, y).contains("npm ERR! timeout"))
        .expect("matching log line");
    let x = find_on_row(&buf, y, 0, "timeout").unwrap();
    assert_style(
        &buf,
        (x, y),
        "timeout",
        Color::Yellow,
        Modifier::REVERSED | Modifier::BOLD,
    );

    // The engine banner.
    let buf = render(&engine_lost(120, 40, true));
    let x = find_on_row(&buf, 0, 0, "ENGINE UNREACHABLE").expect("banner");
    assert_style(
        &buf,
        (x, 0),
        "ENGINE UNREACHABLE",
        Color::Red,
        Modifier::BOLD,
    );
}

/// The terminal pane's inner area: claude's own colours are drawn there as claude sent them.
fn pane_rect(state: &State) -> Rect {
    let (w, _) = state.size;
    let (rows, cols) = state.pane_size();
    Rect::new(w - cols - 1, 2, cols, rows)
}

#[test]
fn no_color_has_no_colours_but_every_badge() {
    let views: [(&str, View); 11] = [
        ("terminal", terminal_tab),
        ("logs", logs_tab),
        ("firewall", firewall_tab),
        ("info", info_tab),
        ("help", help),
        ("remove", confirm_remove),
        ("new", new_session),
        ("allow", allow),
        ("engine lost", engine_lost),
        ("empty", empty),
        ("dashboard 80x24", |_, _, c| dashboard(80, 24, c)),
    ];
    for (view, build) in views {
        let mut state = build(120, 40, false);
        if state.mode != Mode::Normal {
            // Over a panel without claude's colours, so that the whole screen is checked.
            state.tab = Tab::Info;
        }
        let buf = render(&state);
        let pane = (state.tab == Tab::Terminal).then(|| pane_rect(&state));
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                if pane.is_some_and(|p| p.contains((x, y).into())) {
                    continue;
                }
                let cell = &buf[(x, y)];
                assert!(
                    cell.fg == Color::Reset && cell.bg == Color::Reset,
                    "{view}: `{}` at ({x}, {y}) has fg {:?} bg {:?} under NO_COLOR; row: {:?}",
                    cell.symbol(),
                    cell.fg,
                    cell.bg,
                    line_text(&buf, y).trim_end()
                );
            }
        }
    }

    // The list still says everything in words and symbols.
    let state = dashboard(120, 40, false);
    let buf = render(&state);
    for (name, text) in [
        ("api", "✔ fw"),
        ("api", "· idle"),
        ("api", "● running"),
        ("infra", "! fw"),
        (LONG_NAME, "✖ OFF"),
        ("web", "▶ WAITING"),
        ("docs", "⋯ working"),
        ("crashy", "✖ exited 1"),
        ("old", "○ stopped"),
        ("old", "? fw"),
        ("fresh", "◌ starting"),
    ] {
        badge(&buf, name, text);
    }
    // The selection shows without colour.
    let y = list_row(&buf, "web");
    assert!(buf[(3, y)].modifier.contains(Modifier::REVERSED));
    assert!(line_text(&buf, 0).contains("▶ 1 waiting for you"));
    let text = screen_text(&buf);
    assert!(text.contains("✖ exited 1"), "{text}");
}
