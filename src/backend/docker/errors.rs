//! bollard's errors sorted into cctui's kinds: by the engine's HTTP status when it answered,
//! by the transport's root cause when it did not.

use std::time::Duration;

use bollard::errors::Error as DockerError;

use crate::backend::BackendError;

/// The kind of `err`, from a call named `op` to the engine at `host`.
pub(super) fn classify(
    op: &'static str,
    host: &str,
    timeout: Duration,
    err: DockerError,
) -> BackendError {
    match err {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } => match status_code {
            404 => BackendError::NotFound(message),
            409 => BackendError::Conflict(message),
            status => BackendError::Engine {
                op,
                status: Some(status),
                detail: message,
            },
        },
        DockerError::RequestTimeoutError => BackendError::Timeout {
            op,
            secs: timeout.as_secs(),
        },
        DockerError::HyperLegacyError { .. }
        | DockerError::HyperResponseError { .. }
        | DockerError::IOError { .. }
        | DockerError::SocketNotFoundError(_) => unreachable(host, transport_cause(&err)),
        other => BackendError::Engine {
            op,
            status: None,
            detail: other.to_string(),
        },
    }
}

/// Why the transport failed, in a few words: the innermost I/O error's kind, or else the
/// innermost error's own text (never the client library's wrapper words).
pub(super) fn transport_cause(err: &DockerError) -> String {
    match err {
        // Transparent: its `source()` skips the I/O error itself.
        DockerError::IOError { err } => io_cause(err),
        DockerError::SocketNotFoundError(_) => "the socket does not exist".into(),
        other => innermost_cause(other),
    }
}

fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = err;
    let mut io = None;
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(i) = e.downcast_ref::<std::io::Error>() {
            io = Some(i);
        }
        innermost = e;
        next = e.source();
    }
    match io {
        Some(i) => io_cause(i),
        None => innermost.to_string(),
    }
}

fn io_cause(err: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match err.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::NotFound => "the socket does not exist".into(),
        K::PermissionDenied => "permission denied".into(),
        K::TimedOut => "the connection timed out".into(),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            "the engine closed the connection".into()
        }
        _ => {
            let text = err.to_string();
            match text.split_once(" (os error") {
                Some((words, _)) => words.to_string(),
                None => text,
            }
        }
    }
}

/// One clear sentence for an engine that cannot be reached, with what to do about it.
pub(super) fn unreachable(host: &str, detail: impl ToString) -> BackendError {
    let detail = detail.to_string();
    let fix = if detail.contains("ermission denied") {
        "add your user to the `docker` group (then log in again), or run with access to the socket"
    } else if host.starts_with("unix://") {
        "is dockerd running? start Docker (`sudo systemctl start docker`), or point cctui at a \
         running engine with DOCKER_HOST or `host` under [engine] in config.toml"
    } else {
        "is dockerd running and listening at this address? set DOCKER_HOST or `host` under \
         [engine] in config.toml"
    };
    BackendError::Unreachable {
        host: host.to_string(),
        detail,
        fix: fix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16) -> DockerError {
        DockerError::DockerResponseServerError {
            status_code,
            message: "No such container: x".into(),
        }
    }

    #[test]
    fn status_codes_decide_the_kind() {
        let t = Duration::from_secs(5);
        assert!(matches!(
            classify("inspect", "unix:///s", t, server(404)),
            BackendError::NotFound(m) if m == "No such container: x"
        ));
        assert!(matches!(
            classify("create", "unix:///s", t, server(409)),
            BackendError::Conflict(_)
        ));
        // The words alone decide nothing: a 500 that says "No such" is an engine error.
        assert!(matches!(
            classify("start", "unix:///s", t, server(500)),
            BackendError::Engine {
                status: Some(500),
                ..
            }
        ));
        assert!(matches!(
            classify("list", "unix:///s", t, DockerError::RequestTimeoutError),
            BackendError::Timeout {
                op: "list",
                secs: 5
            }
        ));
    }

    #[test]
    fn transport_errors_name_the_root_cause() {
        let refused = DockerError::IOError {
            err: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        let e = classify("list", "tcp://127.0.0.1:9", Duration::from_secs(1), refused);
        let text = e.to_string();
        assert!(
            text.starts_with(
                "cannot reach the Docker engine at tcp://127.0.0.1:9: connection refused"
            ),
            "{text}"
        );
        assert!(text.contains("is dockerd running"), "{text}");
    }
}
