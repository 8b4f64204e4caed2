//! A firewall rule allowed for a whole project from the attention queue: kept in the
//! project's settings in cctui's config folder (outside every mount, as session rules are),
//! and applied live to every running session of the project.

use std::path::Path;

use crate::backend::Backend;
use crate::config::FirewallMode;
use crate::error::{Error, Result};
use crate::project::{self, Project, ProjectSettings};
use crate::sandbox::firewall::{self, Allowlist};
use crate::session::ops::Ops;

/// Adds `rule` to the project's accepted settings file, unless it is there already.
fn add_rule(config_dir: &Path, project: &Project, rule: &str) -> Result<()> {
    let parsed = firewall::parse_rule(rule)?;
    let mut settings: ProjectSettings = project::load(config_dir, project)?;
    let known = settings
        .firewall
        .allow
        .iter()
        .any(|r| firewall::parse_rule(r).is_ok_and(|p| p == parsed));
    if known {
        return Ok(());
    }
    settings.firewall.allow.push(parsed.to_string());
    let path = project::settings_file(config_dir, project);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::other(format!("{}: {e}", dir.display())))?;
    }
    let text = toml::to_string(&settings).expect("settings serialise");
    std::fs::write(&path, text).map_err(|e| Error::other(format!("{}: {e}", path.display())))
}

impl<B: Backend> Ops<B> {
    /// Allows `rule` for every session of `name`'s project: persisted in the project's
    /// settings, applied live to each running firewalled session of it. Returns the
    /// allowlist now in force for `name`.
    pub async fn allow_for_project(&self, name: &str, rule: &str) -> Result<Allowlist> {
        let session = self.find(name).await?;
        let project = Project::from_canonical(session.project.clone().into());
        add_rule(&self.config_dir, &project, rule)?;
        let mut mine = None;
        for s in self.list().await? {
            if s.project != session.project {
                continue;
            }
            let list = self.allowlist(Path::new(&s.project), &s.name)?;
            if s.firewall == FirewallMode::On {
                if let Some(h) = s.running_holder() {
                    firewall::apply(&self.backend, &h.id, &list).await?;
                }
            }
            if s.name == name {
                mine = Some(list);
            }
        }
        mine.ok_or_else(|| Error::other(format!("session `{name}` is gone")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_rule_is_kept_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("cctui-project-allow-{}", std::process::id()));
        let project = Project::from_canonical("/srv/shop".into());
        add_rule(&dir, &project, "pypi.org").unwrap();
        add_rule(&dir, &project, "pypi.org:443").unwrap();
        let settings = project::load(&dir, &project).unwrap();
        assert_eq!(settings.firewall.allow, ["pypi.org"]);
        assert!(add_rule(&dir, &project, "not a rule!").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
