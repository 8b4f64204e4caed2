//! `update` over several engines: rows keyed by engine, each engine's health its own, names
//! that two engines hold, jobs routed by engine, and the live figures pausing when idle.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::keymap::Keymap;
use crate::app::state::{EngineHealth, Mode, UiSettings, LIVE_IDLE_SECS};
use crate::backend::{labels, EngineEvent, EventAction, Stats};
use crate::session::Session;

fn running(name: &str) -> Session {
    super::tests::running_session(name)
}

fn listed(engine: &str, names: &[&str]) -> Action {
    Action::Sessions {
        engine: engine.into(),
        list: names.iter().map(|n| running(n)).collect(),
    }
}

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// The dashboard over "local", "box" and "cloud", with "local" and "box" listed.
fn three_engines() -> State {
    let mut state = State::new(Keymap::default(), UiSettings::default());
    state.set_engines(&[
        ("local", "unix:///l.sock"),
        ("box", "ssh://me@box"),
        ("cloud", "tcp://c:2376"),
    ]);
    update(&mut state, listed("box", &["b1", "b2"]));
    update(&mut state, listed("local", &["l1"]));
    state
}

fn order(state: &State) -> Vec<(String, String)> {
    state
        .rows
        .iter()
        .map(|r| (r.engine.clone(), r.name().to_string()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(e, n)| (e.to_string(), n.to_string()))
        .collect()
}

#[test]
fn each_engines_list_replaces_its_own_rows_in_the_engines_order() {
    let mut state = three_engines();
    assert_eq!(
        order(&state),
        pairs(&[("local", "l1"), ("box", "b1"), ("box", "b2")])
    );
    assert!(state.is_connected("local") && state.is_connected("box"));
    assert_eq!(state.engines[2].health, EngineHealth::Connecting);
    // The selection stays on its row while another engine's list comes and goes.
    update(&mut state, key('j'));
    update(&mut state, key('j'));
    assert_eq!(state.selected_name().as_deref(), Some("b2"));
    update(&mut state, listed("local", &["l0", "l1"]));
    update(&mut state, listed("cloud", &["c1"]));
    assert_eq!(
        order(&state),
        pairs(&[
            ("local", "l0"),
            ("local", "l1"),
            ("box", "b1"),
            ("box", "b2"),
            ("cloud", "c1")
        ])
    );
    assert_eq!(state.selected_name().as_deref(), Some("b2"));
    let fx = update(&mut state, listed("box", &["b2"]));
    assert!(fx.contains(&Effect::Detach("b1".into())), "{fx:?}");
    assert_eq!(state.rows.len(), 4);
}

#[test]
fn a_lost_engine_is_its_own_and_its_events_move_only_its_rows() {
    let mut state = three_engines();
    update(
        &mut state,
        Action::EngineLost {
            engine: "box".into(),
            why: "connection refused".into(),
            retries: 2,
            retry_in: Duration::from_secs(2),
        },
    );
    assert!(matches!(
        state.engine("box").unwrap().health,
        EngineHealth::Lost {
            retries: 2,
            retry_in: Some(_),
            ..
        }
    ));
    assert!(state.is_connected("local"));
    let attached = |s: &State, n: &str| s.terminal(n).unwrap().attached;
    update(
        &mut state,
        Action::TermAttached {
            session: "l1".into(),
        },
    );
    assert!(attached(&state, "l1"), "the local terminal is untouched");
    update(
        &mut state,
        Action::EngineRetrying {
            engine: "box".into(),
        },
    );
    assert!(matches!(
        state.engine("box").unwrap().health,
        EngineHealth::Lost { retry_in: None, .. }
    ));
    // An event names its engine: a die on box leaves a local namesake alone.
    update(&mut state, listed("local", &["l1", "b1"]));
    let die = EngineEvent {
        container_id: "id-b1".into(),
        name: "cctui-b1".into(),
        time_nanos: 0,
        action: EventAction::Die { exit_code: Some(1) },
        labels: [(labels::SESSION, "b1"), (labels::ROLE, "agent")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let fx = update(
        &mut state,
        Action::Engine {
            engine: "box".into(),
            event: die,
        },
    );
    assert!(fx.contains(&Effect::Refresh("box".into())), "{fx:?}");
    let states: Vec<_> = state
        .rows
        .iter()
        .filter(|r| r.name() == "b1")
        .map(|r| (r.engine.as_str(), r.session.state().is_running()))
        .collect();
    assert_eq!(states, [("local", true), ("box", false)]);
    let fx = update(
        &mut state,
        Action::EngineBack {
            engine: "box".into(),
        },
    );
    assert!(state.is_connected("box"));
    assert!(fx.contains(&Effect::Refresh("box".into())), "{fx:?}");
}

#[test]
fn a_name_on_two_engines_is_shown_twice_and_never_acted_on() {
    let mut state = three_engines();
    let fx = update(&mut state, listed("cloud", &["b1"]));
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Attach { session, .. } if session == "b1")),
        "no terminal for an ambiguous name: {fx:?}"
    );
    assert_eq!(state.rows.iter().filter(|r| r.name() == "b1").count(), 2);
    assert_eq!(state.conflict("b1"), Some(vec!["box", "cloud"]));
    assert_eq!(state.conflict("b2"), None);
    // b1 went from box's own terminal to none: its attachment goes.
    assert!(state.terminal("b1").is_none());
    assert_eq!(
        state.selected_name().as_deref(),
        Some("b1"),
        "the first list's first row stays selected as others come"
    );
    for k in ['x', 's', 'f', 'd'] {
        let fx = update(&mut state, key(k));
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::Run { .. })),
            "{k}: {fx:?}"
        );
        assert_eq!(state.mode, Mode::Normal, "{k}");
        let status = state.status.clone().unwrap();
        assert!(
            status.error && status.text.contains("box, cloud"),
            "{k}: {status:?}"
        );
    }
}

#[test]
fn jobs_run_on_their_rows_engine_and_a_new_session_on_the_chosen_one() {
    let mut state = three_engines();
    update(&mut state, key('j'));
    let fx = update(&mut state, key('x'));
    let Some(Effect::Run { job, .. }) = fx.iter().find(|e| matches!(e, Effect::Run { .. })) else {
        panic!("x stops: {fx:?}");
    };
    assert_eq!(state.jobs[job].engine, "box");
    let fx = update(
        &mut state,
        Action::JobDone {
            job: *job,
            result: Ok("b1 stopped".into()),
        },
    );
    assert_eq!(fx[0], Effect::Refresh("box".into()));

    update(&mut state, key('n'));
    let Mode::New(form) = &mut state.mode else {
        panic!("n opens the dialog");
    };
    assert_eq!(form.engines, ["local", "box", "cloud"]);
    form.engine = 2;
    let enter = Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let fx = update(&mut state, enter);
    let Some(Effect::Run { job, op, .. }) = fx.iter().find(|e| matches!(e, Effect::Run { .. }))
    else {
        panic!("Enter creates: {fx:?}");
    };
    assert_eq!(state.jobs[job].engine, "cloud");
    assert!(
        matches!(op, crate::app::effect::Op::Create(r) if r.engine.as_deref() == Some("cloud"))
    );
}

fn stats(state: &mut State, session: &str, at: i64) -> Vec<Effect> {
    let sample = Stats {
        cpu_percent: 1.0,
        memory_bytes: 1 << 20,
        memory_limit: 1 << 30,
    };
    update(
        state,
        Action::Stats {
            session: session.into(),
            stats: sample,
            at,
        },
    )
}

#[test]
fn live_figures_pause_without_input_and_a_key_resumes_them() {
    let mut state = three_engines();
    let asks = |fx: &[Effect]| {
        fx.iter()
            .any(|e| matches!(e, Effect::LoadStats { session, .. } if session == "b1"))
    };
    assert!(
        asks(&stats(&mut state, "b1", 1000)),
        "streamed while watched"
    );
    assert!(asks(&stats(&mut state, "b1", 1000 + LIVE_IDLE_SECS - 1)));
    assert!(!state.live_paused);
    let fx = stats(&mut state, "b1", 1000 + LIVE_IDLE_SECS);
    assert!(
        !asks(&fx),
        "{LIVE_IDLE_SECS} s without input: no next sample"
    );
    assert!(state.live_paused);
    // Any key resumes, and counts from now.
    let fx = update(&mut state, key('?'));
    assert!(asks(&fx), "{fx:?}");
    assert!(!state.live_paused);
    assert!(asks(&stats(&mut state, "b1", 1000 + LIVE_IDLE_SECS + 30)));
    assert!(!state.live_paused);
}

#[test]
fn a_sessions_forwards_land_on_its_row_only() {
    let mut state = three_engines();
    let forward = crate::session::ports::Forward {
        port: 8080,
        host_port: 18080,
        bind: "127.0.0.1".parse().unwrap(),
        pid: 1,
    };
    update(
        &mut state,
        Action::Ports {
            session: "b2".into(),
            ports: vec![forward.clone()],
        },
    );
    for row in &state.rows {
        let want = if row.name() == "b2" {
            vec![forward.clone()]
        } else {
            vec![]
        };
        assert_eq!(row.view.ports, want, "{}", row.name());
    }
}
