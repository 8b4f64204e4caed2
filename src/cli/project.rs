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
            let pending = Pending::read(&dir, &project)?;
            if pending.is_empty() {
                println!("nothing to review: no new {PROPOSAL_FILE}");
            } else {
                pending.show();
                let digest = pending.digest();
                println!(
                    "proposal digest: {digest} (accept exactly this with `cctui project accept \
                     --digest {digest}`)"
                );
            }
        }
        ProjectCommand::Accept {
            path,
            accept_non_printing,
            digest,
        } => {
            let project = Project::at(&path.unwrap_or_else(|| ".".into()))?;
            accept(&dir, &project, &config, accept_non_printing, digest)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Both proposals of a project, each read once: what is reviewed, checked and written.
struct Pending {
    devcontainer: Option<Proposal>,
    settings: Option<Proposal>,
}

impl Pending {
    fn read(dir: &Path, project: &Project) -> Result<Pending> {
        Ok(Pending {
            devcontainer: crate::devcontainer::proposal::pending(dir, project)?,
            settings: crate::project::pending_proposal(dir, project)?,
        })
    }

    fn is_empty(&self) -> bool {
        self.devcontainer.is_none() && self.settings.is_none()
    }

    fn show(&self) {
        if let Some(p) = &self.devcontainer {
            show(p, "against the accepted copy (-); ! is ignored");
        }
        if let Some(p) = &self.settings {
            show(p, "against the settings in effect (-)");
        }
    }

    /// A short digest of everything accepted: both texts (a devcontainer's names the digest
    /// of each build file), so what `accept --digest` writes is what `diff` showed.
    fn digest(&self) -> String {
        let mut all = Vec::new();
        for p in [&self.devcontainer, &self.settings] {
            match p {
                Some(p) => {
                    all.extend_from_slice(format!("{}\n", p.text.len()).as_bytes());
                    all.extend_from_slice(p.text.as_bytes());
                }
                None => all.extend_from_slice(b"none\n"),
            }
        }
        let full = crate::devcontainer::files::digest(&all);
        full["sha256:".len()..].chars().take(16).collect()
    }
}

/// `project accept`: the proposals read once, checked, confirmed against a digest or on a
/// terminal after being shown, then exactly those bytes written.
fn accept(
    dir: &Path,
    project: &Project,
    config: &crate::config::Config,
    accept_non_printing: bool,
    want: Option<String>,
) -> Result<()> {
    let pending = Pending::read(dir, project)?;
    if pending.is_empty() {
        return Err(Error::usage(format!(
            "{} has no new {PROPOSAL_FILE} or devcontainer to accept",
            project.path.display()
        )));
    }
    if let Some(s) = &pending.settings {
        crate::project::validate(s, config)?;
    }
    let digest = pending.digest();
    if let Some(want) = &want {
        if want.trim() != digest {
            return Err(Error::usage(format!(
                "the proposal is not the one reviewed: its digest is now {digest}, not {}; \
                 review it again with `cctui project diff`",
                for_stderr(want)
            )));
        }
    }
    let hidden: Vec<String> = [&pending.devcontainer, &pending.settings]
        .into_iter()
        .flatten()
        .flat_map(hidden_places)
        .collect();
    let ask_hidden = !hidden.is_empty() && !accept_non_printing;
    if want.is_none() && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        pending.show();
        confirm(&hidden, ask_hidden, &digest)?;
    } else if ask_hidden {
        confirm(&hidden, true, &digest)?;
    }
    if let Some(p) = &pending.devcontainer {
        let target = crate::devcontainer::proposal::accept_proposal(dir, project, p)?;
        println!(
            "accepted the devcontainer ({digest}); the copy in effect is {} (new sessions \
             use it)",
            target.display()
        );
    }
    if let Some(p) = &pending.settings {
        let target = crate::project::accept_proposal(dir, project, p)?;
        println!(
            "accepted ({digest}); the settings now live in {} (restart sessions to apply)",
            target.display()
        );
    }
    Ok(())
}

/// The review of one proposal: its diff, sanitized, each new or changed build file whole,
/// then where it has chars that do not print.
fn show(p: &Proposal, against: &str) {
    let file = for_stdout(&p.file.display().to_string());
    println!("{file} proposes (+) {against}:");
    for line in &p.diff {
        println!("{}", for_stdout(line));
    }
    for (label, data) in &p.files {
        show_file(label, data);
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

/// What a review shows of one build file at most; the digest covers all of it.
const SHOWN_FILE: usize = 64 << 10;

/// A new or changed build file: its text (sanitized, cut at [`SHOWN_FILE`]), or its size.
fn show_file(label: &str, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        println!(
            "+++ {}: new or changed, not text ({} bytes; reviewed by digest only)",
            for_stdout(label),
            data.len()
        );
        return;
    };
    println!(
        "+++ {}: new or changed, goes into the build:",
        for_stdout(label)
    );
    let mut end = text.len().min(SHOWN_FILE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for line in text[..end].lines() {
        println!("+ {}", for_stdout(line));
    }
    if end < text.len() {
        let see = format!("the file {label} in the project");
        println!(
            "{}",
            for_stdout(&crate::bounded::cut_marker((text.len() - end) as u64, &see))
        );
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
    for (label, data) in &p.files {
        if let Some((line, column)) = first_hidden(data) {
            places.push(format!("{label}:{line}:{column}"));
        }
    }
    places
}

/// The user's yes for what was shown (digest `digest`), and the second confirmation for
/// chars that do not print: `yes` typed on a terminal, else a refusal that names the flag.
fn confirm(hidden: &[String], ask_hidden: bool, digest: &str) -> Result<()> {
    let places = hidden.join(", ");
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(format!(
            "the proposal has characters that do not print, at {places}: review it with \
             `cctui project diff`, then accept with --accept-non-printing"
        )));
    }
    if ask_hidden {
        eprint!(
            "The proposal has characters that do not print, at {}; they can hide text from \
             a review. ",
            for_stderr(&places)
        );
    }
    eprint!("Type yes to accept the proposal shown above ({digest}): ");
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
