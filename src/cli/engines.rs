//! The commands over several engines: every engine reached at once (each within the
//! timeout, so one that is down or hung costs no more than that), a session found on
//! whichever engine it lives on, and `--engine` to choose one.

use std::time::Duration;

use crate::backend::{BackendError, DockerBackend};
use crate::config::Config;
use crate::engines::Engine;
use crate::error::{Error, Result};
use crate::session::ops::Ops;
use crate::term::sanitize::for_stderr;

/// One engine, reached.
pub struct EngineOps {
    pub engine: Engine,
    pub ops: Ops<DockerBackend>,
}

/// Every engine, reached or not, in the listed order.
pub struct Reached {
    pub up: Vec<EngineOps>,
    pub down: Vec<(Engine, Error)>,
}

impl Reached {
    /// One line on stderr per engine that could not be reached; the command goes on.
    pub fn say_down(&self) {
        for (engine, e) in &self.down {
            eprintln!(
                "cctui: {}",
                for_stderr(&engine_error(&engine.name, e).to_string())
            );
        }
    }
}

/// An error that names its engine, on one line, with its fix; the exit code stays the
/// error's own (3 unreachable, 2 misconfigured).
pub fn engine_error(name: &str, e: &Error) -> String {
    match e {
        Error::Backend(b) => format!("engine `{name}`: {}", b.one_line()),
        other => format!("engine `{name}`: {other}"),
    }
}

fn timeout(config: &Config) -> Duration {
    Duration::from_secs(config.engine.timeout_secs)
}

async fn connect(config: &Config, engine: &Engine) -> Result<EngineOps> {
    let backend = DockerBackend::connect_to(&engine.address, timeout(config)).await?;
    Ok(EngineOps {
        engine: engine.clone(),
        ops: Ops::new(backend, config.clone(), crate::paths::config_dir()),
    })
}

/// Connects to every engine at once.
pub async fn reach_all(config: &Config, engines: &[Engine]) -> Reached {
    let tries = futures_util::future::join_all(engines.iter().map(|e| connect(config, e))).await;
    let mut reached = Reached {
        up: Vec::new(),
        down: Vec::new(),
    };
    for (engine, result) in engines.iter().zip(tries) {
        match result {
            Ok(ops) => reached.up.push(ops),
            Err(e) => reached.down.push((engine.clone(), e)),
        }
    }
    reached
}

/// The engine named `choice`, else the first listed. With one engine and no choice, its
/// error is exactly what cctui said before it knew several.
pub async fn one(config: &Config, engines: &[Engine], choice: Option<&str>) -> Result<EngineOps> {
    let engine = match choice {
        Some(name) => crate::engines::named(engines, name)?,
        None => engines
            .first()
            .expect("resolve never returns an empty list"),
    };
    match connect(config, engine).await {
        Ok(ops) => Ok(ops),
        Err(e) if engines.len() == 1 && choice.is_none() => Err(e),
        Err(e) => Err(with_engine(&engine.name, e)),
    }
}

/// The engine the session `name` lives on: with `choice`, that engine; with one engine,
/// it; else every engine is asked at once, and the one that has it answers. A name on two
/// engines is an error naming both; engines that are down are said, and block nothing.
pub async fn locate(
    config: &Config,
    engines: &[Engine],
    name: &str,
    choice: Option<&str>,
) -> Result<EngineOps> {
    if choice.is_some() || engines.len() == 1 {
        return one(config, engines, choice).await;
    }
    let reached = reach_all(config, engines).await;
    let lists = futures_util::future::join_all(reached.up.iter().map(|e| e.ops.list())).await;
    let mut holders = Vec::new();
    let mut failed = Vec::new();
    for (engine, list) in reached.up.into_iter().zip(lists) {
        match list {
            Ok(sessions) if sessions.iter().any(|s| s.name == name) => holders.push(engine),
            Ok(_) => {}
            Err(e) => failed.push((engine.engine.clone(), e)),
        }
    }
    failed.extend(reached.down);
    match holders.len() {
        1 => {
            for (engine, e) in &failed {
                eprintln!(
                    "cctui: note: {}",
                    for_stderr(&engine_error(&engine.name, e).to_string())
                );
            }
            Ok(holders.remove(0))
        }
        0 => Err(not_found(name, engines, failed)),
        _ => {
            let names: Vec<String> = holders
                .iter()
                .map(|h| format!("`{}`", h.engine.name))
                .collect();
            Err(Error::usage(format!(
                "session `{name}` is on two engines, {}; choose one with --engine NAME",
                names.join(" and ")
            )))
        }
    }
}

fn not_found(name: &str, engines: &[Engine], failed: Vec<(Engine, Error)>) -> Error {
    let asked: Vec<&str> = engines.iter().map(|e| e.name.as_str()).collect();
    match failed.into_iter().next() {
        // It may be on the engine that did not answer: that engine's error, named.
        Some((engine, e)) => with_engine(&engine.name, e),
        None => Error::usage(format!(
            "no session named `{name}` on any engine ({}); `cctui ls` lists them",
            asked.join(", ")
        )),
    }
}

/// `e`, its text naming the engine, its kind (and so its exit code) kept.
pub fn with_engine(name: &str, e: Error) -> Error {
    let text = engine_error(name, &e);
    match e {
        Error::Backend(BackendError::Unreachable { .. } | BackendError::Timeout { .. }) => {
            Error::EngineDown(text)
        }
        Error::Backend(BackendError::Misconfigured { .. }) | Error::Usage(_) | Error::Config(_) => {
            Error::usage(text)
        }
        _ => Error::other(text),
    }
}
