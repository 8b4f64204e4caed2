//! Loading what the visible panels show: logs followed from the tail, and the firewall,
//! details, stats and changes of a session, each no faster than PANEL_REFRESH.

use futures_util::StreamExt;

use super::Runtime;
use crate::app::action::Action;
use crate::app::effect::Effect;
use crate::app::state::State;
use crate::backend::Backend;
use crate::session::ops::Ops;

impl<B: Backend> Runtime<B> {
    /// Carries out a load on the engine of the session's row; nothing while that engine is
    /// not connected (the reconnect selects the row anew, which loads it again).
    pub(super) fn load(&mut self, effect: Effect, state: &State) {
        let Some(session) = loaded_for(&effect) else {
            return;
        };
        let Some(ops) = self.ops_for(state, session).cloned() else {
            return;
        };
        match effect {
            Effect::FollowLogs { session, container } => {
                self.follow_logs(ops.backend, session, container, state.settings.log_lines)
            }
            Effect::LoadFirewall(session) => {
                let Some(wait) = self.throttle(format!("fw:{session}")) else {
                    return;
                };
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
                let tx = self.tx.clone();
                let file = state.row(&session).map_or(0, |r| r.view.changes_file);
                tokio::spawn(async move {
                    let view = ops.changes(&session, file).await.map_err(|e| e.to_string());
                    let _ = tx.send(Action::Changes { session, view });
                });
            }
            Effect::LoadUsage(session) => self.load_usage(ops, session),
            Effect::LoadDetails { session, container } => {
                let Some(wait) = self.throttle(format!("details:{session}")) else {
                    return;
                };
                let backend = ops.backend.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let ports = crate::session::ports::list(&session).unwrap_or_default();
                    let _ = tx.send(Action::Ports {
                        session: session.clone(),
                        ports,
                    });
                    let (carried, cut) = crate::session::ops::carried_report(&container);
                    let _ = tx.send(Action::Carried {
                        session: session.clone(),
                        carried,
                        cut,
                    });
                    if let Ok(details) = backend.inspect_container(&container).await {
                        let _ = tx.send(Action::Details {
                            session,
                            details: Box::new(details),
                        });
                    }
                });
            }
            Effect::LoadStats { session, container } => {
                let Some(wait) = self.throttle(format!("stats:{session}")) else {
                    return;
                };
                let backend = ops.backend.clone();
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

    /// One read of the project's transcripts serves every session of it.
    fn load_usage(&mut self, ops: Ops<B>, session: String) {
        let Some(wait) = self.throttle(format!("usage:{session}")) else {
            return;
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let all = match ops.project_usage(&session).await {
                Ok(all) => all,
                Err(e) => vec![(session, Err(e.to_string()))],
            };
            for (session, usage) in all {
                let _ = tx.send(Action::Usage { session, usage });
            }
        });
    }

    /// Follows one container's logs from the last `tail` lines; replaces any earlier follow.
    fn follow_logs(&mut self, backend: B, session: String, container: String, tail: usize) {
        if let Some(t) = self.log_task.take() {
            t.abort();
        }
        let tx = self.tx.clone();
        self.log_task = Some(tokio::spawn(async move {
            let mut stream = backend.logs(&container, tail, true);
            while let Some(Ok(chunk)) = stream.next().await {
                let chunk = Action::LogChunk {
                    session: session.clone(),
                    bytes: chunk.bytes,
                };
                if tx.send(chunk).is_err() {
                    return;
                }
            }
        }));
    }
}

/// The session a load is for.
fn loaded_for(effect: &Effect) -> Option<&str> {
    match effect {
        Effect::FollowLogs { session, .. }
        | Effect::LoadFirewall(session)
        | Effect::LoadChanges(session)
        | Effect::LoadUsage(session)
        | Effect::LoadDetails { session, .. }
        | Effect::LoadStats { session, .. } => Some(session),
        _ => None,
    }
}
