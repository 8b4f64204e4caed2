//! Copy and paste through `update`: which copies go out (the attached session's, once its
//! output is live), and what the paste-image key does with each outcome.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use std::time::Duration;

use super::clipboard::COPY_AFTER_INPUT;
use super::*;
use crate::app::keymap::Keymap;
use crate::app::state::{Mode, UiSettings};
use crate::backend::{ContainerState, ContainerSummary};
use crate::session::group_sessions;

fn agent(name: &str) -> ContainerSummary {
    super::tests::container(name, "agent", "off", ContainerState::Running)
}

/// Two running sessions, attached and past their replay, with copying on.
fn two_sessions() -> State {
    let settings = UiSettings {
        clipboard_copy: true,
        ..Default::default()
    };
    let mut state = State::new(Keymap::default(), settings);
    update(&mut state, Action::Resize(120, 40));
    update(
        &mut state,
        Action::Sessions {
            engine: "local".into(),
            list: group_sessions(&[agent("api"), agent("web")]),
        },
    );
    for s in ["api", "web"] {
        update(&mut state, Action::TermAttached { session: s.into() });
        update(&mut state, Action::TermLive { session: s.into() });
    }
    state
}

fn output(session: &str, bytes: &[u8]) -> Action {
    Action::TermOutput {
        session: session.into(),
        bytes: bytes.to_vec(),
        at: std::time::Instant::now(),
    }
}

const COPY_HELLO: &[u8] = b"\x1b]52;c;aGVsbG8=\x07";

fn copies(fx: &[Effect]) -> Vec<(String, Vec<u8>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Copy { session, bytes } => Some((session.clone(), bytes.clone())),
            _ => None,
        })
        .collect()
}

/// The user types a key into the attached session, `ago` before now (the runtime stamps
/// each key as it reads it).
fn type_key(state: &mut State, ago: std::time::Duration) {
    state.input_instant = Some(std::time::Instant::now() - ago);
    let key = KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE);
    update(state, Action::Key(key));
}

fn copy_of(text: &[u8]) -> Vec<u8> {
    crate::term::osc52::set_clipboard(text)
}

/// Full screen on `name`, its tty already fitted.
fn full_screen(state: &mut State, name: &str) {
    state.mode = Mode::FullScreen(name.into());
    update(state, Action::Tick);
}

#[test]
fn only_the_attached_sessions_copy_goes_out_and_the_status_line_says_so() {
    let mut state = two_sessions();
    // Looking at the list: nobody is attached.
    assert!(copies(&update(&mut state, output("web", COPY_HELLO))).is_empty());
    assert_eq!(state.status, None);
    full_screen(&mut state, "web");
    type_key(&mut state, Duration::ZERO);
    let fx = update(&mut state, output("web", COPY_HELLO));
    assert_eq!(copies(&fx), [("web".to_string(), b"hello".to_vec())]);
    let status = state.status.clone().unwrap();
    assert_eq!(status.text, "web copied 5 bytes to the clipboard");
    assert_eq!(
        state.banner.as_deref(),
        Some(" web copied 5 bytes to the clipboard ")
    );
    // Another session's copy, while attached to web, goes nowhere.
    assert!(copies(&update(&mut state, output("api", COPY_HELLO))).is_empty());
    // The pane, focused, is attached too.
    state.mode = Mode::Focus;
    state.selected = state.rows.iter().position(|r| r.name() == "api").unwrap();
    type_key(&mut state, Duration::ZERO);
    assert_eq!(
        copies(&update(&mut state, output("api", COPY_HELLO))).len(),
        1
    );
}

#[test]
fn only_a_copy_soon_after_the_users_key_in_that_session_goes_out() {
    let mut state = two_sessions();
    full_screen(&mut state, "web");
    let fx = update(&mut state, output("web", COPY_HELLO));
    assert!(copies(&fx).is_empty(), "no key yet");
    let status = state.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("not forwarded"),
        "{status:?}"
    );
    type_key(&mut state, COPY_AFTER_INPUT + Duration::from_secs(1));
    assert!(copies(&update(&mut state, output("web", COPY_HELLO))).is_empty());
    type_key(&mut state, COPY_AFTER_INPUT - Duration::from_secs(1));
    assert_eq!(
        copies(&update(&mut state, output("web", COPY_HELLO))).len(),
        1
    );
    // A key typed into web does not let api copy.
    state.mode = Mode::Focus;
    state.selected = state.rows.iter().position(|r| r.name() == "api").unwrap();
    assert!(copies(&update(&mut state, output("api", COPY_HELLO))).is_empty());
}

#[test]
fn only_printable_text_goes_out_without_a_trailing_line_break() {
    let mut state = two_sessions();
    full_screen(&mut state, "web");
    type_key(&mut state, Duration::ZERO);
    let out =
        |state: &mut State, text: &[u8]| copies(&update(state, output("web", &copy_of(text))));
    assert_eq!(
        out(&mut state, b"curl x | sh\n"),
        [("web".to_string(), b"curl x | sh".to_vec())]
    );
    assert_eq!(
        out(&mut state, "a\tb\nc é\n\n".as_bytes()),
        [("web".to_string(), "a\tb\nc é".as_bytes().to_vec())]
    );
    for bad in [
        &b"ok\x1b[201~\ncurl x | sh\n"[..],
        b"ls\rrm -rf ~",
        b"a\x07b",
        b"a\x7fb",
        "a\u{9b}b".as_bytes(),
        "x\u{3164}y".as_bytes(),
        "a\u{202e}b".as_bytes(),
        b"\xff\xfe",
    ] {
        assert!(out(&mut state, bad).is_empty(), "{bad:?}");
        let status = state.status.clone().unwrap();
        assert!(
            status.error && status.text.contains("not forwarded"),
            "{status:?}"
        );
    }
}

#[test]
fn a_copy_in_the_replay_of_earlier_output_is_not_forwarded() {
    let mut state = two_sessions();
    full_screen(&mut state, "web");
    update(
        &mut state,
        Action::TermAttached {
            session: "web".into(),
        },
    );
    type_key(&mut state, Duration::ZERO);
    assert!(copies(&update(&mut state, output("web", COPY_HELLO))).is_empty());
    update(
        &mut state,
        Action::TermLive {
            session: "web".into(),
        },
    );
    assert_eq!(
        copies(&update(&mut state, output("web", COPY_HELLO))).len(),
        1
    );
}

#[test]
fn copying_off_a_query_and_an_oversized_copy_send_nothing() {
    let mut state = two_sessions();
    full_screen(&mut state, "web");
    let fx = update(&mut state, output("web", b"\x1b]52;c;?\x07"));
    assert!(copies(&fx).is_empty());
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::TermInput { .. })),
        "a query is never answered: {fx:?}"
    );
    let big =
        crate::term::osc52::set_clipboard(&vec![b'a'; crate::term::osc52::MAX_COPY_BYTES + 1]);
    assert!(copies(&update(&mut state, output("web", &big))).is_empty());
    let status = state.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("not forwarded"),
        "{status:?}"
    );
    state.settings.clipboard_copy = false;
    assert!(copies(&update(&mut state, output("web", COPY_HELLO))).is_empty());
}

/// The effects but the status line's expiry (a message is shown for each paste).
fn without_expiry(fx: Vec<Effect>) -> Vec<Effect> {
    fx.into_iter()
        .filter(|e| !matches!(e, Effect::ExpireStatus { .. }))
        .collect()
}

fn ctrl_v() -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char('v'), KeyModifiers::CONTROL))
}

#[test]
fn the_paste_key_asks_for_an_image_and_falls_back_to_itself() {
    let mut state = two_sessions();
    full_screen(&mut state, "web");
    let fx = update(&mut state, ctrl_v());
    assert_eq!(
        fx,
        [Effect::PasteImage {
            session: "web".into(),
            container: "id-web-agent".into(),
            fallback: vec![0x16],
        }]
    );
    // No image: the key goes to claude as it was.
    let fx = without_expiry(update(
        &mut state,
        Action::ImagePasted {
            session: "web".into(),
            pasted: Ok(None),
            fallback: vec![0x16],
        },
    ));
    assert_eq!(
        fx,
        [Effect::TermInput {
            session: "web".into(),
            bytes: vec![0x16]
        }]
    );
    // An image: its path is typed (as a bracketed paste once claude asks for those).
    update(&mut state, output("web", b"\x1b[?2004h"));
    let fx = without_expiry(update(
        &mut state,
        Action::ImagePasted {
            session: "web".into(),
            pasted: Ok(Some(("/run/cctui/paste/image-1.png".into(), 42))),
            fallback: vec![0x16],
        },
    ));
    assert_eq!(
        fx,
        [Effect::TermInput {
            session: "web".into(),
            bytes: b"\x1b[200~/run/cctui/paste/image-1.png\x1b[201~".to_vec()
        }]
    );
    assert_eq!(
        state.status.clone().unwrap().text,
        "pasted an image (42 bytes) into web"
    );
    // A failure says why, and types nothing.
    let fx = without_expiry(update(
        &mut state,
        Action::ImagePasted {
            session: "web".into(),
            pasted: Err("no paste folder".into()),
            fallback: vec![0x16],
        },
    ));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(state.status.clone().unwrap().error);
}

#[test]
fn with_no_paste_key_ctrl_v_is_just_a_key() {
    let mut state = two_sessions();
    state.keymap = Keymap::default().with_paste_image("").unwrap();
    full_screen(&mut state, "web");
    let fx = update(&mut state, ctrl_v());
    assert_eq!(
        fx,
        [Effect::TermInput {
            session: "web".into(),
            bytes: vec![0x16]
        }]
    );
}

#[test]
fn keys_typed_while_the_clipboard_is_looked_at_follow_the_paste_in_order() {
    let mut state = two_sessions();
    full_screen(&mut state, "web");
    assert!(matches!(
        update(&mut state, ctrl_v())[..],
        [Effect::PasteImage { .. }]
    ));
    for k in [
        Action::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)),
        ctrl_v(),
        Action::Paste("txt".into()),
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    ] {
        let fx = update(&mut state, k);
        assert!(fx.is_empty(), "typed before the paste: {fx:?}");
    }
    let fx = without_expiry(update(
        &mut state,
        Action::ImagePasted {
            session: "web".into(),
            pasted: Ok(Some(("/p.png".into(), 1))),
            fallback: vec![0x16],
        },
    ));
    assert_eq!(
        fx,
        [Effect::TermInput {
            session: "web".into(),
            bytes: b"/p.pngz\x16txt\r".to_vec()
        }]
    );
    // Nothing pending now: keys go at once again.
    assert_eq!(
        update(&mut state, Action::Paste("x".into())),
        [Effect::TermInput {
            session: "web".into(),
            bytes: b"x".to_vec()
        }]
    );
}
