//! `cctui prune`: deletes what ended sessions left in a project's repository (branches
//! `cctui/*`, refs under `refs/cctui/`) when their work is merged, applied, discarded or was
//! never made. Branches with work the project lacks are listed and kept.

use std::path::Path;
use std::process::ExitCode;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::prompt::confirm;
use crate::session::ops::Ops;
use crate::term::sanitize::for_stdout;
use crate::workspace::git::{find_repo, HostRepo};
use crate::workspace::plan::repo_session;
use crate::workspace::prune::{self, Leftover};

pub async fn run<B: Backend>(ops: &Ops<B>, folder: &Path, yes: bool) -> Result<ExitCode> {
    let folder = std::fs::canonicalize(folder)
        .map_err(|e| Error::usage(format!("{}: {e}", folder.display())))?;
    let root = find_repo(&folder).ok_or_else(|| {
        Error::usage(format!(
            "{} is not in a git repository; run `cctui prune` in the project",
            folder.display()
        ))
    })?;
    let repo = HostRepo::at(&root)?;
    let live: Vec<String> = ops
        .list()
        .await?
        .iter()
        .flat_map(|s| [&s.agent, &s.holder])
        .flatten()
        .filter_map(repo_session)
        .filter(|rs| rs.repo.root == root)
        .map(|rs| rs.key().to_string())
        .collect();
    let found = prune::leftovers(&repo, &live).await?;
    let (gone, kept): (Vec<&Leftover>, Vec<&Leftover>) =
        found.iter().partition(|l| l.safe.is_some());
    for l in &kept {
        println!(
            "kept {}: it has work not merged into your branch; review it with `git log -p \
             {}`, delete it with `git branch -D {}`",
            for_stdout(&l.branch()),
            for_stdout(&l.branch()),
            for_stdout(&l.branch())
        );
    }
    if gone.is_empty() {
        println!("nothing to prune in {}", root.display());
        return Ok(ExitCode::SUCCESS);
    }
    for l in &gone {
        println!(
            "{} ({})",
            for_stdout(&l.branch()),
            l.safe.unwrap_or_default()
        );
    }
    let question = format!(
        "Delete these {} ended session(s)' branches and cctui refs from {}? [y/N] ",
        gone.len(),
        root.display()
    );
    if !yes && !confirm(&question)? {
        return Err(Error::usage("nothing pruned"));
    }
    for l in &gone {
        prune::delete(&repo, l).await?;
    }
    println!("pruned {} ended session(s)", gone.len());
    Ok(ExitCode::SUCCESS)
}
