//! A devcontainer is repository-proposed, exactly like `.cctui.toml`: only the copy the user
//! accepted (`cctui project accept`) is used, and any change to the file, or to the Dockerfile
//! it builds (which runs at build time), is a new proposal. The copy holds both texts, and
//! the build uses the accepted Dockerfile, never the one in the folder now.

use std::path::{Path, PathBuf};

use super::DevContainer;
use crate::error::{Error, Result};
use crate::image::devcontainer::{folder_files, ImageSource, LocalFeature, ProjectImage};
use crate::project::{line_diff, Project, Proposal};

/// Between the devcontainer.json and its Dockerfile in a snapshot.
pub(crate) const DOCKERFILE_MARK: &str = "\n# ---- cctui: the Dockerfile it builds, ";

/// A devcontainer in effect: the accepted settings, and the accepted Dockerfile's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub devcontainer: DevContainer,
    pub dockerfile: Option<String>,
}

impl Accepted {
    /// The image it asks for, in the image layer's terms: the accepted Dockerfile and the
    /// context folder's files now, or the named image; local features with their files.
    pub fn project_image(&self, slug: &str) -> Result<ProjectImage> {
        let dc = &self.devcontainer;
        let source = match (&dc.build, &self.dockerfile, &dc.image) {
            (Some(b), Some(dockerfile), _) => ImageSource::Build {
                dockerfile: dockerfile.clone(),
                context: folder_files(&b.context)?,
                args: b.args.clone(),
            },
            (_, _, Some(image)) => ImageSource::Image(image.clone()),
            _ => {
                return Err(Error::usage(format!(
                    "{}: the accepted copy has no Dockerfile; accept it again",
                    dc.file.display()
                )))
            }
        };
        let features = dc
            .features
            .iter()
            .map(|f| {
                Ok(LocalFeature {
                    files: folder_files(&f.dir)?,
                    options: f.options.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ProjectImage {
            slug: slug.to_string(),
            source,
            remote_user: dc.remote_user.clone(),
            features,
        })
    }
}

fn accepted_file(config_dir: &Path, project: &Project) -> PathBuf {
    config_dir
        .join("projects")
        .join(format!("{}.devcontainer", project.slug))
}

fn read_text(path: &Path) -> Result<Option<String>> {
    match crate::bounded::read_small_file(path, crate::bounded::PROPOSAL_FILE) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::other(format!("{}: {e}", path.display()))),
    }
}

/// The project's devcontainer as it is now, parsed, and its snapshot text.
fn current(project: &Project) -> Result<Option<(DevContainer, String)>> {
    let Some(file) = super::find(&project.path) else {
        return Ok(None);
    };
    let text = read_text(&file)?.unwrap_or_default();
    let dc = DevContainer::parse(&text, &file, &project.path)?;
    let mut snapshot = text;
    if let Some(b) = &dc.build {
        let dockerfile = read_text(&b.dockerfile)?.ok_or_else(|| {
            Error::usage(format!(
                "{}: build.dockerfile {} does not exist",
                file.display(),
                b.dockerfile.display()
            ))
        })?;
        let rel = b
            .dockerfile
            .strip_prefix(&project.path)
            .unwrap_or(&b.dockerfile);
        snapshot.push_str(&format!("{DOCKERFILE_MARK}{} ----\n", rel.display()));
        snapshot.push_str(&dockerfile);
    }
    Ok(Some((dc, snapshot)))
}

/// The devcontainer's proposal, if it differs from the accepted copy. Malformed files are an
/// error: a proposal that cannot be read cannot be reviewed.
pub fn pending(config_dir: &Path, project: &Project) -> Result<Option<Proposal>> {
    let Some((dc, snapshot)) = current(project)? else {
        return Ok(None);
    };
    let accepted = read_text(&accepted_file(config_dir, project))?.unwrap_or_default();
    if accepted == snapshot {
        return Ok(None);
    }
    let mut diff = line_diff(&accepted, &snapshot);
    diff.extend(dc.warnings.iter().map(|w| format!("! {w}")));
    Ok(Some(Proposal {
        file: dc.file,
        text: snapshot,
        diff,
    }))
}

/// Accepts the devcontainer as it is now (validated), or says there is nothing new.
pub fn accept(config_dir: &Path, project: &Project) -> Result<PathBuf> {
    let proposal = pending(config_dir, project)?.ok_or_else(|| {
        Error::usage(format!(
            "{} has no new devcontainer.json to accept",
            project.path.display()
        ))
    })?;
    let target = accepted_file(config_dir, project);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::other(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&target, &proposal.text)
        .map_err(|e| Error::other(format!("{}: {e}", target.display())))?;
    Ok(target)
}

/// The accepted devcontainer of a project, if the user accepted one.
pub fn accepted(config_dir: &Path, project: &Project) -> Result<Option<Accepted>> {
    let path = accepted_file(config_dir, project);
    let Some(snapshot) = read_text(&path)? else {
        return Ok(None);
    };
    let (json, dockerfile) = match snapshot.split_once(DOCKERFILE_MARK) {
        Some((json, rest)) => (json, rest.split_once('\n').map(|(_, d)| d.to_string())),
        None => (snapshot.as_str(), None),
    };
    // Paths in it are the project's; the file it was accepted from tells which one.
    let file = super::find(&project.path).unwrap_or_else(|| project.path.join(super::FILES[0]));
    let devcontainer = DevContainer::parse(json, &file, &project.path)
        .map_err(|e| Error::usage(format!("the accepted copy {}: {e}", path.display())))?;
    Ok(Some(Accepted {
        devcontainer,
        dockerfile,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_devcontainer_applies_only_once_accepted_and_a_dockerfile_change_asks_again() {
        let root = std::env::temp_dir().join(format!("cctui-dc-proposal-{}", std::process::id()));
        let (cfg, repo) = (root.join("cfg"), root.join("repo"));
        std::fs::create_dir_all(repo.join(".devcontainer")).unwrap();
        let p = Project::from_canonical(repo.clone());
        assert_eq!(pending(&cfg, &p).unwrap(), None);
        std::fs::write(
            repo.join(".devcontainer/devcontainer.json"),
            r#"{ "build": { "dockerfile": "Dockerfile" }, "privileged": true }"#,
        )
        .unwrap();
        std::fs::write(
            repo.join(".devcontainer/Dockerfile"),
            "FROM debian:bookworm-slim\n",
        )
        .unwrap();
        let proposal = pending(&cfg, &p).unwrap().expect("pending");
        assert!(
            proposal.diff.iter().any(|l| l.contains("+ FROM debian")),
            "{:?}",
            proposal.diff
        );
        assert!(proposal
            .diff
            .iter()
            .any(|l| l.starts_with("! ") && l.contains("privileged")));
        assert_eq!(accepted(&cfg, &p).unwrap(), None, "used before acceptance");
        accept(&cfg, &p).unwrap();
        assert_eq!(pending(&cfg, &p).unwrap(), None);
        let a = accepted(&cfg, &p).unwrap().expect("accepted");
        assert_eq!(a.dockerfile.as_deref(), Some("FROM debian:bookworm-slim\n"));
        // The Dockerfile runs at build time: a change to it is a new proposal, and the build
        // keeps using the accepted text.
        std::fs::write(repo.join(".devcontainer/Dockerfile"), "FROM evil\n").unwrap();
        assert!(pending(&cfg, &p).unwrap().is_some());
        let a = accepted(&cfg, &p).unwrap().expect("accepted");
        assert_eq!(a.dockerfile.as_deref(), Some("FROM debian:bookworm-slim\n"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
