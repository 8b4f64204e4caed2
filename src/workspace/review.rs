//! Review and hand-over, all by the host's git on imported objects: the session's commits and
//! diff against its base, and merge, apply and push into the user's repository. Diffs never
//! run a driver, textconv or external diff, and read no `.gitattributes` from any tree, so
//! nothing the agent wrote can hide a line from the review.

use std::sync::OnceLock;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::session::ops::Ops;

use super::git::{Call, HostRepo, EMPTY_TREE};
use super::{Imported, RepoSession};

/// One of the session's commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub short: String,
    pub author: String,
    pub subject: String,
}

/// A changed file: `A`, `M`, `D`, `T` (type change) and its line counts (None: binary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub status: char,
    pub path: String,
    pub added: Option<u64>,
    pub removed: Option<u64>,
    /// Only in the session's uncommitted files, not in its commits.
    pub uncommitted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// `diff --git`, `index`, `---`, `+++` and the like.
    Meta,
    Hunk,
    Added,
    Removed,
    Context,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: LineKind,
    pub text: String,
}

/// Everything the Changes tab shows: plain data, computed on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangesView {
    pub session: String,
    pub branch: String,
    pub base: String,
    /// The session's commits, newest first.
    pub commits: Vec<Commit>,
    /// Files changed against the base, commits and uncommitted files together.
    pub files: Vec<FileChange>,
    /// The selected file's index in `files`.
    pub selected: usize,
    /// The diff of the selected file.
    pub diff: Vec<DiffLine>,
    /// How many files hold uncommitted changes in the session.
    pub uncommitted: usize,
    /// The tip the view was computed for (the refresh key).
    pub tip: String,
}

/// Whether the host's git takes `--attr-source` (2.40 and later).
async fn attr_source_supported(repo: &HostRepo) -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    if let Some(s) = SUPPORTED.get() {
        return *s;
    }
    let out = repo.call(&["version"], Call::default()).await;
    let ok = out
        .map(|o| {
            let text = o.text();
            let v: Vec<u32> = text
                .split_whitespace()
                .nth(2)
                .unwrap_or("0")
                .split('.')
                .take(2)
                .map(|p| p.parse().unwrap_or(0))
                .collect();
            v.first().copied().unwrap_or(0) > 2
                || (v.first() == Some(&2) && v.get(1).copied().unwrap_or(0) >= 40)
        })
        .unwrap_or(false);
    *SUPPORTED.get_or_init(|| ok)
}

/// The leading options of every review command: no attributes from any tree or the user's
/// global attributes file (git 2.40+; older git diffs everything as text instead).
async fn review_git(repo: &HostRepo, sub: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec!["-c".into(), "core.attributesFile=/dev/null".into()];
    let modern = attr_source_supported(repo).await;
    if modern {
        args.push(format!("--attr-source={EMPTY_TREE}"));
    }
    args.extend(sub.iter().map(|s| s.to_string()));
    if sub.first() == Some(&"diff") {
        args.extend(
            [
                "--no-ext-diff",
                "--no-textconv",
                "--no-color",
                "--no-relative",
                "--no-renames",
                "--src-prefix=a/",
                "--dst-prefix=b/",
            ]
            .map(String::from),
        );
        if !modern {
            args.push("--text".into());
        }
    }
    args
}

async fn review_text(repo: &HostRepo, sub: &[&str], tail: &[&str]) -> Result<String> {
    let mut args = review_git(repo, sub).await;
    args.extend(tail.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Ok(repo.run(&refs).await?.text())
}

/// The diff from `from` to `to` as text: what `cctui diff` prints.
pub async fn diff_text(repo: &HostRepo, from: &str, to: &str, stat: bool) -> Result<String> {
    let mut tail = vec![];
    if stat {
        tail.push("--stat");
    }
    tail.extend(["--end-of-options", from, to]);
    review_text(repo, &["diff"], &tail).await
}

/// The commits in `base..head`, newest first.
pub async fn commits(repo: &HostRepo, base: &str, head: &str) -> Result<Vec<Commit>> {
    let range = format!("{base}..{head}");
    let text = review_text(
        repo,
        &["log"],
        &[
            "--no-show-signature",
            "--no-decorate",
            "--no-color",
            "--no-notes",
            "--format=%h%x00%an%x00%s",
            "--end-of-options",
            &range,
        ],
    )
    .await?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, '\0');
            Some(Commit {
                short: p.next()?.to_string(),
                author: p.next()?.to_string(),
                subject: p.next().unwrap_or("").to_string(),
            })
        })
        .collect())
}

/// The files changed from `from` to `to`.
pub async fn files(repo: &HostRepo, from: &str, to: &str) -> Result<Vec<FileChange>> {
    let status = review_text(
        repo,
        &["diff"],
        &["--name-status", "-z", "--end-of-options", from, to],
    )
    .await?;
    let numstat = review_text(
        repo,
        &["diff"],
        &["--numstat", "-z", "--end-of-options", from, to],
    )
    .await?;
    let mut counts = std::collections::HashMap::new();
    // numstat -z: "added\tremoved\tpath\0" per file (no renames).
    for rec in numstat.split('\0').filter(|r| !r.is_empty()) {
        let mut p = rec.splitn(3, '\t');
        let (a, r, path) = (p.next(), p.next(), p.next());
        if let (Some(a), Some(r), Some(path)) = (a, r, path) {
            counts.insert(path.to_string(), (a.parse().ok(), r.parse().ok()));
        }
    }
    let mut out = Vec::new();
    let mut it = status.split('\0').filter(|r| !r.is_empty());
    while let (Some(st), Some(path)) = (it.next(), it.next()) {
        let (added, removed) = counts.get(path).copied().unwrap_or((None, None));
        out.push(FileChange {
            status: st.chars().next().unwrap_or('?'),
            path: path.to_string(),
            added,
            removed,
            uncommitted: false,
        });
    }
    Ok(out)
}

/// The diff of one file, as coloured lines.
pub async fn file_diff(repo: &HostRepo, from: &str, to: &str, path: &str) -> Result<Vec<DiffLine>> {
    let spec = format!(":(literal){path}");
    let text = review_text(
        repo,
        &["diff"],
        &["--end-of-options", from, to, "--", &spec],
    )
    .await?;
    Ok(classify(&text))
}

/// Sorts diff lines by what they are, for colours.
pub fn classify(text: &str) -> Vec<DiffLine> {
    let mut in_hunk = false;
    text.lines()
        .map(|l| {
            let kind = if l.starts_with("diff --git ") {
                in_hunk = false;
                LineKind::Meta
            } else if l.starts_with("@@") {
                in_hunk = true;
                LineKind::Hunk
            } else if !in_hunk {
                LineKind::Meta
            } else if l.starts_with('+') {
                LineKind::Added
            } else if l.starts_with('-') {
                LineKind::Removed
            } else {
                LineKind::Context
            };
            DiffLine {
                kind,
                text: l.to_string(),
            }
        })
        .collect()
}

/// The Changes view of an imported session, with file `selected` open.
pub async fn changes_view(
    rs: &RepoSession,
    imported: &Imported,
    selected: usize,
) -> Result<ChangesView> {
    let repo = &rs.repo;
    let tip = imported.tip().to_string();
    let mut files = files(repo, &rs.base, &tip).await?;
    let mut uncommitted = 0;
    if let Some(wip) = &imported.wip {
        let only = self::files(repo, &imported.head, wip).await?;
        uncommitted = only.len();
        for f in &mut files {
            f.uncommitted = only.iter().any(|o| o.path == f.path);
        }
    }
    let selected = selected.min(files.len().saturating_sub(1));
    let diff = match files.get(selected) {
        Some(f) => file_diff(repo, &rs.base, &tip, &f.path).await?,
        None => Vec::new(),
    };
    Ok(ChangesView {
        session: rs.session.clone(),
        branch: rs.branch.clone(),
        base: rs.base.chars().take(12).collect(),
        commits: commits(repo, &rs.base, &imported.head).await?,
        files,
        selected,
        diff,
        uncommitted,
        tip,
    })
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub into: String,
    pub output: String,
    /// The session has uncommitted files that the merge (of its commits) left out.
    pub left_uncommitted: bool,
}

impl<B: Backend> Ops<B> {
    /// Imports the session and returns the Changes view.
    pub async fn changes(&self, name: &str, selected: usize) -> Result<ChangesView> {
        let rs = self.repo_session(name).await?;
        let imported = self.import(name, true).await?;
        changes_view(&rs, &imported, selected).await
    }

    /// Merges the session's branch into the project's current branch, on the host.
    pub async fn merge(&self, name: &str, squash: bool) -> Result<Merged> {
        let rs = self.repo_session(name).await?;
        let imported = self.import(name, true).await?;
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
        let msg = format!("Merge session {name} ({})", rs.branch);
        let branch_ref = rs.branch_ref();
        let mut args = vec!["merge", "--no-verify-signatures", "--no-edit", "--no-stat"];
        if squash {
            args.push("--squash");
        } else {
            args.extend(["-m", &msg]);
        }
        args.extend(["--end-of-options", &branch_ref]);
        let out = repo.call(&args, Call::default()).await?;
        if !out.ok() {
            return Err(Error::other(format!(
                "git merge stopped: {}{}\nresolve it in {} as usual, or `git merge --abort`",
                out.text().trim(),
                out.stderr.trim(),
                repo.root.display()
            )));
        }
        let mut output = out.text();
        if squash {
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
        }
        self.mark_done(&rs, &imported.head).await?;
        if output.trim().is_empty() {
            output = format!("merged {} into {into}", rs.branch);
        }
        Ok(Merged {
            into,
            output,
            left_uncommitted: imported.wip.is_some(),
        })
    }

    /// Applies the session's changes (commits and uncommitted files, against what it started
    /// from; only the uncommitted ones once its commits are merged) to the project's working
    /// tree, uncommitted. All or nothing.
    pub async fn apply(&self, name: &str) -> Result<usize> {
        let rs = self.repo_session(name).await?;
        let imported = self.import(name, true).await?;
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
        let mut args = review_git(repo, &["diff"]).await;
        args.extend(
            ["--binary", "--full-index", "--end-of-options", &start, &tip].map(String::from),
        );
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let patch = repo.run(&refs).await?.stdout;
        if patch.is_empty() {
            return Ok(0);
        }
        let files = files(repo, &start, &tip).await?.len();
        repo.run_with(
            &["apply", "--whitespace=nowarn", "-"],
            Call {
                stdin: Some(&patch),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| {
            Error::other(format!(
                "the session's changes do not apply to your working tree (nothing was \
                 changed): {e}; commit or stash your own changes, or use `cctui merge {name}`"
            ))
        })?;
        self.mark_done(&rs, &tip).await?;
        Ok(files)
    }

    /// Pushes the session's branch to the project's remote, from the host, with the user's
    /// own credentials.
    pub async fn push(&self, name: &str, remote: Option<&str>) -> Result<String> {
        let rs = self.repo_session(name).await?;
        self.import(name, false).await?;
        let repo = &rs.repo;
        let remote = match remote {
            Some(r) => r.to_string(),
            None => {
                let current = repo.current_branch().await?;
                let configured = match current {
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
                if configured.is_empty() {
                    "origin".to_string()
                } else {
                    configured
                }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lines_are_classified() {
        let d = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n ctx\n";
        let kinds: Vec<LineKind> = classify(d).iter().map(|l| l.kind).collect();
        use LineKind::*;
        assert_eq!(
            kinds,
            [Meta, Meta, Meta, Meta, Hunk, Removed, Added, Context]
        );
    }
}
