//! A devcontainer is repository-proposed, exactly like `.cctui.toml`: only the copy the user
//! accepted (`cctui project accept`) is used, and any change to the file, to the Dockerfile
//! it builds, or to any file that goes into the build (the context, local features: all run
//! or are copied at build time) is a new proposal. The copy holds both texts and a digest of
//! every build file; the build uses the accepted Dockerfile and refuses files that differ.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::files::{self, BuildFiles};
use super::DevContainer;
use crate::error::{Error, Result};
use crate::image::devcontainer::{ImageSource, LocalFeature, ProjectImage};
use crate::project::{line_diff, Project, Proposal};

/// Between the devcontainer.json and its Dockerfile in a snapshot.
pub(crate) const DOCKERFILE_MARK: &str = "\n# ---- cctui: the Dockerfile it builds, ";
/// Before the build files' digests, last in a snapshot (a digest line has no line break).
pub(crate) const FILES_MARK: &str =
    "\n# ---- cctui: the files that go into the build (digest, bytes, path) ----\n";

/// A devcontainer in effect: the accepted settings, the accepted Dockerfile's text, and the
/// digests of the files accepted into its build.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub devcontainer: DevContainer,
    pub dockerfile: Option<String>,
    /// [`BuildFiles::manifest`] as accepted.
    pub manifest: String,
    pub root: PathBuf,
}

impl Accepted {
    /// The image it asks for, in the image layer's terms: the accepted Dockerfile and the
    /// build's files read now, used only if they are the accepted ones (the bytes checked are
    /// the bytes built), or the named image; local features with their files.
    pub fn project_image(&self, slug: &str) -> Result<ProjectImage> {
        let dc = &self.devcontainer;
        let files = build_files(&self.root, dc)?;
        let now = files.manifest();
        if now != self.manifest {
            let changed = changed_files(&self.manifest, &files);
            let names: Vec<&str> = changed.iter().map(|(l, _)| l.as_str()).collect();
            return Err(Error::usage(format!(
                "{}: the files of its build differ from the accepted ones ({}); review them \
                 with `cctui project diff` and accept again",
                dc.file.display(),
                crate::term::sanitize::text_str(
                    &names.join(", "),
                    crate::term::sanitize::Mark::Plain
                )
            )));
        }
        let source = match (&dc.build, &self.dockerfile, &dc.image) {
            (Some(b), Some(dockerfile), _) => ImageSource::Build {
                // Checked when accepted; again for a copy accepted before the check.
                dockerfile: checked(dockerfile)?,
                context: files.under("context"),
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
            .enumerate()
            .map(|(i, f)| LocalFeature {
                files: files.under(&format!("feature/{i}")),
                options: f.options.clone(),
            })
            .collect();
        Ok(ProjectImage {
            slug: slug.to_string(),
            source,
            remote_user: dc.remote_user.clone(),
            features,
        })
    }
}

fn checked(dockerfile: &str) -> Result<String> {
    super::dockerfile::check(dockerfile, "the accepted Dockerfile")?;
    Ok(dockerfile.to_string())
}

/// Every file that goes into the build, read once, from inside the project only.
fn build_files(root: &Path, dc: &DevContainer) -> Result<BuildFiles> {
    let mut files = BuildFiles::default();
    if let Some(b) = &dc.build {
        files.add_folder(root, &b.context, "context", "build.context")?;
        // The accepted Dockerfile's text is built, never a file of that name in the folder.
        files.files.remove("context/Dockerfile");
    }
    for (i, f) in dc.features.iter().enumerate() {
        let id = crate::term::sanitize::text_str(&f.id, crate::term::sanitize::Mark::Plain);
        let key = format!("feature `{id}`");
        files.add_folder(root, &f.dir, &format!("feature/{i}"), &key)?;
    }
    Ok(files)
}

/// The files of `now` that are new or changed against an accepted manifest, with their bytes.
fn changed_files(accepted: &str, now: &BuildFiles) -> Vec<(String, Vec<u8>)> {
    let before: BTreeMap<&str, &str> = accepted
        .lines()
        .filter_map(|l| {
            let (digest, rest) = l.split_once(' ')?;
            Some((rest.split_once(' ')?.1, digest))
        })
        .collect();
    now.files
        .iter()
        .filter(|(label, data)| before.get(label.as_str()) != Some(&files::digest(data).as_str()))
        .map(|(l, d)| (l.clone(), d.clone()))
        .collect()
}

fn accepted_file(config_dir: &Path, project: &Project) -> PathBuf {
    config_dir
        .join("projects")
        .join(format!("{}.devcontainer", project.slug))
}

/// cctui's own copy (in its config folder, which the agent cannot write).
fn read_own(path: &Path) -> Result<Option<String>> {
    match crate::bounded::read_small_file(path, 2 * crate::bounded::PROPOSAL_FILE + (1 << 20)) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::other(format!("{}: {e}", path.display()))),
    }
}

/// The project's devcontainer as it is now, parsed, its snapshot text, and its build files.
fn current(project: &Project) -> Result<Option<(DevContainer, String, BuildFiles)>> {
    let Some(file) = super::find(&project.path) else {
        return Ok(None);
    };
    let root = &project.path;
    let text = files::read_text(root, &file, "the devcontainer")?;
    let dc = DevContainer::parse(&text, &file, root)?;
    let mut snapshot = text;
    if let Some(b) = &dc.build {
        let dockerfile = files::read_text(root, &b.dockerfile, "build.dockerfile")?;
        let rel = b.dockerfile.strip_prefix(root).unwrap_or(&b.dockerfile);
        super::dockerfile::check(&dockerfile, &rel.display().to_string())?;
        snapshot.push_str(&format!("{DOCKERFILE_MARK}{} ----\n", rel.display()));
        snapshot.push_str(&dockerfile);
    }
    let build = build_files(root, &dc)?;
    snapshot.push_str(FILES_MARK);
    snapshot.push_str(&build.manifest());
    Ok(Some((dc, snapshot, build)))
}

/// The devcontainer's proposal, if it differs from the accepted copy: the diff of the texts
/// and digests, then each new or changed build file whole. Malformed files are an error: a
/// proposal that cannot be read cannot be reviewed.
pub fn pending(config_dir: &Path, project: &Project) -> Result<Option<Proposal>> {
    let Some((dc, snapshot, build)) = current(project)? else {
        return Ok(None);
    };
    let accepted = read_own(&accepted_file(config_dir, project))?.unwrap_or_default();
    if accepted == snapshot {
        return Ok(None);
    }
    let manifest = accepted.rsplit_once(FILES_MARK).map_or("", |(_, m)| m);
    let mut diff = line_diff(&accepted, &snapshot);
    diff.extend(dc.warnings.iter().map(|w| format!("! {w}")));
    Ok(Some(Proposal {
        file: dc.file,
        text: snapshot,
        diff,
        files: changed_files(manifest, &build),
    }))
}

/// Writes exactly the snapshot `proposal` was made from (see [`pending`]): never a re-read.
pub fn accept_proposal(
    config_dir: &Path,
    project: &Project,
    proposal: &Proposal,
) -> Result<PathBuf> {
    let target = accepted_file(config_dir, project);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::other(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&target, &proposal.text)
        .map_err(|e| Error::other(format!("{}: {e}", target.display())))?;
    Ok(target)
}

/// Accepts the devcontainer as it is now (validated), or says there is nothing new.
pub fn accept(config_dir: &Path, project: &Project) -> Result<PathBuf> {
    let proposal = pending(config_dir, project)?.ok_or_else(|| {
        Error::usage(format!(
            "{} has no new devcontainer.json to accept",
            project.path.display()
        ))
    })?;
    accept_proposal(config_dir, project, &proposal)
}

/// The accepted devcontainer of a project, if the user accepted one. A copy from before
/// build files were recorded is not used: it must be reviewed and accepted again.
pub fn accepted(config_dir: &Path, project: &Project) -> Result<Option<Accepted>> {
    let path = accepted_file(config_dir, project);
    let Some(snapshot) = read_own(&path)? else {
        return Ok(None);
    };
    let Some((texts, manifest)) = snapshot.rsplit_once(FILES_MARK) else {
        return Ok(None);
    };
    let (json, dockerfile) = match texts.split_once(DOCKERFILE_MARK) {
        Some((json, rest)) => (json, rest.split_once('\n').map(|(_, d)| d.to_string())),
        None => (texts, None),
    };
    // Paths in it are the project's; the file it was accepted from tells which one.
    let file = super::find(&project.path).unwrap_or_else(|| project.path.join(super::FILES[0]));
    let devcontainer = DevContainer::parse(json, &file, &project.path)
        .map_err(|e| Error::usage(format!("the accepted copy {}: {e}", path.display())))?;
    Ok(Some(Accepted {
        devcontainer,
        dockerfile,
        manifest: manifest.to_string(),
        root: project.path.clone(),
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
