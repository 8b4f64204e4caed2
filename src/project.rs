//! Per-project settings. They live in cctui's config folder (`projects/<slug>.toml`), where
//! the agent cannot write. A repository may propose settings in its own `.cctui.toml`; they
//! take effect only once the user has seen the difference and accepted it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backend::{labels, Labels};
use crate::config::{parse_toml, Config, FirewallMode};
use crate::error::{Error, Result};

/// The file a repository may use to propose settings.
pub const PROPOSAL_FILE: &str = ".cctui.toml";

/// A project folder and the names derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub path: PathBuf,
    /// `<base name>-<hash of path>`: stable, unique per folder.
    pub slug: String,
    /// Labels everything made for the project carries besides cctui's own (the config's
    /// `session.labels`).
    pub labels: Labels,
}

impl Project {
    /// Canonicalises `path`, which must be an existing folder.
    pub fn at(path: &Path) -> Result<Project> {
        let path = std::fs::canonicalize(path)
            .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
        if !path.is_dir() {
            return Err(Error::usage(format!(
                "{} is not a folder; give the project's folder",
                path.display()
            )));
        }
        Ok(Project::from_canonical(path))
    }

    pub fn from_canonical(path: PathBuf) -> Project {
        let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
        let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let slug = format!("{}-{hash}", folder_base_name(&path));
        Project {
            path,
            slug,
            labels: Labels::new(),
        }
    }

    pub fn with_labels(mut self, labels: Labels) -> Project {
        self.labels = labels;
        self
    }

    pub fn config_volume(&self) -> String {
        format!("cctui-{}-claude", self.slug)
    }
    pub fn history_volume(&self) -> String {
        format!("cctui-{}-history", self.slug)
    }
    pub fn volume_labels(&self) -> Labels {
        let mut l = self.labels.clone();
        l.insert(labels::PROJECT.to_string(), self.path.display().to_string());
        l
    }
}

/// A folder's base name made a valid session name: lowercase, `-` for anything but
/// letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most 40 long.
pub fn folder_base_name(path: &Path) -> String {
    let base = path
        .file_name()
        .map(|b| b.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_start_matches(['-', '_', '.']).to_string();
    name.truncate(40);
    if name.is_empty() {
        name = "project".into();
    }
    name
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectSettings {
    pub session: ProjectSession,
    pub firewall: ProjectFirewall,
}

/// Each set value replaces the global one; `env` is merged, the project's winning.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectSession {
    pub profiles: Option<Vec<String>>,
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    pub claude_args: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub networks: Option<Vec<String>>,
    pub trust_workspace: Option<bool>,
    /// Narrows `[session] carry` (never widens it: names not carried globally are ignored).
    pub carry: Option<Vec<String>>,
}

/// `allow` adds to the global rules; `presets` and `mode` replace the global ones.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectFirewall {
    pub mode: Option<FirewallMode>,
    pub presets: Option<Vec<String>>,
    pub allow: Vec<String>,
}

pub fn settings_file(config_dir: &Path, project: &Project) -> PathBuf {
    config_dir
        .join("projects")
        .join(format!("{}.toml", project.slug))
}

/// A settings file, bounded, regular files only (the repository's may be anything).
fn read(path: &Path) -> Result<Option<(String, ProjectSettings)>> {
    match crate::bounded::read_small_file(path, crate::bounded::PROPOSAL_FILE) {
        Ok(text) => {
            let parsed: ProjectSettings = parse_toml(&text, path)?;
            Ok(Some((text, parsed)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::other(format!("{}: {e}", path.display()))),
    }
}

/// The accepted settings of a project, if any.
pub fn load(config_dir: &Path, project: &Project) -> Result<ProjectSettings> {
    Ok(read(&settings_file(config_dir, project))?
        .map(|(_, s)| s)
        .unwrap_or_default())
}

impl ProjectSettings {
    /// The global config with this project's settings laid over it, validated as a whole.
    pub fn apply(&self, global: &Config) -> Result<Config> {
        let mut c = global.clone();
        let s = &self.session;
        if let Some(v) = &s.profiles {
            c.session.profiles = v.clone();
        }
        if let Some(v) = &s.memory {
            c.session.memory = v.clone();
        }
        if let Some(v) = s.cpus {
            c.session.cpus = v;
        }
        if let Some(v) = s.pids_limit {
            c.session.pids_limit = v;
        }
        if let Some(v) = &s.claude_args {
            c.session.claude_args = v.clone();
        }
        c.session.env.extend(s.env.clone());
        if let Some(v) = &s.networks {
            c.session.networks = v.clone();
        }
        if let Some(v) = s.trust_workspace {
            c.session.trust_workspace = v;
        }
        if let Some(narrow) = &s.carry {
            for name in narrow {
                crate::config::carry::check_entry(name)
                    .map_err(|e| Error::usage(format!("project setting session.carry: {e}")))?;
            }
            c.session.carry.retain(|n| narrow.contains(n));
        }
        if let Some(m) = self.firewall.mode {
            c.firewall.mode = m;
        }
        if let Some(p) = &self.firewall.presets {
            c.firewall.presets = p.clone();
        }
        c.firewall.allow.extend(self.firewall.allow.iter().cloned());
        crate::config::parse_memory(&c.session.memory)
            .map_err(|e| Error::usage(format!("project setting session.memory: {e}")))?;
        for rule in &self.firewall.allow {
            crate::sandbox::firewall::parse_rule(rule)?;
        }
        Ok(c)
    }
}

/// A repository's proposal that differs from what the user accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub file: PathBuf,
    pub text: String,
    /// Lines prefixed "+ " (proposed), "- " (accepted now) or "  " (same).
    pub diff: Vec<String>,
    /// Files that go into a build, new or changed, by label, shown whole in a review.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The project's proposal, if it has one that is not yet accepted.
pub fn pending_proposal(config_dir: &Path, project: &Project) -> Result<Option<Proposal>> {
    let file = project.path.join(PROPOSAL_FILE);
    let Some((text, _)) = read(&file)? else {
        return Ok(None);
    };
    let accepted = read(&settings_file(config_dir, project))?
        .map(|(t, _)| t)
        .unwrap_or_default();
    if accepted == text {
        return Ok(None);
    }
    Ok(Some(Proposal {
        file,
        diff: line_diff(&accepted, &text),
        text,
        files: Vec::new(),
    }))
}

/// Accepts the repository's proposal: validated, then copied into cctui's config folder.
pub fn accept(config_dir: &Path, project: &Project, global: &Config) -> Result<PathBuf> {
    let proposal = pending_proposal(config_dir, project)?.ok_or_else(|| {
        Error::usage(format!(
            "{} has no new {PROPOSAL_FILE} to accept",
            project.path.display()
        ))
    })?;
    validate(&proposal, global)?;
    accept_proposal(config_dir, project, &proposal)
}

/// The checks a settings proposal passes before it is accepted.
pub fn validate(proposal: &Proposal, global: &Config) -> Result<()> {
    let parsed: ProjectSettings = parse_toml(&proposal.text, &proposal.file)?;
    parsed.apply(global)?;
    for (k, v) in &parsed.session.env {
        if crate::sandbox::secrets::looks_like_key(v) {
            return Err(Error::usage(format!(
                "{}: session.env.{k} looks like an API key; refusing it",
                proposal.file.display()
            )));
        }
    }
    Ok(())
}

/// Writes exactly the text `proposal` was made from (validated with [`validate`]).
pub fn accept_proposal(
    config_dir: &Path,
    project: &Project,
    proposal: &Proposal,
) -> Result<PathBuf> {
    let target = settings_file(config_dir, project);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::other(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&target, &proposal.text)
        .map_err(|e| Error::other(format!("{}: {e}", target.display())))?;
    Ok(target)
}

/// Above this many cells (old lines x new lines) the diff is not aligned: every old line is
/// shown removed and every new one added, in time and memory linear in the lines.
const DIFF_CELLS: usize = 4_000_000;

/// A minimal line diff (longest common subsequence), enough for short settings files.
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len().saturating_mul(b.len()) > DIFF_CELLS {
        let removed = a.iter().map(|l| format!("- {l}"));
        return removed.chain(b.iter().map(|l| format!("+ {l}"))).collect();
    }
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(dir: &Path) -> Project {
        Project::from_canonical(dir.to_path_buf())
    }

    #[test]
    fn project_settings_lay_over_the_global_config() {
        let s: ProjectSettings = toml::from_str(
            "[session]\nclaude_args = []\nenv = { A = \"1\" }\n[firewall]\nallow = [\"x.test\"]\nmode = \"off\"\n",
        )
        .unwrap();
        let mut global = Config::default();
        global.session.env.insert("B".into(), "2".into());
        let c = s.apply(&global).unwrap();
        assert!(c.session.claude_args.is_empty());
        assert_eq!(c.session.env.len(), 2);
        assert_eq!(c.firewall.allow, vec!["x.test".to_string()]);
        assert_eq!(c.firewall.mode, FirewallMode::Off);
        assert_eq!(c.firewall.presets, global.firewall.presets);
    }

    #[test]
    fn a_proposal_applies_only_once_accepted() {
        let root = std::env::temp_dir().join(format!("cctui-proposal-{}", std::process::id()));
        let (cfg, repo) = (root.join("cfg"), root.join("repo"));
        std::fs::create_dir_all(&repo).unwrap();
        let p = project(&repo);
        assert_eq!(pending_proposal(&cfg, &p).unwrap(), None);
        std::fs::write(
            repo.join(PROPOSAL_FILE),
            "[firewall]\nallow = [\"evil.example\"]\n",
        )
        .unwrap();
        let pending = pending_proposal(&cfg, &p).unwrap().expect("pending");
        assert!(
            pending
                .diff
                .iter()
                .any(|l| l == "+ allow = [\"evil.example\"]"),
            "{:?}",
            pending.diff
        );
        assert!(
            load(&cfg, &p).unwrap().firewall.allow.is_empty(),
            "applied before acceptance"
        );
        accept(&cfg, &p, &Config::default()).unwrap();
        assert_eq!(
            load(&cfg, &p).unwrap().firewall.allow,
            vec!["evil.example".to_string()]
        );
        assert_eq!(pending_proposal(&cfg, &p).unwrap(), None);
        // A later change in the repository is pending again; the accepted copy stays.
        std::fs::write(
            repo.join(PROPOSAL_FILE),
            "[firewall]\nallow = [\"more.example\"]\n",
        )
        .unwrap();
        assert!(pending_proposal(&cfg, &p).unwrap().is_some());
        assert_eq!(
            load(&cfg, &p).unwrap().firewall.allow,
            vec!["evil.example".to_string()]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_proposals_are_refused_with_file_and_line() {
        let root = std::env::temp_dir().join(format!("cctui-proposal-bad-{}", std::process::id()));
        let (cfg, repo) = (root.join("cfg"), root.join("repo"));
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(
            repo.join(PROPOSAL_FILE),
            "[session]\nclaude_args = []\nbogus = 1\n",
        )
        .unwrap();
        let err = accept(&cfg, &project(&repo), &Config::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(".cctui.toml:3") && err.contains("session.bogus"),
            "{err}"
        );
        std::fs::write(
            repo.join(PROPOSAL_FILE),
            "[session]\nenv = { K = \"sk-ant-api03-abcdefghijklmnopqrstuv\" }\n",
        )
        .unwrap();
        let err = accept(&cfg, &project(&repo), &Config::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("looks like an API key"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
