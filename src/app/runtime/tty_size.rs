//! The size a session's tty has now, shared by every cctui that shows it (the dashboard,
//! `cctui attach`, a `t`/`T` pane). A tty has one size at a time; whoever sets it writes it
//! here first, and the others read it before they feed claude's output to their screens, so
//! that each screen is drawn at the tty's size (cut or padded to its area, never re-wrapped).

use std::io::Read;
use std::path::PathBuf;
use std::time::SystemTime;

/// Only containers named by the engine's id (or a plain name) get a record: the name is a
/// file name.
fn record(container: &str) -> Option<PathBuf> {
    let plain = !container.is_empty()
        && container.len() <= 128
        && !container.starts_with('.')
        && container
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| crate::paths::state_dir().join("tty").join(container))
}

/// Records the size this cctui is about to give the container's tty. Written whole (a
/// rename), so that a reader never sees half of it. A failure only costs the others a
/// faithful screen; nothing to report.
pub(super) fn write(container: &str, rows: u16, cols: u16) {
    let Some(path) = record(container) else {
        return;
    };
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".{container}.{}", std::process::id()));
    let line = format!("{rows} {cols} {}\n", std::process::id());
    if std::fs::write(&tmp, line).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The size a cctui set and whether it was this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Recorded {
    pub rows: u16,
    pub cols: u16,
    pub by_us: bool,
}

/// Whether process `pid` runs: a record whose writer is gone may be older than the container's
/// last start (a restarted tty is 0x0 until a client sizes it), and is not followed.
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// `rows cols pid`, sizes 1..=4096, by a running writer; anything else is no record.
fn parse(text: &str) -> Option<Recorded> {
    let mut parts = text.split_ascii_whitespace();
    let mut size = || {
        parts
            .next()?
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=4096).contains(n))
    };
    let (rows, cols) = (size()?, size()?);
    let pid: u32 = parts.next()?.parse().ok()?;
    (parts.next().is_none() && alive(pid)).then_some(Recorded {
        rows,
        cols,
        by_us: pid == std::process::id(),
    })
}

/// Follows one container's record: [`changed`](Self::changed) reads it only when the file
/// changed since the last look.
pub(super) struct SizeWatch {
    path: Option<PathBuf>,
    seen: Option<(SystemTime, u64)>,
}

impl SizeWatch {
    pub(super) fn new(container: &str) -> Self {
        Self {
            path: record(container),
            seen: None,
        }
    }

    /// The recorded size, when the record is new or changed since the last call.
    pub(super) fn changed(&mut self) -> Option<Recorded> {
        let path = self.path.as_ref()?;
        let meta = std::fs::metadata(path).ok()?;
        let stamp = (meta.modified().ok()?, meta.len());
        if self.seen == Some(stamp) {
            return None;
        }
        self.seen = Some(stamp);
        let mut text = String::new();
        std::fs::File::open(path)
            .ok()?
            .take(32)
            .read_to_string(&mut text)
            .ok()?;
        parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_a_plain_size() {
        let me = std::process::id();
        let rec = |rows, cols, by_us| Some(Recorded { rows, cols, by_us });
        assert_eq!(parse(&format!("40 120 {me}\n")), rec(40, 120, true));
        let other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert_eq!(
            parse(&format!("40 120 {}", other.id())),
            rec(40, 120, false)
        );
        let mut other = other;
        other.kill().unwrap();
        other.wait().unwrap();
        assert_eq!(
            parse(&format!("40 120 {}", other.id())),
            None,
            "its writer is gone"
        );
        for bad in [
            "",
            "40",
            "40 120",
            "40 0 1",
            "0 40 1",
            "40 120 3 4",
            "40 99999 1",
            "a b 1",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_plain_names_have_a_record() {
        assert!(record("0123abcdef").is_some());
        assert!(record("cctui-s_1.x").is_some());
        for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(129)] {
            assert!(record(bad).is_none(), "{bad:?}");
        }
    }
}
