//! `cctui doctor`: one line per check, a fix for each that fails.

use std::path::Path;
use std::time::Duration;

use crate::backend::{Backend, DockerBackend, LabelFilter};
use crate::config::{Config, ConfigError};
use crate::image::{AgentIds, Recipe, BASE_FROM};
use crate::sandbox::secrets;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Worth knowing; does not fail the run.
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub level: Level,
    pub name: String,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    fn new(level: Level, name: &str, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            level,
            name: name.to_string(),
            detail: detail.into(),
            fix,
        }
    }
    pub fn line(&self) -> String {
        let tag = match self.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        let mut s = format!("{tag} {:<14} {}", self.name, self.detail);
        if let Some(fix) = &self.fix {
            s.push_str(&format!("\n     {:<14} fix: {fix}", ""));
        }
        s
    }
}

/// Runs every check. Never fails itself: problems become failed checks.
pub async fn run(config: Result<Config, ConfigError>, config_path: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let config = match config {
        Ok(c) => {
            let detail = if config_path.exists() {
                format!("{} parses", config_path.display())
            } else {
                format!("{} absent; using defaults", config_path.display())
            };
            checks.push(Check::new(Level::Ok, "config", detail, None));
            c
        }
        Err(e) => {
            checks.push(Check::new(
                Level::Fail,
                "config",
                e.to_string(),
                Some("correct the key named above (see config/config.toml in the README)".into()),
            ));
            Config::default()
        }
    };

    check_secrets(&config, &mut checks);
    checks.push(check_api_key(&config).await);
    check_cas(&config, &mut checks);
    check_tmux(&mut checks);

    // Every engine, connected at once: one that is down costs its timeout, not the others'.
    let timeout = Duration::from_secs(config.engine.timeout_secs.min(10));
    let engines = crate::engines::resolve(&config);
    let connected = futures_util::future::join_all(
        engines
            .iter()
            .map(|e| DockerBackend::connect_to(&e.address, timeout)),
    )
    .await;
    let several = engines.len() > 1;
    for (engine, backend) in engines.iter().zip(connected) {
        let mut found = Vec::new();
        check_engine(engine, backend, several, &config, &mut found).await;
        if several {
            // Each line says which engine it is about.
            for c in &mut found {
                c.name = format!("{} [{}]", c.name, engine.name);
            }
        }
        checks.extend(found);
    }
    checks
}

/// The checks of one engine: reachable, its version, the base and session images, and the
/// guard rails of the sessions on it.
async fn check_engine(
    engine: &crate::engines::Engine,
    backend: crate::backend::Result<DockerBackend>,
    several: bool,
    config: &Config,
    checks: &mut Vec<Check>,
) {
    let backend = match backend {
        Ok(b) => b,
        Err(e) => {
            let (detail, fix) = match &e {
                crate::backend::BackendError::Unreachable { host, detail, fix }
                | crate::backend::BackendError::Misconfigured { host, detail, fix } => {
                    (format!("{host}: {detail}"), fix.clone())
                }
                other => (other.to_string(), "check the engine".to_string()),
            };
            checks.push(Check::new(Level::Fail, "engine", detail, Some(fix)));
            return;
        }
    };
    let from = if several {
        format!(", from {}", engine.origin.describe())
    } else {
        String::new()
    };
    match backend.info().await {
        Ok(info) => checks.push(Check::new(
            Level::Ok,
            "engine",
            format!(
                "{} (Docker {}, API {}, {}/{}{from})",
                info.host, info.version, info.api_version, info.os, info.arch
            ),
            None,
        )),
        Err(e) => {
            checks.push(Check::new(
                Level::Fail,
                "engine",
                e.to_string(),
                Some("restart the Docker engine".into()),
            ));
            return;
        }
    }
    match backend.inspect_image(BASE_FROM).await {
        Ok(Some(_)) => checks.push(Check::new(Level::Ok, "base image", BASE_FROM, None)),
        Ok(None) => checks.push(Check::new(
            Level::Fail,
            "base image",
            format!("{BASE_FROM} is missing"),
            Some(format!(
                "`docker pull {BASE_FROM}`; offline, make it with debootstrap as tests/run.sh does"
            )),
        )),
        Err(e) => checks.push(Check::new(Level::Fail, "base image", e.to_string(), None)),
    }
    check_images(&backend, config, checks).await;
    check_guard_rails(&backend, checks).await;
}

fn check_secrets(config: &Config, checks: &mut Vec<Check>) {
    for (k, v) in &config.session.env {
        if secrets::looks_like_key(v) {
            checks.push(Check::new(
                Level::Fail,
                "secrets",
                format!("session.env.{k} holds a value that looks like an API key"),
                Some(
                    "move it under [secrets]; keys never go into a container's environment".into(),
                ),
            ));
        }
    }
}

/// Where the credential comes from and where it is held. A configured source is resolved as
/// `cctui new` would (a command runs, with its timeout), and the check says whether it gave a
/// value, never the value.
pub async fn check_api_key(config: &Config) -> Check {
    let held = if config.firewall.mode == crate::config::FirewallMode::On {
        format!(
            "held by the credential broker in the network holder, forwarded to {}",
            config.broker.upstream
        )
    } else {
        "firewall off: a tmpfs file in the agent's container, via apiKeyHelper".into()
    };
    let (what, key, src) = match (
        &config.secrets.anthropic_api_key,
        &config.secrets.claude_code_oauth_token,
    ) {
        (Some(s), _) => ("api key", "secrets.anthropic_api_key", s),
        (None, Some(s)) => ("setup token", "secrets.claude_code_oauth_token", s),
        (None, None) => {
            return Check::new(
                Level::Ok,
                "api key",
                format!("{}; {held}", env_key().await),
                None,
            )
        }
    };
    let source = match (&src.env, &src.file, &src.command) {
        (Some(var), _, _) => format!("env {var}"),
        (_, Some(file), _) => format!("file {}", file.display()),
        (_, _, Some(command)) => format!("command `{command}`"),
        _ => "nothing".to_string(),
    };
    match secrets::resolve(src, key).await {
        Ok(value) => {
            let shape = if secrets::looks_like_key(value.expose()) {
                "a key"
            } else {
                "a value (not shaped like an Anthropic key, sk-ant-...)"
            };
            Check::new(
                Level::Ok,
                "api key",
                format!("{what} from {source} gives {shape}, not shown; {held}"),
                None,
            )
        }
        Err(e) => Check::new(
            Level::Fail,
            "api key",
            e.to_string(),
            Some(format!(
                "fix {key} (the command, file or variable, or timeout_secs); `cctui new` fails \
                 the same way"
            )),
        ),
    }
}

/// Whether the environment holds a key, and in which variable; never its value.
async fn env_key() -> String {
    match secrets::env_credential().await {
        Some((var, _)) => format!("found: {var} is set (not shown)"),
        None => "no key found: ANTHROPIC_API_KEY and CLAUDE_CODE_OAUTH_TOKEN are not set and \
                 no secrets.* is configured; claude will ask you to log in"
            .to_string(),
    }
}

fn check_cas(config: &Config, checks: &mut Vec<Check>) {
    if config.image.extra_ca_certs.is_empty() {
        checks.push(Check::new(Level::Ok, "extra CAs", "none configured", None));
        return;
    }
    match Recipe::load(config, &crate::paths::config_dir()) {
        Ok(_) => checks.push(Check::new(
            Level::Ok,
            "extra CAs",
            format!(
                "{} certificate(s) readable",
                config.image.extra_ca_certs.len()
            ),
            None,
        )),
        Err(e) => checks.push(Check::new(
            Level::Fail,
            "extra CAs",
            e.to_string(),
            Some("fix image.extra_ca_certs in config.toml".into()),
        )),
    }
}

fn check_tmux(checks: &mut Vec<Check>) {
    let found = std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match found {
        Some(v) => {
            let inside = if std::env::var_os("TMUX").is_some() {
                "; running inside tmux"
            } else {
                ""
            };
            checks.push(Check::new(Level::Ok, "tmux", format!("{v}{inside}"), None))
        }
        None => checks.push(Check::new(
            Level::Warn,
            "tmux",
            "not found; the t/T keys (open in a tmux pane/window) need it",
            Some("install tmux (`apt install tmux`)".into()),
        )),
    }
}

async fn check_images(backend: &DockerBackend, config: &Config, checks: &mut Vec<Check>) {
    let recipe = match Recipe::load(config, &crate::paths::config_dir()) {
        Ok(r) => r,
        Err(_) => return, // reported by the CA check
    };
    let recipe = match backend.inspect_image(BASE_FROM).await {
        Ok(Some(base)) => recipe.on_base(&base.id),
        _ => recipe,
    };
    // Images are per agent uid: the ones `cctui new` and `cctui build` would use from here.
    let ids = match AgentIds::for_current_folder() {
        Ok((ids, why)) => {
            checks.push(Check::new(
                Level::Ok,
                "images",
                format!("for agent uid {}:{} ({why})", ids.uid, ids.gid),
                None,
            ));
            ids
        }
        Err(e) => {
            checks.push(Check::new(
                Level::Warn,
                "images",
                format!("cannot tell whose images to check: {e}"),
                Some("run `cctui doctor` in a project folder".into()),
            ));
            return;
        }
    };
    let mut plans = match recipe.agent_chain(ids, &config.session.profiles) {
        Ok(p) => p,
        Err(e) => {
            checks.push(Check::new(Level::Fail, "images", e.to_string(), None));
            return;
        }
    };
    plans.push(recipe.net_image());
    for plan in plans {
        match backend.inspect_image(&plan.tag).await {
            Ok(Some(_)) => {
                // A build argument's value shows in the layer history: a key there is leaked.
                let history = backend.image_history(&plan.tag).await.unwrap_or_default();
                if history.iter().any(|l| secrets::looks_like_key(l)) {
                    checks.push(Check::new(
                        Level::Fail,
                        "image secrets",
                        format!(
                            "{} was built with a value that looks like an API key",
                            plan.tag
                        ),
                        Some(format!(
                            "remove the image (`docker rmi {}`) and the key from your recipe; \
                             cctui delivers keys at run time",
                            plan.tag
                        )),
                    ));
                }
                checks.push(Check::new(Level::Ok, "image", plan.tag, None))
            }
            Ok(None) => checks.push(Check::new(
                Level::Warn,
                "image",
                format!("{} not built yet", plan.tag),
                Some("`cctui build` (or it is built on the first `cctui new`)".into()),
            )),
            Err(e) => checks.push(Check::new(Level::Fail, "image", e.to_string(), None)),
        }
    }
}

async fn check_guard_rails(backend: &DockerBackend, checks: &mut Vec<Check>) {
    let Ok(containers) = backend
        .list_containers(&LabelFilter::has(crate::backend::labels::SESSION))
        .await
    else {
        return;
    };
    let mut projects: Vec<String> = containers
        .iter()
        .filter_map(|c| c.labels.get(crate::backend::labels::PROJECT).cloned())
        .collect();
    check_host_git(&containers, checks);
    projects.sort();
    projects.dedup();
    for p in projects {
        for f in secrets::key_looking_env_files(Path::new(&p)) {
            checks.push(Check::new(
                Level::Warn,
                "project secrets",
                format!(
                    "{} holds a value that looks like an API key, visible to the agent",
                    f.display()
                ),
                Some("move the key out of the project folder; cctui delivers keys itself".into()),
            ));
        }
    }
}

/// In-place sessions of git repositories (`--in-place`): what changed in the repository's
/// `.git` (config, hooks, attributes) since the session was made, read as files.
fn check_host_git(containers: &[crate::backend::ContainerSummary], checks: &mut Vec<Check>) {
    use crate::workspace::{fingerprint, label};
    let mut seen = std::collections::BTreeSet::new();
    for c in containers {
        let exposed = c.labels.get(label::EXPOSED).map(String::as_str) == Some("1");
        let Some(session) = c.labels.get(crate::backend::labels::SESSION) else {
            continue;
        };
        if !exposed || !seen.insert(session.clone()) {
            continue;
        }
        let project = c
            .labels
            .get(crate::backend::labels::PROJECT)
            .cloned()
            .unwrap_or_default();
        match fingerprint::load(session) {
            None => checks.push(Check::new(
                Level::Warn,
                "host git",
                format!("{session}: {project}/.git is writable by the agent (--in-place) and was not fingerprinted"),
                Some("check its config and hooks by hand before running git there".into()),
            )),
            Some(fp) => {
                let changed = fingerprint::changes(&fp);
                if changed.is_empty() {
                    checks.push(Check::new(
                        Level::Warn,
                        "host git",
                        format!("{session}: {project}/.git is writable by the agent (--in-place); its config and hooks are unchanged so far"),
                        None,
                    ));
                } else {
                    checks.push(Check::new(
                        Level::Fail,
                        "host git",
                        format!(
                            "{session}: {} changed in {project} while the agent could write it: {}",
                            if changed.len() == 1 { "this file" } else { "these files" },
                            changed.join(", ")
                        ),
                        Some(format!(
                            "run no git in {project} until you have read them (`cat`, not git); \
                             remove what you did not put there"
                        )),
                    ));
                }
            }
        }
    }
}

/// True when no check failed.
pub fn passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.level != Level::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretSource;

    fn with_command(command: &str, timeout_secs: Option<u64>) -> Config {
        let mut c = Config::default();
        c.secrets.anthropic_api_key = Some(SecretSource {
            command: Some(command.into()),
            timeout_secs,
            ..Default::default()
        });
        c
    }

    #[tokio::test]
    async fn the_api_key_command_is_run_and_its_key_never_shown() {
        let marker = std::env::temp_dir().join(format!("cctui-doctor-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        // A canary in two halves, so that the command text itself does not hold it.
        let canary = format!("sk-ant-{}{}", "doctorcanary", "0123456789abcdef");
        let cmd = format!(
            "touch {}; printf '%s%s' sk-ant-doctorcanary 0123456789abcdef",
            marker.display()
        );
        let check = check_api_key(&with_command(&cmd, None)).await;
        assert!(marker.exists(), "the command did not run");
        let _ = std::fs::remove_file(&marker);
        assert_eq!(check.level, Level::Ok, "{}", check.line());
        assert!(check.detail.contains("gives a key"), "{}", check.line());
        assert!(!check.line().contains(&canary), "{}", check.line());
    }

    #[tokio::test]
    async fn a_failing_or_hanging_api_key_command_fails_the_check_within_its_timeout() {
        let check = check_api_key(&with_command("echo nope >&2; exit 3", None)).await;
        assert_eq!(check.level, Level::Fail, "{}", check.line());
        assert!(check.detail.contains("nope"), "{}", check.line());
        let started = std::time::Instant::now();
        let check = check_api_key(&with_command("sleep 30", Some(1))).await;
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(check.level, Level::Fail, "{}", check.line());
        assert!(check.detail.contains("within 1 s"), "{}", check.line());
        let check = check_api_key(&with_command("true", None)).await;
        assert_eq!(check.level, Level::Fail, "an empty value: {}", check.line());
    }
}
