//! The firewall and the credential broker in a session's holder: applied and verified
//! before any agent starts, and the allowlist changed live.

use std::time::Instant;

use super::*;
use crate::sandbox::broker;
use crate::sandbox::firewall;

impl<B: Backend> Ops<B> {
    /// Applies and verifies the allowlist in a holder, and hands the credential (if any) to
    /// its broker. Any failure is an error: fail closed.
    pub(super) async fn secure(
        &self,
        holder: &str,
        list: &Allowlist,
        secrets: &SessionSecrets,
        progress: &mut impl FnMut(Progress),
    ) -> Result<()> {
        let started = Instant::now();
        if secrets.credential.is_some() {
            firewall::apply_holding(&self.backend, holder, list).await?;
        } else {
            firewall::apply(&self.backend, holder, list).await?;
        }
        if let Some(credential) = &secrets.credential {
            let t = Instant::now();
            let ca = self.broker_extra_ca()?;
            broker::install(&self.backend, holder, credential, ca).await?;
            tracing::info!(holder, "credential broker started");
            progress(Progress::Note(format!(
                "credential broker ready in {:.2} s (upstream certificate verified)",
                t.elapsed().as_secs_f64()
            )));
        }
        match firewall::verify(&self.backend, holder).await? {
            Ok(()) => {
                tracing::info!(
                    holder,
                    rules = list.rules.len(),
                    "firewall applied and verified"
                );
                progress(Progress::Note(format!(
                    "firewall verified in {:.2} s ({} rules)",
                    started.elapsed().as_secs_f64(),
                    list.rules.len()
                )));
                Ok(())
            }
            Err(why) => Err(Error::other(format!(
                "firewall verification failed, so the agent was not started: {why}"
            ))),
        }
    }

    /// `broker.extra_ca_certs`, read on the host, concatenated.
    fn broker_extra_ca(&self) -> Result<Vec<u8>> {
        let mut pem = Vec::new();
        for path in &self.config.broker.extra_ca_certs {
            let path = crate::image::expand_home(path);
            let bytes = std::fs::read(&path).map_err(|e| {
                Error::usage(format!("broker.extra_ca_certs: {}: {e}", path.display()))
            })?;
            pem.extend_from_slice(&bytes);
            pem.push(b'\n');
        }
        Ok(pem)
    }

    /// The running holder of a firewalled session.
    pub async fn running_holder(&self, name: &str) -> Result<String> {
        let session = self.find(name).await?;
        if session.firewall == FirewallMode::Off {
            return Err(Error::usage(format!(
                "session `{name}` runs with firewall = \"off\""
            )));
        }
        match session.holder {
            Some(h) if h.state.is_running() => Ok(h.id),
            _ => Err(Error::usage(format!(
                "session `{name}`'s firewall is not running; start it with `cctui start {name}`"
            ))),
        }
    }

    /// Adds (or with `deny`, removes) a session rule and applies the new list live.
    pub async fn change_allowlist(&self, name: &str, rule: &str, deny: bool) -> Result<Allowlist> {
        let parsed = firewall::parse_rule(rule)?;
        let session = self.find(name).await?;
        let mut extra = SessionAllow::load(&self.config_dir, name)?;
        let before = extra.clone();
        extra
            .allow
            .retain(|r| firewall::parse_rule(r).map(|p| p != parsed).unwrap_or(true));
        if !deny {
            extra.allow.push(parsed.to_string());
        }
        let list = Allowlist::for_session(
            &self.project_config(std::path::Path::new(&session.project))?,
            &extra,
        )?;
        if deny && list.rules.contains(&parsed) {
            return Err(Error::usage(format!(
                "`{rule}` comes from the global config or a preset, not from this session; \
                 change it in config.toml"
            )));
        }
        if deny && extra.allow.len() == before.allow.len() {
            return Err(Error::usage(format!(
                "`{rule}` is not a rule of session `{name}`, so nothing was removed; \
                 see its rules with `cctui fw status {name}`"
            )));
        }
        extra.save(&self.config_dir, name)?;
        if session.firewall == FirewallMode::On {
            if let Some(h) = session.holder.filter(|h| h.state.is_running()) {
                if let Err(e) = firewall::apply(&self.backend, &h.id, &list).await {
                    before.save(&self.config_dir, name)?;
                    return Err(e);
                }
            }
        }
        Ok(list)
    }
}
