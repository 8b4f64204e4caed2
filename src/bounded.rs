//! Bounded reads of agent-written data. Anything a session wrote (git output about its
//! commits, container logs, transcripts, exec output) is read through here: at most a cap is
//! kept, the rest is read and counted but never held, and what was cut is said in one form,
//! [`cut_marker`]. The caps live here too, so that there is one owner for each.

use tokio::io::{AsyncRead, AsyncReadExt};

/// What cctui keeps of one git command's stdout.
pub const GIT_STDOUT: usize = 8 << 20;
/// What cctui keeps of an error stream (git's stderr, an exec's stderr).
pub const STDERR: usize = 64 << 10;
/// `cctui diff`: the whole diff printed.
pub const DIFF_TOTAL: usize = 4 << 20;
/// Files bigger than this are not diffed (git treats them as binary: `core.bigFileThreshold`).
pub const DIFF_FILE: usize = 1 << 20;
/// The Changes tab: one file's diff, in bytes and in lines.
pub const FILE_DIFF_BYTES: usize = 2 << 20;
pub const FILE_DIFF_LINES: usize = 20_000;
/// `cctui diff`: the lines printed.
pub const DIFF_LINES: usize = 100_000;
/// One line of a log shown as text.
pub const LOG_LINE: usize = 4 << 10;
/// One transcript line; longer ones are skipped (and counted).
pub const TRANSCRIPT_LINE: usize = 4 << 20;
/// What an exec that cctui reads (a status, a report) may print.
pub const EXEC_STDOUT: usize = 8 << 20;

/// A file the agent may have written that cctui parses whole (a devcontainer proposal).
pub const PROPOSAL_FILE: u64 = 1 << 20;
/// A repository's image build: the files of its context and local features, in number and
/// in bytes all together.
pub const BUILD_FILES: usize = 4096;
pub const BUILD_BYTES: u64 = 64 << 20;

/// Reads a text file whole only if it is at most `cap` bytes; a bigger one is an error that
/// says so (parsing half a file would be worse than not reading it).
pub fn read_small_file(path: &std::path::Path, cap: u64) -> std::io::Result<String> {
    let bytes = read_small_bytes(path, cap)?;
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The bytes of a regular file of at most `cap` bytes. Never follows a symlink in the last
/// component and never blocks on a FIFO or device: anything but a regular file is an error.
pub fn read_small_bytes(path: &std::path::Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => invalid("a symlink; cctui does not follow it".into()),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(invalid("not a regular file; cctui does not read it".into()));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(invalid(format!(
            "larger than {} KiB; cctui does not read it",
            cap >> 10
        )));
    }
    Ok(bytes)
}

/// The one form of "this was cut": how much, and where to see all of it.
pub fn cut_marker(cut: u64, see: &str) -> String {
    format!("… cut: {} more bytes (see {see})", cut)
}

/// Bytes kept up to a cap, and how many more there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capped {
    pub bytes: Vec<u8>,
    pub cap: usize,
    /// Bytes read past the cap and dropped.
    pub cut: u64,
}

impl Capped {
    pub fn new(cap: usize) -> Capped {
        Capped {
            bytes: Vec::new(),
            cap,
            cut: 0,
        }
    }

    /// Keeps what fits, counts the rest.
    pub fn push(&mut self, data: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len());
        let keep = room.min(data.len());
        self.bytes.extend_from_slice(&data[..keep]);
        self.cut += (data.len() - keep) as u64;
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The text, with the marker on a line of its own when something was cut.
    pub fn text_marked(&self, see: &str) -> String {
        let mut text = self.text();
        if self.cut > 0 {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&cut_marker(self.cut, see));
        }
        text
    }
}

/// Reads `r` to its end, keeping at most `cap` bytes (the rest is read and counted, so the
/// writer never blocks on a full pipe).
pub async fn read_capped<R: AsyncRead + Unpin>(mut r: R, cap: usize) -> std::io::Result<Capped> {
    let mut out = Capped::new(cap);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(out);
        }
        out.push(&buf[..n]);
    }
}

/// Splits a stream of chunks into lines of at most `max` bytes. A longer line is cut to
/// its first `max` bytes (counted in `cut_lines`/`cut_bytes`), never held whole.
#[derive(Debug)]
pub struct LineSplitter {
    max: usize,
    partial: Vec<u8>,
    /// The current line went past `max`: the rest of it is dropped.
    overlong: bool,
    pub cut_lines: u64,
    pub cut_bytes: u64,
}

impl LineSplitter {
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter {
            max,
            partial: Vec::new(),
            overlong: false,
            cut_lines: 0,
            cut_bytes: 0,
        }
    }

    /// Calls `line(bytes, was_cut)` for each line the chunk ends (without its `\n`).
    pub fn push(&mut self, mut chunk: &[u8], mut line: impl FnMut(&[u8], bool)) {
        while !chunk.is_empty() {
            let end = chunk.iter().position(|b| *b == b'\n');
            let piece = &chunk[..end.unwrap_or(chunk.len())];
            let room = self.max.saturating_sub(self.partial.len());
            let keep = room.min(piece.len());
            self.partial.extend_from_slice(&piece[..keep]);
            if keep < piece.len() {
                if !self.overlong {
                    self.cut_lines += 1;
                }
                self.overlong = true;
                self.cut_bytes += (piece.len() - keep) as u64;
            }
            match end {
                Some(i) => {
                    line(&self.partial, self.overlong);
                    self.partial.clear();
                    self.overlong = false;
                    chunk = &chunk[i + 1..];
                }
                None => return,
            }
        }
    }

    /// The last line, when the stream did not end with a newline.
    pub fn finish(&mut self, mut line: impl FnMut(&[u8], bool)) {
        if !self.partial.is_empty() || self.overlong {
            line(&self.partial, self.overlong);
        }
        self.partial.clear();
        self.overlong = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_keeps_the_cap_and_counts_the_rest() {
        let mut c = Capped::new(4);
        c.push(b"abc");
        c.push(b"defgh");
        assert_eq!(c.bytes, b"abcd");
        assert_eq!(c.cut, 4);
        assert_eq!(c.text_marked("x"), "abcd\n… cut: 4 more bytes (see x)");
    }

    #[tokio::test]
    async fn read_capped_drains_everything() {
        let data = vec![b'a'; 200_000];
        let c = read_capped(&data[..], 1000).await.unwrap();
        assert_eq!(c.bytes.len(), 1000);
        assert_eq!(c.cut, 199_000);
    }

    #[test]
    fn a_file_over_the_cap_is_not_read() {
        let path = std::env::temp_dir().join(format!("cctui-bounded-{}", std::process::id()));
        std::fs::write(&path, vec![b'a'; 2000]).unwrap();
        assert_eq!(read_small_file(&path, 2000).unwrap().len(), 2000);
        let e = read_small_file(&path, 1999).unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn lines_are_split_and_cut() {
        let mut s = LineSplitter::new(3);
        let mut got = Vec::new();
        for chunk in [&b"ab\nabcdef"[..], b"gh\nx", b"y"] {
            s.push(chunk, |l, cut| got.push((l.to_vec(), cut)));
        }
        s.finish(|l, cut| got.push((l.to_vec(), cut)));
        assert_eq!(
            got,
            [
                (b"ab".to_vec(), false),
                (b"abc".to_vec(), true),
                (b"xy".to_vec(), false)
            ]
        );
        assert_eq!((s.cut_lines, s.cut_bytes), (1, 5));
    }
}
