//! One link per engine: its connector (tried with backoff until the engine answers), then
//! its list refreshes and its event stream, each in tasks of its own, so that an engine that
//! is down or hung holds up nothing but its own rows. Everything it says carries its name.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use super::terminals::{spawn_resizer, Resizes};
use super::Tx;
use crate::app::action::Action;
use crate::backend::{labels, Backend, LabelFilter};
use crate::session::ops::Ops;

/// How the dashboard reaches one engine: its name, and how to connect to it (tried again
/// until it answers).
pub struct Connector<C> {
    pub engine: String,
    pub connect: C,
}

/// A connection made: the engine's name and its operations.
pub(super) type Connected<B> = (String, Ops<B>);

/// One engine as the runtime holds it.
pub(super) struct Link<B: Backend> {
    pub name: String,
    /// Set once the engine first answered.
    pub ops: Option<Ops<B>>,
    pub refresh: Arc<Notify>,
    pub resizes: Option<Resizes>,
    pub tasks: Vec<JoinHandle<()>>,
}

impl<B: Backend> Link<B> {
    pub fn new(name: &str) -> Self {
        Link {
            name: name.to_string(),
            ops: None,
            refresh: Arc::new(Notify::new()),
            resizes: None,
            tasks: Vec::new(),
        }
    }

    /// The engine answered: list and follow it from now on.
    pub fn connected(&mut self, ops: Ops<B>, tx: &Tx) {
        let (resizes, resizer) = spawn_resizer(ops.backend.clone());
        self.resizes = Some(resizes);
        self.tasks.push(resizer);
        self.tasks
            .push(spawn_refresher(&self.name, ops.clone(), tx, &self.refresh));
        self.tasks.push(spawn_watch(&self.name, ops.clone(), tx));
        self.ops = Some(ops);
    }
}

impl<B: Backend> Drop for Link<B> {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Lists sessions whenever asked; many requests while one runs become one more list.
fn spawn_refresher<B: Backend>(
    engine: &str,
    ops: Ops<B>,
    tx: &Tx,
    notify: &Arc<Notify>,
) -> JoinHandle<()> {
    let (engine, tx, notify) = (engine.to_string(), tx.clone(), notify.clone());
    tokio::spawn(async move {
        loop {
            notify.notified().await;
            if let Ok(list) = ops.list().await {
                let engine = engine.clone();
                if tx.send(Action::Sessions { engine, list }).is_err() {
                    return;
                }
            }
        }
    })
}

/// Lists everything, then follows the engine's event stream; on loss, retries with
/// backoff and lists again on return.
fn spawn_watch<B: Backend>(engine: &str, ops: Ops<B>, tx: &Tx) -> JoinHandle<()> {
    let (engine, tx) = (engine.to_string(), tx.clone());
    tokio::spawn(async move {
        let mut retries = 0u32;
        loop {
            let why = match ops.list().await {
                Ok(list) => {
                    if retries > 0 {
                        let _ = tx.send(Action::EngineBack {
                            engine: engine.clone(),
                        });
                    }
                    retries = 0;
                    let listed = Action::Sessions {
                        engine: engine.clone(),
                        list,
                    };
                    if tx.send(listed).is_err() {
                        return;
                    }
                    match follow_events(&engine, &ops, &tx).await {
                        Some(why) => why,
                        None => return,
                    }
                }
                Err(e) => e.to_string(),
            };
            retries += 1;
            if !wait_to_retry(&tx, &engine, &why, retries).await {
                return;
            }
        }
    })
}

/// Sends the engine's events until its stream fails: why it did, or `None` once nobody
/// listens.
async fn follow_events<B: Backend>(engine: &str, ops: &Ops<B>, tx: &Tx) -> Option<String> {
    let mut events = ops.backend.events(&LabelFilter::has(labels::SESSION));
    loop {
        match events.next().await {
            Some(Ok(event)) => {
                let engine = engine.to_string();
                tx.send(Action::Engine { engine, event }).ok()?;
            }
            Some(Err(e)) => return Some(e.to_string()),
            None => return Some("the engine closed the event stream".to_string()),
        }
    }
}

/// Says the engine is lost (the first line of `why`) and when it is tried next, waits that
/// long, and says the try begins; false once nobody listens.
async fn wait_to_retry(tx: &Tx, engine: &str, why: &str, retries: u32) -> bool {
    let retry_in = backoff(retries);
    let lost = Action::EngineLost {
        engine: engine.to_string(),
        why: why.lines().next().unwrap_or_default().to_string(),
        retries,
        retry_in,
    };
    if tx.send(lost).is_err() {
        return false;
    }
    tokio::time::sleep(retry_in).await;
    let engine = engine.to_string();
    tx.send(Action::EngineRetrying { engine }).is_ok()
}

/// How long to wait before the next try at the engine: doubling from 1 s, at most 10 s.
fn backoff(retries: u32) -> Duration {
    Duration::from_millis(500 * 2u64.pow(retries.min(5))).min(Duration::from_secs(10))
}

/// Tries `connect` until it gives the engine's operations, saying each failure as
/// `EngineLost`, and `EngineBack` when it comes after any; then hands them over.
pub(super) fn spawn_connector<B, C, F>(
    connector: Connector<C>,
    tx: Tx,
    done: mpsc::UnboundedSender<Connected<B>>,
) -> JoinHandle<()>
where
    B: Backend,
    C: FnMut() -> F + Send + 'static,
    F: Future<Output = crate::error::Result<Ops<B>>> + Send,
{
    let Connector {
        engine,
        mut connect,
    } = connector;
    tokio::spawn(async move {
        let mut retries = 0u32;
        loop {
            match connect().await {
                Ok(ops) => {
                    if retries > 0 {
                        let _ = tx.send(Action::EngineBack {
                            engine: engine.clone(),
                        });
                    }
                    let _ = done.send((engine, ops));
                    return;
                }
                Err(e) => {
                    retries += 1;
                    if !wait_to_retry(&tx, &engine, &e.to_string(), retries).await {
                        return;
                    }
                }
            }
        }
    })
}
