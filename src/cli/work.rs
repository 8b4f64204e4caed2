//! The commands of a session's repository: import, diff, merge, apply, discard, push. Each
//! runs the host's git in the project's own repository (see the module above).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Subcommand;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::prompt::confirm;
use crate::session::ops::Ops;
use crate::term::sanitize::{self, for_stdout, Mark};

use crate::workspace::review::{self, LineKind};

#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// Bring the session's commits (and its uncommitted files) into the project's repository
    /// as the branch cctui/<session>
    Import {
        name: String,
        /// Leave the uncommitted files out
        #[arg(long)]
        committed: bool,
    },
    /// The session's commits and uncommitted changes against its base, computed by the
    /// host's git (paged with $PAGER)
    Diff {
        name: String,
        /// Files and line counts only
        #[arg(long)]
        stat: bool,
        /// The commits only, without the uncommitted changes
        #[arg(long)]
        committed: bool,
    },
    /// Merge the session's branch into the project's current branch
    Merge {
        name: String,
        /// One commit with all of the session's changes
        #[arg(long)]
        squash: bool,
    },
    /// Apply the session's changes to the project's working tree, uncommitted
    Apply { name: String },
    /// Throw the session's changes away: its checkout goes back to its base
    Discard {
        name: String,
        #[arg(long, short)]
        yes: bool,
    },
    /// Push the session's branch to the project's remote, with your own credentials
    Push {
        name: String,
        /// The remote (default: the current branch's, else origin)
        #[arg(long)]
        remote: Option<String>,
    },
}

impl GitCommand {
    pub(super) fn session_name(&self) -> &str {
        match self {
            GitCommand::Import { name, .. }
            | GitCommand::Diff { name, .. }
            | GitCommand::Merge { name, .. }
            | GitCommand::Apply { name }
            | GitCommand::Discard { name, .. }
            | GitCommand::Push { name, .. } => name,
        }
    }
}

pub async fn run<B: Backend>(ops: &Ops<B>, command: GitCommand) -> Result<ExitCode> {
    match command {
        GitCommand::Import { name, committed } => import(ops, &name, committed).await?,
        GitCommand::Diff {
            name,
            stat,
            committed,
        } => diff(ops, &name, stat, committed).await?,
        GitCommand::Merge { name, squash } => {
            let m = ops.merge(&name, squash).await?;
            println!("{}", for_stdout(m.output.trim()));
            if m.left_uncommitted {
                eprintln!(
                    "note: the session also has uncommitted changes, which a merge leaves \
                     out; `cctui diff {name}` shows them and `cctui apply {name}` brings them"
                );
            }
        }
        GitCommand::Apply { name } => {
            let n = ops.apply(&name).await?;
            println!("applied the changes of {n} file(s) to your working tree, uncommitted");
        }
        GitCommand::Discard { name, yes } => {
            if !yes {
                let q = format!(
                    "Throw away every change of session `{name}` (its commits and uncommitted \
                     files), and its imported branch? [y/N] "
                );
                if !confirm(&q)? {
                    return Err(Error::usage("nothing discarded"));
                }
            }
            ops.discard(&name).await?;
            println!("discarded: {name} is back at its base");
        }
        GitCommand::Push { name, remote } => {
            let rs = ops.repo_session(&name).await?;
            let remote = ops.push(&name, remote.as_deref()).await?;
            println!("pushed {} to {remote}", rs.branch);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cctui import`: prints where the session's work now is in the project's repository.
async fn import<B: Backend>(ops: &Ops<B>, name: &str, committed: bool) -> Result<()> {
    let rs = ops.repo_session(name).await?;
    let i = ops.import(name, !committed).await?;
    println!(
        "{}: {} at {}{} ({} new commit(s))",
        name,
        rs.branch,
        &i.head[..12],
        match &i.wip {
            Some(w) => format!(
                ", uncommitted files in {} ({})",
                rs.cctui_ref("wip"),
                &w[..12]
            ),
            None => String::new(),
        },
        i.new_commits
    );
    Ok(())
}

/// `cctui diff`: the session's commits, then its diff against its base, paged.
async fn diff<B: Backend>(ops: &Ops<B>, name: &str, stat: bool, committed: bool) -> Result<()> {
    let rs = ops.repo_session(name).await?;
    let i = ops.import(name, !committed).await?;
    let tip = if committed {
        i.head.clone()
    } else {
        i.tip().to_string()
    };
    let commits = review::commits(&rs.repo, &rs.base, &i.head).await?;
    let mut text = format!(
        "session {name}: branch {} from {}, {} commit(s){}\n",
        rs.branch,
        &rs.base[..12],
        commits.len(),
        if committed {
            ""
        } else if i.wip.is_some() {
            ", and uncommitted changes"
        } else {
            ", nothing uncommitted"
        }
    );
    if let Some(into) = review::merged_into(&rs, &i.head).await? {
        text.push_str(&format!(
            "{}\n",
            if i.wip.is_some() && !committed {
                format!("its commits are merged into {into}; its uncommitted changes are not")
            } else {
                format!("merged into {into}: nothing of it is pending")
            }
        ));
    }
    for c in &commits {
        text.push_str(&format!("  {} {} ({})\n", c.short, c.subject, c.author));
    }
    if commits.len() >= review::MAX_COMMITS {
        text.push_str(&format!(
            "  … only the newest {} commits are listed (see `git log {}`)\n",
            review::MAX_COMMITS,
            rs.branch
        ));
    }
    text.push('\n');
    text.push_str(&review::diff_text(&rs.repo, &rs.base, &tip, stat).await?);
    page(&text)?;
    Ok(())
}

/// Prints `text` sanitized; on a terminal, coloured after that and through `$PAGER`
/// (default `less -R`): what any pager gets has no ESC but cctui's own SGR.
fn page(text: &str) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        print!("{}", sanitize::text_str(text, Mark::Plain));
        return Ok(());
    }
    let coloured: String = review::classify(text)
        .iter()
        .map(|l| {
            let shown = sanitize::text_str(&l.text, Mark::Reverse);
            let code = match l.kind {
                LineKind::Added => "32",
                LineKind::Removed => "31",
                LineKind::Hunk => "36",
                LineKind::Meta if l.text.starts_with("diff --git") => "1",
                _ => "",
            };
            if code.is_empty() || std::env::var_os("NO_COLOR").is_some() {
                format!("{shown}\n")
            } else {
                // A mark's `27m` ends only the reverse video: the line's colour goes on.
                format!("\x1b[{code}m{shown}\x1b[0m\n")
            }
        })
        .collect();
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -R".to_string());
    let child = std::process::Command::new("sh")
        .args(["-c", &pager])
        // `-R` (not `-r`): less passes SGR and shows any other control as itself.
        .env("LESS", "FRX")
        .stdin(std::process::Stdio::piped())
        .spawn();
    match child {
        Ok(mut c) => {
            if let Some(mut stdin) = c.stdin.take() {
                let _ = stdin.write_all(coloured.as_bytes());
            }
            let _ = c.wait();
        }
        Err(_) => print!("{coloured}"),
    }
    Ok(())
}
