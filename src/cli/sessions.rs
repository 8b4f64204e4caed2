//! The session commands: each one call of the session layer's operation, then what it did.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::engines::EngineOps;
use super::print::{ls_json, print_table, state_word, ProgressPrinter};
use crate::backend::Backend;
use crate::config::Config;
use crate::engines::Engine;
use crate::error::{Error, Result};
use crate::image::{AgentIds, BuildOptions};
use crate::prompt::confirm;
use crate::session::commands::{ImageRequest, NewSession, WorkspaceChoice};
use crate::session::ops::{Changed, Ops};
use crate::session::Session;
use crate::term::sanitize::for_stderr;

#[derive(Debug, Clone, Args)]
pub struct NewArgs {
    /// The project folder (default: the current folder)
    pub path: Option<PathBuf>,
    /// Session name (default: the folder's name)
    #[arg(long)]
    pub name: Option<String>,
    /// Toolchain profile: python, rust, go, node, java, c (repeatable; default: those of the
    /// project's other sessions, else the config's)
    #[arg(long = "profile", value_name = "P")]
    pub profiles: Vec<String>,
    /// Join an existing Docker network, e.g. your compose app's (repeatable)
    #[arg(long = "network", value_name = "NET")]
    pub networks: Vec<String>,
    /// Bring your uncommitted and untracked files into the session's repository
    #[arg(long, conflicts_with = "in_place")]
    pub with_changes: bool,
    /// Mount a git repository's folder itself (the agent can then write its .git)
    #[arg(long)]
    pub in_place: bool,
    /// Start a new project: an empty folder becomes a git repository (git init) and the
    /// session works in a repository of its own, merged back like any other
    #[arg(long, conflicts_with_all = ["in_place", "with_changes"])]
    pub git: bool,
}

impl NewArgs {
    /// The request these flags make, the same the dashboard's dialog makes for the same
    /// answers.
    pub fn request(&self) -> NewSession {
        NewSession {
            path: self.path.clone().unwrap_or_else(|| PathBuf::from(".")),
            name: self.name.clone(),
            profiles: self.profiles.clone(),
            networks: self.networks.clone(),
            firewall: None,
            workspace: WorkspaceChoice::from_flags(self.with_changes, self.in_place, self.git),
            one_shot: false,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    #[arg(long = "profile", value_name = "P")]
    pub profiles: Vec<String>,
    /// Pull the base image again
    #[arg(long)]
    pub pull: bool,
    /// Build every layer from scratch
    #[arg(long)]
    pub no_cache: bool,
    /// Build the images for this folder's owner (default: the current folder, or you when
    /// it cannot be a project, e.g. a root-owned one)
    #[arg(long)]
    pub path: Option<PathBuf>,
}

/// `cctui new` on the chosen engine: the name must be free on every engine reached, and a
/// folder that is mounted (not a git repository's data) must exist on the engine's machine.
pub async fn new_on(
    on: &EngineOps,
    config: &Config,
    engines: &[Engine],
    args: &NewArgs,
) -> Result<ExitCode> {
    let ops = &on.ops;
    let request = args.request();
    if engines.len() > 1 {
        let (plan, _) = ops.plan_new(&request).await?;
        let others: Vec<Engine> = engines
            .iter()
            .filter(|e| e.name != on.engine.name)
            .cloned()
            .collect();
        let reached = super::engines::reach_all(config, &others).await;
        reached.say_down();
        for other in &reached.up {
            if other
                .ops
                .list()
                .await?
                .iter()
                .any(|s| s.name == plan.name.as_str())
            {
                return Err(Error::usage(format!(
                    "session `{}` already exists on engine `{}`; names are unique across \
                     engines: choose another with --name",
                    plan.name, other.engine.name
                )));
            }
        }
    }
    let mut printer = ProgressPrinter::new();
    let created = ops.new_session(&request, |p| printer.show(&p)).await;
    printer.finish();
    let created = created.map_err(|e| missing_folder_on(&on.engine, e))?;
    let s = &created.session;
    println!("{}: {} ({})", s.name, state_word(s), s.project);
    Ok(ExitCode::SUCCESS)
}

/// A bind mount whose source is not on the engine's machine, said as what to do.
fn missing_folder_on(engine: &Engine, e: Error) -> Error {
    let text = e.to_string();
    if !text.contains("bind source path does not exist") {
        return e;
    }
    let path = text
        .rsplit("does not exist: ")
        .next()
        .unwrap_or_default()
        .trim();
    Error::usage(format!(
        "engine `{}`: the folder {path} does not exist on the engine's machine; a folder that \
         is not a git repository is mounted there, not copied: create it on that machine (same \
         path), or make the project a git repository, whose files travel to the engine as data",
        engine.name
    ))
}

/// `cctui ls`: the sessions of every engine (or of `--engine`'s), each with its engine; an
/// engine that cannot be reached is said on stderr and fails only when none answers.
pub async fn ls_all(
    config: &Config,
    engines: &[Engine],
    choice: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let reached = match choice {
        Some(_) => super::engines::Reached {
            up: vec![super::engines::one(config, engines, choice).await?],
            down: Vec::new(),
        },
        // One engine: exactly as before, its error the command's.
        None if engines.len() == 1 => super::engines::Reached {
            up: vec![super::engines::one(config, engines, None).await?],
            down: Vec::new(),
        },
        None => super::engines::reach_all(config, engines).await,
    };
    reached.say_down();
    if reached.up.is_empty() {
        let (engine, e) = reached
            .down
            .into_iter()
            .next()
            .expect("engines is never empty");
        return Err(super::engines::with_engine(&engine.name, e));
    }
    let lists = futures_util::future::join_all(reached.up.iter().map(|e| e.ops.list())).await;
    let mut listed: Vec<(String, Vec<Session>)> = Vec::new();
    for (engine, list) in reached.up.iter().zip(lists) {
        match list {
            Ok(sessions) => listed.push((engine.engine.name.clone(), sessions)),
            Err(e) => eprintln!(
                "cctui: {}",
                for_stderr(&super::engines::engine_error(&engine.engine.name, &e).to_string())
            ),
        }
    }
    if json {
        let mut all = Vec::new();
        for (engine, sessions) in &listed {
            let mut list = ls_json(sessions);
            super::print::name_engine(&mut list, engine);
            if let Some(on) = reached.up.iter().find(|e| &e.engine.name == engine) {
                super::usage::add_usage(&mut list, &on.ops.usages(sessions).await);
            }
            all.extend(list.as_array().cloned().unwrap_or_default());
        }
        let text = serde_json::to_string_pretty(&serde_json::Value::Array(all)).expect("json");
        println!("{text}");
    } else {
        let rows: Vec<(&str, &Session)> = listed
            .iter()
            .flat_map(|(engine, sessions)| sessions.iter().map(move |s| (engine.as_str(), s)))
            .collect();
        print_table(&rows);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn start<B: Backend>(ops: &Ops<B>, name: &str) -> Result<ExitCode> {
    let mut printer = ProgressPrinter::new();
    ops.start(name, |p| printer.show(&p)).await?;
    printer.finish();
    Ok(ExitCode::SUCCESS)
}

pub async fn stop<B: Backend>(ops: &Ops<B>, name: &str) -> Result<ExitCode> {
    if ops.stop(name).await? == Changed::Already {
        eprintln!("{name} was not running");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn restart<B: Backend>(ops: &Ops<B>, name: &str) -> Result<ExitCode> {
    let mut printer = ProgressPrinter::new();
    ops.restart(name, |p| printer.show(&p)).await?;
    printer.finish();
    Ok(ExitCode::SUCCESS)
}

pub async fn remove<B: Backend>(
    ops: &Ops<B>,
    name: &str,
    volumes: bool,
    yes: bool,
    force: bool,
) -> Result<ExitCode> {
    if volumes && !yes {
        let (vols, _) = ops.volumes_of(name).await?;
        let question = format!(
            "Delete session `{name}` and its volumes {} (Claude login state and shell \
             history)? This cannot be undone. [y/N] ",
            vols.join(", ")
        );
        if !confirm(&question)? {
            return Err(Error::usage("not removed"));
        }
    }
    let repo_session = ops.repo_session(name).await.ok();
    let removed = ops.remove_with(name, volumes, force).await?;
    if let Some(rs) = repo_session {
        eprintln!(
            "its branch {} stays in {}; `cctui prune` there deletes the branches of ended \
             sessions once merged or discarded",
            rs.branch,
            rs.repo.root.display()
        );
    }
    println!(
        "removed {}{}",
        removed.containers.join(", "),
        if !removed.volumes_shared_with.is_empty() {
            format!(
                " (the project's volumes are kept: {} still use them; removing the last of \
                 them with --volumes deletes them)",
                removed.volumes_shared_with.join(", ")
            )
        } else if removed.volumes.is_empty() {
            " (volumes kept)".to_string()
        } else {
            format!(" and volumes {}", removed.volumes.join(", "))
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `cctui build`: the images for a folder's owner and a set of profiles, and the holder's.
pub async fn build<B: Backend>(ops: &Ops<B>, args: &BuildArgs) -> Result<ExitCode> {
    let ids = match &args.path {
        Some(folder) => AgentIds::of_folder(folder)?,
        None => AgentIds::for_current_folder()?.0,
    };
    let profiles = if args.profiles.is_empty() {
        ops.config.session.profiles.clone()
    } else {
        args.profiles.clone()
    };
    let request = ImageRequest {
        ids,
        profiles,
        holder: true,
        options: BuildOptions {
            no_cache: args.no_cache,
            pull: args.pull,
            force: args.pull || args.no_cache,
            stall: None,
        },
    };
    let mut printer = ProgressPrinter::new();
    ops.build_images(&request, |p| printer.show(&p)).await?;
    printer.finish();
    Ok(ExitCode::SUCCESS)
}

pub async fn logout<B: Backend>(ops: &Ops<B>, name: &str, yes: bool) -> Result<ExitCode> {
    if !yes
        && !confirm(&format!(
            "Remove the Claude login stored for `{name}`'s project? [y/N] "
        ))?
    {
        return Err(Error::usage("not logged out"));
    }
    ops.logout(name).await?;
    println!("logged out: {name}'s project has no stored Claude login");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::app::action::Action;
    use crate::app::effect::{Effect, Op};
    use crate::app::forms::NewForm;
    use crate::app::keymap::Keymap;
    use crate::app::state::{Mode, State, UiSettings};

    fn from_cli(args: &[&str]) -> NewSession {
        match super::super::Cli::try_parse_from(args).unwrap().command {
            Some(super::super::Command::New(a)) => a.request(),
            other => panic!("not `new`: {other:?}"),
        }
    }

    /// What the new-session dialog's job asks for, from these answers and Enter.
    fn from_dialog(path: &str, name: &str, profiles: &[&str]) -> NewSession {
        let settings = UiSettings {
            log_lines: 100,
            engine_host: "unix:///test.sock".into(),
            ..Default::default()
        };
        let mut state = State::new(Keymap::default(), settings);
        state.mode = Mode::New(NewForm {
            path: path.into(),
            name: name.into(),
            profiles: crate::config::KNOWN_PROFILES
                .iter()
                .map(|p| (p.to_string(), profiles.contains(p)))
                .collect(),
            profiles_touched: !profiles.is_empty(),
            ..Default::default()
        });
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        crate::app::update::update(&mut state, Action::Key(enter))
            .into_iter()
            .find_map(|e| match e {
                Effect::Run {
                    op: Op::Create(request),
                    ..
                } => Some(crate::app::jobs::new_session_request(&request)),
                _ => None,
            })
            .expect("Enter in the dialog starts a create job")
    }

    #[test]
    fn the_dialog_and_cctui_new_make_the_same_request() {
        assert_eq!(
            from_dialog("/srv/app", "", &[]),
            from_cli(&["cctui", "new", "/srv/app"])
        );
        assert_eq!(
            from_dialog("/srv/app", "app-2", &["python", "rust"]),
            from_cli(&[
                "cctui",
                "new",
                "/srv/app",
                "--name",
                "app-2",
                "--profile",
                "python",
                "--profile",
                "rust"
            ])
        );
        // The flags the dialog does not offer are what the config says, for both.
        let r = from_cli(&["cctui", "new", "/srv/app"]);
        assert!(r.networks.is_empty() && r.firewall.is_none());
        assert_eq!(r.workspace, WorkspaceChoice::Default);
        let in_place = from_cli(&["cctui", "new", "/srv/app", "--in-place"]);
        assert_eq!(in_place.workspace, WorkspaceChoice::InPlace);
    }
}
