//! Review, by the host's git on imported objects: the session's commits and its diff against
//! its base (hand-over is in [`super::handover`]). Diffs never
//! run a driver, textconv or external diff, and read no `.gitattributes` from any tree, so
//! nothing the agent wrote can hide a line from the review.

use std::sync::OnceLock;

use crate::bounded;
use crate::error::{Error, Result};

use super::git::{Call, HostRepo, EMPTY_TREE};
use super::plan::{Imported, RepoSession};

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
    /// Where the session's commits were merged (or squashed, or applied), if they were.
    pub merged_into: Option<String>,
}

/// Where the session's commits (up to `head`) are already handed over, if they are: the
/// project's current branch when it holds them, or "your project" when `merge --squash` or
/// `apply` took them (recorded in the session's `done` ref). None for a session with no commit.
pub async fn merged_into(rs: &RepoSession, head: &str) -> Result<Option<String>> {
    let repo = &rs.repo;
    if head == rs.base {
        return Ok(None);
    }
    if repo.head().await?.is_some() && repo.is_ancestor(head, "HEAD").await? {
        let branch = repo.current_branch().await?;
        return Ok(Some(branch.unwrap_or_else(|| "HEAD".into())));
    }
    let done = repo.resolve(&rs.cctui_ref("done")).await?;
    Ok((done.as_deref() == Some(head)).then(|| "your project".to_string()))
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
pub(super) async fn review_git(repo: &HostRepo, sub: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec!["-c".into(), "core.attributesFile=/dev/null".into()];
    // Big files are not diffed (git shows them as binary): a small pack can expand to one
    // huge file.
    args.extend([
        "-c".into(),
        format!("core.bigFileThreshold={}", bounded::DIFF_FILE),
    ]);
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

/// Output that is only shown: capped (see [`bounded::GIT_STDOUT`]).
async fn review_text(repo: &HostRepo, sub: &[&str], tail: &[&str]) -> Result<String> {
    let mut args = review_git(repo, sub).await;
    args.extend(tail.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let call = Call {
        may_cut: true,
        ..Default::default()
    };
    Ok(repo.run_with(&refs, call).await?.text())
}

/// The diff from `from` to `to` as text: what `cctui diff` prints. At most
/// [`bounded::DIFF_TOTAL`] bytes and [`bounded::DIFF_LINES`] lines; what is cut, and the
/// files in it, are said at the end.
pub async fn diff_text(repo: &HostRepo, from: &str, to: &str, stat: bool) -> Result<String> {
    let mut args = review_git(repo, &["diff"]).await;
    if stat {
        args.push("--stat".into());
    }
    args.extend(["--end-of-options", from, to].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let see = format!(
        "`git diff --stat {} {}` in {}",
        short(from),
        short(to),
        repo.root.display()
    );
    let mut cut = read_diff(repo, &refs, bounded::DIFF_TOTAL, bounded::DIFF_LINES).await?;
    if !stat {
        cut.text.push_str(&format!(
            "(files over {} MiB are not diffed: git calls them binary; see {see})\n",
            bounded::DIFF_FILE >> 20
        ));
    }
    cut.mark(&see);
    Ok(cut.text)
}

/// Said under every file git calls binary: a NUL or a long line makes any file "binary",
/// script or not, and merge and apply bring it in whatever it holds.
pub const BINARY_WARNING: &str = "!!! BINARY file: its contents are NOT shown above, and merge or \
apply brings it in as it is. Read it before you take it (git show <commit>:<path> | cat -v).\n";

/// git's own line for a binary file (a content line in a diff starts with ` `, `+` or `-`).
fn is_binary_notice(line: &[u8]) -> bool {
    line.starts_with(b"Binary files ") && line.ends_with(b" differ")
}

/// A diff read up to a cap, and what was past it.
pub(super) struct CutDiff {
    pub text: String,
    pub kept_lines: usize,
    pub cut_bytes: u64,
    /// `diff --git` lines of the files (partly) cut, the first [`CUT_FILES_NAMED`].
    pub cut_files: Vec<String>,
    pub more_cut_files: u64,
}

const CUT_FILES_NAMED: usize = 50;

impl CutDiff {
    /// Adds the cut marker and the files it cut, when something was cut.
    fn mark(&mut self, see: &str) {
        if self.cut_bytes == 0 {
            return;
        }
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.text
            .push_str(&bounded::cut_marker(self.cut_bytes, see));
        self.text.push('\n');
        for f in &self.cut_files {
            self.text.push_str(&format!("  cut: {f}\n"));
        }
        if self.more_cut_files > 0 {
            self.text
                .push_str(&format!("  cut: {} more files\n", self.more_cut_files));
        }
    }
}

/// Runs a review diff, keeping `max_bytes` and `max_lines` of its stdout; the rest is read
/// and counted, and its file headers noted.
async fn read_diff(
    repo: &HostRepo,
    args: &[&str],
    max_bytes: usize,
    max_lines: usize,
) -> Result<CutDiff> {
    use tokio::io::AsyncReadExt;
    let mut cmd = repo.command(args, &Call::default()).await?;
    cmd.stderr(std::process::Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::other(format!("cannot run git: {e}")))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut out = CutDiff {
        text: String::new(),
        kept_lines: 0,
        cut_bytes: 0,
        cut_files: Vec::new(),
        more_cut_files: 0,
    };
    let mut lines = bounded::LineSplitter::new(bounded::LOG_LINE);
    let mut buf = vec![0u8; 64 << 10];
    let mut full = false;
    loop {
        let n = stdout
            .read(&mut buf)
            .await
            .map_err(|e| Error::other(format!("git diff: {e}")))?;
        if n == 0 {
            break;
        }
        lines.push(&buf[..n], |line, line_cut| {
            full = full || out.text.len() + line.len() >= max_bytes || out.kept_lines >= max_lines;
            if !full {
                out.text.push_str(&String::from_utf8_lossy(line));
                if line_cut {
                    out.text.push_str(" …[line cut]");
                }
                out.text.push('\n');
                out.kept_lines += 1;
                if is_binary_notice(line) {
                    out.text.push_str(BINARY_WARNING);
                    out.kept_lines += 1;
                }
                return;
            }
            out.cut_bytes += line.len() as u64 + 1;
            if line.starts_with(b"diff --git ") {
                if out.cut_files.len() < CUT_FILES_NAMED {
                    let name = &line[b"diff --git ".len()..];
                    out.cut_files
                        .push(String::from_utf8_lossy(name).into_owned());
                } else {
                    out.more_cut_files += 1;
                }
            }
        });
    }
    out.cut_bytes += lines.cut_bytes;
    let status = child
        .wait()
        .await
        .map_err(|e| Error::other(format!("git diff: {e}")))?;
    if !status.success() {
        return Err(Error::other(format!(
            "git diff failed in {} ({status})",
            repo.root.display()
        )));
    }
    Ok(out)
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// The most commits listed; a session may make any number.
pub const MAX_COMMITS: usize = 1000;

/// The commits in `base..head`, newest first: at most [`MAX_COMMITS`].
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
            &format!("--max-count={MAX_COMMITS}"),
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

/// The diff of one file, as coloured lines: at most [`bounded::FILE_DIFF_BYTES`] and
/// [`bounded::FILE_DIFF_LINES`], with a last line saying what was cut.
pub async fn file_diff(repo: &HostRepo, from: &str, to: &str, path: &str) -> Result<Vec<DiffLine>> {
    let spec = format!(":(literal){path}");
    let mut args = review_git(repo, &["diff"]).await;
    args.extend(["--end-of-options", from, to, "--", &spec].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cut = read_diff(
        repo,
        &refs,
        bounded::FILE_DIFF_BYTES,
        bounded::FILE_DIFF_LINES,
    )
    .await?;
    let mut lines = classify(&cut.text);
    if cut.cut_bytes > 0 {
        let see = format!("`cctui diff`, or git diff {} {}", short(from), short(to));
        cut.text.clear();
        cut.mark(&see);
        lines.extend(cut.text.lines().map(|l| DiffLine {
            kind: LineKind::Meta,
            text: l.to_string(),
        }));
    }
    Ok(lines)
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
        merged_into: merged_into(rs, &imported.head).await?,
    })
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
