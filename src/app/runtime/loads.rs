//! Loading what the visible panels show: logs followed from the tail, and the firewall,
//! details, stats and changes of a session, each no faster than PANEL_REFRESH.

use futures_util::StreamExt;

use super::Runtime;
use crate::app::action::Action;
use crate::app::effect::Effect;
use crate::backend::Backend;

impl<B: Backend> Runtime<B> {
    pub(super) fn load(&mut self, effect: Effect, log_lines: usize) {
        match effect {
            Effect::FollowLogs { session, container } => {
                if let Some(t) = self.log_task.take() {
                    t.abort();
                }
                let backend = self.ops.backend.clone();
                let tx = self.tx.clone();
                let tail = log_lines;
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
            Effect::LoadUsage(session) => {
                let wait = self.throttle(format!("usage:{session}"));
                let ops = self.ops.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let usage = ops.usage(&session).await.map_err(|e| e.to_string());
                    let _ = tx.send(Action::Usage { session, usage });
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
            _ => {}
        }
    }
}
