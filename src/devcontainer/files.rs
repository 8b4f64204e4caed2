//! The files a repository's image build reads (its Dockerfile, its context, its local
//! features), taken only from inside the project: a path that leaves the project folder or
//! passes through a symlink is refused, and so is any symlink or special file inside a
//! folder that goes into the build. Every file is read once, bounded, and recorded by digest,
//! so the build can use exactly the bytes that were accepted.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::bounded::{read_small_bytes, BUILD_BYTES, BUILD_FILES, PROPOSAL_FILE};
use crate::error::{Error, Result};

/// `path` (the project folder joined with what the repository wrote) resolved without
/// following any symlink, and required to stay inside `root` (canonical). Each component
/// is checked as it is reached, so `..` cannot climb out and a symlink anywhere is refused.
pub fn confined(root: &Path, path: &Path, key: &str) -> Result<PathBuf> {
    let outside = || {
        Error::usage(format!(
            "{key} {} is outside the project folder {}; cctui builds only from the project",
            shown(path),
            shown(root)
        ))
    };
    let rel = path.strip_prefix(root).map_err(|_| outside())?;
    let mut now = root.to_path_buf();
    for part in rel.components() {
        match part {
            Component::Normal(name) => {
                now.push(name);
                let meta = std::fs::symlink_metadata(&now)
                    .map_err(|e| Error::usage(format!("{key} {}: {e}", shown(&now))))?;
                if meta.file_type().is_symlink() {
                    return Err(Error::usage(format!(
                        "{key} {} passes through the symlink {}; cctui follows no symlink \
                         into a build",
                        shown(path),
                        shown(&now)
                    )));
                }
            }
            Component::ParentDir if now != root => {
                now.pop();
            }
            Component::CurDir => {}
            _ => return Err(outside()),
        }
    }
    Ok(now)
}

/// A text file of the project (a Dockerfile, a devcontainer.json), confined and bounded.
pub fn read_text(root: &Path, path: &Path, key: &str) -> Result<String> {
    let path = confined(root, path, key)?;
    let bytes = read_small_bytes(&path, PROPOSAL_FILE)
        .map_err(|e| Error::usage(format!("{key} {}: {e}", shown(&path))))?;
    String::from_utf8(bytes)
        .map_err(|_| Error::usage(format!("{key} {}: not UTF-8 text", shown(&path))))
}

/// The files of one build, by label (`context/<path>`, `feature/<n>/<path>`): read once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildFiles {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl BuildFiles {
    /// Adds the files of the folder `dir` (confined to `root`) under `prefix/`. Regular files
    /// and folders only (`.git` skipped); a symlink, FIFO, socket or device is refused by name.
    pub fn add_folder(&mut self, root: &Path, dir: &Path, prefix: &str, key: &str) -> Result<()> {
        let top = confined(root, dir, key)?;
        let mut stack = vec![top.clone()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| Error::usage(format!("{key} {}: {e}", shown(&dir))))?;
            for e in entries {
                let e = e.map_err(|e| Error::usage(format!("{key} {}: {e}", shown(&dir))))?;
                let path = e.path();
                let kind = e
                    .file_type()
                    .map_err(|e| Error::usage(format!("{}: {e}", shown(&path))))?;
                let rel = path.strip_prefix(&top).unwrap_or(&path);
                let rel = printable_name(rel)?;
                if kind.is_dir() {
                    if e.file_name() != ".git" {
                        stack.push(path);
                    }
                } else if kind.is_file() {
                    self.add_file(&path, format!("{prefix}/{rel}"))?;
                } else {
                    return Err(Error::usage(format!(
                        "{} is a symlink or special file in {key} {}; cctui copies only \
                         regular files into a build (remove it, or build from a folder \
                         without it)",
                        shown(&path),
                        shown(&top)
                    )));
                }
            }
        }
        Ok(())
    }

    fn add_file(&mut self, path: &Path, label: String) -> Result<()> {
        if self.files.len() >= BUILD_FILES {
            return Err(Error::usage(format!(
                "the build has more than {BUILD_FILES} files (at {}); give it a smaller \
                 context folder",
                shown(path)
            )));
        }
        let total: u64 = self.files.values().map(|b| b.len() as u64).sum();
        let room = BUILD_BYTES.saturating_sub(total);
        let data = read_small_bytes(path, room).map_err(|e| {
            Error::usage(format!(
                "{}: {e} (a build takes at most {} MiB of files)",
                shown(path),
                BUILD_BYTES >> 20
            ))
        })?;
        self.files.insert(label, data);
        Ok(())
    }

    /// One line per file, `sha256:<hex> <size> <label>`: what the accepted copy records.
    pub fn manifest(&self) -> String {
        self.files
            .iter()
            .map(|(label, data)| format!("{} {} {label}\n", digest(data), data.len()))
            .collect()
    }

    /// The files under `prefix/`, by their path below it.
    pub fn under(&self, prefix: &str) -> BTreeMap<String, Vec<u8>> {
        let prefix = format!("{prefix}/");
        self.files
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
            .collect()
    }
}

pub fn digest(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A file name that goes into a manifest line and a review: printable, no line break.
fn printable_name(rel: &Path) -> Result<String> {
    let name = rel
        .to_str()
        .filter(|n| crate::term::sanitize::first_hidden(n.as_bytes()).is_none());
    name.map(str::to_string).ok_or_else(|| {
        Error::usage(format!(
            "{}: a file name in a build with characters that do not print; rename it",
            crate::term::sanitize::text(
                rel.as_os_str().as_encoded_bytes(),
                crate::term::sanitize::Mark::Plain
            )
        ))
    })
}

/// A path the repository chose, safe to quote in an error: what does not print is shown.
fn shown(path: &Path) -> String {
    crate::term::sanitize::text(
        path.as_os_str().as_encoded_bytes(),
        crate::term::sanitize::Mark::Plain,
    )
}
