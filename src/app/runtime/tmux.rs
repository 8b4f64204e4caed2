//! The runtime's edges outside the engine: tmux panes and windows, and folder completion.

/// Folders starting with `prefix`, for the new-session dialog.
pub fn complete_dirs(prefix: &str) -> Vec<String> {
    let (dir, start) = match prefix.rfind('/') {
        Some(i) => (&prefix[..=i], &prefix[i + 1..]),
        None => ("./", prefix),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| n.starts_with(start) && (start.starts_with('.') || !n.starts_with('.')))
        .map(|n| format!("{dir}{n}/"))
        .collect();
    out.sort();
    out
}

/// What a tmux pane or window opens: `cctui attach` of this session, on this engine.
pub struct Target {
    pub session: String,
    pub window: bool,
    pub engine: String,
    pub host: String,
    /// With several engines the pane's `cctui --engine NAME attach` names the session's
    /// engine; with one, the pane gets this dashboard's engine host, as before.
    pub several: bool,
}

/// Opens `cctui attach NAME` in a new tmux pane or window. Only inside tmux.
/// The pane runs with this dashboard's engine and config (and its folders, when they were
/// moved), not whatever the tmux server's environment says.
pub async fn open(target: &Target, config: Option<&std::path::Path>) -> Result<String, String> {
    if std::env::var_os("TMUX").is_none() {
        return Err("not inside tmux: t and T open sessions in tmux panes and windows".into());
    }
    let (session, window) = (target.session.as_str(), target.window);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let folders: Vec<(&str, String)> = ["CCTUI_CONFIG_DIR", "CCTUI_STATE_DIR"]
        .into_iter()
        .filter_map(|var| Some((var, std::env::var_os(var)?.to_string_lossy().into_owned())))
        .collect();
    let command = pane_command(target, &exe.display().to_string(), config, &folders);
    let mut cmd = tokio::process::Command::new("tmux");
    if window {
        cmd.args(["new-window", "-n", session, &command]);
    } else {
        cmd.args(["split-window", "-h"]);
        // cctui's own pane, not whichever window tmux has active.
        if let Some(pane) = std::env::var_os("TMUX_PANE") {
            cmd.arg("-t").arg(pane);
        }
        cmd.arg(&command);
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| format!("cannot run tmux: {e}"))?;
    if out.status.success() {
        Ok(format!(
            "opened {session} in a tmux {}",
            if window { "window" } else { "pane" }
        ))
    } else {
        Err(format!(
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The pane's command line: `cctui attach` of the target's session on its engine, with the
/// dashboard's config and `folders` (variables and their values).
fn pane_command(
    target: &Target,
    exe: &str,
    config: Option<&std::path::Path>,
    folders: &[(&str, String)],
) -> String {
    let mut command = "env".to_string();
    if !target.several {
        command.push_str(&format!(" DOCKER_HOST={}", shell_quote(&target.host)));
    }
    for (var, value) in folders {
        command.push_str(&format!(" {var}={}", shell_quote(value)));
    }
    command.push_str(&format!(" {}", shell_quote(exe)));
    if let Some(c) = config {
        command.push_str(&format!(
            " --config {}",
            shell_quote(&c.display().to_string())
        ));
    }
    if target.several {
        command.push_str(&format!(" --engine {}", shell_quote(&target.engine)));
    }
    command.push_str(&format!(" attach {}", shell_quote(&target.session)));
    command
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pane_attaches_on_the_sessions_engine() {
        let target = |several| Target {
            session: "web".into(),
            window: false,
            engine: "box".into(),
            host: "unix:///l.sock".into(),
            several,
        };
        let dirs = [("CCTUI_STATE_DIR", "/s".to_string())];
        let config = Some(std::path::Path::new("/c.toml"));
        assert_eq!(
            pane_command(&target(false), "/bin/cctui", config, &dirs),
            "env DOCKER_HOST='unix:///l.sock' CCTUI_STATE_DIR='/s' '/bin/cctui' --config \
             '/c.toml' attach 'web'"
        );
        assert_eq!(
            pane_command(&target(true), "/bin/cctui", None, &[]),
            "env '/bin/cctui' --engine 'box' attach 'web'"
        );
    }
}
