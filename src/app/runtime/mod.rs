//! The dashboard's edge: carries out effects as tasks, feeds input, engine events and task
//! results back as actions, and draws when something changed (paced by `pace`). Until the
//! first list of sessions is on screen, the loads it asks for (attachments, logs, stats)
//! wait, so that nothing delays that frame.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod clipboard;
mod links;
mod loads;
mod pace;
mod terminals;
mod tmux;
mod tty_size;

pub use links::Connector;

use super::action::Action;
use super::effect::Effect;
use super::state::State;
use super::update::{update, PANEL_REFRESH};
use crate::backend::Backend;
use crate::session::ops::Ops;

/// Attachments being set up at once: with hundreds of sessions, the engine sees a few at a
/// time, never a burst.
const ATTACH_PARALLELISM: usize = 6;
/// Bytes of one session's output that may wait for the UI at once. A faster producer waits,
/// so the queue (and memory) stays bounded and the UI stays responsive.
const TERM_BUDGET: usize = 1 << 20;
/// Lines of earlier output replayed into a session's screen when it is first attached.
const ATTACH_HISTORY_LINES: usize = 1000;

type Tx = mpsc::UnboundedSender<Action>;

/// How a frame is drawn from the state: `ui::draw`, passed in by the layer above, so that
/// the dashboard's core never imports its drawing.
pub type Draw = fn(&mut ratatui::Frame, &State);

pub struct Runtime<B: Backend> {
    /// One link per engine, in the state's order of engines.
    links: Vec<links::Link<B>>,
    tx: Tx,
    attach_limit: Arc<Semaphore>,
    log_task: Option<JoinHandle<()>>,
    terminals: HashMap<String, (mpsc::Sender<Vec<u8>>, JoinHandle<()>)>,
    budgets: HashMap<String, Arc<Semaphore>>,
    /// When each panel load last ran, to refresh visible panels no faster than PANEL_REFRESH.
    last_load: HashMap<String, Instant>,
    /// Notifications outside the dashboard (the attention queue's news).
    outside: crate::notify::Outside,
    /// The loads asked for before the first list was drawn; `None` once it was.
    held: Option<Vec<Effect>>,
    /// The config the dashboard runs with: its file is passed on to tmux panes.
    config_file: Option<std::path::PathBuf>,
    /// Copies on their way to the user's clipboard.
    copier: crate::clipboard::Copier,
}

impl<B: Backend> Runtime<B> {
    /// A runtime for these engines, none of them connected yet.
    pub fn new(config: &crate::config::Config, engines: &[String], tx: Tx) -> Self {
        Runtime {
            links: engines.iter().map(|e| links::Link::new(e)).collect(),
            tx,
            attach_limit: Arc::new(Semaphore::new(ATTACH_PARALLELISM)),
            log_task: None,
            terminals: HashMap::new(),
            budgets: HashMap::new(),
            last_load: HashMap::new(),
            outside: crate::notify::Outside::new(config.notify.clone()),
            held: Some(Vec::new()),
            copier: Default::default(),
            config_file: config.source.clone(),
        }
    }

    /// A runtime for the one engine `ops` reaches, called `engine`, connected already.
    pub fn with_ops(engine: &str, ops: Ops<B>, tx: Tx) -> Self {
        let mut rt = Runtime::new(&ops.config.clone(), &[engine.to_string()], tx);
        rt.connected(engine, ops);
        rt
    }

    /// An engine answered: its link lists and follows it from now on.
    pub fn connected(&mut self, engine: &str, ops: Ops<B>) {
        if let Some(link) = self.links.iter_mut().find(|l| l.name == engine) {
            link.connected(ops, &self.tx);
        }
    }

    fn link(&self, engine: &str) -> Option<&links::Link<B>> {
        self.links.iter().find(|l| l.name == engine)
    }

    /// The operations of the engine that holds `session`'s row, while it is connected.
    fn ops_for(&self, state: &State, session: &str) -> Option<&Ops<B>> {
        let engine = &state.row(session)?.engine;
        self.link(engine)?.ops.as_ref()
    }

    /// How long to wait before loading `key` again, so that a visible panel refreshes no
    /// faster than PANEL_REFRESH; records the load as due then. `None` when a load of `key`
    /// is already due later: it will bring fresh figures, and asking again would start a
    /// second chain of refreshes beside it (each answer asks for the next).
    fn throttle(&mut self, key: String) -> Option<Duration> {
        let now = Instant::now();
        let last = self.last_load.get(&key).copied();
        if last.is_some_and(|due| due > now) {
            return None;
        }
        let wait = last
            .map(|last| (last + PANEL_REFRESH).saturating_duration_since(now))
            .unwrap_or_default();
        self.last_load.insert(key, now + wait);
        Some(wait)
    }

    pub fn perform(&mut self, effect: Effect, state: &State) {
        if let Some(held) = &mut self.held {
            if let Effect::Detach(gone) = &effect {
                held.retain(|e| !matches!(e, Effect::Attach { session, .. } if session == gone));
            }
            if is_load(&effect) {
                held.push(effect);
                return;
            }
        }
        match effect {
            Effect::Refresh(engine) => {
                if let Some(link) = self.link(&engine) {
                    link.refresh.notify_one();
                }
            }
            Effect::Run { job, session, op } => {
                let engine = state.jobs.get(&job).map(|j| j.engine.as_str());
                match engine.and_then(|e| self.link(e)?.ops.clone()) {
                    Some(ops) => super::jobs::spawn(ops, self.tx.clone(), job, session, op),
                    None => refuse(job, engine, &self.tx),
                }
            }
            Effect::FollowLogs { .. }
            | Effect::LoadFirewall(_)
            | Effect::LoadChanges(_)
            | Effect::LoadDetails { .. }
            | Effect::LoadStats { .. }
            | Effect::LoadUsage(_) => self.load(effect, state),
            Effect::Attach { session, container } => {
                if let Some(backend) = self.ops_for(state, &session).map(|o| o.backend.clone()) {
                    self.attach(backend, session, container)
                }
            }
            Effect::Copy { .. } | Effect::PasteImage { .. } => self.clipboard(effect, state),
            // Keys go the sizes' way, after any size asked before them.
            Effect::TermResize { ref session, .. } | Effect::TermInput { ref session, .. } => {
                let engine = state.row(session).map(|r| r.engine.as_str());
                let resizes = engine.and_then(|e| self.link(e)?.resizes.clone());
                self.terminal(effect, resizes.as_ref())
            }
            Effect::Detach(_) => self.terminal(effect, None),
            Effect::OpenTmux {
                job,
                session,
                window,
            } => self.open_tmux(state, job, session, window),
            Effect::CompletePath(prefix) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Action::Completions(tmux::complete_dirs(&prefix)));
                });
            }
            Effect::Notify { notice, session } => {
                self.outside.notice(notice, &session, state.queue.len())
            }
            Effect::QueueCount(n) => self.outside.count(n),
            Effect::Bell | Effect::Quit => {} // handled by the loop, which owns the terminal
            Effect::ExpireStatus { serial, after } => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = tx.send(Action::StatusExpired(serial));
                });
            }
        }
    }

    /// `cctui attach` in a tmux pane or window, on the session's engine.
    fn open_tmux(&self, state: &State, job: u64, session: String, window: bool) {
        let tx = self.tx.clone();
        let engine = state
            .jobs
            .get(&job)
            .and_then(|j| state.engine(&j.engine))
            .cloned();
        let Some(engine) = engine else {
            return refuse(job, None, &self.tx);
        };
        let target = tmux::Target {
            session,
            window,
            engine: engine.name,
            host: engine.host,
            several: state.several_engines(),
        };
        let config = self.config_file.clone();
        tokio::spawn(async move {
            let result = tmux::open(&target, config.as_deref()).await;
            let _ = tx.send(Action::JobDone { job, result });
        });
    }

    /// A frame was drawn: once it shows the list, the held loads go.
    pub(crate) fn drawn(&mut self, state: &State) {
        if !state.loaded {
            return;
        }
        for effect in self.held.take().unwrap_or_default() {
            self.perform(effect, state);
        }
    }

    /// The UI has taken in `bytes` of a session's output: the reader may send more.
    pub fn consumed(&self, action: &Action) {
        if let Action::TermOutput { session, bytes, .. } = action {
            if let Some(b) = self.budgets.get(session) {
                b.add_permits(bytes.len().clamp(1, TERM_BUDGET));
            }
        }
    }
}

/// Effects that load something for the view, and may wait for the first frame.
fn is_load(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::Attach { .. }
            | Effect::FollowLogs { .. }
            | Effect::LoadFirewall(_)
            | Effect::LoadChanges(_)
            | Effect::LoadDetails { .. }
            | Effect::LoadStats { .. }
    )
}

impl<B: Backend> Drop for Runtime<B> {
    fn drop(&mut self) {
        for (_, t) in self.terminals.values() {
            t.abort();
        }
        if let Some(t) = &self.log_task {
            t.abort();
        }
    }
}

/// A job for an engine that is not connected (yet, or any more) fails at once, saying so.
fn refuse(job: u64, engine: Option<&str>, tx: &Tx) {
    let why = match engine {
        Some(e) => format!("the engine {e} is not connected"),
        None => "the engine is not connected".to_string(),
    };
    let _ = tx.send(Action::JobDone {
        job,
        result: Err(why),
    });
}

fn spawn_input(tx: Tx) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(Ok(ev)) = events.next().await {
            let action = match ev {
                Event::Key(k) => Action::Key(k),
                Event::Mouse(m) => Action::Mouse(m),
                Event::Paste(p) => Action::Paste(p),
                Event::Resize(w, h) => Action::Resize(w, h),
                _ => continue,
            };
            if tx.send(action).is_err() {
                return;
            }
        }
    })
}

pub(crate) fn spawn_signals(tx: Tx) -> JoinHandle<()> {
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        // Not a key: a key would go to claude in the pane or full screen, and a rebound
        // quit key would never come.
        let _ = tx.send(Action::Signal);
    })
}

/// Updates the state with `first` and whatever else is queued: one frame for a burst.
fn take_actions<B: Backend>(
    state: &mut State,
    first: Action,
    rx: &mut mpsc::UnboundedReceiver<Action>,
    rt: Option<&Runtime<B>>,
    pacer: &mut pace::Pacer,
) -> Vec<Effect> {
    let mut fx = Vec::new();
    let mut next = Some(first);
    for _ in 0..513 {
        let Some(action) = next.take() else { break };
        if let Some(rt) = rt {
            rt.consumed(&action);
        }
        let change = pace::Change::of(&action, state);
        if matches!(action, Action::Key(_) | Action::Paste(_)) {
            state.input_instant = Some(std::time::Instant::now());
        }
        let out = update(state, action);
        pacer.changed(change, &out);
        fx.extend(out);
        next = rx.try_recv().ok();
    }
    fx
}

/// The loop: one owner for the state, effects out, actions in, frames when dirty. Each
/// engine's link starts once its connector reaches it; until then its header says why not.
pub async fn run_loop<B, C, F>(
    mut state: State,
    config: &crate::config::Config,
    connectors: Vec<Connector<C>>,
    draw: Draw,
) -> crate::error::Result<()>
where
    B: Backend,
    C: FnMut() -> F + Send + 'static,
    F: Future<Output = crate::error::Result<Ops<B>>> + Send,
{
    let mut tui = crate::tui::Tui::enter()
        .map_err(|e| crate::error::Error::other(format!("cannot use this terminal: {e}")))?;
    state.size = tui.size();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (done, mut connected) = mpsc::unbounded_channel();
    let names: Vec<String> = connectors.iter().map(|c| c.engine.clone()).collect();
    let mut tasks: Vec<JoinHandle<()>> = connectors
        .into_iter()
        .map(|c| links::spawn_connector(c, tx.clone(), done.clone()))
        .collect();
    drop(done);
    tasks.push(spawn_input(tx.clone()));
    tasks.push(spawn_signals(tx.clone()));
    let mut rt: Runtime<B> = Runtime::new(config, &names, tx.clone());
    let mut pacer = pace::Pacer::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let busy = !state.jobs.is_empty() || !state.loaded;
        let due = pacer.due();
        tokio::select! {
            Some(action) = rx.recv() => {
                for e in take_actions(&mut state, action, &mut rx, Some(&rt), &mut pacer) {
                    if e == Effect::Bell {
                        tui.bell();
                    }
                    rt.perform(e, &state);
                }
            }
            Some((engine, ops)) = connected.recv() => rt.connected(&engine, ops),
            _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                tui.terminal
                    .draw(|f| draw(f, &state))
                    .map_err(|e| crate::error::Error::other(e.to_string()))?;
                pacer.drawn();
                rt.drawn(&state);
            }
            _ = ticker.tick(), if busy => {
                let _ = tx.send(Action::Tick);
            }
        }
        if state.quit {
            break;
        }
    }
    for t in &tasks {
        t.abort();
    }
    drop(rt);
    drop(tui);
    Ok(())
}
