//! `[session] carry`: the user's own Claude setup (CLAUDE.md, skills, commands, agents, output
//! styles) copied from the host's `~/.claude` into each session at every start, read-only to
//! the agent. What may be carried is an allowlist of entry names; inside them, only plain,
//! visible, bounded files that hold no key. Settings (which run commands) never are.

use std::path::{Path, PathBuf};

use crate::session::{CLAUDE_CONFIG_DIR, MANAGED_SETTINGS_DIR};

pub use crate::config::carry::check_entry;

/// Where each name `[session] carry` may list (`config::carry::CARRIABLE`) lands in the
/// container. The folders are root-owned tmpfs mounts of every session; CLAUDE.md goes to the
/// managed-policy folder, which claude reads as memory and the agent cannot write.
pub const CARRIABLE: [(&str, &str); 5] = [
    ("CLAUDE.md", MANAGED_SETTINGS_DIR),
    ("skills", "skills"),
    ("commands", "commands"),
    ("agents", "agents"),
    ("output-styles", "output-styles"),
];

/// One file over this is not carried.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// All carried files together stay under this, and under `MAX_FILES` files.
pub const MAX_TOTAL_BYTES: u64 = 4 << 20;
pub const MAX_FILES: usize = 500;
/// What was left out is named up to this many times, then counted.
const MAX_CUT_NOTES: usize = 50;
/// Folders nested deeper than this are not walked.
const MAX_DEPTH: usize = 8;
/// Each carried folder's tmpfs in the container (a bound on what the agent sees, too).
pub const TMPFS_SIZE: &str = "8m";

/// Where a carried folder is mounted in the container.
pub fn folder_mount(name: &str) -> String {
    format!("{CLAUDE_CONFIG_DIR}/{name}")
}

/// The folders of `CARRIABLE` (each a tmpfs of its own in every session).
pub fn folders() -> impl Iterator<Item = &'static str> {
    CARRIABLE
        .iter()
        .filter(|(n, _)| *n != "CLAUDE.md")
        .map(|(n, _)| *n)
}

/// The user's Claude config folder on the host: `CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn host_claude_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".claude"))
}

/// What one start carries: a tar archive per destination folder, and what was left out.
#[derive(Debug, Default)]
pub struct Carried {
    /// (entry name, destination folder in the container, tar archive of its contents).
    pub archives: Vec<(String, String, Vec<u8>)>,
    /// Entries carried, with their file counts, e.g. "skills (3 files)".
    pub carried: Vec<String>,
    /// What was cut and why, e.g. "skills/x/.env: hidden".
    pub cut: Vec<String>,
}

/// A file's name refused wherever it is: hidden names (`.credentials.json`, `.env`, `.git`),
/// settings, and key files.
fn refused_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with('.') {
        return Some("hidden (credentials, .env and .git are never carried)");
    }
    if lower.starts_with("settings") && lower.ends_with(".json") {
        return Some("a settings file (settings run commands on start)");
    }
    let key_file = lower.starts_with("id_")
        || lower.contains("credential")
        || [".pem", ".key", ".p12", ".pfx", ".keystore", ".jks"]
            .iter()
            .any(|s| lower.ends_with(s));
    key_file.then_some("named like a key file")
}

/// Whether `bytes` hold something that looks like a key.
fn holds_key(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    crate::sandbox::secrets::looks_like_key(&text) || text.contains("PRIVATE KEY-----")
}

/// The file whole, if it is at most `MAX_FILE_BYTES`.
fn read_bounded(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut bytes = Vec::new();
    // Non-blocking, and checked once open: a pipe put there meanwhile neither hangs nor passes.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= MAX_FILE_BYTES).then_some(bytes)
}

struct Walk<'a> {
    root: &'a Path,
    /// The carried entry being walked, for the names in `cut`.
    entry: PathBuf,
    files: usize,
    bytes: u64,
    cut: Vec<String>,
    more_cut: usize,
}

impl Walk<'_> {
    /// Notes what was left out: the first `MAX_CUT_NOTES` by name, the rest counted.
    fn cut(&mut self, rel: &Path, why: &str) {
        if self.cut.len() < MAX_CUT_NOTES {
            self.cut
                .push(format!("{}: {why}", self.entry.join(rel).display()));
        } else {
            self.more_cut += 1;
        }
    }

    /// A symlink is followed only to a regular file inside the user's Claude folder.
    fn resolve(&mut self, path: &Path, rel: &Path) -> Option<PathBuf> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.file_type().is_symlink() {
            return Some(path.to_path_buf());
        }
        let target = std::fs::canonicalize(path).ok();
        let inside = target
            .as_ref()
            .zip(std::fs::canonicalize(self.root).ok())
            .is_some_and(|(t, r)| t.starts_with(r));
        if !inside {
            self.cut(rel, "a symlink out of the Claude folder");
            return None;
        }
        let target = target?;
        if !target.is_file() {
            self.cut(rel, "a symlink to something other than a file");
            return None;
        }
        Some(target)
    }

    /// Adds the file at `path` to `tar` as `rel`, unless a rule cuts it.
    fn file(&mut self, tar: &mut tar::Builder<Vec<u8>>, path: &Path, rel: &Path) {
        let Some(path) = self.resolve(path, rel) else {
            return;
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            return self.cut(rel, "unreadable");
        };
        if !meta.is_file() {
            return self.cut(rel, "not a plain file (device, socket or pipe)");
        }
        if meta.len() > MAX_FILE_BYTES {
            return self.cut(rel, &format!("over {} KiB", MAX_FILE_BYTES >> 10));
        }
        if self.files >= MAX_FILES || self.bytes + meta.len() > MAX_TOTAL_BYTES {
            return self.cut(
                rel,
                &format!(
                    "over the bound of {MAX_FILES} files, {} MiB",
                    MAX_TOTAL_BYTES >> 20
                ),
            );
        }
        let Some(bytes) = read_bounded(&path) else {
            return self.cut(rel, "unreadable, or grew over the bound");
        };
        if holds_key(&bytes) {
            return self.cut(rel, "holds something that looks like a key");
        }
        let executable = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(if executable != 0 { 0o555 } else { 0o444 });
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        if tar.append_data(&mut header, rel, bytes.as_slice()).is_ok() {
            self.files += 1;
            self.bytes += bytes.len() as u64;
        }
    }

    /// Walks the folder `dir` (as `rel` in the archive), in name order.
    fn dir(&mut self, tar: &mut tar::Builder<Vec<u8>>, dir: &Path, rel: &Path, depth: usize) {
        if self.files >= MAX_FILES {
            return self.cut(rel, &format!("not walked: {MAX_FILES} files already"));
        }
        if depth > MAX_DEPTH {
            return self.cut(rel, &format!("nested deeper than {MAX_DEPTH}"));
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return self.cut(rel, "unreadable");
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = rel.join(&name);
            if let Some(why) = refused_name(&name) {
                self.cut(&rel, why);
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_dir() => {
                    let mut header = tar::Header::new_gnu();
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    let _ = tar.append_data(&mut header, &rel, std::io::empty());
                    self.dir(tar, &e.path(), &rel, depth + 1);
                }
                _ => self.file(tar, &e.path(), &rel),
            }
        }
    }
}

/// Collects the entries `names` of the user's Claude folder `root`.
pub fn collect(root: &Path, names: &[String]) -> Carried {
    let mut out = Carried::default();
    let mut walk = Walk {
        root,
        entry: PathBuf::new(),
        files: 0,
        bytes: 0,
        cut: Vec::new(),
        more_cut: 0,
    };
    for (name, dest) in CARRIABLE {
        if !names.iter().any(|n| n == name) {
            continue;
        }
        let path = root.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let before = walk.files;
        let mut tar = tar::Builder::new(Vec::new());
        let is_dir = meta.is_dir() && !meta.file_type().is_symlink();
        if is_dir {
            walk.entry = PathBuf::from(name);
            walk.dir(&mut tar, &path, Path::new(""), 0);
        } else {
            walk.entry = PathBuf::new();
            walk.file(&mut tar, &path, Path::new(name));
        }
        let count = walk.files - before;
        if count == 0 {
            continue;
        }
        let Ok(archive) = tar.into_inner() else {
            continue;
        };
        let dest = if is_dir {
            folder_mount(dest)
        } else {
            dest.to_string()
        };
        out.archives.push((name.to_string(), dest, archive));
        out.carried.push(if is_dir {
            format!("{name} ({count} files)")
        } else {
            name.to_string()
        });
    }
    out.cut = walk.cut;
    if walk.more_cut > 0 {
        out.cut.push(format!("{} more left out", walk.more_cut));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cctui-carry-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("skills")).unwrap();
        dir
    }

    fn carry_all(dir: &Path) -> Carried {
        let names: Vec<String> = CARRIABLE.iter().map(|(n, _)| n.to_string()).collect();
        collect(dir, &names)
    }

    #[test]
    fn files_over_the_bounds_are_cut_and_said() {
        let dir = folder("bounds");
        std::fs::write(
            dir.join("skills/big"),
            vec![b'a'; MAX_FILE_BYTES as usize + 1],
        )
        .unwrap();
        for i in 0..MAX_FILES + 3 {
            std::fs::write(dir.join(format!("skills/f{i:04}")), "x").unwrap();
        }
        let c = carry_all(&dir);
        assert_eq!(c.carried, [format!("skills ({MAX_FILES} files)")]);
        assert!(
            c.cut.iter().any(|c| c == "skills/big: over 1024 KiB"),
            "{:?}",
            c.cut
        );
        let over = c
            .cut
            .iter()
            .filter(|c| c.contains("over the bound of"))
            .count();
        assert_eq!(over, 3, "{:?}", c.cut);
        // The total, too: five files just under the per-file cap pass 4 MiB.
        let dir = folder("total");
        for i in 0..5 {
            let bytes = vec![b'a'; MAX_FILE_BYTES as usize - 1];
            std::fs::write(dir.join(format!("skills/g{i}")), bytes).unwrap();
        }
        let c = carry_all(&dir);
        assert_eq!(c.carried, ["skills (4 files)"]);
        assert_eq!(c.cut, ["skills/g4: over the bound of 500 files, 4 MiB"]);
    }

    #[test]
    fn what_is_left_out_is_named_then_counted() {
        let dir = folder("many");
        for i in 0..MAX_CUT_NOTES + 10 {
            std::fs::write(dir.join(format!("skills/.h{i:03}")), "x").unwrap();
        }
        let c = carry_all(&dir);
        assert_eq!(c.cut.len(), MAX_CUT_NOTES + 1, "{:?}", c.cut);
        assert_eq!(c.cut.last().unwrap(), "10 more left out");
    }

    #[test]
    fn pipes_and_sockets_are_not_carried() {
        let dir = folder("special");
        let fifo = std::ffi::CString::new(dir.join("skills/pipe").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let _sock = std::os::unix::net::UnixListener::bind(dir.join("skills/sock")).unwrap();
        std::fs::write(dir.join("skills/ok.md"), "fine").unwrap();
        let c = carry_all(&dir);
        assert_eq!(c.carried, ["skills (1 files)"]);
        assert_eq!(c.cut.len(), 2, "{:?}", c.cut);
        assert!(
            c.cut.iter().all(|c| c.contains("not a plain file")),
            "{:?}",
            c.cut
        );
    }

    #[test]
    fn only_the_listed_names_may_be_carried() {
        for ok in ["CLAUDE.md", "skills", "commands", "agents", "output-styles"] {
            assert!(check_entry(ok).is_ok());
        }
        for bad in [
            "settings.json",
            "settings.local.json",
            ".credentials.json",
            "..",
            "/",
            "",
        ] {
            assert!(check_entry(bad).is_err(), "{bad}");
        }
    }
}
