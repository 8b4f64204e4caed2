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
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod clipboard;
mod loads;
mod pace;
mod terminals;
mod tmux;

use super::action::Action;
use super::effect::Effect;
use super::state::State;
use super::update::{update, PANEL_REFRESH};
use crate::backend::{labels, Backend, LabelFilter};
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
    ops: Ops<B>,
    tx: Tx,
    refresh: Arc<Notify>,
    attach_limit: Arc<Semaphore>,
    log_task: Option<JoinHandle<()>>,
    terminals: HashMap<String, (mpsc::Sender<Vec<u8>>, JoinHandle<()>)>,
    budgets: HashMap<String, Arc<Semaphore>>,
    /// When each panel load last ran, to refresh visible panels no faster than PANEL_REFRESH.
    last_load: HashMap<String, Instant>,
    resizes: mpsc::UnboundedSender<terminals::Resize>,
    tasks: Vec<JoinHandle<()>>,
    /// Notifications outside the dashboard (the attention queue's news).
    outside: crate::notify::Outside,
    /// The loads asked for before the first list was drawn; `None` once it was.
    held: Option<Vec<Effect>>,
}

impl<B: Backend> Runtime<B> {
    pub fn new(ops: Ops<B>, tx: Tx) -> Self {
        let refresh = Arc::new(Notify::new());
        let outside = crate::notify::Outside::new(ops.config.notify.clone());
        let (resizes, resizer) = terminals::spawn_resizer(ops.backend.clone());
        let mut rt = Runtime {
            ops,
            tx,
            refresh,
            attach_limit: Arc::new(Semaphore::new(ATTACH_PARALLELISM)),
            log_task: None,
            terminals: HashMap::new(),
            budgets: HashMap::new(),
            last_load: HashMap::new(),
            resizes,
            tasks: vec![resizer],
            outside,
            held: Some(Vec::new()),
        };
        rt.spawn_refresher();
        rt.spawn_engine_watch();
        rt
    }

    /// Lists sessions whenever asked; many requests while one runs become one more list.
    fn spawn_refresher(&mut self) {
        let ops = self.ops.clone();
        let tx = self.tx.clone();
        let notify = self.refresh.clone();
        self.tasks.push(tokio::spawn(async move {
            loop {
                notify.notified().await;
                if let Ok(list) = ops.list().await {
                    if tx.send(Action::Sessions(list)).is_err() {
                        return;
                    }
                }
            }
        }));
    }

    /// Lists everything, then follows the engine's event stream; on loss, retries with
    /// backoff and lists again on return.
    fn spawn_engine_watch(&mut self) {
        let ops = self.ops.clone();
        let tx = self.tx.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut retries = 0u32;
            loop {
                let why = match ops.list().await {
                    Ok(list) => {
                        if retries > 0 {
                            let _ = tx.send(Action::EngineBack);
                        }
                        retries = 0;
                        if tx.send(Action::Sessions(list)).is_err() {
                            return;
                        }
                        let mut events = ops.backend.events(&LabelFilter::has(labels::SESSION));
                        loop {
                            match events.next().await {
                                Some(Ok(ev)) => {
                                    if tx.send(Action::Engine(ev)).is_err() {
                                        return;
                                    }
                                }
                                Some(Err(e)) => break e.to_string(),
                                None => break "the engine closed the event stream".to_string(),
                            }
                        }
                    }
                    Err(e) => e.to_string(),
                };
                retries += 1;
                if !engine_lost(&tx, &why, retries) {
                    return;
                }
                tokio::time::sleep(backoff(retries)).await;
            }
        }));
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
            Effect::Refresh => self.refresh.notify_one(),
            Effect::Run { job, session, op } => {
                super::jobs::spawn(self.ops.clone(), self.tx.clone(), job, session, op)
            }
            Effect::FollowLogs { .. }
            | Effect::LoadFirewall(_)
            | Effect::LoadChanges(_)
            | Effect::LoadDetails { .. }
            | Effect::LoadStats { .. }
            | Effect::LoadUsage(_) => self.load(effect, state.settings.log_lines),
            Effect::Attach { session, container } => self.attach(session, container),
            Effect::Copy { .. } | Effect::PasteImage { .. } => self.clipboard(effect),
            Effect::Detach(_) | Effect::TermInput { .. } | Effect::TermResize { .. } => {
                self.terminal(effect)
            }
            Effect::OpenTmux {
                job,
                session,
                window,
            } => {
                let tx = self.tx.clone();
                let engine = self.ops.backend.host().to_string();
                let config = self.ops.config.source.clone();
                tokio::spawn(async move {
                    let result = tmux::open(&session, window, &engine, config.as_deref()).await;
                    let _ = tx.send(Action::JobDone { job, result });
                });
            }
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
        }
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
        for t in &self.tasks {
            t.abort();
        }
        for (_, t) in self.terminals.values() {
            t.abort();
        }
        if let Some(t) = &self.log_task {
            t.abort();
        }
    }
}

/// Says the engine is lost (the first line of `why`); false once nobody listens.
fn engine_lost(tx: &Tx, why: &str, retries: u32) -> bool {
    let why = why.lines().next().unwrap_or_default().to_string();
    tx.send(Action::EngineLost { why, retries }).is_ok()
}

/// How long to wait before the next try at the engine: doubling from 1 s, at most 10 s.
fn backoff(retries: u32) -> Duration {
    Duration::from_millis(500 * 2u64.pow(retries.min(5))).min(Duration::from_secs(10))
}

/// Tries `connect` until it gives the engine's operations, saying each failure as
/// `EngineLost`, and `EngineBack` when it comes after any.
fn spawn_connector<B, C, F>(mut connect: C, tx: Tx) -> (JoinHandle<()>, oneshot::Receiver<Ops<B>>)
where
    B: Backend,
    C: FnMut() -> F + Send + 'static,
    F: Future<Output = crate::error::Result<Ops<B>>> + Send,
{
    let (done, connected) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut retries = 0u32;
        loop {
            match connect().await {
                Ok(ops) => {
                    if retries > 0 {
                        let _ = tx.send(Action::EngineBack);
                    }
                    let _ = done.send(ops);
                    return;
                }
                Err(e) => {
                    retries += 1;
                    if !engine_lost(&tx, &e.to_string(), retries) {
                        return;
                    }
                    tokio::time::sleep(backoff(retries)).await;
                }
            }
        }
    });
    (task, connected)
}

/// Before the engine answers, a job fails at once, saying so; views wait for the engine.
fn refuse(effect: &Effect, tx: &Tx) {
    if let Effect::Run { job, .. } | Effect::OpenTmux { job, .. } = effect {
        let _ = tx.send(Action::JobDone {
            job: *job,
            result: Err("the engine is not connected yet".into()),
        });
    }
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
        let out = update(state, action);
        pacer.changed(change, &out);
        fx.extend(out);
        next = rx.try_recv().ok();
    }
    fx
}

/// The loop: one owner for the state, effects out, actions in, frames when dirty. The
/// runtime starts once `connect` gives the engine; until then the header says why not.
pub async fn run_loop<B, C, F>(mut state: State, connect: C, draw: Draw) -> crate::error::Result<()>
where
    B: Backend,
    C: FnMut() -> F + Send + 'static,
    F: Future<Output = crate::error::Result<Ops<B>>> + Send,
{
    let mut tui = crate::tui::Tui::enter()
        .map_err(|e| crate::error::Error::other(format!("cannot use this terminal: {e}")))?;
    state.size = tui.size();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (connector, connected) = spawn_connector(connect, tx.clone());
    let mut connecting = Some(connected);
    let tasks = [
        connector,
        spawn_input(tx.clone()),
        spawn_signals(tx.clone()),
    ];
    let mut rt: Option<Runtime<B>> = None;
    let mut pacer = pace::Pacer::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let busy = !state.jobs.is_empty() || !state.loaded;
        let due = pacer.due();
        tokio::select! {
            Some(action) = rx.recv() => {
                for e in take_actions(&mut state, action, &mut rx, rt.as_ref(), &mut pacer) {
                    if e == Effect::Bell {
                        tui.bell();
                    }
                    match rt.as_mut() {
                        Some(rt) => rt.perform(e, &state),
                        None => refuse(&e, &tx),
                    }
                }
            }
            Some(ops) = async { connecting.as_mut()?.await.ok() }, if connecting.is_some() => {
                connecting = None;
                rt = Some(Runtime::new(ops, tx.clone()));
            }
            _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                tui.terminal
                    .draw(|f| draw(f, &state))
                    .map_err(|e| crate::error::Error::other(e.to_string()))?;
                pacer.drawn();
                if let Some(rt) = rt.as_mut() {
                    rt.drawn(&state);
                }
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
