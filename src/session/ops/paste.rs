//! Images pasted into a session: written into its paste tmpfs over the engine's exec API
//! (stdin, never a bind mount of a host path), as the agent's user.

use super::*;
use crate::backend::ExecSpec;

/// The most bytes one pasted image may have; the paste tmpfs holds a few of them.
pub const MAX_PASTE_BYTES: usize = 24 << 20;

impl<B: Backend> Ops<B> {
    /// Writes `png` into the agent's paste tmpfs as a new file; returns its path there.
    pub async fn write_pasted_image(&self, agent: &str, png: Vec<u8>) -> Result<String> {
        if png.len() > MAX_PASTE_BYTES {
            return Err(Error::other(format!(
                "the image is {} MiB; at most {} MiB can be pasted",
                png.len() >> 20,
                MAX_PASTE_BYTES >> 20
            )));
        }
        let user = self.backend.inspect_container(agent).await?.user;
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let path = format!("{PASTE_DIR}/image-{millis}.png");
        // A session made before pastes existed has no paste tmpfs: say so, write nowhere else.
        let script = "[ -d \"$(dirname \"$1\")\" ] || { echo 'this session has no paste folder; \
                      remove and recreate it to paste images' >&2; exit 3; }; \
                      umask 077; cat > \"$1.tmp\" && mv -f \"$1.tmp\" \"$1\"";
        let out = self
            .backend
            .exec(
                agent,
                &ExecSpec {
                    cmd: vec![
                        "sh".into(),
                        "-c".into(),
                        script.into(),
                        "sh".into(),
                        path.clone(),
                    ],
                    user: Some(user),
                    stdin: Some(png),
                    ..Default::default()
                },
            )
            .await?;
        if out.exit_code != 0 {
            let why = out.stderr_text();
            return Err(Error::other(why.trim().to_string()));
        }
        Ok(path)
    }
}
