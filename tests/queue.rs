//! The attention queue through `update`: actions in (screens, firewall reports, keys, job
//! results), the queue, the effects it asks for and the view checked; snapshots of the view
//! at three sizes (in `tests/snapshots`). Nothing comes from the clock or the engine.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use cctui::app::action::Action;
use cctui::app::effect::{Effect, Op};
use cctui::app::keymap::Keymap;
use cctui::app::queue::Reason;
use cctui::app::state::{Mode, State, Tab, UiSettings};
use cctui::app::update::update;
use cctui::backend::{labels, ContainerState, ContainerSummary};
use cctui::notify::Notice;
use cctui::sandbox::firewall::{parse_rule, Allowlist, Blocked, Counters, FirewallStatus};
use cctui::sandbox::report::HolderReading;
use cctui::session::group_sessions;
use cctui::term::hook_marker;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const PROJECT: &str = "/home/dev/code/shop";

fn container(session: &str, role: &str, state: ContainerState) -> ContainerSummary {
    ContainerSummary {
        id: format!("{role}-{session}"),
        name: format!("cctui-{session}-{role}"),
        image: "cctui-agent:test".into(),
        labels: BTreeMap::from([
            (labels::SESSION.to_string(), session.to_string()),
            (labels::PROJECT.to_string(), PROJECT.to_string()),
            (labels::ROLE.to_string(), role.to_string()),
            (labels::FIREWALL.to_string(), "on".to_string()),
        ]),
        state,
        created: 0,
        status: "Up 1 minute".into(),
    }
}

/// Sessions by name: running (with a running holder), or exited with a code.
fn sessions(spec: &[(&str, Option<i64>)]) -> Action {
    let mut all = Vec::new();
    for (name, exit) in spec {
        let state = match exit {
            None => ContainerState::Running,
            Some(code) => ContainerState::Exited(*code),
        };
        all.push(container(name, "agent", state.clone()));
        all.push(container(name, "net", state));
    }
    Action::Sessions {
        engine: "local".into(),
        list: group_sessions(&all),
    }
}

fn new_state(w: u16, h: u16) -> State {
    let settings = UiSettings {
        log_lines: 100,
        engine_host: "unix:///test.sock".into(),
        home: PathBuf::from("/home/dev"),
        cwd: PathBuf::from("/home/dev"),
        color: true,
        ..Default::default()
    };
    let mut state = State::new(Keymap::default(), settings);
    update(&mut state, Action::Resize(w, h));
    state
}

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn key_code(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn rule(cols: usize) -> String {
    "─".repeat(cols)
}

fn idle_screen() -> String {
    format!(
        "⏺ Done.\r\n\r\n{}\r\n❯ \r\n{}\r\n  ? for shortcuts",
        rule(40),
        rule(40)
    )
}

fn working_screen() -> String {
    format!(
        "✶ Forging… (esc to interrupt · 3s)\r\n\r\n{}\r\n❯ \r\n{}",
        rule(40),
        rule(40)
    )
}

fn permission_screen() -> String {
    format!(
        "⏺ Bash(cargo test --all)\r\n\r\n{}\r\n Bash command\r\n\r\n   cargo test --all\r\n   Run the tests\r\n\r\n Do you want to proceed?\r\n ❯ 1. Yes\r\n   2. No",
        rule(40)
    )
}

fn question_screen() -> String {
    format!(
        "{}\r\n Which database should I use?\r\n\r\n ❯ 1. Postgres\r\n   2. SQLite",
        rule(40)
    )
}

/// Claude draws `screen` (after clearing), with a hook marker if given.
fn draw(state: &mut State, session: &str, screen: &str, marker: Option<&str>) -> Vec<Effect> {
    let mut bytes = b"\x1b[H\x1b[2J".to_vec();
    bytes.extend_from_slice(screen.as_bytes());
    if let Some(m) = marker {
        bytes.extend_from_slice(hook_marker(m).as_bytes());
    }
    update(
        state,
        Action::TermOutput {
            session: session.into(),
            bytes,
            at: Instant::now(),
        },
    )
}

fn select(state: &mut State, name: &str) {
    state.selected = state.rows.iter().position(|r| r.name() == name).unwrap();
}

fn dns(time: i64, name: &str) -> Blocked {
    Blocked {
        time,
        kind: "dns".into(),
        destination: name.into(),
        port: None,
    }
}

/// The report a running holder gives, with these refusals and extra rules.
fn report(state: &State, session: &str, recent: Vec<Blocked>, rules: &[&str]) -> Action {
    let row = state.row(session).unwrap();
    let reading = HolderReading {
        status: FirewallStatus::Verified { at: 1 },
        counters: Counters::default(),
        recent,
        broker: None,
    };
    let allowlist = Allowlist {
        rules: rules.iter().map(|r| parse_rule(r).unwrap()).collect(),
        broker_upstream: None,
    };
    Action::Firewall {
        session: session.into(),
        report: Ok(row.session.firewall_report(allowlist, Some(reading))),
    }
}

fn notices(fx: &[Effect]) -> Vec<(Notice, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify { notice, session } => Some((*notice, session.clone())),
            _ => None,
        })
        .collect()
}

fn reasons(state: &State) -> Vec<(String, Reason)> {
    state
        .queue
        .shown()
        .map(|e| (e.session.clone(), e.reason.clone()))
        .collect()
}

#[test]
fn a_session_that_starts_waiting_is_queued_notified_and_cleared_when_it_moves_on() {
    let mut state = new_state(120, 40);
    update(&mut state, sessions(&[("api", None), ("web", None)]));
    select(&mut state, "api");
    draw(&mut state, "web", &working_screen(), Some("prompt"));
    let fx = draw(
        &mut state,
        "web",
        &permission_screen(),
        Some("notification"),
    );
    assert_eq!(notices(&fx), [(Notice::Waiting, "web".to_string())]);
    assert!(fx.contains(&Effect::QueueCount(1)), "{fx:?}");
    assert_eq!(
        reasons(&state),
        [(
            "web".to_string(),
            Reason::Permission(Some("Bash command: cargo test --all".into()))
        )]
    );
    // The same screen again is no news.
    let fx = draw(&mut state, "web", &permission_screen(), None);
    assert!(notices(&fx).is_empty());
    // A question without a permission title is plain waiting.
    draw(&mut state, "web", &question_screen(), None);
    // Claude works again: the entry goes.
    let fx = draw(&mut state, "web", &working_screen(), Some("prompt"));
    assert!(reasons(&state).is_empty());
    assert!(fx.contains(&Effect::QueueCount(0)));
}

#[test]
fn attach_from_the_queue_types_into_the_session() {
    let mut state = new_state(120, 40);
    update(&mut state, sessions(&[("api", None), ("web", None)]));
    select(&mut state, "api");
    draw(&mut state, "web", &question_screen(), Some("notification"));
    update(&mut state, key('w'));
    assert_eq!(state.mode, Mode::Queue);
    update(&mut state, key_code(KeyCode::Enter));
    assert_eq!(state.mode, Mode::Focus);
    assert_eq!(state.selected_name().as_deref(), Some("web"));
    assert_eq!(state.tab, Tab::Terminal);
    let fx = update(&mut state, key('1'));
    assert!(fx.contains(&Effect::TermInput {
        session: "web".into(),
        bytes: b"1".to_vec()
    }));
}

#[test]
fn a_turn_finished_out_of_view_is_queued_until_looked_at() {
    let mut state = new_state(120, 40);
    update(&mut state, sessions(&[("api", None), ("web", None)]));
    select(&mut state, "api");
    draw(&mut state, "web", &working_screen(), Some("prompt"));
    let fx = draw(&mut state, "web", &idle_screen(), Some("stop"));
    assert_eq!(notices(&fx), [(Notice::Finished, "web".to_string())]);
    // Its turn's end reads the firewall, where refusals happen.
    assert!(fx.contains(&Effect::LoadFirewall("web".into())));
    assert_eq!(reasons(&state), [("web".to_string(), Reason::Finished)]);
    // Looking at it (selected, on the terminal tab) clears it.
    update(&mut state, key('j'));
    assert_eq!(state.selected_name().as_deref(), Some("web"));
    assert!(reasons(&state).is_empty());
    // The selected session finishing in view is not news.
    draw(&mut state, "web", &working_screen(), Some("prompt"));
    let fx = draw(&mut state, "web", &idle_screen(), Some("stop"));
    assert!(notices(&fx).is_empty());
    assert!(reasons(&state).is_empty());
}

#[test]
fn exits_and_failures_are_queued_and_a_stop_is_not() {
    let mut state = new_state(120, 40);
    let fx = update(
        &mut state,
        sessions(&[
            ("ok", Some(0)),
            ("stopped", Some(143)),
            ("crashed", Some(1)),
        ]),
    );
    assert_eq!(notices(&fx), [(Notice::Failed, "crashed".to_string())]);
    assert_eq!(
        reasons(&state),
        [("crashed".to_string(), Reason::Exited(1))]
    );
    // Started again: the exit is gone with its cause.
    update(&mut state, sessions(&[("crashed", None)]));
    assert!(reasons(&state).is_empty());
}

#[test]
fn a_refused_name_is_grouped_and_allowed_for_the_session_or_the_project_or_forgotten() {
    let mut state = new_state(120, 40);
    update(&mut state, sessions(&[("api", None)]));
    let blocked = vec![dns(10, "pypi.org"), dns(11, "pypi.org"), dns(12, "x.test")];
    let a = report(&state, "api", blocked.clone(), &[]);
    update(&mut state, a);
    assert_eq!(
        reasons(&state)[0],
        (
            "api".to_string(),
            Reason::Refused {
                name: "pypi.org".into(),
                count: 2
            }
        )
    );
    assert_eq!(state.queue.len(), 2);
    update(&mut state, key('w'));
    // Allow once, for this session, live: the same operation as `a` and `cctui fw allow`.
    let fx = update(&mut state, key('a'));
    let job = state.next_job - 1;
    assert!(fx.contains(&Effect::Run {
        job,
        session: "api".into(),
        op: Op::Allow("pypi.org".into())
    }));
    let fx = update(
        &mut state,
        Action::JobDone {
            job,
            result: Ok("allowed".into()),
        },
    );
    assert!(fx.contains(&Effect::LoadFirewall("api".into())), "{fx:?}");
    let a = report(&state, "api", blocked.clone(), &["pypi.org"]);
    update(&mut state, a);
    assert_eq!(state.queue.len(), 1, "{:?}", reasons(&state));
    // For the project.
    let fx = update(&mut state, key('p'));
    let job = state.next_job - 1;
    assert!(fx.contains(&Effect::Run {
        job,
        session: "api".into(),
        op: Op::AllowForProject("x.test".into())
    }));
    update(
        &mut state,
        Action::JobDone {
            job,
            result: Err("no".into()),
        },
    );
    // Deny and forget: no operation, and the name is not queued again.
    let fx = update(&mut state, key('d'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Run { .. })));
    assert_eq!(state.queue.len(), 1, "the failed allow is queued");
    let mut more = blocked;
    more.push(dns(20, "x.test"));
    let a = report(&state, "api", more, &["pypi.org"]);
    update(&mut state, a);
    assert!(
        !reasons(&state)
            .iter()
            .any(|(_, r)| matches!(r, Reason::Refused { .. })),
        "{:?}",
        reasons(&state)
    );
    // While the queue is open, running firewalls are read again.
    let a = report(&state, "api", vec![], &["pypi.org"]);
    let fx = update(&mut state, a);
    assert!(fx.contains(&Effect::LoadFirewall("api".into())));
}

#[test]
fn while_fully_attached_news_is_a_banner_and_the_next_key_still_goes_to_claude() {
    let mut state = new_state(120, 40);
    update(&mut state, sessions(&[("api", None), ("web", None)]));
    select(&mut state, "api");
    update(&mut state, key('f'));
    assert_eq!(state.mode, Mode::FullScreen("api".into()));
    draw(&mut state, "web", &question_screen(), Some("notification"));
    let banner = state.banner.clone().expect("a banner");
    assert!(banner.contains("web is waiting for you"), "{banner}");
    let buf = render(&state);
    let top: String = (0..buf.area.width)
        .map(|x| buf[(x, 0)].symbol().to_string())
        .collect();
    assert!(top.contains("web is waiting for you"), "{top}");
    let fx = update(&mut state, key('y'));
    assert!(state.banner.is_none());
    assert_eq!(state.mode, Mode::FullScreen("api".into()));
    assert!(fx.contains(&Effect::TermInput {
        session: "api".into(),
        bytes: b"y".to_vec()
    }));
}

#[test]
fn forged_markers_only_move_the_queue() {
    // A hook marker the agent prints itself is taken as claude's state: it may queue or
    // clear an entry, and asks for nothing but a notice with cctui's own words.
    let mut state = new_state(120, 40);
    update(&mut state, sessions(&[("api", None), ("web", None)]));
    select(&mut state, "api");
    let fx = draw(
        &mut state,
        "web",
        "\x1b]52;c;?\x07rm -rf /",
        Some("notification"),
    );
    for e in &fx {
        assert!(
            matches!(
                e,
                Effect::Notify { .. } | Effect::QueueCount(_) | Effect::Bell
            ),
            "{e:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The view
// ---------------------------------------------------------------------------------------------

fn render(state: &State) -> ratatui::buffer::Buffer {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|frame| cctui::ui::draw(frame, state))
        .unwrap();
    terminal.backend().buffer().clone()
}

fn screen_text(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0usize;
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            if skip == 0 {
                line.push_str(cell.symbol());
            }
            skip = skip.max(unicode_width(cell.symbol())).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn unicode_width(s: &str) -> usize {
    use ratatui::text::Span;
    Span::raw(s).width()
}

/// Five entries of every kind, oldest first, the queue view open on the second.
fn queue_view(w: u16, h: u16) -> State {
    let mut state = new_state(w, h);
    update(
        &mut state,
        sessions(&[
            ("api", None),
            ("web", None),
            ("docs", None),
            ("crashy", Some(1)),
            ("yolo-experiments-with-a-long-name", None),
        ]),
    );
    select(&mut state, "api");
    draw(
        &mut state,
        "web",
        &permission_screen(),
        Some("notification"),
    );
    draw(&mut state, "docs", &working_screen(), Some("prompt"));
    draw(&mut state, "docs", &idle_screen(), Some("stop"));
    draw(
        &mut state,
        "yolo-experiments-with-a-long-name",
        &question_screen(),
        Some("notification"),
    );
    let blocked = vec![
        dns(1, "pypi.org"),
        dns(2, "pypi.org"),
        dns(3, "files.pythonhosted.org"),
    ];
    let a = report(&state, "api", blocked, &[]);
    update(&mut state, a);
    update(&mut state, key('w'));
    update(&mut state, key('j'));
    state
}

#[test]
fn the_queue_view_at_three_sizes() {
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let state = queue_view(w, h);
        assert_eq!(state.queue.len(), 6);
        let text = screen_text(&render(&state));
        assert!(text.contains("6 in the queue (w)"), "{text}");
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(format!("queue at {w}x{h}"));
        settings.bind(|| insta::assert_snapshot!(format!("queue_{w}x{h}"), text));
    }
}

#[test]
fn the_empty_queue_says_so() {
    let mut state = new_state(80, 24);
    update(&mut state, sessions(&[("api", None)]));
    update(&mut state, key('w'));
    let text = screen_text(&render(&state));
    assert!(text.contains("Nothing needs you."), "{text}");
    update(&mut state, key_code(KeyCode::Esc));
    assert_eq!(state.mode, Mode::Normal);
}

#[test]
fn the_info_tab_reads_usage_once_and_shows_it_with_a_figure_under_the_list() {
    let mut state = new_state(120, 40);
    update(&mut state, sessions(&[("api", None)]));
    let fx = update(&mut state, key_code(KeyCode::BackTab));
    assert_eq!(state.tab, Tab::Info);
    assert!(fx.contains(&Effect::LoadUsage("api".into())), "{fx:?}");
    let transcript = r#"{"type":"assistant","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":1200,"output_tokens":340,"cache_read_input_tokens":5000}}}"#;
    let prices = cctui::usage::Prices::load(std::path::Path::new("/nonexistent")).unwrap();
    let usage = cctui::usage::from_transcripts(transcript, &prices, None);
    let fx = update(
        &mut state,
        Action::Usage {
            session: "api".into(),
            usage: Ok(usage),
        },
    );
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LoadUsage(_))),
        "read once, not polled"
    );
    let text = screen_text(&render(&state));
    assert!(
        text.contains("tokens   1200 in · 340 out · cache 0 written, 5000 read · $0.0102"),
        "{text}"
    );
    assert!(text.contains("up 1 minute · 6.2k in · 340"), "{text}");
}
