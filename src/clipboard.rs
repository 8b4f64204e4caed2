//! The host's clipboard, at the dashboard's edge: text a session copied goes out as cctui's
//! own OSC 52 (or through tmux's buffer), and an image is read for pasting into a session.
//! Nothing here decides whether a copy may go out: `update` does, and only for the session
//! the user is attached to.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::term::osc52;

/// The way out to the user's clipboard, owned by the dashboard's runtime. Outside tmux:
/// cctui's OSC 52 on its own terminal, written between frames by the loop that draws.
/// Inside tmux: `tmux load-buffer -w -`, which needs no `allow-passthrough` (off by default,
/// and a door for every pane when on), sets tmux's own buffer too (so prefix-] pastes it
/// even where the outer terminal has no OSC 52), and has tmux send the clipboard escape it
/// knows the outer terminal takes. A session's copies are its agent's to make, as fast as
/// it likes: at most one tmux runs at a time, at most one per COPY_GAP, and copies made
/// meanwhile collapse into the latest.
#[derive(Debug, Default, Clone)]
pub struct Copier {
    pending: Arc<Mutex<Option<Vec<u8>>>>,
    busy: Arc<AtomicBool>,
}

const COPY_GAP: Duration = Duration::from_millis(100);

impl Copier {
    /// Puts `bytes` on the user's clipboard.
    pub fn copy(&self, bytes: Vec<u8>, in_tmux: bool) {
        if !in_tmux {
            let mut out = std::io::stdout();
            let _ = out.write_all(&osc52::set_clipboard(&bytes));
            let _ = out.flush();
            return;
        }
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(bytes);
        if !self.busy.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().drain());
        }
    }

    async fn drain(self) {
        loop {
            let next = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(bytes) = next {
                load_tmux_buffer(bytes).await;
                tokio::time::sleep(COPY_GAP).await;
                continue;
            }
            self.busy.store(false, Ordering::SeqCst);
            // A copy that came between the take and the store is drained by whoever wins.
            let more = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some();
            if !more || self.busy.swap(true, Ordering::SeqCst) {
                return;
            }
        }
    }

    /// Whether a copy is still on its way (for tests).
    pub fn idle(&self) -> bool {
        !self.busy.load(Ordering::SeqCst)
    }
}

/// `tmux load-buffer -w -`; a tmux older than 3.2 has no `-w`: then tmux's buffer only.
async fn load_tmux_buffer(bytes: Vec<u8>) {
    for args in [&["load-buffer", "-w", "-"][..], &["load-buffer", "-"][..]] {
        if pipe_to("tmux", args, &bytes).await {
            return;
        }
    }
}

async fn pipe_to(program: &str, args: &[&str], bytes: &[u8]) -> bool {
    use std::process::Stdio;
    use tokio::io::AsyncWriteExt;
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return false };
    if let Some(mut stdin) = child.stdin.take() {
        if stdin.write_all(bytes).await.is_err() {
            return false;
        }
    }
    child.wait().await.is_ok_and(|s| s.success())
}

/// The image on the host's clipboard, as a PNG; `None` when there is none, or no clipboard
/// to ask (no display). Blocking: the clipboard owner may take its time to answer.
///
/// The image is decoded and encoded again, so what reaches the session is pixels only:
/// none of the chunks (text, metadata) the original file may have carried.
pub fn image_png() -> Option<Vec<u8>> {
    let mut clipboard = arboard::Clipboard::new().ok()?;
    let image = clipboard.get_image().ok()?;
    encode_png(image.width, image.height, &image.bytes)
}

/// RGBA pixels, `width` x `height`, as a PNG.
pub fn encode_png(width: usize, height: usize, rgba: &[u8]) -> Option<Vec<u8>> {
    let (w, h) = (u32::try_from(width).ok()?, u32::try_from(height).ok()?);
    if w == 0 || h == 0 || rgba.len() != width.checked_mul(height)?.checked_mul(4)? {
        return None;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(rgba).ok()?;
    writer.finish().ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_become_a_png_that_decodes_to_them() {
        let rgba: Vec<u8> = (0..2 * 3 * 4).map(|i| (i * 7) as u8).collect();
        let png_bytes = encode_png(2, 3, &rgba).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2, 3));
        assert_eq!(&buf[..info.buffer_size()], &rgba[..]);
        assert_eq!(encode_png(2, 2, &rgba), None, "the wrong number of bytes");
        assert_eq!(encode_png(0, 3, &[]), None);
    }
}
