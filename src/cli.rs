//! The command line: every dashboard action is also a command. Exit codes: 0 done, 1 failed,
//! 2 bad input or config, 3 the engine cannot be reached.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use futures_util::StreamExt;

use crate::backend::{Backend, DockerBackend, LogStream};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::image::{self, AgentIds, BuildOptions, BuildProgress};
use crate::prompt::confirm;
use crate::sandbox::firewall;
use crate::session::ops::{Ops, Progress};
use crate::session::{plan_session, Session};

#[derive(Debug, Parser)]
#[command(
    name = "cctui",
    version,
    about = "Run Claude Code in hardened Docker sandboxes, one per project, from a terminal dashboard",
    long_about = "Run Claude Code in hardened Docker sandboxes, one per project, behind an egress \
                  allowlist the agent cannot change. With no command, opens the dashboard."
)]
pub struct Cli {
    /// Config file (default: $CCTUI_CONFIG, then ~/.config/cctui/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and start a session for a project folder
    New {
        /// The project folder (default: the current folder)
        path: Option<PathBuf>,
        /// Session name (default: the folder's name)
        #[arg(long)]
        name: Option<String>,
        /// Toolchain profile: python, rust, go, node, java, c (repeatable)
        #[arg(long = "profile", value_name = "P")]
        profiles: Vec<String>,
        /// Join an existing Docker network, e.g. your compose app's (repeatable)
        #[arg(long = "network", value_name = "NET")]
        networks: Vec<String>,
        /// Bring your uncommitted and untracked files into the session's repository
        #[arg(long, conflicts_with = "in_place")]
        with_changes: bool,
        /// Mount a git repository's folder itself (the agent can then write its .git)
        #[arg(long)]
        in_place: bool,
    },
    /// List sessions
    Ls {
        /// Machine-readable output (stable; see the README)
        #[arg(long)]
        json: bool,
    },
    /// Start a stopped session (its firewall is re-applied and re-verified first)
    Start { name: String },
    /// Stop a session; its containers and volumes stay
    Stop { name: String },
    /// Stop and start a session
    Restart { name: String },
    /// Remove a session's containers (and, with --volumes, its login state and history)
    Rm {
        name: String,
        #[arg(long)]
        volumes: bool,
        /// Do not ask before deleting volumes
        #[arg(long, short)]
        yes: bool,
        /// Remove even with work not merged, applied or discarded (it is lost)
        #[arg(long)]
        force: bool,
    },
    /// Attach the terminal to the session's claude (detach: Ctrl-\)
    Attach { name: String },
    /// Print the session's container logs
    Logs {
        name: String,
        #[arg(short, long)]
        follow: bool,
        /// Lines from the end
        #[arg(long, default_value_t = 200)]
        tail: usize,
    },
    /// A login shell in the session, as the agent user
    Shell { name: String },
    /// Run a command in the session, as the agent user
    Exec {
        name: String,
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
    /// Build (or find) the images for a set of profiles
    Build {
        #[arg(long = "profile", value_name = "P")]
        profiles: Vec<String>,
        /// Pull the base image again
        #[arg(long)]
        pull: bool,
        /// Build every layer from scratch
        #[arg(long)]
        no_cache: bool,
        /// Build the images for this folder's owner (default: the current folder, or you when
        /// it cannot be a project, e.g. a root-owned one)
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Run claude headless in a session: `cctui run NAME -- -p "review src/"`
    Run {
        name: String,
        #[arg(last = true, required = true)]
        args: Vec<String>,
    },
    /// Log claude in (OAuth) inside the session; the login persists in the project's volume
    Login { name: String },
    /// Remove the session's stored Claude login (asks first)
    Logout {
        name: String,
        #[arg(long, short)]
        yes: bool,
    },
    /// The egress firewall of a session
    Fw {
        #[command(subcommand)]
        command: FwCommand,
    },
    /// Settings a repository proposes in its .cctui.toml
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    #[command(flatten)]
    Git(crate::workspace::cli::GitCommand),
    /// Check the engine, images, config and tools
    Doctor,
    /// Print the default config (commented), or where the config file is
    Config {
        #[arg(long)]
        path: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Show how the repository's proposal differs from the settings in effect
    Diff { path: Option<PathBuf> },
    /// Accept the repository's proposal (validated, then copied into cctui's config folder)
    Accept { path: Option<PathBuf> },
}

#[derive(Debug, Subcommand)]
pub enum FwCommand {
    /// Status, allowlist and counters
    Status {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Run every firewall check now
    Verify { name: String },
    /// Allow a rule for this session, live: `example.com`, `*.example.com`, `10.0.0.0/8:5432`
    Allow { name: String, rule: String },
    /// Remove a rule this session added, live
    Deny { name: String, rule: String },
    /// Names refused and connections rejected, newest last
    Log {
        name: String,
        #[arg(short, long)]
        follow: bool,
        #[arg(long, default_value_t = 50)]
        lines: usize,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any thread or child process: every variable a secret may come from leaves our
    // environment, so nothing cctui starts inherits it. A config that does not load here
    // reports its error later, in the command.
    let secret_vars = Config::load(&crate::paths::config_file(cli.config.as_deref()))
        .map(|c| c.secrets.env_var_names())
        .unwrap_or_default();
    crate::sandbox::secrets::take_key_env(&secret_vars);
    let _log_guard = init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cctui: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("cctui: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs go to a file, never to the terminal the dashboard draws on.
fn init_logging() -> Option<()> {
    let path = crate::paths::log_file();
    std::fs::create_dir_all(path.parent()?).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CCTUI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .ok()
}

fn load_config(flag: Option<&Path>) -> Result<(Config, PathBuf)> {
    let path = crate::paths::config_file(flag);
    Ok((Config::load(&path)?, path))
}

async fn connect(config: &Config) -> Result<Ops<DockerBackend>> {
    let backend = DockerBackend::connect(
        Some(&config.engine.host),
        Duration::from_secs(config.engine.timeout_secs),
    )
    .await?;
    Ok(Ops::new(
        backend,
        config.clone(),
        crate::paths::config_dir(),
    ))
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let command = match cli.command {
        Some(c) => c,
        None => {
            let (config, _) = load_config(cli.config.as_deref())?;
            let ops = connect(&config).await?;
            return crate::app::run(ops).await.map(|_| ExitCode::SUCCESS);
        }
    };
    if let Command::Doctor = command {
        let path = crate::paths::config_file(cli.config.as_deref());
        let checks = crate::doctor::run(Config::load(&path), &path).await;
        for c in &checks {
            println!("{}", c.line());
        }
        return Ok(if crate::doctor::passed(&checks) {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if let Command::Project { command } = command {
        let (config, _) = load_config(cli.config.as_deref())?;
        let dir = crate::paths::config_dir();
        return match command {
            ProjectCommand::Diff { path } => {
                let project = crate::session::Project::at(&path.unwrap_or_else(|| ".".into()))?;
                match crate::project::pending_proposal(&dir, &project)? {
                    None => println!(
                        "nothing to review: no new {}",
                        crate::project::PROPOSAL_FILE
                    ),
                    Some(p) => {
                        println!(
                            "{} proposes (+) against the settings in effect (-):",
                            p.file.display()
                        );
                        for line in p.diff {
                            println!("{line}");
                        }
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            ProjectCommand::Accept { path } => {
                let project = crate::session::Project::at(&path.unwrap_or_else(|| ".".into()))?;
                let target = crate::project::accept(&dir, &project, &config)?;
                println!(
                    "accepted; the settings now live in {} (restart sessions to apply)",
                    target.display()
                );
                Ok(ExitCode::SUCCESS)
            }
        };
    }
    if let Command::Config { path } = command {
        if path {
            println!(
                "{}",
                crate::paths::config_file(cli.config.as_deref()).display()
            );
        } else {
            print!("{}", crate::config::DEFAULT_CONFIG);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (config, _) = load_config(cli.config.as_deref())?;
    let ops = connect(&config).await?;
    match command {
        Command::New {
            path,
            name,
            profiles,
            networks,
            with_changes,
            in_place,
        } => {
            let path = path.unwrap_or_else(|| PathBuf::from("."));
            let project = crate::session::Project::at(&path)?;
            if let Some(p) = crate::project::pending_proposal(&ops.config_dir, &project)? {
                eprintln!(
                    "note: {} proposes settings that are not in effect; review them with \
                     `cctui project diff {}` and accept with `cctui project accept {}`",
                    p.file.display(),
                    project.path.display(),
                    project.path.display()
                );
            }
            let project_config = ops.project_config(&project.path)?;
            let mut plan = plan_session(
                &project_config,
                &path,
                name.as_deref(),
                &profiles,
                &networks,
            )?;
            crate::workspace::cli::choose(&mut plan, with_changes, in_place)?;
            let mut printer = ProgressPrinter::new();
            let session = ops.create(&plan, |p| printer.show(&p)).await?;
            printer.finish();
            println!(
                "{}: {} ({})",
                session.name,
                state_word(&session),
                session.project
            );
        }
        Command::Ls { json } => {
            let sessions = ops.list().await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&ls_json(&sessions)).expect("json")
                );
            } else {
                print_table(&sessions);
            }
        }
        Command::Start { name } => {
            let mut printer = ProgressPrinter::new();
            ops.start(&name, |p| printer.show(&p)).await?;
            printer.finish();
        }
        Command::Stop { name } => {
            if ops.stop(&name).await? == crate::session::ops::Changed::Already {
                eprintln!("{name} was not running");
            }
        }
        Command::Restart { name } => {
            let mut printer = ProgressPrinter::new();
            ops.restart(&name, |p| printer.show(&p)).await?;
            printer.finish();
        }
        Command::Rm {
            name,
            volumes,
            yes,
            force,
        } => {
            if volumes && !yes {
                let (vols, _) = ops.volumes_of(&name).await?;
                let question = format!(
                    "Delete session `{name}` and its volumes {} (Claude login state and shell \
                     history)? This cannot be undone. [y/N] ",
                    vols.join(", ")
                );
                if !confirm(&question)? {
                    return Err(Error::usage("not removed"));
                }
            }
            let removed = ops.remove_with(&name, volumes, force).await?;
            println!(
                "removed {}{}",
                removed.containers.join(", "),
                if removed.volumes.is_empty() {
                    " (volumes kept)".to_string()
                } else {
                    format!(" and volumes {}", removed.volumes.join(", "))
                }
            );
        }
        Command::Attach { name } => crate::app::run_attached(ops, &name).await?,
        Command::Logs { name, follow, tail } => {
            let session = ops.find(&name).await?;
            let id = session
                .agent
                .map(|a| a.id)
                .ok_or_else(|| Error::usage(format!("session `{name}` has no agent container")))?;
            let mut stream = ops.backend.logs(&id, tail, follow);
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                match chunk.stream {
                    LogStream::Stderr => std::io::stderr().write_all(&chunk.bytes).ok(),
                    _ => out.write_all(&chunk.bytes).and_then(|_| out.flush()).ok(),
                };
            }
        }
        Command::Shell { name } => {
            let id = ops.running_agent(&name).await?;
            return docker_exec(&ops, &id, &["bash".into(), "-l".into()]).await;
        }
        Command::Exec { name, cmd } => {
            let id = ops.running_agent(&name).await?;
            return docker_exec(&ops, &id, &cmd).await;
        }
        Command::Run { name, args } => {
            let id = ops.running_agent(&name).await?;
            let cmd: Vec<String> = std::iter::once("claude".to_string()).chain(args).collect();
            return docker_exec(&ops, &id, &cmd).await;
        }
        Command::Build {
            profiles,
            pull,
            no_cache,
            path,
        } => {
            let ids = match path {
                Some(folder) => AgentIds::of_folder(&folder)?,
                None => AgentIds::for_current_folder()?.0,
            };
            let profiles = if profiles.is_empty() {
                config.session.profiles.clone()
            } else {
                profiles
            };
            let recipe = ops.recipe().await?;
            let mut plans = recipe.agent_chain(ids, &profiles)?;
            plans.push(recipe.net_image());
            let options = BuildOptions {
                no_cache,
                pull,
                force: pull || no_cache,
                stall: None,
            }
            .with_config(&config);
            let mut printer = ProgressPrinter::new();
            for plan in plans {
                image::ensure_images(&ops.backend, std::slice::from_ref(&plan), options, |p| {
                    printer.show(&Progress::Build(p))
                })
                .await?;
            }
            printer.finish();
        }
        Command::Login { name } => {
            let id = ops.running_agent(&name).await?;
            return docker_exec(&ops, &id, &["claude".into(), "/login".into()]).await;
        }
        Command::Logout { name, yes } => {
            if !yes
                && !confirm(&format!(
                    "Remove the Claude login stored for `{name}`'s project? [y/N] "
                ))?
            {
                return Err(Error::usage("not logged out"));
            }
            ops.logout(&name).await?;
            println!("logged out: {name}'s project has no stored Claude login");
        }
        Command::Fw { command } => return fw(&ops, command).await,
        Command::Git(command) => return crate::workspace::cli::run(&ops, command).await,
        Command::Doctor | Command::Config { .. } | Command::Project { .. } => {
            unreachable!("handled above")
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn fw(ops: &Ops<DockerBackend>, command: FwCommand) -> Result<ExitCode> {
    match command {
        FwCommand::Status { name, json } => {
            let status = crate::app::firewall_report(ops, &name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status).expect("json"));
            } else {
                println!("firewall: {}", status.status.label());
                if let firewall::FirewallStatus::Degraded { why } = &status.status {
                    println!("  why: {why}");
                }
                println!(
                    "rejected: {} packets, {} names refused, {} connections refused by name",
                    status.counters.rejected_packets,
                    status.counters.refused_names,
                    status.counters.refused_by_name
                );
                for line in crate::sandbox::broker::report_lines(status.broker.as_ref()) {
                    println!("{line}");
                }
                println!("allowlist ({} rules):", status.allowlist.rules.len());
                for r in &status.allowlist.rules {
                    println!("  {r:<40} {}", firewall::checks_text(r));
                }
            }
            Ok(
                if matches!(status.status, firewall::FirewallStatus::Degraded { .. }) {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                },
            )
        }
        FwCommand::Verify { name } => {
            let holder = ops.running_holder(&name).await?;
            match firewall::verify(&ops.backend, &holder).await? {
                Ok(()) => {
                    println!("verified");
                    Ok(ExitCode::SUCCESS)
                }
                Err(why) => {
                    println!("degraded: {why}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        FwCommand::Allow { name, rule } => {
            let list = ops.change_allowlist(&name, &rule, false).await?;
            println!(
                "allowed {rule} for {name}; {} rules in force",
                list.rules.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        FwCommand::Deny { name, rule } => {
            let list = ops.change_allowlist(&name, &rule, true).await?;
            println!(
                "removed {rule} from {name}; {} rules in force",
                list.rules.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        FwCommand::Log {
            name,
            follow,
            lines,
        } => {
            let holder = ops.running_holder(&name).await?;
            let mut last_seen: Option<firewall::Blocked> = None;
            loop {
                let log = firewall::blocked_log(&ops.backend, &holder, lines).await?;
                let start = match &last_seen {
                    Some(seen) => log
                        .iter()
                        .position(|b| b == seen)
                        .map(|i| i + 1)
                        .unwrap_or(0),
                    None => 0,
                };
                for b in &log[start..] {
                    println!("{}", blocked_line(b));
                }
                if let Some(b) = log.last() {
                    last_seen = Some(b.clone());
                }
                if !follow {
                    return Ok(ExitCode::SUCCESS);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

pub fn blocked_line(b: &firewall::Blocked) -> String {
    b.line()
}

/// An interactive `docker exec` as the agent user in the project folder, on this terminal.
async fn docker_exec(ops: &Ops<DockerBackend>, id: &str, cmd: &[String]) -> Result<ExitCode> {
    let details = ops.backend.inspect_container(id).await?;
    let workdir = details
        .summary
        .labels
        .get(crate::backend::labels::PROJECT)
        .cloned()
        .unwrap_or_else(|| "/".into());
    let mut command = std::process::Command::new("docker");
    command
        .env("DOCKER_HOST", ops.backend.host())
        .arg("exec")
        .arg("-i");
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        command.arg("-t");
    }
    command
        .args(["-u", &details.user, "-w", &workdir, id])
        .args(cmd);
    let status = command.status().map_err(|e| {
        Error::other(format!(
            "cannot run the docker CLI ({e}); install it (Debian: docker.io or docker-ce-cli)"
        ))
    })?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

pub fn state_word(s: &Session) -> String {
    use crate::backend::ContainerState as S;
    match s.state() {
        S::Created => "created".into(),
        S::Running => "running".into(),
        S::Paused => "paused".into(),
        S::Restarting => "restarting".into(),
        S::Removing => "removing".into(),
        // A stop sends SIGTERM: 143 (or 130 for SIGINT) is a clean stop, not a crash.
        S::Exited(0 | 130 | 143) => "stopped".into(),
        S::Exited(code) => format!("exited ({code})"),
        S::Dead => "error".into(),
        S::Unknown(u) => u,
    }
}

/// The stable `ls --json` shape: documented in the README; add fields, never rename.
fn ls_json(sessions: &[Session]) -> serde_json::Value {
    serde_json::Value::Array(
        sessions
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "project": s.project,
                    "state": state_word(s),
                    "running": s.state().is_running(),
                    "exit_code": match s.state() { crate::backend::ContainerState::Exited(c) => Some(c), _ => None },
                    "profiles": s.profiles,
                    "firewall": s.firewall.as_str(),
                    "container": s.agent.as_ref().map(|a| a.name.clone()),
                    "image": s.agent.as_ref().map(|a| a.image.clone()),
                    "created": s.agent.as_ref().map(|a| a.created),
                })
            })
            .collect(),
    )
}

fn print_table(sessions: &[Session]) {
    if sessions.is_empty() {
        println!("no sessions; create one with `cctui new PATH`");
        return;
    }
    println!(
        "{:<20} {:<12} {:<8} {:<16} PROJECT",
        "NAME", "STATE", "FIREWALL", "PROFILES"
    );
    for s in sessions {
        println!(
            "{:<20} {:<12} {:<8} {:<16} {}",
            s.name,
            state_word(s),
            // Off is shouted: egress is open.
            if s.firewall == crate::config::FirewallMode::Off {
                "OFF"
            } else {
                "on"
            },
            if s.profiles.is_empty() {
                "-".to_string()
            } else {
                s.profiles.join(",")
            },
            s.project
        );
        if crate::workspace::ops::host_git_exposed(s) {
            println!("  ✖ host git exposed: made with --in-place; its agent can write the repository's .git");
        }
    }
}

/// Build and start progress on stderr: one updating line on a terminal, plain lines otherwise.
struct ProgressPrinter {
    tty: bool,
    open_line: bool,
}

impl ProgressPrinter {
    fn new() -> Self {
        ProgressPrinter {
            tty: std::io::stderr().is_terminal(),
            open_line: false,
        }
    }

    fn show(&mut self, p: &Progress) {
        let mut err = std::io::stderr().lock();
        match p {
            Progress::Build(BuildProgress::Step {
                layer,
                index,
                total,
                text,
            }) => {
                let width = 20usize;
                let filled = (*index as usize * width) / (*total).max(1) as usize;
                let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
                let mut text = text.clone();
                text.truncate(60);
                if self.tty {
                    let _ = write!(err, "\r\x1b[2K[{layer}] [{bar}] {index}/{total} {text}");
                    self.open_line = true;
                } else {
                    let _ = writeln!(err, "[{layer}] {index}/{total} {text}");
                }
            }
            Progress::Build(BuildProgress::Output { .. }) => {}
            other => {
                if self.open_line {
                    let _ = writeln!(err);
                    self.open_line = false;
                }
                let line = match other {
                    Progress::Build(BuildProgress::Cached { layer, tag }) => {
                        format!("[{layer}] {tag} (cached)")
                    }
                    Progress::Build(BuildProgress::Started { layer, tag }) => {
                        format!("[{layer}] building {tag}")
                    }
                    Progress::Build(BuildProgress::Finished { layer, tag }) => {
                        format!("[{layer}] built {tag}")
                    }
                    Progress::Note(n) => n.clone(),
                    _ => String::new(),
                };
                let _ = writeln!(err, "{line}");
            }
        }
    }

    fn finish(&mut self) {
        if self.open_line {
            eprintln!();
            self.open_line = false;
        }
    }
}
