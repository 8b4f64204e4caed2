//! `cctui logs`: a session's output. To a terminal it is shown as text, as the Logs tab
//! shows it: claude's screen codes (alternate screen, mouse modes, a hidden cursor, queries
//! the terminal would answer at the shell prompt) are removed. Piped, the bytes are kept.
//! Without `--follow` on a terminal, the stream is played through a terminal emulator and
//! the last `--tail` lines it leaves are shown: a full-screen program's redraws, which end
//! no line the engine counts, read as one screen instead of the whole stream.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use futures_util::StreamExt;

use crate::app::state::LogBuffer;
use crate::backend::{Backend, LogStream};
use crate::error::{Error, Result};
use crate::session::ops::Ops;
use crate::term::log_text::LogText;
use crate::term::sanitize::{text_str, Mark};

pub async fn print<B: Backend>(
    ops: &Ops<B>,
    name: &str,
    tail: usize,
    follow: bool,
) -> Result<ExitCode> {
    let session = ops.find(name).await?;
    let id = session
        .agent
        .map(|a| a.id)
        .ok_or_else(|| Error::usage(format!("session `{name}` has no agent container")))?;
    if !follow && std::io::stdout().is_terminal() {
        return rendered(ops, &id, tail).await;
    }
    let mut stdout = Sink::new(std::io::stdout());
    let mut stderr = Sink::new(std::io::stderr());
    let mut stream = ops.backend.logs(&id, tail, follow);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        match chunk.stream {
            LogStream::Stderr => stderr.write(&chunk.bytes),
            _ => stdout.write(&chunk.bytes),
        }
    }
    stdout.finish();
    stderr.finish();
    Ok(ExitCode::SUCCESS)
}

/// The log rendered as a terminal would show it, its last `tail` lines, sanitized.
async fn rendered<B: Backend>(ops: &Ops<B>, id: &str, tail: usize) -> Result<ExitCode> {
    let (mut out, mut err) = (LogText::new(), LogText::new());
    // The engine's own tail counts newlines, which a full-screen program seldom writes: ask
    // for the lines we keep and more, as the emulator's scrollback bounds the cost anyway.
    let mut stream = ops
        .backend
        .logs(id, tail.saturating_mul(4).max(1000), false);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        match chunk.stream {
            LogStream::Stderr => err.feed(&chunk.bytes),
            _ => out.feed(&chunk.bytes),
        }
    }
    write_lines(&mut std::io::stderr(), err.last_lines(tail).into_iter());
    write_lines(&mut std::io::stdout(), out.last_lines(tail).into_iter());
    Ok(ExitCode::SUCCESS)
}

/// One output: raw bytes when piped, text lines (escape sequences and controls removed)
/// on a terminal.
struct Sink<W: Write + IsTerminal> {
    out: W,
    text: Option<LogBuffer>,
}

impl<W: Write + IsTerminal> Sink<W> {
    fn new(out: W) -> Self {
        let text = out.is_terminal().then(|| LogBuffer::new(1024));
        Sink { out, text }
    }

    fn write(&mut self, bytes: &[u8]) {
        match &mut self.text {
            None => {
                let _ = self.out.write_all(bytes).and_then(|_| self.out.flush());
            }
            Some(buffer) => {
                buffer.push_bytes(bytes);
                write_lines(&mut self.out, buffer.lines.drain(..));
            }
        }
    }

    /// Shows an unfinished last line, as text.
    fn finish(&mut self) {
        if let Some(buffer) = &mut self.text {
            let last = crate::app::state::strip_ansi(&std::mem::take(&mut buffer.partial));
            if !last.is_empty() {
                write_lines(&mut self.out, std::iter::once(last));
            }
        }
    }
}

/// Lines for a terminal: whatever `strip_ansi` left, the sanitizer shows, never runs.
fn write_lines(out: &mut impl Write, lines: impl Iterator<Item = String>) {
    for line in lines {
        let _ = writeln!(out, "{}", text_str(&line, Mark::Reverse));
    }
    let _ = out.flush();
}
