//! `update` in isolation: actions in, the state and the effects it asks for checked.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::effect::Op;
use crate::app::keymap::Keymap;
use crate::app::state::{Mode, UiSettings};
use crate::app::tabs::Tab;
use crate::backend::{labels, ContainerState, ContainerSummary, EngineEvent, EventAction, Stats};
use crate::sandbox::firewall::FirewallStatus;
use crate::session::{group_sessions, Session};

/// One container of session `name` in /srv/p; shared by the other `update` test modules.
pub(super) fn container(
    name: &str,
    role: &str,
    firewall: &str,
    state: ContainerState,
) -> ContainerSummary {
    ContainerSummary {
        id: format!("id-{name}-{role}"),
        name: format!("cctui-{name}-{role}"),
        image: "cctui-agent:test".into(),
        labels: [
            (labels::SESSION, name),
            (labels::PROJECT, "/srv/p"),
            (labels::ROLE, role),
            (labels::FIREWALL, firewall),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        state,
        created: 0,
        status: "Up 1 minute".into(),
    }
}

pub(super) fn running_session(name: &str) -> Session {
    group_sessions(&[container(name, "agent", "off", ContainerState::Running)]).remove(0)
}

/// A session with the firewall on: its agent and its network holder, both running.
fn guarded_session(name: &str) -> Session {
    group_sessions(&[
        container(name, "agent", "on", ContainerState::Running),
        container(name, "net", "on", ContainerState::Running),
    ])
    .remove(0)
}

fn settings() -> UiSettings {
    UiSettings {
        log_lines: 100,
        engine_host: "unix:///test.sock".into(),
        home: "/home/u".into(),
        cwd: "/home/u/work".into(),
        ..Default::default()
    }
}

fn state_of(sessions: Vec<Session>) -> State {
    let mut state = State::new(Keymap::default(), settings());
    update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: sessions,
        },
    );
    state
}

fn state_with(name: &str) -> State {
    state_of(vec![running_session(name)])
}

fn press(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn key(c: char) -> Action {
    press(KeyCode::Char(c))
}

#[test]
fn a_signal_quits_from_the_pane_without_typing_into_claude() {
    let mut state = state_with("web");
    update(&mut state, press(KeyCode::Enter));
    assert_eq!(state.mode, Mode::Focus);
    let fx = update(&mut state, Action::Signal);
    assert!(state.quit);
    assert_eq!(fx, vec![Effect::Quit]);
}

#[test]
fn the_first_list_attaches_every_running_session() {
    let mut state = State::new(Keymap::default(), settings());
    let fx = update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: vec![running_session("web")],
        },
    );
    assert!(
        fx.contains(&Effect::Attach {
            session: "web".into(),
            container: "id-web-agent".into()
        }),
        "{fx:?}"
    );
}

#[test]
fn a_tmux_pane_is_a_job_whose_result_reaches_the_status_line() {
    let mut state = state_with("web");
    let fx = update(&mut state, key('t'));
    let Some(Effect::OpenTmux {
        job,
        session,
        window,
    }) = fx
        .iter()
        .find(|e| matches!(e, Effect::OpenTmux { .. }))
        .cloned()
    else {
        panic!("t opens no pane: {fx:?}");
    };
    assert_eq!((session.as_str(), window), ("web", false));
    assert!(state.jobs.contains_key(&job));
    update(
        &mut state,
        Action::JobDone {
            job,
            result: Err("tmux: no server".into()),
        },
    );
    let status = state.status.clone().expect("a status line");
    assert!(
        status.error && status.text.contains("no server"),
        "{status:?}"
    );
}

#[test]
fn a_status_message_expires_and_an_old_expiry_leaves_a_newer_one() {
    let mut state = state_with("web");
    let job_done = |state: &mut State, text: &str| {
        let fx = update(state, key('t'));
        let Some(Effect::OpenTmux { job, .. }) = fx
            .into_iter()
            .find(|e| matches!(e, Effect::OpenTmux { .. }))
        else {
            panic!("no pane job");
        };
        update(
            state,
            Action::JobDone {
                job,
                result: Ok(text.into()),
            },
        )
    };
    let expiry = |fx: &[Effect]| {
        fx.iter()
            .find_map(|e| match e {
                Effect::ExpireStatus { serial, after } => Some((*serial, *after)),
                _ => None,
            })
            .expect("the message is set to expire")
    };
    let (first, after) = expiry(&job_done(&mut state, "opened one"));
    assert!(after.as_secs() >= 5, "long enough to read: {after:?}");
    let (second, _) = expiry(&job_done(&mut state, "opened two"));
    assert_ne!(first, second);
    update(&mut state, Action::StatusExpired(first));
    assert_eq!(
        state.status.as_ref().map(|s| s.text.as_str()),
        Some("opened two")
    );
    update(&mut state, Action::StatusExpired(second));
    assert!(state.status.is_none(), "{:?}", state.status);
}

#[test]
fn a_session_out_of_view_gets_a_tty_size_once_attached() {
    let mut state = state_of(vec![running_session("a"), running_session("b")]);
    assert_eq!(state.selected_name().as_deref(), Some("a"));
    let fx = update(
        &mut state,
        Action::TermAttached {
            session: "b".into(),
        },
    );
    let (rows, cols) = state.pane_size();
    assert!(
        fx.contains(&Effect::TermResize {
            session: "b".into(),
            container: "id-b-agent".into(),
            rows,
            cols,
            nudge: false,
        }),
        "an unsized tty stays 0x0 and claude draws nothing: {fx:?}"
    );
    // Once sized, it is left alone until shown.
    let again = update(
        &mut state,
        Action::TermAttached {
            session: "b".into(),
        },
    );
    assert!(
        !again.iter().any(|e| matches!(e, Effect::TermResize { .. })),
        "{again:?}"
    );
}

#[test]
fn the_holders_death_turns_the_badge_degraded_on_any_tab() {
    let mut state = state_of(vec![guarded_session("web")]);
    assert!(matches!(
        state.rows[0].firewall,
        FirewallStatus::Verified { .. }
    ));
    assert_eq!(state.tab, Tab::Terminal);
    let holder = state.rows[0]
        .session
        .holder
        .as_ref()
        .unwrap()
        .labels
        .clone();
    let fx = update(
        &mut state,
        Action::Engine {
            engine: "local".into(),
            event: EngineEvent {
                container_id: "id-web-net".into(),
                name: "cctui-web-net".into(),
                action: EventAction::Die {
                    exit_code: Some(137),
                },
                labels: holder,
                time_nanos: 0,
            },
        },
    );
    assert!(
        matches!(&state.rows[0].firewall, FirewallStatus::Degraded { why } if why.contains("egress is blocked")),
        "{:?}",
        state.rows[0].firewall
    );
    assert!(fx.contains(&Effect::Refresh("local".into())), "{fx:?}");
}

/// The engine sends `die` before it records the state, so the list the event asks for may
/// still show the holder running (seen against Docker 20.10): the event wins until a `start`.
#[test]
fn a_list_taken_before_the_engine_caught_up_does_not_undo_the_holders_death() {
    let mut state = state_of(vec![guarded_session("web")]);
    let holder = state.rows[0].session.holder.clone().unwrap();
    let event = |action| Action::Engine {
        engine: "local".into(),
        event: EngineEvent {
            container_id: holder.id.clone(),
            name: holder.name.clone(),
            action,
            labels: holder.labels.clone(),
            time_nanos: 0,
        },
    };
    update(
        &mut state,
        event(EventAction::Die {
            exit_code: Some(137),
        }),
    );
    update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: vec![guarded_session("web")],
        },
    );
    assert!(
        matches!(state.rows[0].firewall, FirewallStatus::Degraded { .. }),
        "a stale list turned the badge back: {:?}",
        state.rows[0].firewall
    );
    assert_eq!(
        state.rows[0].session.holder.as_ref().unwrap().state,
        ContainerState::Exited(137)
    );
    update(&mut state, event(EventAction::Start));
    update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: vec![guarded_session("web")],
        },
    );
    assert!(
        matches!(state.rows[0].firewall, FirewallStatus::Verified { .. }),
        "{:?}",
        state.rows[0].firewall
    );
}

#[test]
fn stats_of_the_selected_session_are_streamed_and_others_are_not() {
    let mut state = state_of(vec![running_session("a"), running_session("b")]);
    let sample = Stats {
        cpu_percent: 1.5,
        memory_bytes: 1 << 20,
        memory_limit: 1 << 30,
    };
    let fx = update(
        &mut state,
        Action::Stats {
            session: "a".into(),
            stats: sample,
            at: 1000,
        },
    );
    assert_eq!(
        fx.iter()
            .filter(|e| matches!(e, Effect::LoadStats { session, .. } if session == "a"))
            .count(),
        1,
        "the next sample is asked for: {fx:?}"
    );
    assert_eq!(state.now, 1000);
    let fx = update(
        &mut state,
        Action::Stats {
            session: "b".into(),
            stats: sample,
            at: 1002,
        },
    );
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LoadStats { .. })),
        "{fx:?}"
    );
}

#[test]
fn a_failed_create_reopens_the_dialog_as_typed_and_a_good_one_is_selected() {
    let mut state = state_with("web");
    update(&mut state, key('n'));
    let Mode::New(form) = &state.mode else {
        panic!("n opens the dialog: {:?}", state.mode);
    };
    assert_eq!(form.path, "/home/u/work", "it starts in cctui's folder");
    for c in "/api".chars() {
        update(&mut state, key(c));
    }
    let fx = update(&mut state, press(KeyCode::Enter));
    let Some(Effect::Run { job, session, op }) =
        fx.into_iter().find(|e| matches!(e, Effect::Run { .. }))
    else {
        panic!("Enter creates");
    };
    assert_eq!(session, "api");
    assert!(
        matches!(&op, Op::Create(r) if r.path == "/home/u/work/api"),
        "{op:?}"
    );
    update(
        &mut state,
        Action::JobDone {
            job,
            result: Err("the folder /home/u/work/api does not exist".into()),
        },
    );
    let Mode::New(form) = &state.mode else {
        panic!("the dialog comes back: {:?}", state.mode);
    };
    assert_eq!(form.path, "/home/u/work/api");
    assert!(form.error.as_deref().unwrap().contains("does not exist"));

    let fx = update(&mut state, press(KeyCode::Enter));
    let Some(Effect::Run { job, .. }) = fx.into_iter().find(|e| matches!(e, Effect::Run { .. }))
    else {
        panic!("Enter creates");
    };
    update(
        &mut state,
        Action::JobDone {
            job,
            result: Ok("api created".into()),
        },
    );
    assert_eq!(state.mode, Mode::Normal);
    update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: vec![running_session("api"), running_session("web")],
        },
    );
    assert_eq!(state.selected_name().as_deref(), Some("api"));
}

#[test]
fn search_opens_on_the_logs_and_follows_them() {
    let mut state = state_with("web");
    let fx = update(&mut state, key('/'));
    assert_eq!(state.tab, Tab::Logs);
    assert!(matches!(state.mode, Mode::Search(_)));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::FollowLogs { session, .. } if session == "web")),
        "{fx:?}"
    );
}

#[test]
fn a_removed_session_takes_its_terminal_with_it() {
    let mut state = state_of(vec![running_session("a"), running_session("b")]);
    let fx = update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: vec![running_session("a")],
        },
    );
    assert!(fx.contains(&Effect::Detach("b".into())), "{fx:?}");
    assert!(state.terminal("b").is_none());
}

#[test]
fn usage_loads_once_per_project_at_start_and_again_when_a_turn_ends_or_an_agent_stops() {
    let in_project = |name: &str, project: &str| {
        let mut c = container(name, "agent", "off", ContainerState::Running);
        c.labels.insert(labels::PROJECT.into(), project.into());
        c
    };
    let list = group_sessions(&[
        in_project("a1", "/srv/a"),
        in_project("a2", "/srv/a"),
        in_project("b1", "/srv/b"),
    ]);
    let mut state = State::new(Keymap::default(), settings());
    let fx = update(
        &mut state,
        Action::Sessions {
            engine: crate::engines::LOCAL.into(),
            list: list.clone(),
        },
    );
    let loads = |fx: &[Effect]| -> Vec<String> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::LoadUsage(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(loads(&fx), ["a1", "b1"], "{fx:?}");
    assert!(loads(&update(
        &mut state,
        Action::Sessions {
            engine: crate::engines::LOCAL.into(),
            list,
        }
    ))
    .is_empty());

    // a2's turn: working, then idle.
    let mut output = |bytes: String| {
        let at = std::time::Instant::now();
        update(
            &mut state,
            Action::TermOutput {
                session: "a2".into(),
                bytes: bytes.into_bytes(),
                at,
            },
        )
    };
    let working = output(crate::term::hook_marker("prompt"));
    assert!(loads(&working).is_empty(), "{working:?}");
    let ended = output(crate::term::hook_marker("stop"));
    assert_eq!(loads(&ended), ["a1"], "{ended:?}");

    let die = |role: &str| {
        let labels = container("b1", role, "off", ContainerState::Running).labels;
        let mut labels = labels;
        labels.insert(labels::PROJECT.into(), "/srv/b".into());
        Action::Engine {
            engine: crate::engines::LOCAL.into(),
            event: EngineEvent {
                container_id: format!("id-b1-{role}"),
                name: format!("cctui-b1-{role}"),
                action: EventAction::Die { exit_code: Some(0) },
                labels,
                time_nanos: 0,
            },
        }
    };
    assert!(loads(&update(&mut state, die("usage"))).is_empty());
    assert_eq!(loads(&update(&mut state, die("agent"))), ["b1"]);
}

#[test]
fn a_tty_sized_by_another_client_is_shown_at_its_size_until_the_user_types_here() {
    let mut state = state_with("web");
    update(
        &mut state,
        Action::TermAttached {
            session: "web".into(),
        },
    );
    let pane = state.pane_size();
    let other = (pane.0 + 7, pane.1 + 30);
    // `cctui attach` in a bigger window took the tty: the screen follows, the pane does
    // not take it back by being on view.
    let fx = update(
        &mut state,
        Action::TermSized {
            session: "web".into(),
            rows: other.0,
            cols: other.1,
            here: false,
        },
    );
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::TermResize { .. })),
        "{fx:?}"
    );
    assert_eq!(state.terminal("web").map(|t| t.size()), Some(other));
    // A turn driven from there ends: news here, though the pane shows the session.
    for marker in ["prompt", "stop"] {
        update(
            &mut state,
            Action::TermOutput {
                session: "web".into(),
                bytes: crate::term::hook_marker(marker).into_bytes(),
                at: std::time::Instant::now(),
            },
        );
    }
    assert!(
        state
            .queue
            .shown()
            .any(|e| e.session == "web" && e.reason == crate::app::queue::Reason::Finished),
        "no finished turn in the queue: {:?}",
        state.queue.shown().collect::<Vec<_>>()
    );
    // Typing into the pane takes the size back, before the keys go.
    update(&mut state, press(KeyCode::Enter));
    assert_eq!(state.mode, Mode::Focus);
    let fx = update(&mut state, key('x'));
    let resize = fx
        .iter()
        .position(|e| matches!(e, Effect::TermResize { rows, cols, .. } if (*rows, *cols) == pane));
    let input = fx
        .iter()
        .position(|e| matches!(e, Effect::TermInput { .. }));
    assert!(
        resize.is_some() && resize < input,
        "the typing client takes the size: {fx:?}"
    );
    assert_eq!(state.terminal("web").map(|t| t.size()), Some(pane));
    // Once it has it, keys go alone.
    let fx = update(&mut state, key('y'));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::TermResize { .. })),
        "{fx:?}"
    );
}
