//! Hand-over, by the host's git on imported objects: merge, apply and push the session's work
//! into the user's repository. Each takes a session already imported (see [`super::exchange`]).

use crate::error::{Error, Result};

use super::git::{Call, HostRepo, PrivateDir};
use super::plan::{Imported, RepoSession};
use super::review::{files, review_git};

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub into: String,
    pub output: String,
    /// The session has uncommitted files that the merge (of its commits) left out.
    pub left_uncommitted: bool,
}

/// Marks `tip` as taken care of (merged, squashed or applied), for the `rm` guard.
async fn mark_done(rs: &RepoSession, tip: &str) -> Result<()> {
    rs.repo.update_ref(&rs.cctui_ref("done"), tip).await
}

/// Merges the session's branch into the project's current branch, on the host.
pub async fn merge(rs: &RepoSession, imported: &Imported, squash: bool) -> Result<Merged> {
    let repo = &rs.repo;
    let into = repo.current_branch().await?.ok_or_else(|| {
        Error::usage(format!(
            "{} has a detached HEAD; check out the branch to merge into first",
            repo.root.display()
        ))
    })?;
    if into == rs.branch {
        return Err(Error::usage(format!(
            "{} is checked out; check out the branch to merge into first",
            rs.branch
        )));
    }
    let msg = format!("Merge session {} ({})", rs.session, rs.branch);
    let branch_ref = rs.branch_ref();
    let mut args = vec!["merge", "--no-verify-signatures", "--no-edit", "--no-stat"];
    if squash {
        args.push("--squash");
    } else {
        args.extend(["-m", &msg]);
    }
    args.extend(["--end-of-options", &branch_ref]);
    let before = repo.head().await?;
    if squash && before.is_none() {
        return Err(Error::usage(format!(
            "{into} has no commit yet, and git cannot squash into it; merge without --squash \
             (the session's commits become the start of {into})"
        )));
    }
    let out = repo.call(&args, Call::default()).await?;
    if !out.ok() {
        return Err(Error::other(format!(
            "git merge stopped: {}{}\nresolve it in {} as usual, or `git merge --abort`",
            out.text().trim(),
            out.stderr.trim(),
            repo.root.display()
        )));
    }
    if squash {
        commit_squash(repo).await?;
    }
    mark_done(rs, &imported.head).await?;
    let output = merge_said(rs, &into, before.as_deref(), &imported.head, squash).await?;
    Ok(Merged {
        into,
        output,
        left_uncommitted: imported.wip.is_some(),
    })
}

/// What a merge did, in cctui's words (git's own text speaks of options the user never
/// passed): how `into` moved from `before` and how many of the session's commits it took.
async fn merge_said(
    rs: &RepoSession,
    into: &str,
    before: Option<&str>,
    tip: &str,
    squash: bool,
) -> Result<String> {
    let repo = &rs.repo;
    let after = repo.head().await?.unwrap_or_default();
    let short = &after[..after.len().min(12)];
    let range = match before {
        Some(b) => format!("{b}..{tip}"),
        None => tip.to_string(),
    };
    let taken = repo.text(&["rev-list", "--count", &range]).await?;
    let what = format!("merged session {} ({}) into {into}", rs.session, rs.branch);
    Ok(if before == Some(after.as_str()) {
        format!(
            "{into} already has every commit of session {}; nothing to merge",
            rs.session
        )
    } else if squash {
        format!("{what} as one commit {short} ({taken} commit(s) squashed)")
    } else if before.is_none() {
        format!("{what}: its {taken} commit(s) are the first of {into}, now at {short}")
    } else if after == tip {
        format!("{what} by fast-forward: {taken} commit(s), {into} now at {short}")
    } else {
        format!("{what} with the merge commit {short}: {taken} commit(s)")
    })
}

/// Commits what `git merge --squash` staged, with the message it prepared.
async fn commit_squash(repo: &HostRepo) -> Result<()> {
    let squash_msg = repo.git_dir().await?.join("SQUASH_MSG");
    let file = squash_msg.display().to_string();
    let commit = repo
        .call(
            &["commit", "--no-verify", "--quiet", "-F", &file],
            Call::default(),
        )
        .await?;
    if !commit.ok() {
        return Err(Error::other(format!(
            "the squashed changes are staged, but the commit failed: {}",
            commit.stderr.trim()
        )));
    }
    Ok(())
}

/// Applies the session's changes (commits and uncommitted files, against what it started
/// from; only the uncommitted ones once its commits are merged) to the project's working
/// tree, uncommitted. All or nothing. Returns how many files changed.
pub async fn apply(rs: &RepoSession, imported: &Imported) -> Result<usize> {
    let repo = &rs.repo;
    // From what the session started with, or, once its commits are merged, from them.
    let mut start = repo
        .resolve(&rs.cctui_ref("start"))
        .await?
        .unwrap_or_else(|| rs.base.clone());
    if imported.head != rs.base {
        if let Some(h) = repo.resolve("HEAD").await? {
            if repo.is_ancestor(&imported.head, &h).await? {
                start = imported.head.clone();
            }
        }
    }
    let tip = imported.tip().to_string();
    // The patch goes through a file, never through cctui's memory: it may be any size.
    let dir = PrivateDir::new("apply")?;
    let patch = dir.path.join("session.patch").display().to_string();
    let mut args = review_git(repo, &["diff"]).await;
    // Big files too: applying needs every byte (bigFileThreshold only spares the review).
    let at = args.iter().position(|a| a == "diff").expect("a diff");
    args.splice(at..at, ["-c".into(), "core.bigFileThreshold=512m".into()]);
    args.extend(
        [
            "--binary",
            "--full-index",
            &format!("--output={patch}"),
            "--end-of-options",
            &start,
            &tip,
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    repo.run(&refs).await?;
    if std::fs::metadata(&patch).map_or(0, |m| m.len()) == 0 {
        return Ok(0);
    }
    let files = files(repo, &start, &tip).await?.len();
    repo.run(&["apply", "--whitespace=nowarn", "--", &patch])
        .await
        .map_err(|e| {
            Error::other(format!(
                "the session's changes do not apply to your working tree (nothing was \
                 changed): {e}; commit or stash your own changes, or use `cctui merge {}`",
                rs.session
            ))
        })?;
    mark_done(rs, &tip).await?;
    Ok(files)
}

/// The remote to push to by default: the current branch's, else origin.
async fn default_remote(repo: &HostRepo) -> Result<String> {
    let configured = match repo.current_branch().await? {
        Some(b) => repo
            .call(
                &["config", "--get", &format!("branch.{b}.remote")],
                Call::default(),
            )
            .await?
            .text()
            .trim()
            .to_string(),
        None => String::new(),
    };
    Ok(if configured.is_empty() {
        "origin".to_string()
    } else {
        configured
    })
}

/// A repository with no remote at all is refused in cctui's words, before git's own.
async fn no_remote_said(repo: &HostRepo) -> Result<()> {
    let remotes = repo.call(&["remote"], Call::default()).await?;
    if remotes.ok() && remotes.text().trim().is_empty() {
        return Err(Error::usage(format!(
            "the project at {} has no git remote to push to; add one (`git remote add origin \
             URL`) or name one after the session (`cctui push NAME REMOTE`)",
            repo.root.display()
        )));
    }
    Ok(())
}

/// Pushes the session's branch to the project's remote, from the host, with the user's own
/// credentials. Returns the remote.
pub async fn push(rs: &RepoSession, remote: Option<&str>) -> Result<String> {
    let repo = &rs.repo;
    let remote = match remote {
        Some(r) => r.to_string(),
        None => {
            no_remote_said(repo).await?;
            default_remote(repo).await?
        }
    };
    let spec = format!("{0}:{0}", rs.branch_ref());
    let out = repo
        .call(
            &["push", "--no-verify", "--end-of-options", &remote, &spec],
            Call {
                interactive: true,
                ..Default::default()
            },
        )
        .await?;
    if !out.ok() {
        return Err(Error::other(format!(
            "git push to {remote} failed (see above)"
        )));
    }
    Ok(remote)
}
