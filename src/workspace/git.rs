//! The host's git, hardened. Every call runs in the user's own repository (which no session
//! can write), never in a folder an agent can write, with the settings that could run a
//! program turned off for that call: hooks, fsmonitor, external diff, textconv, pagers, and
//! every filter, diff and merge driver the user's config defines (see [`super::drivers`]).
//! Repository data that came from a session (objects in a bundle) is checked with fsck on
//! the way in.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use crate::bounded;
use crate::error::{Error, Result};

use super::drivers;

/// The empty tree: used as the attribute source of review diffs, so that no `.gitattributes`
/// (not even one a session's merged commits brought) can mark a file binary or pick a driver.
pub const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// `-c` settings on every host git call.
const HARDENING: &[&str] = &[
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.untrackedCache=false",
    "core.pager=cat",
    "diff.external=",
    "gc.auto=0",
    "maintenance.auto=false",
    "fetch.fsckObjects=true",
    "transfer.fsckObjects=true",
    "receive.fsckObjects=true",
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "fetch.writeCommitGraph=false",
    "protocol.ext.allow=never",
    "color.ui=false",
    "advice.detachedHead=false",
];

/// Variables that would point git somewhere other than the repository we name, or add
/// settings we did not choose.
const CLEARED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_EXTERNAL_DIFF",
    "GIT_DIFF_OPTS",
    "GIT_PAGER",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_ATTR_SOURCE",
    "GIT_QUARANTINE_PATH",
];

/// A git repository on the host that belongs to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRepo {
    /// The work tree's top folder.
    pub root: PathBuf,
}

/// What a git call printed.
#[derive(Debug, Clone)]
pub struct GitOutput {
    pub code: i32,
    pub stdout: Vec<u8>,
    /// Bytes of stdout past the call's cap, read and dropped (only with `Call::may_cut`).
    pub cut: u64,
    pub stderr: String,
}

impl GitOutput {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// Options for one call.
#[derive(Debug, Default, Clone)]
pub struct Call<'a> {
    pub stdin: Option<&'a [u8]>,
    /// `GIT_INDEX_FILE` for this call (a temporary index in cctui's own folder).
    pub index_file: Option<&'a Path>,
    /// Let git ask for credentials on the terminal (push only).
    pub interactive: bool,
    /// Stdout is only shown: keep the first [`bounded::GIT_STDOUT`] bytes and say what was
    /// cut. Without it, more output than that is an error.
    pub may_cut: bool,
}

impl HostRepo {
    /// The repository whose top folder is `root`: `root/.git` must exist. Found without
    /// running git.
    pub fn at(root: &Path) -> Result<HostRepo> {
        if root.join(".git").exists() {
            Ok(HostRepo {
                root: root.to_path_buf(),
            })
        } else {
            Err(Error::usage(format!(
                "{} is not the top folder of a git repository",
                root.display()
            )))
        }
    }

    /// git in this repository with the hardening settings and environment, before the
    /// call's own settings and arguments.
    fn hardened(&self, call: &Call<'_>) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("git");
        for var in CLEARED_ENV {
            cmd.env_remove(var);
        }
        if !call.interactive {
            cmd.env("GIT_TERMINAL_PROMPT", "0");
        }
        if let Some(index) = call.index_file {
            cmd.env("GIT_INDEX_FILE", index);
        }
        cmd.arg("-C").arg(&self.root);
        for setting in HARDENING {
            cmd.arg("-c").arg(setting);
        }
        cmd.kill_on_drop(true);
        cmd
    }

    /// `-c` settings that switch off every filter, diff and merge driver the user's git
    /// config defines now (see [`drivers`]); read afresh for each call, so a driver added
    /// meanwhile is switched off too. An unreadable config fails the call.
    async fn driver_settings(&self) -> Result<Vec<String>> {
        let out = self
            .hardened(&Call::default())
            .args(["config", "-z", "--name-only", "--get-regexp"])
            .arg(drivers::DRIVER_KEYS)
            .output()
            .await
            .map_err(|e| {
                Error::other(format!(
                    "cannot run git ({e}); install it (Debian: apt-get install git)"
                ))
            })?;
        match out.status.code() {
            Some(0) => drivers::neutralising_settings(&out.stdout),
            // No key matched.
            Some(1) => Ok(Vec::new()),
            _ => Err(Error::other(format!(
                "cannot read your git config for {} (cctui switches off its filter, diff \
                 and merge drivers for its own git calls): {}",
                self.root.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))),
        }
    }

    /// The git command with every hardening switch, in this repository: no hook, fsmonitor,
    /// pager, external diff, and no filter or driver that any attribute could select.
    pub async fn command(&self, args: &[&str], call: &Call<'_>) -> Result<tokio::process::Command> {
        let drivers_off = self.driver_settings().await?;
        let mut cmd = self.hardened(call);
        for setting in &drivers_off {
            cmd.arg("-c").arg(setting);
        }
        cmd.arg("--no-pager");
        cmd.args(args);
        cmd.stdin(if call.stdin.is_some() {
            Stdio::piped()
        } else if call.interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped());
        cmd.stderr(if call.interactive {
            Stdio::inherit()
        } else {
            Stdio::piped()
        });
        Ok(cmd)
    }

    pub async fn call(&self, args: &[&str], call: Call<'_>) -> Result<GitOutput> {
        let mut child = self.command(args, &call).await?.spawn().map_err(|e| {
            Error::other(format!(
                "cannot run git ({e}); install it (Debian: apt-get install git)"
            ))
        })?;
        if let (Some(data), Some(mut stdin)) = (call.stdin, child.stdin.take()) {
            let data = data.to_vec();
            tokio::spawn(async move {
                let _ = stdin.write_all(&data).await;
                let _ = stdin.shutdown().await;
            });
        }
        // Both streams are read as they come (a full pipe would stall git) and capped.
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take();
        let (out, err) = tokio::join!(bounded::read_capped(stdout, bounded::GIT_STDOUT), async {
            match stderr {
                Some(e) => bounded::read_capped(e, bounded::STDERR).await.map(Some),
                None => Ok(None),
            }
        });
        let failed = |e: std::io::Error| Error::other(format!("git: {e}"));
        let (out, err) = (out.map_err(failed)?, err.map_err(failed)?);
        let status = child.wait().await.map_err(failed)?;
        if out.cut > 0 && !call.may_cut {
            return Err(Error::other(format!(
                "git {} in {} printed more than {} MiB; cctui reads no more than that",
                args.first().copied().unwrap_or(""),
                self.root.display(),
                bounded::GIT_STDOUT >> 20
            )));
        }
        Ok(GitOutput {
            code: status.code().unwrap_or(-1),
            cut: out.cut,
            stdout: out.bytes,
            stderr: err
                .map(|e| e.text_marked("git's own output"))
                .unwrap_or_default(),
        })
    }

    /// Runs git; a non-zero exit is an error that quotes git's own words.
    pub async fn run(&self, args: &[&str]) -> Result<GitOutput> {
        self.run_with(args, Call::default()).await
    }

    pub async fn run_with(&self, args: &[&str], call: Call<'_>) -> Result<GitOutput> {
        let out = self.call(args, call).await?;
        if !out.ok() {
            return Err(self.failure(args.first().copied().unwrap_or(""), &out.stderr));
        }
        Ok(out)
    }

    /// A failed git call as an error: git's own reason, with what to do when cctui knows.
    pub fn failure(&self, what: &str, stderr: &str) -> Error {
        let root = self.root.display();
        let reason = stderr.trim();
        match advice(reason, &self.root) {
            Some(todo) => Error::usage(format!("git {what} refused {root}: {reason}\n{todo}")),
            None => Error::other(format!("git {what} failed in {root}: {reason}")),
        }
    }

    /// The commit `HEAD` names, or None on a branch with no commit yet (a fresh `git init`).
    /// Any other refusal by git (a repository owned by another user, a broken `.git`) is an
    /// error with git's reason, never taken for "no commit".
    pub async fn head(&self) -> Result<Option<String>> {
        let out = self
            .call(
                &[
                    "rev-parse",
                    "-q",
                    "--verify",
                    "--end-of-options",
                    "HEAD^{commit}",
                ],
                Call::default(),
            )
            .await?;
        if out.ok() {
            return Ok(Some(out.text().trim().to_string()));
        }
        // Unborn: HEAD is a symbolic ref to a branch that does not exist yet.
        let branch = self.run(&["symbolic-ref", "-q", "HEAD"]).await;
        match branch {
            Ok(_) if out.code == 1 => Ok(None),
            Ok(_) => Err(self.failure("rev-parse", &out.stderr)),
            Err(e) => Err(e),
        }
    }

    /// The trimmed output of a successful call.
    pub async fn text(&self, args: &[&str]) -> Result<String> {
        Ok(self.run(args).await?.text().trim().to_string())
    }

    /// The commit a revision names, if it names one.
    pub async fn resolve(&self, rev: &str) -> Result<Option<String>> {
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .call(
                &["rev-parse", "-q", "--verify", "--end-of-options", &spec],
                Call::default(),
            )
            .await?;
        Ok(out.ok().then(|| out.text().trim().to_string()))
    }

    pub async fn has_commit(&self, sha: &str) -> Result<bool> {
        Ok(is_sha(sha) && self.resolve(sha).await?.as_deref() == Some(sha))
    }

    /// Is `a` an ancestor of (or equal to) `b`?
    pub async fn is_ancestor(&self, a: &str, b: &str) -> Result<bool> {
        let out = self
            .call(&["merge-base", "--is-ancestor", a, b], Call::default())
            .await?;
        Ok(out.code == 0)
    }

    /// The git directory (for a worktree, its own one).
    pub async fn git_dir(&self) -> Result<PathBuf> {
        let dir = self.text(&["rev-parse", "--absolute-git-dir"]).await?;
        Ok(PathBuf::from(dir))
    }

    /// The current branch's short name, or None when HEAD is detached.
    pub async fn current_branch(&self) -> Result<Option<String>> {
        let out = self
            .call(&["symbolic-ref", "-q", "--short", "HEAD"], Call::default())
            .await?;
        Ok(out.ok().then(|| out.text().trim().to_string()))
    }

    pub async fn update_ref(&self, name: &str, sha: &str) -> Result<()> {
        self.run(&["update-ref", "--no-deref", name, sha])
            .await
            .map(|_| ())
    }

    pub async fn delete_ref(&self, name: &str) -> Result<()> {
        let out = self
            .call(&["update-ref", "--no-deref", "-d", name], Call::default())
            .await?;
        if out.ok() || self.resolve(name).await?.is_none() {
            Ok(())
        } else {
            Err(Error::other(format!(
                "deleting {name}: {}",
                out.stderr.trim()
            )))
        }
    }

    /// Every ref with its target: used to prove an operation left the repository as it was.
    pub async fn refs(&self) -> Result<String> {
        self.text(&["for-each-ref", "--format=%(objectname) %(refname)"])
            .await
    }
}

/// What to do about a refusal of git's that cctui recognises.
fn advice(reason: &str, root: &Path) -> Option<String> {
    if reason.contains("dubious ownership") {
        return Some(format!(
            "git does not trust this folder because another user owns it; if you trust it, run \
             `git config --global --add safe.directory {}`",
            root.display()
        ));
    }
    if reason.contains("not a git repository") {
        return Some(format!(
            "{}/.git is not a repository git can read; check it with `git -C {} status`",
            root.display(),
            root.display()
        ));
    }
    None
}

/// 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
pub fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A private folder for files that pass between a session and the host (bundles, patches):
/// made by cctui with mode 0700, never inside a project, removed when dropped.
pub struct PrivateDir {
    pub path: PathBuf,
}

impl PrivateDir {
    pub fn new(what: &str) -> Result<PrivateDir> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        for attempt in 0..16u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = base.join(format!(
                "cctui-{what}-{}-{nanos:x}-{attempt}",
                std::process::id()
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(PrivateDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(Error::other(format!(
                        "cannot make a private folder in {}: {e}",
                        base.display()
                    )))
                }
            }
        }
        Err(Error::other("cannot make a private temporary folder"))
    }

    /// Writes `bytes` to a new file in the folder (never following a link).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::other(format!("{}: {e}", path.display())))?;
        f.write_all(bytes)
            .map_err(|e| Error::other(format!("{}: {e}", path.display())))?;
        Ok(path)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The repository a folder belongs to, found by looking for `.git` upwards, without running
/// git (which would read a `.git` an agent may have planted). Returns the work tree's top.
pub fn find_repo(path: &Path) -> Option<PathBuf> {
    let mut dir = Some(path);
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shas_are_checked() {
        assert!(is_sha(EMPTY_TREE));
        assert!(!is_sha("HEAD"));
        assert!(!is_sha(&EMPTY_TREE.to_uppercase()));
        assert!(!is_sha("--upload-pack=x"));
    }
}
