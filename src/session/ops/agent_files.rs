//! What cctui writes into a running agent: managed settings, secrets (over the API, never
//! argv or the environment), Claude's `.claude.json`, and the ready mark claude waits for.

use super::*;
use crate::backend::ExecSpec;
use crate::sandbox::{broker, secrets};

impl<B: Backend> Ops<B> {
    /// Writes the session's settings and secrets into the agent's tmpfs, seeds Claude's
    /// config, then lets `claude` start. With `brokered`, the holder's broker holds the
    /// credential: the agent gets a placeholder and the broker's address.
    pub(super) async fn prepare_agent(
        &self,
        agent: &str,
        project: &std::path::Path,
        secrets: &SessionSecrets,
        brokered: bool,
    ) -> Result<()> {
        let details = self.backend.inspect_container(agent).await?;
        let agent_user = details.user.clone();
        let has_key = secrets.credential.is_some();
        let managed = managed_settings(has_key, brokered && has_key);
        let settings = format!("{MANAGED_SETTINGS_DIR}/managed-settings.json");
        let bytes = managed.to_string().into_bytes();
        self.write_file(
            agent,
            "0:0",
            &settings,
            "0644",
            bytes,
            "writing managed settings",
        )
        .await?;
        let placeholder = secrets::Secret::new(broker::PLACEHOLDER);
        let key_file = secrets.credential.as_ref().map(|c| {
            let value = if brokered { &placeholder } else { &c.secret };
            ("anthropic_api_key".to_string(), value)
        });
        let files = key_file
            .into_iter()
            .chain(secrets.extra.iter().map(|(n, s)| (n.clone(), s)));
        for (name, secret) in files {
            let path = format!("{SECRETS_DIR}/{name}");
            let bytes = secret.expose().as_bytes().to_vec();
            self.write_file(agent, &agent_user, &path, "0400", bytes, "writing a secret")
                .await?;
        }
        self.seed_claude_json(agent, &agent_user, project, has_key)
            .await?;
        self.carry_setup(agent, project).await?;
        self.exec_checked(
            agent,
            ExecSpec {
                cmd: sh("touch /run/cctui/ready"),
                user: Some("0:0".into()),
                ..Default::default()
            },
            "marking the session ready",
        )
        .await?;
        Ok(())
    }

    /// Marks onboarding complete (with a key) and the workspace trusted (if configured) in the
    /// config volume's `.claude.json`, keeping everything else in it.
    async fn seed_claude_json(
        &self,
        agent: &str,
        user: &str,
        project: &std::path::Path,
        has_key: bool,
    ) -> Result<()> {
        let config = self.project_config(project)?;
        let trust = config.session.trust_workspace;
        // The session was asked to skip permissions, inside the sandbox that makes it safe:
        // claude's one-time warning about that mode is already answered.
        let bypass = config
            .session
            .claude_args
            .iter()
            .any(|a| a == "--dangerously-skip-permissions");
        if !has_key && !trust && !bypass {
            return Ok(());
        }
        self.edit_claude_json(agent, user, "seeding .claude.json", |json| {
            if has_key {
                json["hasCompletedOnboarding"] = true.into();
            }
            if bypass {
                json["bypassPermissionsModeAccepted"] = true.into();
            }
            if trust {
                let projects = json
                    .as_object_mut()
                    .expect("an object")
                    .entry("projects")
                    .or_insert_with(|| serde_json::json!({}));
                if let Some(projects) = projects.as_object_mut() {
                    let entry = projects
                        .entry(project.display().to_string())
                        .or_insert_with(|| serde_json::json!({}));
                    entry["hasTrustDialogAccepted"] = true.into();
                }
            }
        })
        .await
    }

    /// Reads the config volume's `.claude.json` (a missing or broken one reads as `{}`),
    /// applies `edit`, and writes it back atomically, as the agent user.
    async fn edit_claude_json(
        &self,
        agent: &str,
        user: &str,
        what: &str,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> Result<()> {
        let file = format!("{CLAUDE_CONFIG_DIR}/.claude.json");
        let current = self
            .backend
            .exec(
                agent,
                &ExecSpec {
                    cmd: vec!["cat".into(), file.clone()],
                    user: Some(user.to_string()),
                    ..Default::default()
                },
            )
            .await?;
        let mut json = serde_json::from_slice::<serde_json::Value>(&current.stdout)
            .ok()
            .filter(|j| current.exit_code == 0 && j.is_object())
            .unwrap_or_else(|| serde_json::json!({}));
        edit(&mut json);
        let bytes = serde_json::to_vec_pretty(&json).expect("json");
        self.write_file(agent, user, &file, "0600", bytes, what)
            .await
    }

    /// Writes `bytes` to `path` in the container as `user`, atomically, with `mode`. The
    /// content travels on stdin: argv only ever has the path.
    async fn write_file(
        &self,
        container: &str,
        user: &str,
        path: &str,
        mode: &str,
        bytes: Vec<u8>,
        what: &str,
    ) -> Result<()> {
        let script =
            "umask 077; cat > \"$1.tmp\" && chmod \"$2\" \"$1.tmp\" && mv -f \"$1.tmp\" \"$1\"";
        self.exec_checked(
            container,
            ExecSpec {
                cmd: vec![
                    "sh".into(),
                    "-c".into(),
                    script.into(),
                    "sh".into(),
                    path.to_string(),
                    mode.to_string(),
                ],
                user: Some(user.to_string()),
                stdin: Some(bytes),
                ..Default::default()
            },
            what,
        )
        .await
    }

    pub(super) async fn exec_checked(
        &self,
        container: &str,
        spec: ExecSpec,
        what: &str,
    ) -> Result<()> {
        let out = self.backend.exec(container, &spec).await?;
        if out.exit_code != 0 {
            return Err(Error::other(format!(
                "{what} failed (exit {}): {}",
                out.exit_code,
                out.stderr_text().trim()
            )));
        }
        Ok(())
    }

    /// Clears Claude's stored login (OAuth credentials and account) from the project's config
    /// volume, keeping its other settings and history.
    pub async fn logout(&self, name: &str) -> Result<()> {
        let id = self.running_agent(name).await?;
        let user = self.backend.inspect_container(&id).await?.user;
        self.edit_claude_json(&id, &user, "updating .claude.json", |json| {
            if let Some(obj) = json.as_object_mut() {
                obj.remove("oauthAccount");
                obj.remove("primaryApiKey");
            }
        })
        .await?;
        self.exec_checked(
            &id,
            ExecSpec {
                cmd: sh(&format!("rm -f {CLAUDE_CONFIG_DIR}/.credentials.json")),
                user: Some(user),
                ..Default::default()
            },
            "removing the stored credentials",
        )
        .await
    }
}

/// Claude Code's managed settings for a session: root-owned, so the agent cannot change them.
/// The key comes from `apiKeyHelper` (a placeholder when `brokered`: the broker at
/// `ANTHROPIC_BASE_URL` adds the real one); hooks print invisible markers on claude's tty that
/// tell the dashboard when claude waits, works, or finishes a turn.
pub fn managed_settings(has_key: bool, brokered: bool) -> serde_json::Value {
    use crate::term::hook::HookEvent;
    let hook = |event: HookEvent| serde_json::json!([{ "hooks": [{ "type": "command", "command": event.shell_command() }] }]);
    let mut settings = serde_json::json!({
        "hooks": {
            "Notification": hook(HookEvent::Notification),
            "Stop": hook(HookEvent::Stop),
            "UserPromptSubmit": hook(HookEvent::PromptSubmit),
            "SessionStart": hook(HookEvent::Start),
        }
    });
    if has_key {
        settings["apiKeyHelper"] = "/usr/local/bin/cctui-api-key".into();
    }
    if brokered {
        settings["env"] = serde_json::json!({ "ANTHROPIC_BASE_URL": broker::base_url() });
    }
    settings
}
