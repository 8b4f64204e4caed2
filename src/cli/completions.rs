//! Shell completions and the man page. Completion is dynamic: the script a shell loads calls
//! `cctui` back on every Tab (with `CCTUI_COMPLETE` set), so session names come from the
//! engine at that moment and the script never goes stale against the command tree.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, ValueEnum};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{CompleteEnv, Shells};

use crate::error::{Error, Result};

/// The variable the completion scripts set when they call cctui back.
const COMPLETE_VAR: &str = "CCTUI_COMPLETE";

/// How long a Tab may wait for the engine before offering no session names.
const ENGINE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

impl Shell {
    fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Elvish => "elvish",
            Shell::Powershell => "powershell",
        }
    }
}

/// The command tree with completers on every argument that names a session or a profile.
pub fn command() -> clap::Command {
    with_candidates(super::Cli::command())
}

fn with_candidates(mut cmd: clap::Command) -> clap::Command {
    let ids: Vec<(String, bool)> = cmd
        .get_arguments()
        .map(|a| (a.get_id().to_string(), a.is_positional()))
        .collect();
    for (id, positional) in ids {
        cmd = match (id.as_str(), positional) {
            // A positional `name` is always an existing session's (`new` takes `--name`).
            ("name", true) => cmd.mut_arg(id, |a| a.add(ArgValueCandidates::new(session_names))),
            ("profiles", false) => {
                cmd.mut_arg(id, |a| a.add(ArgValueCandidates::new(profile_names)))
            }
            _ => cmd,
        };
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for sub in subs {
        cmd = cmd.mut_subcommand(sub, with_candidates);
    }
    cmd
}

/// Answers a shell's completion request and exits, if this process is one; otherwise
/// returns at once. Called first in `main`, before anything else runs.
pub fn answer_shell() {
    CompleteEnv::with_factory(command)
        .var(COMPLETE_VAR)
        .complete();
}

/// `cctui completions SHELL`: the script that registers cctui's completion in that shell.
pub fn print_script(shell: Shell) -> Result<ExitCode> {
    let completer = completer_path(std::env::args_os().next(), std::env::current_dir().ok());
    let shells = Shells::builtins();
    let registrar = shells
        .completer(shell.name())
        .ok_or_else(|| Error::other(format!("no completion for {}", shell.name())))?;
    let mut out = Vec::new();
    registrar
        .write_registration(COMPLETE_VAR, "cctui", "cctui", &completer, &mut out)
        .map_err(|e| Error::other(format!("cannot write the script: {e}")))?;
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The program the script calls back: as it was invoked, made absolute when it was invoked by
/// a path (`./target/debug/cctui`), left to `$PATH` when by name.
fn completer_path(arg0: Option<OsString>, cwd: Option<PathBuf>) -> String {
    let arg0 = PathBuf::from(arg0.unwrap_or_else(|| "cctui".into()));
    let path = match cwd {
        Some(cwd) if arg0.components().count() > 1 => cwd.join(arg0),
        _ => arg0,
    };
    path.to_string_lossy().into_owned()
}

/// `cctui man`: the man page on stdout, or with `--dir`, one page per command in that folder.
pub fn man(dir: Option<&Path>) -> Result<ExitCode> {
    let cmd = super::Cli::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|_| clap_mangen::generate_to(cmd, dir))
                .map_err(|e| Error::other(format!("cannot write to {}: {e}", dir.display())))?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Error::other(format!("cannot render the man page: {e}")))?;
            write_stdout(&out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(|e| Error::other(format!("cannot write to stdout: {e}")))
}

fn profile_names() -> Vec<CompletionCandidate> {
    crate::config::KNOWN_PROFILES
        .iter()
        .map(|p| CompletionCandidate::new(*p))
        .collect()
}

/// The sessions the engine knows now; none when it does not answer in time (a Tab never
/// hangs, and never prints an error into the command line).
fn session_names() -> Vec<CompletionCandidate> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime
        .block_on(async {
            tokio::time::timeout(ENGINE_WAIT, list_session_names())
                .await
                .ok()?
        })
        .unwrap_or_default()
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

async fn list_session_names() -> Option<Vec<String>> {
    let path = crate::paths::config_file(None);
    let config = crate::config::Config::load(&path).ok()?;
    let engines = crate::engines::resolve(&config);
    let reached = super::engines::reach_all(&config, &engines).await;
    let lists = futures_util::future::join_all(reached.up.iter().map(|e| e.ops.list())).await;
    Some(
        lists
            .into_iter()
            .flatten()
            .flatten()
            .map(|s| s.name)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_calls_back_by_absolute_path_or_by_name() {
        let cwd = Some(PathBuf::from("/src/app"));
        assert_eq!(
            completer_path(Some("./target/debug/cctui".into()), cwd.clone()),
            "/src/app/./target/debug/cctui"
        );
        assert_eq!(completer_path(Some("cctui".into()), cwd), "cctui");
    }

    #[test]
    fn every_session_argument_completes_and_new_name_does_not() {
        let cmd = command();
        let has_candidates = |path: &[&str], arg: &str| {
            let mut c = &cmd;
            for p in path {
                c = c.find_subcommand(p).unwrap();
            }
            let a = c.get_arguments().find(|a| a.get_id() == arg).unwrap();
            a.get::<ArgValueCandidates>().is_some()
        };
        for path in [
            &["attach"][..],
            &["rm"],
            &["logs"],
            &["fw", "status"],
            &["fw", "allow"],
        ] {
            assert!(has_candidates(path, "name"), "{path:?}");
        }
        assert!(!has_candidates(&["new"], "name"));
        assert!(has_candidates(&["new"], "profiles"));
        assert!(has_candidates(&["build"], "profiles"));
    }

    /// The decorated tree is still one clap accepts (a moved positional broke completion).
    #[test]
    fn the_completion_tree_is_a_valid_command() {
        command().debug_assert();
    }
}
