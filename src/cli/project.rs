//! `cctui project`: a repository's proposed settings, reviewed and accepted.

use std::path::Path;
use std::process::ExitCode;

use super::{load_config, ProjectCommand};
use crate::error::Result;
use crate::project::{Project, PROPOSAL_FILE};

pub fn run(flag: Option<&Path>, command: ProjectCommand) -> Result<ExitCode> {
    let (config, _) = load_config(flag)?;
    let dir = crate::paths::config_dir();
    match command {
        ProjectCommand::Diff { path } => {
            let project = Project::at(&path.unwrap_or_else(|| ".".into()))?;
            let devcontainer = crate::devcontainer::proposal::pending(&dir, &project)?;
            if let Some(p) = &devcontainer {
                println!(
                    "{} proposes (+) against the accepted copy (-); ! is ignored:",
                    p.file.display()
                );
                for line in &p.diff {
                    println!("{line}");
                }
            }
            match crate::project::pending_proposal(&dir, &project)? {
                None if devcontainer.is_some() => {}
                None => println!("nothing to review: no new {PROPOSAL_FILE}"),
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
        }
        ProjectCommand::Accept { path } => {
            let project = Project::at(&path.unwrap_or_else(|| ".".into()))?;
            let devcontainer = crate::devcontainer::proposal::pending(&dir, &project)?.is_some();
            if devcontainer {
                let target = crate::devcontainer::proposal::accept(&dir, &project)?;
                println!(
                    "accepted the devcontainer; the copy in effect is {} (new sessions use it)",
                    target.display()
                );
            }
            if !devcontainer || crate::project::pending_proposal(&dir, &project)?.is_some() {
                let target = crate::project::accept(&dir, &project, &config)?;
                println!(
                    "accepted; the settings now live in {} (restart sessions to apply)",
                    target.display()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
