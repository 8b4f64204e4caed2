//! Image builds: bollard's build stream mapped to ours, with one overall timeout.

use std::time::Duration;

use bollard::query_parameters as qp;
use bollard::Docker;
use futures_util::stream::StreamExt;

use super::errors::classify;
use crate::backend::{BackendError, BuildEvent, Result};

pub(super) const BUILD_TIMEOUT: Duration = Duration::from_secs(45 * 60);

/// Parses "Step 3/9 : RUN ..." from the classic builder's stream.
pub(super) fn parse_step(line: &str) -> Option<BuildEvent> {
    let rest = line.strip_prefix("Step ")?;
    let (frac, text) = rest.split_once(" : ")?;
    let (index, total) = frac.split_once('/')?;
    Some(BuildEvent::Step {
        index: index.trim().parse().ok()?,
        total: total.trim().parse().ok()?,
        text: text.trim().to_string(),
    })
}

/// Runs the build on its own task; its events arrive on the returned stream.
pub(super) fn build_stream(
    docker: Docker,
    host: String,
    options: qp::BuildImageOptions,
    context: bytes::Bytes,
) -> impl futures_util::Stream<Item = Result<BuildEvent>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<BuildEvent>>(64);
    tokio::spawn(async move {
        let stream = docker.build_image(options, None, Some(bollard::body_full(context)));
        if let Err(e) = forward(stream, &host, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    stream_from(rx)
}

/// Sends each step and output line on; ends with `Done`, or returns the error that ended it.
async fn forward(
    mut stream: impl futures_util::Stream<
            Item = std::result::Result<bollard::models::BuildInfo, bollard::errors::Error>,
        > + Unpin,
    host: &str,
    tx: &tokio::sync::mpsc::Sender<Result<BuildEvent>>,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + BUILD_TIMEOUT;
    let mut image_id = None;
    loop {
        // A reader that gave up (a stalled build) ends the request, which cancels the
        // build in the engine and removes its running step's container.
        let next = tokio::select! {
            _ = tx.closed() => return Ok(()),
            next = tokio::time::timeout_at(deadline, stream.next()) => next,
        };
        let item = match next {
            Err(_) => {
                return Err(BackendError::Timeout {
                    op: "build image",
                    secs: BUILD_TIMEOUT.as_secs(),
                })
            }
            Ok(None) => break,
            Ok(Some(item)) => item,
        };
        let info = item.map_err(|e| classify("build image", host, BUILD_TIMEOUT, e))?;
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(BackendError::Engine {
                op: "build image",
                status: None,
                detail,
            });
        }
        if let Some(id) = info.aux.and_then(|a| a.id) {
            image_id = Some(id);
        }
        if let Some(text) = info.stream {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let event =
                    parse_step(line).unwrap_or_else(|| BuildEvent::Output(line.to_string()));
                if tx.send(Ok(event)).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
    let _ = tx
        .send(Ok(BuildEvent::Done {
            image_id: image_id.unwrap_or_default(),
        }))
        .await;
    Ok(())
}

pub(super) fn stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_build_steps() {
        assert_eq!(
            parse_step("Step 3/9 : RUN apt-get update"),
            Some(BuildEvent::Step {
                index: 3,
                total: 9,
                text: "RUN apt-get update".into()
            })
        );
        assert_eq!(parse_step(" ---> Running in abc"), None);
    }
}
