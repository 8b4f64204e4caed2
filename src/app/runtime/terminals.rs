//! The sessions' attachments: one task per running session, with a bounded output queue.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Semaphore};

use super::{tty_size, Tx};
use super::{Runtime, ATTACH_HISTORY_LINES, TERM_BUDGET};
use crate::app::action::Action;
use crate::app::effect::Effect;
use crate::backend::Backend;
use futures_util::stream::BoxStream;

impl<B: Backend> Runtime<B> {
    pub(super) fn attach(&mut self, backend: B, session: String, container: String) {
        if let Some((_, old)) = self.terminals.remove(&session) {
            old.abort();
        }
        let (writer_tx, mut writer_rx) = mpsc::channel::<Vec<u8>>(256);
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
            // The size the tty has now, should another cctui have set it: the screen is
            // drawn at it (see `tty_size`).
            let mut sized = tty_size::SizeWatch::new(&container);
            send_size(&tx, &name, &mut sized);
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
            // What comes from here on is live: only it may reach the user's clipboard.
            if tx
                .send(Action::TermLive {
                    session: name.clone(),
                })
                .is_err()
            {
                return;
            }
            forward_live(attachment.output, &budget, &tx, &name, &mut sized).await;
            writer.abort();
            let _ = tx.send(Action::TermClosed { session: name });
        });
        self.terminals.insert(session, (writer_tx, task));
    }

    /// Input, sizes (through `resizes`, the session's engine's) and the end of attachments.
    pub(super) fn terminal(&mut self, effect: Effect, resizes: Option<&Resizes>) {
        match effect {
            Effect::Detach(session) => {
                if let Some((_, task)) = self.terminals.remove(&session) {
                    task.abort();
                }
                self.budgets.remove(&session);
            }
            Effect::TermInput { session, bytes } => {
                if let Some((writer, _)) = self.terminals.get(&session) {
                    // After any size asked before them: the client that types takes the
                    // size, and claude must have it when it reads the keys.
                    match resizes {
                        Some(resizes) => {
                            let _ = resizes.send(TtyOp::Input(writer.clone(), bytes));
                        }
                        // Never block the UI on a slow container: a full queue drops the keys.
                        None => {
                            let _ = writer.try_send(bytes);
                        }
                    }
                }
            }
            Effect::TermResize {
                container,
                rows,
                cols,
                nudge,
                ..
            } => {
                if let Some(resizes) = resizes {
                    let _ = resizes.send(TtyOp::Resize(Resize {
                        container,
                        rows,
                        cols,
                        nudge,
                    }));
                }
            }
            _ => {}
        }
    }
}

/// Sends the tty's size when its record changed; false once the app is gone.
fn send_size(tx: &Tx, session: &str, sized: &mut tty_size::SizeWatch) -> bool {
    match sized.changed() {
        Some(r) => tx
            .send(Action::TermSized {
                session: session.to_string(),
                rows: r.rows,
                cols: r.cols,
                here: r.by_us,
            })
            .is_ok(),
        None => true,
    }
}

/// The attachment's live output to the app, within the session's budget, until either ends.
async fn forward_live(
    mut output: BoxStream<'static, crate::backend::Result<Vec<u8>>>,
    budget: &Semaphore,
    tx: &Tx,
    session: &str,
    sized: &mut tty_size::SizeWatch,
) {
    while let Some(Ok(bytes)) = output.next().await {
        let cost = bytes.len().clamp(1, TERM_BUDGET) as u32;
        match budget.acquire_many(cost).await {
            Ok(permit) => permit.forget(),
            Err(_) => break,
        }
        // Before this output: it may be claude's redraw for a size just set.
        if !send_size(tx, session, sized) {
            break;
        }
        if tx
            .send(Action::TermOutput {
                session: session.to_string(),
                bytes,
                at: std::time::Instant::now(),
            })
            .is_err()
        {
            break;
        }
    }
}

/// Where one engine's tty sizes (and the keys typed after them) go.
pub(super) type Resizes = mpsc::UnboundedSender<TtyOp>;

/// What the resizer does, in the order asked.
pub(super) enum TtyOp {
    Resize(Resize),
    /// Keys for a session's writer, passed on once the sizes asked before them are set.
    Input(mpsc::Sender<Vec<u8>>, Vec<u8>),
}

/// A tty size to set; `nudge` sets one column less first, so that claude redraws even when
/// the size is the same.
pub(super) struct Resize {
    container: String,
    rows: u16,
    cols: u16,
    nudge: bool,
}

/// Sets tty sizes one after another, in the order asked: two fits in a row (shown, then
/// attached) sent at once could reach the engine out of order and leave the tty at the
/// nudge's narrower size.
pub(super) fn spawn_resizer<B: Backend>(backend: B) -> (Resizes, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<TtyOp>();
    let task = tokio::spawn(async move {
        while let Some(op) = rx.recv().await {
            let r = match op {
                TtyOp::Resize(r) => r,
                // Never block on a slow container: a full queue drops the keys.
                TtyOp::Input(writer, bytes) => {
                    let _ = writer.try_send(bytes);
                    continue;
                }
            };
            // Recorded first: the redraw that follows is read at this size by every cctui.
            tty_size::write(&r.container, r.rows, r.cols);
            if r.nudge {
                let narrower = r.cols.saturating_sub(1).max(1);
                let _ = backend.resize_tty(&r.container, r.rows, narrower).await;
            }
            let _ = backend.resize_tty(&r.container, r.rows, r.cols).await;
        }
    });
    (tx, task)
}
