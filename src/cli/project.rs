//! `cctui project`: a repository's proposed settings, reviewed and accepted. A proposal is
//! agent-written: its review is sanitized, and one with any char that does not print (which
//! could hide a line from the reviewer) is flagged where it is and needs a second yes.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use super::{load_config, ProjectCommand};
use crate::devcontainer::proposal::DOCKERFILE_MARK;
use crate::error::{Error, Result};
use crate::project::{Project, Proposal, PROPOSAL_FILE};
use crate::term::sanitize::{first_hidden, for_stderr, for_stdout};

pub fn run(flag: Option<&Path>, command: ProjectCommand) -> Result<ExitCode> {
    let (config, _) = load_config(flag)?;
    let dir = crate::paths::config_dir();
    match command {
        ProjectCommand::Diff { path } => {
            let project = Project::at(&path.unwrap_or_else(|| ".".into()))?;
            let devcontainer = crate::devcontainer::proposal::pending(&dir, &project)?;
            if let Some(p) = &devcontainer {
                show(p, "against the accepted copy (-); ! is ignored");
            }
            match crate::project::pending_proposal(&dir, &project)? {
                None if devcontainer.is_some() => {}
                None => println!("nothing to review: no new {PROPOSAL_FILE}"),
                Some(p) => show(&p, "against the settings in effect (-)"),
            }
        }
        ProjectCommand::Accept {
            path,
            accept_non_printing,
        } => {
            let project = Project::at(&path.unwrap_or_else(|| ".".into()))?;
            let devcontainer = crate::devcontainer::proposal::pending(&dir, &project)?;
            let settings = crate::project::pending_proposal(&dir, &project)?;
            let hidden: Vec<String> = devcontainer
                .iter()
                .chain(settings.iter())
                .flat_map(hidden_places)
                .collect();
            if !hidden.is_empty() && !accept_non_printing {
                confirm_non_printing(&hidden)?;
            }
            if devcontainer.is_some() {
                let target = crate::devcontainer::proposal::accept(&dir, &project)?;
                println!(
                    "accepted the devcontainer; the copy in effect is {} (new sessions use it)",
                    target.display()
                );
            }
            if devcontainer.is_none() || settings.is_some() {
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

/// The review of one proposal: its diff, sanitized, then where it has chars that do not print.
fn show(p: &Proposal, against: &str) {
    let file = for_stdout(&p.file.display().to_string());
    println!("{file} proposes (+) {against}:");
    for line in &p.diff {
        println!("{}", for_stdout(line));
    }
    let hidden = hidden_places(p);
    if !hidden.is_empty() {
        println!(
            "warning: this proposal has characters that do not print (shown above as ^X or \
             <U+XXXX>), which can hide text from a review; `cctui project accept` asks again:"
        );
        for place in hidden {
            println!("  {}", for_stdout(&place));
        }
    }
}

/// `file:line:column` of each line of the proposal with a char that does not print. A
/// devcontainer proposal carries its Dockerfile after a mark line: that part is named as
/// the Dockerfile, counted from its own first line.
fn hidden_places(p: &Proposal) -> Vec<String> {
    let mut file = p.file.display().to_string();
    let mut number = 0;
    let mut places = Vec::new();
    let mark = DOCKERFILE_MARK.trim_start_matches('\n');
    for line in p.text.split('\n') {
        number += 1;
        if let Some(rest) = line.strip_prefix(mark) {
            file = rest.trim_end_matches(" ----").to_string();
            number = 0;
        }
        if let Some((_, column)) = first_hidden(line.as_bytes()) {
            places.push(format!("{file}:{number}:{column}"));
        }
    }
    places
}

/// The second confirmation for a proposal with chars that do not print: `yes` typed on a
/// terminal, else a refusal that names the flag.
fn confirm_non_printing(hidden: &[String]) -> Result<()> {
    let places = hidden.join(", ");
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(format!(
            "the proposal has characters that do not print, at {places}: review it with \
             `cctui project diff`, then accept with --accept-non-printing"
        )));
    }
    let places = for_stderr(&places);
    eprint!(
        "The proposal has characters that do not print, at {places}; they can hide text \
         from a review (see `cctui project diff`). Type yes to accept it anyway: "
    );
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Error::other(e.to_string()))?;
    if answer.trim() != "yes" {
        return Err(Error::usage("nothing accepted"));
    }
    Ok(())
}
