//! Delivers `[session] carry` (collected in `session::carry`) into a starting agent: each
//! entry's archive is unpacked by root into a root-owned mount, so the agent can read it and
//! never write it, and root never writes through a path the agent could have redirected.

use super::*;
use crate::backend::ExecSpec;
use crate::session::carry::{self, Carried};

/// Unpacks the archive on stdin into `$1`, which must be its own root-owned mount reached
/// without a symlink (exit 3 otherwise: a session made before carry). With `$2` = clean,
/// what an earlier start left is removed first.
const UNPACK: &str = r#"set -e
cd -P "$1" 2>/dev/null || exit 3
[ "$(pwd -P)" = "$1" ] || exit 3
[ "$(stat -c %u .)" = 0 ] || exit 3
[ "$(stat -c %d .)" != "$(stat -c %d ..)" ] || exit 3
if [ "$2" = clean ]; then find . -mindepth 1 -delete; fi
tar -xf -"#;

/// Exit status of `UNPACK` when the destination is not cctui's mount.
const NOT_OURS: i64 = 3;

/// The file under cctui's state folder that says what was carried into a session's agent.
pub fn report_file(agent_id: &str) -> PathBuf {
    crate::paths::state_dir().join("carried").join(agent_id)
}

impl<B: Backend> Ops<B> {
    /// Carries the user's Claude setup into `agent` as its project's config says, and keeps
    /// a note of what was carried and cut for the dashboard.
    pub(super) async fn carry_setup(&self, agent: &str, project: &std::path::Path) -> Result<()> {
        let names = self.project_config(project)?.session.carry;
        let mut carried = match carry::host_claude_dir() {
            Some(root) if !names.is_empty() => {
                tokio::task::spawn_blocking(move || carry::collect(&root, &names))
                    .await
                    .map_err(|e| Error::other(format!("collecting the Claude setup: {e}")))?
            }
            _ => Carried::default(),
        };
        let archives = std::mem::take(&mut carried.archives);
        let mut delivered = Vec::new();
        for ((name, dest, archive), shown) in archives.into_iter().zip(&carried.carried) {
            let clean = if name == "CLAUDE.md" { "keep" } else { "clean" };
            let out = self
                .backend
                .exec(
                    agent,
                    &ExecSpec {
                        cmd: vec![
                            "sh".into(),
                            "-c".into(),
                            UNPACK.into(),
                            "sh".into(),
                            dest.clone(),
                            clean.into(),
                        ],
                        user: Some("0:0".into()),
                        stdin: Some(archive),
                        ..Default::default()
                    },
                )
                .await?;
            match out.exit_code {
                0 => delivered.push(shown.clone()),
                NOT_OURS => carried.cut.push(format!(
                    "{name}: this session was made before carry; `cctui rm` and create it again"
                )),
                code => {
                    return Err(Error::other(format!(
                        "carrying {name} into {dest} failed (exit {code}): {}",
                        out.stderr_text().trim()
                    )))
                }
            }
        }
        carried.carried = delivered;
        write_report(agent, &carried);
        Ok(())
    }
}

/// Writes what was carried and cut (one per line, "carried: " or "cut: ") for the Info tab
/// and `ls --json`. A failure to write it costs only the listing.
fn write_report(agent: &str, carried: &Carried) {
    let file = report_file(agent);
    let text: String = carried
        .carried
        .iter()
        .map(|c| format!("carried: {c}\n"))
        .chain(carried.cut.iter().map(|c| format!("cut: {c}\n")))
        .collect();
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(&file, text) {
        tracing::warn!("{}: {e}", file.display());
    }
}

/// What the last start carried into the agent container `agent_id`, and what it cut.
pub fn read_report(agent_id: &str) -> (Vec<String>, Vec<String>) {
    let text =
        crate::bounded::read_small_file(&report_file(agent_id), 64 << 10).unwrap_or_default();
    let mut carried = Vec::new();
    let mut cut = Vec::new();
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("carried: ") {
            carried.push(c.to_string());
        } else if let Some(c) = line.strip_prefix("cut: ") {
            cut.push(c.to_string());
        }
    }
    (carried, cut)
}
