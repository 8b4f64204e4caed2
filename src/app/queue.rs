//! The attention queue: what needs the user, across every session, oldest first. Pure: each
//! session's causes are observed from what the dashboard holds (`observe`), and an entry
//! lives exactly as long as its cause. Only keys act on entries; nothing the agent prints
//! (a forged hook marker, a drawn dialog) can do more than add or clear one.

use std::collections::{BTreeMap, BTreeSet};

use crate::sandbox::firewall::{Blocked, Rule, Target};
use crate::term::state::ClaudeState;

/// Why a session is in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A question or a dialog waits for an answer.
    Waiting,
    /// A permission prompt, with what it asks about where the screen says it. The subject is
    /// the agent's text: drawn by the dashboard only, never put into an escape sequence.
    Permission(Option<String>),
    /// The turn ended while the user was looking elsewhere.
    Finished,
    /// The agent's container exited with this code.
    Exited(i64),
    /// An operation on the session failed.
    Failed(String),
    /// The firewall refused this name, `count` times so far.
    Refused { name: String, count: u64 },
}

/// An entry's identity: one per kind and session (and per name for refusals).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Waiting,
    Finished,
    Exited,
    Failed,
    Refused(String),
}

impl Reason {
    pub fn kind(&self) -> Kind {
        match self {
            Reason::Waiting | Reason::Permission(_) => Kind::Waiting,
            Reason::Finished => Kind::Finished,
            Reason::Exited(_) => Kind::Exited,
            Reason::Failed(_) => Kind::Failed,
            Reason::Refused { name, .. } => Kind::Refused(name.clone()),
        }
    }

    /// A short word for scripts (`cctui watch`) and notifications.
    pub fn word(&self) -> &'static str {
        match self {
            Reason::Waiting => "waiting",
            Reason::Permission(_) => "permission",
            Reason::Finished => "finished",
            Reason::Exited(_) => "exited",
            Reason::Failed(_) => "failed",
            Reason::Refused { .. } => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub session: String,
    pub reason: Reason,
    /// Order of arrival: the queue is sorted by it, oldest first.
    pub seq: u64,
    /// Hidden by the user; it goes once its cause does, and comes back only with a new cause
    /// (for refusals: a new refusal of the name).
    pub dismissed: bool,
    /// For refusals: the time of the newest refusal counted.
    last_refusal: i64,
}

/// What the dashboard knows about one session, as the queue reads it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub claude: ClaudeState,
    /// The agent container's exit code, when it has exited.
    pub exit_code: Option<i64>,
    pub error: Option<&'a str>,
    /// The latest firewall report's blocked attempts and rules, while the holder runs.
    pub refusals: &'a [Blocked],
    pub rules: &'a [Rule],
}

/// A change to the queue, for notifications and `cctui watch`.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Added(Entry),
    Cleared(Entry),
}

#[derive(Debug, Default)]
pub struct Queue {
    entries: Vec<Entry>,
    next_seq: u64,
    /// Sessions whose turn ended out of view and that the user has not looked at since.
    unseen_finish: BTreeSet<String>,
    /// What each waiting session's permission prompt asks about, read from its screen.
    subjects: BTreeMap<String, String>,
    /// (session, name) pairs the user denied and forgot: their refusals are not queued.
    forgotten: BTreeSet<(String, String)>,
    /// The selected line of the queue view, among the shown entries.
    pub selected: usize,
}

/// Exit codes that are the user's doing, not news: 0, and docker stop's SIGTERM.
fn exit_is_news(code: i64) -> bool {
    !matches!(code, 0 | 143)
}

/// Whether `rule` lets `name` through (by name; an address rule never names it).
fn rule_allows(rule: &Rule, name: &str) -> bool {
    match &rule.target {
        Target::Domain(d) => d.eq_ignore_ascii_case(name),
        Target::Wildcard(d) => {
            let name = name.to_ascii_lowercase();
            name == d.to_ascii_lowercase()
                || name.ends_with(&format!(".{}", d.to_ascii_lowercase()))
        }
        Target::Cidr(_) => false,
    }
}

/// A refused name worth an entry: a name the resolver or the proxy refused (not a packet).
fn refused_name(b: &Blocked) -> Option<&str> {
    matches!(b.kind.as_str(), "dns" | "sni" | "host")
        .then_some(b.destination.as_str())
        .filter(|d| *d != "-" && !d.is_empty())
}

impl Queue {
    /// The entries the user sees, oldest first.
    pub fn shown(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| !e.dismissed)
    }

    pub fn len(&self) -> usize {
        self.shown().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn selected_entry(&self) -> Option<&Entry> {
        self.shown().nth(self.selected)
    }

    pub fn select(&mut self, index: usize) {
        self.selected = index.min(self.len().saturating_sub(1));
    }

    /// A turn ended in `session` while it was not on screen.
    pub fn note_finished(&mut self, session: &str) {
        self.unseen_finish.insert(session.to_string());
    }

    /// The user looks at `session` (its terminal is on screen): its finished turn is seen.
    pub fn looked(&mut self, session: &str) {
        self.unseen_finish.remove(session);
    }

    /// What the permission prompt on `session`'s screen asks about, or `None` when none is.
    pub fn note_subject(&mut self, session: &str, subject: Option<String>) {
        match subject {
            Some(s) => self.subjects.insert(session.to_string(), s),
            None => self.subjects.remove(session),
        };
    }

    /// The causes `session` has now, from what is observed of it.
    fn causes(&self, session: &str, o: &Observed) -> Vec<Reason> {
        let mut out = Vec::new();
        match o.claude {
            ClaudeState::WaitingForYou => out.push(match self.subjects.get(session) {
                Some(s) => Reason::Permission(Some(s.clone())),
                None => Reason::Waiting,
            }),
            ClaudeState::Idle if self.unseen_finish.contains(session) => out.push(Reason::Finished),
            _ => {}
        }
        if let Some(code) = o.exit_code.filter(|c| exit_is_news(*c)) {
            out.push(Reason::Exited(code));
        }
        if let Some(e) = o.error {
            out.push(Reason::Failed(e.to_string()));
        }
        out
    }

    /// Brings `session`'s entries in line with what is observed of it; returns what changed.
    pub fn observe(&mut self, session: &str, o: Observed) -> Vec<Change> {
        if o.claude != ClaudeState::Idle {
            self.unseen_finish.remove(session);
        }
        let mut changes = Vec::new();
        let causes = self.causes(session, &o);
        // Entries whose cause is gone clear; refusals stay until allowed, dismissed or the
        // session stops.
        let running = o.exit_code.is_none();
        let (keep, gone): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| {
                e.session != session
                    || match &e.reason {
                        Reason::Refused { name, .. } => {
                            running && !o.rules.iter().any(|r| rule_allows(r, name))
                        }
                        r => causes.iter().any(|c| c.kind() == r.kind()),
                    }
            });
        self.entries = keep;
        changes.extend(
            gone.into_iter()
                .filter(|e| !e.dismissed)
                .map(Change::Cleared),
        );
        for cause in causes {
            self.upsert(session, cause, &mut changes);
        }
        if running {
            self.observe_refusals(session, o.refusals, o.rules, &mut changes);
        }
        self.select(self.selected);
        changes
    }

    /// Adds an entry for a new cause, or updates the one it has (a permission's subject).
    fn upsert(&mut self, session: &str, reason: Reason, changes: &mut Vec<Change>) {
        let kind = reason.kind();
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.session == session && e.reason.kind() == kind)
        {
            e.reason = reason;
            return;
        }
        let entry = Entry {
            session: session.to_string(),
            reason,
            seq: self.next_seq,
            dismissed: false,
            last_refusal: 0,
        };
        self.next_seq += 1;
        changes.push(Change::Added(entry.clone()));
        self.entries.push(entry);
    }

    /// Refusals grouped by name, counted once each (by time), across reports.
    fn observe_refusals(
        &mut self,
        session: &str,
        blocked: &[Blocked],
        rules: &[Rule],
        changes: &mut Vec<Change>,
    ) {
        let mut by_name: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for b in blocked {
            if let Some(name) = refused_name(b) {
                by_name.entry(name).or_default().push(b.time);
            }
        }
        for (name, times) in by_name {
            let forgotten = self
                .forgotten
                .contains(&(session.to_string(), name.to_string()));
            if forgotten || rules.iter().any(|r| rule_allows(r, name)) {
                continue;
            }
            let newest = times.iter().copied().max().unwrap_or(0);
            let existing = self.entries.iter_mut().find(|e| {
                e.session == session
                    && matches!(&e.reason, Reason::Refused { name: n, .. } if n == name)
            });
            match existing {
                Some(e) => {
                    let fresh = times.iter().filter(|t| **t > e.last_refusal).count() as u64;
                    if let Reason::Refused { count, .. } = &mut e.reason {
                        *count += fresh;
                    }
                    if fresh > 0 {
                        e.last_refusal = newest;
                        if e.dismissed {
                            e.dismissed = false;
                            changes.push(Change::Added(e.clone()));
                        }
                    }
                }
                None => {
                    let entry = Entry {
                        session: session.to_string(),
                        reason: Reason::Refused {
                            name: name.to_string(),
                            count: times.len() as u64,
                        },
                        seq: self.next_seq,
                        dismissed: false,
                        last_refusal: newest,
                    };
                    self.next_seq += 1;
                    changes.push(Change::Added(entry.clone()));
                    self.entries.push(entry);
                }
            }
        }
    }

    /// Sessions no longer listed take their entries (and what was noted of them) along.
    pub fn retain_sessions(&mut self, alive: &BTreeSet<&str>) -> Vec<Change> {
        let (keep, gone): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| alive.contains(e.session.as_str()));
        self.entries = keep;
        self.unseen_finish.retain(|s| alive.contains(s.as_str()));
        self.subjects.retain(|s, _| alive.contains(s.as_str()));
        self.select(self.selected);
        gone.into_iter()
            .filter(|e| !e.dismissed)
            .map(Change::Cleared)
            .collect()
    }

    /// Hides the selected entry until its cause comes again; a finished turn counts as seen.
    pub fn dismiss_selected(&mut self) -> Option<Entry> {
        let seq = self.selected_entry()?.seq;
        let e = self.entries.iter_mut().find(|e| e.seq == seq)?;
        e.dismissed = true;
        let e = e.clone();
        if e.reason == Reason::Finished {
            self.unseen_finish.remove(&e.session);
        }
        self.select(self.selected);
        Some(e)
    }

    /// Removes the selected refusal and never queues that name for that session again.
    pub fn forget_selected(&mut self) -> Option<(String, String)> {
        let e = self.selected_entry()?.clone();
        let Reason::Refused { name, .. } = &e.reason else {
            return None;
        };
        let key = (e.session.clone(), name.clone());
        self.forgotten.insert(key.clone());
        self.entries.retain(|x| x.seq != e.seq);
        self.select(self.selected);
        Some(key)
    }
}

/// What a Claude Code permission prompt on `screen` asks about: its title and first line
/// (`Bash command: cargo test --all`), from the last `Do you want to ...?` dialog. `None`
/// when the screen shows no such prompt. At most 80 characters, printable only.
pub fn permission_subject(screen: &str) -> Option<String> {
    let lines: Vec<&str> = screen.lines().map(|l| l.trim_matches(['│', ' '])).collect();
    let ask = lines
        .iter()
        .rposition(|l| l.starts_with("Do you want to"))?;
    // The dialog starts under the last rule above the question.
    let top = lines[..ask]
        .iter()
        .rposition(|l| l.chars().filter(|c| *c == '─').count() >= 8)
        .map_or(ask.saturating_sub(8), |i| i + 1);
    let mut body = lines[top..ask]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty());
    let title = body.next()?;
    let subject = match body.next() {
        Some(first) => format!("{title}: {first}"),
        None => title.to_string(),
    };
    let clean: String = subject
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    Some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::firewall::parse_rule;

    fn seen(claude: ClaudeState) -> Observed<'static> {
        Observed {
            claude,
            exit_code: None,
            error: None,
            refusals: &[],
            rules: &[],
        }
    }

    fn dns(time: i64, name: &str) -> Blocked {
        Blocked {
            time,
            kind: "dns".into(),
            destination: name.into(),
            port: None,
        }
    }

    #[test]
    fn waiting_sessions_queue_oldest_first_and_clear_when_they_move_on() {
        let mut q = Queue::default();
        let added = q.observe("b", seen(ClaudeState::WaitingForYou));
        assert!(matches!(&added[..], [Change::Added(e)] if e.session == "b"));
        q.observe("a", seen(ClaudeState::WaitingForYou));
        // Observed again: no news, no duplicate.
        assert!(q.observe("b", seen(ClaudeState::WaitingForYou)).is_empty());
        let order: Vec<&str> = q.shown().map(|e| e.session.as_str()).collect();
        assert_eq!(order, ["b", "a"]);
        let cleared = q.observe("b", seen(ClaudeState::Working));
        assert!(matches!(&cleared[..], [Change::Cleared(e)] if e.session == "b"));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn a_permission_prompt_names_its_subject() {
        let mut q = Queue::default();
        q.note_subject("a", Some("Bash command: cargo test".into()));
        q.observe("a", seen(ClaudeState::WaitingForYou));
        assert_eq!(
            q.shown().next().unwrap().reason,
            Reason::Permission(Some("Bash command: cargo test".into()))
        );
    }

    #[test]
    fn a_finished_turn_stays_until_looked_at_or_dismissed() {
        let mut q = Queue::default();
        q.observe("a", seen(ClaudeState::Idle));
        assert!(q.is_empty(), "idle alone is not news");
        q.note_finished("a");
        q.observe("a", seen(ClaudeState::Idle));
        assert_eq!(q.shown().next().unwrap().reason, Reason::Finished);
        q.looked("a");
        q.observe("a", seen(ClaudeState::Idle));
        assert!(q.is_empty());
        q.note_finished("a");
        q.observe("a", seen(ClaudeState::Idle));
        q.dismiss_selected();
        assert!(q.is_empty());
        // Dismissed means seen: the same turn does not come back.
        q.observe("a", seen(ClaudeState::Idle));
        assert!(q.is_empty());
    }

    #[test]
    fn exits_that_are_news_and_failures_queue() {
        let mut q = Queue::default();
        for (code, news) in [(0, false), (143, false), (1, true), (137, true)] {
            let mut o = seen(ClaudeState::Exited);
            o.exit_code = Some(code);
            q.observe("s", o);
            assert_eq!(q.len(), news as usize, "exit {code}");
        }
        let mut o = seen(ClaudeState::NotStarted);
        o.error = Some("start failed");
        q.observe("s", o);
        assert_eq!(
            q.shown().map(|e| e.reason.clone()).collect::<Vec<_>>(),
            [Reason::Failed("start failed".into())]
        );
    }

    #[test]
    fn refusals_group_by_name_count_across_reports_and_clear_when_allowed() {
        let mut q = Queue::default();
        let first = [dns(1, "pypi.org"), dns(2, "pypi.org"), dns(3, "x.test")];
        let mut o = seen(ClaudeState::Working);
        o.refusals = &first;
        q.observe("s", o);
        assert_eq!(q.len(), 2);
        // The next report repeats the window and adds one: counted once each.
        let second = [dns(2, "pypi.org"), dns(3, "x.test"), dns(9, "pypi.org")];
        o.refusals = &second;
        q.observe("s", o);
        let pypi = q.shown().find(|e| e.reason.word() == "refused").unwrap();
        assert_eq!(
            pypi.reason,
            Reason::Refused {
                name: "pypi.org".into(),
                count: 3
            }
        );
        // Packets are not names.
        let packet = [Blocked {
            time: 10,
            kind: "tcp".into(),
            destination: "1.2.3.4".into(),
            port: Some(80),
        }];
        o.refusals = &packet;
        q.observe("s", o);
        assert_eq!(q.len(), 2, "refusals stay after leaving the window");
        let rules = [parse_rule("*.pypi.org").unwrap()];
        o.rules = &rules;
        let cleared = q.observe("s", o);
        assert!(matches!(&cleared[..], [Change::Cleared(e)] if e.reason.word() == "refused"));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn a_dismissed_refusal_comes_back_with_a_new_one_and_a_forgotten_one_never() {
        let mut q = Queue::default();
        let mut o = seen(ClaudeState::Working);
        let a = [dns(1, "a.test"), dns(1, "b.test")];
        o.refusals = &a;
        q.observe("s", o);
        q.select(0);
        q.dismiss_selected();
        assert_eq!(q.forget_selected(), Some(("s".into(), "b.test".into())));
        assert!(q.is_empty());
        q.observe("s", o);
        assert!(q.is_empty(), "nothing new");
        let b = [dns(5, "a.test"), dns(5, "b.test")];
        o.refusals = &b;
        let back = q.observe("s", o);
        assert_eq!(back.len(), 1);
        assert_eq!(q.shown().next().unwrap().session, "s");
        assert!(
            matches!(&q.shown().next().unwrap().reason, Reason::Refused { name, count: 2 } if name == "a.test")
        );
    }

    #[test]
    fn gone_sessions_take_their_entries() {
        let mut q = Queue::default();
        q.observe("a", seen(ClaudeState::WaitingForYou));
        q.observe("b", seen(ClaudeState::WaitingForYou));
        let cleared = q.retain_sessions(&BTreeSet::from(["b"]));
        assert_eq!(cleared.len(), 1);
        assert_eq!(q.shown().next().unwrap().session, "b");
    }

    #[test]
    fn the_subject_is_read_from_claudes_permission_dialog() {
        let screen = "⏺ Bash(cargo test --all)\n\n────────────────────\n Bash command\n\n   cargo test --all\n   Run the tests\n\n Do you want to proceed?\n ❯ 1. Yes\n   2. No";
        assert_eq!(
            permission_subject(screen).as_deref(),
            Some("Bash command: cargo test --all")
        );
        assert_eq!(permission_subject("❯ 1. Yes\n  2. No"), None);
        let hostile = "──────────\n Bash\x1b]52;c;?\x07 command\n Do you want to proceed?";
        assert!(!permission_subject(hostile).unwrap().contains('\x1b'));
    }
}
