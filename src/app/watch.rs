//! `cctui watch [--json]`: the attention queue without the dashboard, its changes printed one
//! line each, for scripts and status bars. The same state, `update` and runtime as the
//! dashboard, with nothing drawn and nothing sent to the sessions (no keys, no tty sizes).

use std::collections::BTreeMap;
use std::io::Write;

use tokio::sync::mpsc;

use super::effect::Effect;
use super::queue::{Entry, Reason};
use super::runtime::Runtime;
use super::state::State;
use super::tabs::Tab;
use super::update::update;
use crate::backend::Backend;
use crate::error::Result;
use crate::session::ops::Ops;

/// What watching needs carried out: the list, the terminals (read only) and the firewall
/// reports that carry refusals. Panels, sizes and input are the dashboard's alone.
fn wanted(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::Refresh(_) | Effect::Attach { .. } | Effect::Detach(_) | Effect::LoadFirewall(_)
    )
}

/// A name the agent chose, printed only if it is plainly a host name.
fn plain(name: &str) -> &str {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._*".contains(c));
    if ok {
        name
    } else {
        "(a name that is not printable)"
    }
}

/// One event as a line. Text carries cctui's words, the session's name and (for refusals)
/// a plain host name; JSON also carries the permission's subject, escaped.
pub fn line(added: bool, entry: &Entry, queue_len: usize, json: bool) -> String {
    let event = if added { "added" } else { "cleared" };
    if json {
        let mut v = serde_json::json!({
            "event": event,
            "session": entry.session,
            "reason": entry.reason.word(),
            "queue": queue_len,
        });
        match &entry.reason {
            Reason::Permission(Some(s)) => v["subject"] = s.as_str().into(),
            Reason::Exited(code) => v["exit_code"] = (*code).into(),
            Reason::Failed(why) => v["error"] = why.as_str().into(),
            Reason::Refused { name, count } => {
                v["name"] = name.as_str().into();
                v["count"] = (*count).into();
            }
            _ => {}
        }
        return v.to_string();
    }
    let what = match &entry.reason {
        Reason::Refused { name, .. } => format!("refused {}", plain(name)),
        Reason::Exited(code) => format!("exited {code}"),
        r => r.word().to_string(),
    };
    let sign = if added { '+' } else { '-' };
    format!("{sign} {} {what} ({queue_len} in the queue)", entry.session)
}

/// The lines for what changed between two sets of shown entries (by arrival number).
fn changes(before: &BTreeMap<u64, Entry>, now: &BTreeMap<u64, Entry>, json: bool) -> Vec<String> {
    let n = now.len();
    let cleared = before
        .iter()
        .filter(|(k, _)| !now.contains_key(k))
        .map(|(_, e)| line(false, e, n, json));
    let added = now
        .iter()
        .filter(|(k, _)| !before.contains_key(k))
        .map(|(_, e)| line(true, e, n, json));
    cleared.chain(added).collect()
}

fn shown(state: &State) -> BTreeMap<u64, Entry> {
    state.queue.shown().map(|e| (e.seq, e.clone())).collect()
}

pub async fn run<B: Backend>(ops: Ops<B>, json: bool) -> Result<()> {
    let mut state = super::initial_state(&ops.config, ops.backend.host())?;
    // No tab shows a terminal: every finished turn is out of view, and nothing is loaded
    // for a selected session.
    state.tab = Tab::Info;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let signals = super::runtime::spawn_signals(tx.clone());
    let engine = state.engines[0].name.clone();
    let mut rt = Runtime::with_ops(&engine, ops, tx);
    let mut before = BTreeMap::new();
    let mut out = std::io::stdout();
    while let Some(action) = rx.recv().await {
        rt.consumed(&action);
        for effect in update(&mut state, action) {
            if wanted(&effect) {
                rt.perform(effect, &state);
            }
        }
        // Nothing is drawn here: the loads the runtime holds for the first frame go as
        // soon as the list is in.
        rt.drawn(&state);
        if state.quit {
            break;
        }
        let now = shown(&state);
        for l in changes(&before, &now, json) {
            // A closed pipe (the status bar went away) ends the watch.
            if writeln!(out, "{}", crate::term::sanitize::for_stdout(&l)).is_err() {
                return Ok(());
            }
        }
        before = now;
    }
    signals.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::queue::{Observed, Queue};
    use crate::sandbox::firewall::Blocked;
    use crate::term::state::ClaudeState;

    #[test]
    fn lines_say_what_changed_in_cctuis_words() {
        let mut q = Queue::default();
        let blocked = [Blocked {
            time: 1,
            kind: "dns".into(),
            destination: "evil\x1b]0;x\x07.test".into(),
            port: None,
        }];
        q.note_subject("web", Some("Bash command: rm -rf /".into()));
        let observed = |claude, refusals: &'static [Blocked]| Observed {
            claude,
            exit_code: None,
            error: None,
            refusals,
            rules: &[],
        };
        q.observe("web", observed(ClaudeState::WaitingForYou, &[]));
        let blocked: &'static [Blocked] = Box::leak(Box::new(blocked));
        q.observe("api", observed(ClaudeState::Working, blocked));
        let now: BTreeMap<u64, Entry> = q.shown().map(|e| (e.seq, e.clone())).collect();
        let text = changes(&BTreeMap::new(), &now, false);
        assert_eq!(
            text,
            [
                "+ web permission (2 in the queue)",
                "+ api refused (a name that is not printable) (2 in the queue)"
            ]
        );
        let json = changes(&BTreeMap::new(), &now, true);
        let v: serde_json::Value = serde_json::from_str(&json[0]).unwrap();
        assert_eq!(v["event"], "added");
        assert_eq!(v["reason"], "permission");
        assert_eq!(v["subject"], "Bash command: rm -rf /");
        assert!(!json[1].contains('\x1b'), "escaped: {}", json[1]);
        let cleared = changes(&now, &BTreeMap::new(), false);
        assert_eq!(cleared[0], "- web permission (0 in the queue)");
    }
}
