//! The command line: every dashboard action is also a command. Exit codes: 0 done, 1 failed,
//! 2 bad input or config, 3 the engine cannot be reached.

pub mod completions;
pub mod engines;
mod exec;
mod fw;
mod logs;
mod port;
mod print;
mod project;
mod prune;
mod run_rm;
pub mod sessions;
mod usage;
pub mod work;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::backend::DockerBackend;
use crate::config::Config;
use crate::error::Result;
use crate::session::ops::Ops;

pub use fw::blocked_line;
pub use print::state_word;

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
    /// The engine to use, by name (`cctui doctor` lists them): where `new` and `build` make
    /// things, and which one a session name is looked up on (default: the first listed; a
    /// session is found on whichever engine has it)
    #[arg(long, global = true, value_name = "NAME")]
    pub engine: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and start a session for a project folder
    New(sessions::NewArgs),
    /// List sessions
    Ls {
        /// Machine-readable output (stable; see the README)
        #[arg(long)]
        json: bool,
        /// Tokens and cost from Claude Code's transcripts, with totals (a short-lived
        /// container per project reads them); `--json` always has them
        #[arg(long)]
        usage: bool,
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
    /// Delete the branches and refs ended sessions left in a project's repository, when
    /// their work is merged, applied or discarded (asks first; unmerged work is kept)
    Prune {
        /// A folder of the project (default: the current folder)
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, short)]
        yes: bool,
    },
    /// Attach the terminal to the session's claude (detach: Ctrl-\)
    Attach { name: String },
    /// Print the attention queue's changes as lines (what needs you, across sessions)
    Watch {
        /// One JSON object a line (stable; see the README)
        #[arg(long)]
        json: bool,
    },
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
    /// Reach a port the agent listens on from this host, while the session runs:
    /// `cctui port NAME 8080[:18080]`; `--rm 8080` stops it; with no port, lists them
    Port(port::PortArgs),
    /// The process behind one `cctui port` forward (started by it)
    #[command(name = "__port-serve", hide = true)]
    PortServe(port::ServeArgs),
    /// Run a command in the session, as the agent user
    Exec {
        name: String,
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
    /// Build (or find) the images for a set of profiles
    Build(sessions::BuildArgs),
    /// Run claude headless in a session: `cctui run NAME -- -p "review src/"`; or with --rm
    /// in a sandbox made for this run and removed after it: `cctui run --rm . -- -p "..."`
    Run(run_rm::RunArgs),
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
    Git(work::GitCommand),
    /// Check the engine, images, config and tools
    Doctor,
    /// Print the default config (commented), or where the config file is
    Config {
        #[arg(long)]
        path: bool,
    },
    /// Print the script that loads cctui's completion (session and profile names included)
    /// into a shell: `source <(cctui completions bash)`
    Completions { shell: completions::Shell },
    /// Print the man page (roff), or write one page per command into a folder
    Man {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

impl Command {
    /// The session a command acts on, found on whichever engine has it.
    fn session_name(&self) -> Option<&str> {
        match self {
            Command::Start { name }
            | Command::Stop { name }
            | Command::Restart { name }
            | Command::Rm { name, .. }
            | Command::Attach { name }
            | Command::Logs { name, .. }
            | Command::Shell { name }
            | Command::Exec { name, .. }
            | Command::Login { name }
            | Command::Logout { name, .. } => Some(name),
            Command::Run(args) if !args.rm => args.name.as_deref(),
            Command::Port(args) => Some(&args.name),
            Command::PortServe(args) => Some(&args.name),
            Command::Fw { command } => command.session_name(),
            Command::Git(command) => Some(command.session_name()),
            _ => None,
        }
    }
}

impl FwCommand {
    fn session_name(&self) -> Option<&str> {
        match self {
            FwCommand::Status { name, .. }
            | FwCommand::Verify { name }
            | FwCommand::Allow { name, .. }
            | FwCommand::Deny { name, .. }
            | FwCommand::Log { name, .. } => Some(name),
            FwCommand::Presets => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Show how the repository's proposal differs from the settings in effect
    Diff { path: Option<PathBuf> },
    /// Accept the repository's proposal (validated, then copied into cctui's config folder)
    Accept {
        path: Option<PathBuf>,
        /// Accept a proposal that has characters that do not print (control, bidi,
        /// zero-width), which `cctui project diff` shows and locates; without a terminal to
        /// type `yes` on, this flag is the only way
        #[arg(long)]
        accept_non_printing: bool,
        /// Accept only the proposal with this digest (printed by `cctui project diff`):
        /// what was reviewed, not what the folder holds by then
        #[arg(long)]
        digest: Option<String>,
    },
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
    /// The shipped allowlist presets, what each is for, and which are in effect
    Presets,
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
    completions::answer_shell();
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
            eprintln!(
                "cctui: {}",
                crate::term::sanitize::for_stderr(&e.to_string())
            );
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

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let flag = cli.config.as_deref();
    let command = match cli.command {
        None => return dashboard(flag).await,
        Some(Command::Doctor) => return Ok(doctor(flag).await),
        Some(Command::Project { command }) => return project::run(flag, command),
        Some(Command::Completions { shell }) => return completions::print_script(shell),
        Some(Command::Man { dir }) => return completions::man(dir.as_deref()),
        Some(Command::Config { path }) => {
            if path {
                println!("{}", crate::paths::config_file(flag).display());
            } else {
                print!("{}", crate::config::DEFAULT_CONFIG);
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(c) => c,
    };
    let (config, _) = load_config(flag)?;
    let engines = crate::engines::resolve(&config);
    let choice = cli.engine.as_deref();
    if let Command::Ls { json, usage: false } = command {
        return sessions::ls_all(&config, &engines, choice, json).await;
    }
    let on = match command.session_name() {
        Some(name) => engines::locate(&config, &engines, name, choice).await?,
        None => engines::one(&config, &engines, choice).await?,
    };
    if let Command::New(args) = &command {
        return sessions::new_on(&on, &config, &engines, args).await;
    }
    match &command {
        Command::Port(args) => return port::run(&on.ops, &on.engine.name, flag, args).await,
        Command::PortServe(args) => return port::serve(&on.ops, args).await,
        _ => {}
    }
    if let Command::Ls { json, usage: true } = command {
        return usage::ls(&on.ops, &on.engine.name, json).await;
    }
    on_engine(on.ops, command).await
}

/// The dashboard starts whatever the engines' state, as k9s and lazydocker do: each one's
/// header says it is unreachable and it keeps trying. Every other command stops with exit
/// code 3.
async fn dashboard(flag: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = load_config(flag)?;
    let engines = crate::engines::resolve(&config);
    let timeout = Duration::from_secs(config.engine.timeout_secs);
    let hosts: Vec<(&str, &str)> = engines
        .iter()
        .map(|e| (e.name.as_str(), e.address.host.as_str()))
        .collect();
    let connectors = engines
        .iter()
        .map(|engine| {
            let (address, config) = (engine.address.clone(), config.clone());
            let connect = move || {
                let (address, config) = (address.clone(), config.clone());
                async move {
                    let backend = DockerBackend::connect_to(&address, timeout).await?;
                    Ok(Ops::new(backend, config, crate::paths::config_dir()))
                }
            };
            crate::app::Connector {
                engine: engine.name.clone(),
                connect,
            }
        })
        .collect();
    crate::app::run(&config, &hosts, connectors, crate::ui::draw)
        .await
        .map(|_| ExitCode::SUCCESS)
}

async fn doctor(flag: Option<&Path>) -> ExitCode {
    let path = crate::paths::config_file(flag);
    let checks = crate::doctor::run(Config::load(&path), &path).await;
    for c in &checks {
        println!("{}", c.line());
    }
    if crate::doctor::passed(&checks) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The commands that need the engine.
async fn on_engine(ops: Ops<DockerBackend>, command: Command) -> Result<ExitCode> {
    match command {
        Command::Start { name } => sessions::start(&ops, &name).await,
        Command::Stop { name } => sessions::stop(&ops, &name).await,
        Command::Restart { name } => sessions::restart(&ops, &name).await,
        Command::Rm {
            name,
            volumes,
            yes,
            force,
        } => sessions::remove(&ops, &name, volumes, yes, force).await,
        Command::Attach { name } => {
            use std::io::IsTerminal;
            if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
                return Err(crate::error::Error::usage(format!(
                    "`cctui attach` needs a terminal (its input and output are not one); run \
                     it in a terminal, or `cctui exec {name} -- CMD` to run a command without one"
                )));
            }
            crate::app::run_attached(ops, crate::engines::LOCAL, &name, crate::ui::draw)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Watch { json } => crate::app::watch::run(ops, json)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Logs { name, follow, tail } => logs::print(&ops, &name, tail, follow).await,
        Command::Shell { name } => exec::in_session(&ops, &name, &["bash", "-l"], &[]).await,
        Command::Exec { name, cmd } => exec::in_session(&ops, &name, &[], &cmd).await,
        Command::Run(args) if args.rm => run_rm::run_once(&ops, &args).await,
        Command::Run(args) => {
            let name = args.name.as_deref().unwrap_or_default();
            exec::in_session(&ops, name, &["claude"], &args.args).await
        }
        Command::Login { name } => exec::in_session(&ops, &name, &["claude", "/login"], &[]).await,
        Command::Build(args) => sessions::build(&ops, &args).await,
        Command::Logout { name, yes } => sessions::logout(&ops, &name, yes).await,
        Command::Fw { command } => fw::run(&ops, command).await,
        Command::Git(command) => work::run(&ops, command).await,
        Command::Prune { path, yes } => prune::run(&ops, &path, yes).await,
        Command::New(_) | Command::Ls { .. } | Command::Port(_) | Command::PortServe(_) => {
            unreachable!("dispatch runs these over the engines")
        }
        Command::Doctor
        | Command::Config { .. }
        | Command::Project { .. }
        | Command::Completions { .. }
        | Command::Man { .. } => {
            unreachable!("dispatch handles these without the engine")
        }
    }
}
