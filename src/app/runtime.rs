//! The dashboard's edge: carries out effects as tasks, feeds input, engine events and task
//! results back as actions, and draws when something changed (at most every 16 ms).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::action::Action;
use super::effect::Effect;
use super::state::State;
use super::update::{update, PANEL_REFRESH};
use crate::backend::{labels, Backend, LabelFilter};
use crate::session::ops::Ops;

const FRAME: Duration = Duration::from_millis(16);
/// Attachments being set up at once: with hundreds of sessions, the engine sees a few at a
/// time, never a burst.
const ATTACH_PARALLELISM: usize = 6;
/// Bytes of one session's output that may wait for the UI at once. A faster producer waits,
/// so the queue (and memory) stays bounded and the UI stays responsive.
const TERM_BUDGET: usize = 1 << 20;
/// Lines of earlier output replayed into a session's screen when it is first attached.
const ATTACH_HISTORY_LINES: usize = 1000;

type Tx = mpsc::UnboundedSender<Action>;

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
    tasks: Vec<JoinHandle<()>>,
}

impl<B: Backend> Runtime<B> {
    pub fn new(ops: Ops<B>, tx: Tx) -> Self {
        let refresh = Arc::new(Notify::new());
        let mut rt = Runtime {
            ops,
            tx,
            refresh,
            attach_limit: Arc::new(Semaphore::new(ATTACH_PARALLELISM)),
            log_task: None,
            terminals: HashMap::new(),
            budgets: HashMap::new(),
            last_load: HashMap::new(),
            tasks: Vec::new(),
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
                let first_line = why.lines().next().unwrap_or_default().to_string();
                if tx
                    .send(Action::EngineLost {
                        why: first_line,
                        retries,
                    })
                    .is_err()
                {
                    return;
                }
                let backoff = Duration::from_millis(500 * 2u64.pow(retries.min(5)))
                    .min(Duration::from_secs(10));
                tokio::time::sleep(backoff).await;
            }
        }));
    }

    pub fn spawn_input(&mut self) {
        let tx = self.tx.clone();
        self.tasks.push(tokio::spawn(async move {
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
        }));
    }

    pub fn spawn_signals(&mut self) {
        let tx = self.tx.clone();
        self.tasks.push(tokio::spawn(async move {
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
        }));
    }

    /// How long to wait before loading `key` again, so that a visible panel refreshes no
    /// faster than PANEL_REFRESH; records the load as due then.
    fn throttle(&mut self, key: String) -> Duration {
        let now = Instant::now();
        let wait = self
            .last_load
            .get(&key)
            .map(|last| (*last + PANEL_REFRESH).saturating_duration_since(now))
            .unwrap_or_default();
        self.last_load.insert(key, now + wait);
        wait
    }

    pub fn perform(&mut self, effect: Effect, state: &State) {
        match effect {
            Effect::Refresh => self.refresh.notify_one(),
            Effect::Run { job, session, op } => {
                super::jobs::spawn(self.ops.clone(), self.tx.clone(), job, session, op)
            }
            Effect::FollowLogs { session, container } => {
                if let Some(t) = self.log_task.take() {
                    t.abort();
                }
                let backend = self.ops.backend.clone();
                let tx = self.tx.clone();
                let tail = state.settings.log_lines;
                self.log_task = Some(tokio::spawn(async move {
                    let mut stream = backend.logs(&container, tail, true);
                    while let Some(Ok(chunk)) = stream.next().await {
                        if tx
                            .send(Action::LogChunk {
                                session: session.clone(),
                                bytes: chunk.bytes,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                }));
            }
            Effect::LoadFirewall(session) => {
                let wait = self.throttle(format!("fw:{session}"));
                let ops = self.ops.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let report = ops
                        .firewall_report(&session)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Action::Firewall { session, report });
                });
            }
            Effect::LoadChanges(session) => {
                let ops = self.ops.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let view = ops.changes(&session, 0).await.map_err(|e| e.to_string());
                    let _ = tx.send(Action::Changes { session, view });
                });
            }
            Effect::LoadDetails { session, container } => {
                let wait = self.throttle(format!("details:{session}"));
                let backend = self.ops.backend.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    if let Ok(details) = backend.inspect_container(&container).await {
                        let _ = tx.send(Action::Details {
                            session,
                            details: Box::new(details),
                        });
                    }
                });
            }
            Effect::LoadStats { session, container } => {
                let wait = self.throttle(format!("stats:{session}"));
                let backend = self.ops.backend.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    if let Ok(stats) = backend.stats(&container).await {
                        let at = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs() as i64);
                        let _ = tx.send(Action::Stats { session, stats, at });
                    }
                });
            }
            Effect::Attach { session, container } => self.attach(session, container),
            Effect::Detach(session) => {
                if let Some((_, task)) = self.terminals.remove(&session) {
                    task.abort();
                }
                self.budgets.remove(&session);
            }
            Effect::TermInput { session, bytes } => {
                if let Some((writer, _)) = self.terminals.get(&session) {
                    // Never block the UI on a slow container: a full queue drops the keys.
                    let _ = writer.try_send(bytes);
                }
            }
            Effect::TermResize {
                container,
                rows,
                cols,
                nudge,
                ..
            } => {
                let backend = self.ops.backend.clone();
                tokio::spawn(async move {
                    if nudge {
                        let narrower = cols.saturating_sub(1).max(1);
                        let _ = backend.resize_tty(&container, rows, narrower).await;
                    }
                    let _ = backend.resize_tty(&container, rows, cols).await;
                });
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
                    let result = open_tmux(&session, window, &engine, config.as_deref()).await;
                    let _ = tx.send(Action::JobDone { job, result });
                });
            }
            Effect::CompletePath(prefix) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Action::Completions(complete_dirs(&prefix)));
                });
            }
            Effect::Bell | Effect::Quit => {} // handled by the loop, which owns the terminal
        }
    }

    fn attach(&mut self, session: String, container: String) {
        if let Some((_, old)) = self.terminals.remove(&session) {
            old.abort();
        }
        let (writer_tx, mut writer_rx) = mpsc::channel::<Vec<u8>>(256);
        let backend = self.ops.backend.clone();
        let tx = self.tx.clone();
        let name = session.clone();
        let limit = self.attach_limit.clone();
        let budget = Arc::new(Semaphore::new(TERM_BUDGET));
        self.budgets.insert(session.clone(), budget.clone());
        let task = tokio::spawn(async move {
            let permit = limit.acquire_owned().await;
            let attachment = match backend.attach(&container).await {
                Ok(a) => a,
                Err(_) => {
                    let _ = tx.send(Action::TermClosed { session: name });
                    return;
                }
            };
            let _ = tx.send(Action::TermAttached {
                session: name.clone(),
            });
            let mut input = attachment.input;
            let writer = tokio::spawn(async move {
                while let Some(bytes) = writer_rx.recv().await {
                    if input.write_all(&bytes).await.is_err() || input.flush().await.is_err() {
                        break;
                    }
                }
            });
            // The recent output first, so that the screen shows what happened before we
            // attached. The tty's size is left to whoever shows the session (see `fit`).
            let mut history = backend.logs(&container, ATTACH_HISTORY_LINES, false);
            while let Some(Ok(chunk)) = history.next().await {
                if tx
                    .send(Action::TermOutput {
                        session: name.clone(),
                        bytes: chunk.bytes,
                        at: std::time::Instant::now(),
                    })
                    .is_err()
                {
                    return;
                }
            }
            drop(permit);
            let mut output = attachment.output;
            while let Some(Ok(bytes)) = output.next().await {
                let cost = bytes.len().clamp(1, TERM_BUDGET) as u32;
                match budget.acquire_many(cost).await {
                    Ok(permit) => permit.forget(),
                    Err(_) => break,
                }
                if tx
                    .send(Action::TermOutput {
                        session: name.clone(),
                        bytes,
                        at: std::time::Instant::now(),
                    })
                    .is_err()
                {
                    break;
                }
            }
            writer.abort();
            let _ = tx.send(Action::TermClosed { session: name });
        });
        self.terminals.insert(session, (writer_tx, task));
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

/// Folders starting with `prefix`, for the new-session dialog.
pub fn complete_dirs(prefix: &str) -> Vec<String> {
    let (dir, start) = match prefix.rfind('/') {
        Some(i) => (&prefix[..=i], &prefix[i + 1..]),
        None => ("./", prefix),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| n.starts_with(start) && (start.starts_with('.') || !n.starts_with('.')))
        .map(|n| format!("{dir}{n}/"))
        .collect();
    out.sort();
    out
}

/// Opens `cctui attach NAME` in a new tmux pane or window. Only inside tmux.
/// The pane runs with this dashboard's engine and config (and its folders, when they were
/// moved), not whatever the tmux server's environment says.
async fn open_tmux(
    session: &str,
    window: bool,
    engine: &str,
    config: Option<&std::path::Path>,
) -> Result<String, String> {
    if std::env::var_os("TMUX").is_none() {
        return Err("not inside tmux: t and T open sessions in tmux panes and windows".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = format!("env DOCKER_HOST={}", shell_quote(engine));
    for var in ["CCTUI_CONFIG_DIR", "CCTUI_STATE_DIR"] {
        if let Some(v) = std::env::var_os(var) {
            command.push_str(&format!(" {var}={}", shell_quote(&v.to_string_lossy())));
        }
    }
    command.push_str(&format!(" {}", shell_quote(&exe.display().to_string())));
    if let Some(c) = config {
        command.push_str(&format!(
            " --config {}",
            shell_quote(&c.display().to_string())
        ));
    }
    command.push_str(&format!(" attach {}", shell_quote(session)));
    let mut cmd = tokio::process::Command::new("tmux");
    if window {
        cmd.args(["new-window", "-n", session, &command]);
    } else {
        cmd.args(["split-window", "-h", &command]);
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| format!("cannot run tmux: {e}"))?;
    if out.status.success() {
        Ok(format!(
            "opened {session} in a tmux {}",
            if window { "window" } else { "pane" }
        ))
    } else {
        Err(format!(
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The loop: one owner for the state, effects out, actions in, frames when dirty.
pub async fn run_loop<B: Backend>(mut state: State, ops: Ops<B>) -> crate::error::Result<()> {
    let mut tui = crate::tui::Tui::enter()
        .map_err(|e| crate::error::Error::other(format!("cannot use this terminal: {e}")))?;
    state.size = tui.size();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut rt = Runtime::new(ops, tx.clone());
    rt.spawn_input();
    rt.spawn_signals();
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME;
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let busy = !state.jobs.is_empty() || !state.loaded;
        tokio::select! {
            Some(action) = rx.recv() => {
                rt.consumed(&action);
                let mut fx = update(&mut state, action);
                // Take whatever else is queued before drawing: one frame for a burst.
                for _ in 0..512 {
                    match rx.try_recv() {
                        Ok(a) => {
                            rt.consumed(&a);
                            fx.extend(update(&mut state, a));
                        }
                        Err(_) => break,
                    }
                }
                for e in fx {
                    if e == Effect::Bell {
                        tui.bell();
                    }
                    rt.perform(e, &state);
                }
                dirty = true;
            }
            _ = tokio::time::sleep_until(last_frame + FRAME), if dirty => {
                tui.terminal
                    .draw(|f| crate::ui::draw(f, &state))
                    .map_err(|e| crate::error::Error::other(e.to_string()))?;
                dirty = false;
                last_frame = Instant::now();
            }
            _ = ticker.tick(), if busy => {
                let _ = tx.send(Action::Tick);
            }
        }
        if state.quit {
            break;
        }
    }
    drop(rt);
    drop(tui);
    Ok(())
}
