//! For in-place sessions of a git repository (`--in-place`): a fingerprint of the files in
//! the repository's `.git` that make git run programs (config, hooks, attributes, the
//! pointers to other git folders), taken when the session is made, so that `cctui doctor`
//! can say what changed while the agent could write them. Read as files, never with git.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Fingerprint {
    pub project: PathBuf,
    /// Path inside `.git` -> SHA-256 of its content ("dir" for folders).
    pub files: BTreeMap<String, String>,
}

fn dir() -> PathBuf {
    crate::paths::state_dir().join("git-fingerprints")
}

fn file(session: &str) -> PathBuf {
    dir().join(format!("{session}.json"))
}

/// The files that matter, relative to `.git`.
pub fn take(project: &Path) -> Fingerprint {
    let git = project.join(".git");
    let mut files = BTreeMap::new();
    let mut add = |rel: &str| {
        let p = git.join(rel);
        // Never follow a link the agent may have made: hash the link's target text instead.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            return;
        };
        let hash = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&p).unwrap_or_default();
            format!("link:{}", target.display())
        } else if meta.is_dir() {
            "dir".to_string()
        } else {
            let bytes = std::fs::read(&p).unwrap_or_default();
            Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        files.insert(rel.to_string(), hash);
    };
    for rel in [
        "config",
        "config.worktree",
        "commondir",
        "gitdir",
        "info/attributes",
        "info/exclude",
        "objects/info/alternates",
        "hooks",
        "modules",
        "worktrees",
    ] {
        add(rel);
    }
    if let Ok(entries) = std::fs::read_dir(git.join("hooks")) {
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            add(&format!("hooks/{n}"));
        }
    }
    Fingerprint {
        project: project.to_path_buf(),
        files,
    }
}

/// Records the fingerprint of `project`'s `.git` for `session`. Best effort: a failure is
/// logged, and `doctor` then says it has no fingerprint.
pub fn record(session: &str, project: &Path) {
    let fp = take(project);
    let result = std::fs::create_dir_all(dir()).and_then(|_| {
        std::fs::write(
            file(session),
            serde_json::to_vec_pretty(&fp).unwrap_or_default(),
        )
    });
    if let Err(e) = result {
        tracing::warn!(session, "cannot record the .git fingerprint: {e}");
    }
}

pub fn forget(session: &str) {
    let _ = std::fs::remove_file(file(session));
}

/// The recorded fingerprint of a session, if any.
pub fn load(session: &str) -> Option<Fingerprint> {
    serde_json::from_slice(&std::fs::read(file(session)).ok()?).ok()
}

/// What differs between a recorded fingerprint and now: paths added, removed or changed.
pub fn changes(recorded: &Fingerprint) -> Vec<String> {
    let now = take(&recorded.project);
    let mut out = Vec::new();
    for (k, v) in &now.files {
        match recorded.files.get(k) {
            None => out.push(format!(".git/{k} (new)")),
            Some(old) if old != v => out.push(format!(".git/{k} (changed)")),
            _ => {}
        }
    }
    for k in recorded.files.keys() {
        if !now.files.contains_key(k) {
            out.push(format!(".git/{k} (removed)"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_hook_or_config_shows() {
        let tmp = std::env::temp_dir().join(format!("cctui-fp-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join(".git/hooks")).unwrap();
        std::fs::write(tmp.join(".git/config"), "[core]\n").unwrap();
        let fp = take(&tmp);
        assert!(changes(&fp).is_empty());
        std::fs::write(tmp.join(".git/hooks/post-checkout"), "#!/bin/sh\n").unwrap();
        std::fs::write(tmp.join(".git/config"), "[core]\nfsmonitor = x\n").unwrap();
        let c = changes(&fp);
        assert!(
            c.contains(&".git/hooks/post-checkout (new)".to_string()),
            "{c:?}"
        );
        assert!(c.contains(&".git/config (changed)".to_string()), "{c:?}");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
