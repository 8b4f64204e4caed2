//! The plan of a session's workspace, pure data: how its files are laid out, the labels that
//! record it on the session's containers, its volume and mount, and what those labels say
//! back about a session that exists.

use std::path::{Path, PathBuf};

use crate::backend::{labels, ContainerSummary, Labels, MountKind, MountSpec};

use super::git::HostRepo;

/// Labels on a session's containers that say how its workspace is made.
pub mod label {
    /// "repo" (a repository of its own) or "in-place" (the host folder, mounted).
    pub const MODE: &str = "cctui.workspace";
    /// The host repository's top folder.
    pub const REPO: &str = "cctui.git.repo";
    /// The session's branch, `cctui/<key>`.
    pub const BRANCH: &str = "cctui.git.branch";
    /// The commit the session started from.
    pub const BASE: &str = "cctui.git.base";
    /// "1" when an in-place session can write a git repository's `.git`.
    pub const EXPOSED: &str = "cctui.git.exposed";
}

/// How `cctui new` lays out a session's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspacePlan {
    /// The host folder, mounted read-write (folders that are not git repositories, and
    /// `--in-place`). `git_exposed`: the folder is a git repository, whose `.git` the agent
    /// can then write.
    InPlace { git_exposed: bool },
    /// A repository of its own, cloned from the project's `HEAD`.
    Repo {
        root: PathBuf,
        /// Bring the user's uncommitted and untracked (not ignored) files along.
        with_changes: bool,
    },
}

impl WorkspacePlan {
    /// The default for a folder: a repository of its own when it is a repository's top.
    pub fn for_folder(path: &Path) -> WorkspacePlan {
        if path.join(".git").exists() {
            WorkspacePlan::Repo {
                root: path.to_path_buf(),
                with_changes: false,
            }
        } else {
            WorkspacePlan::InPlace { git_exposed: false }
        }
    }

    /// `--git`: a repository of its own, also for an empty folder (a new project, made a
    /// repository when the session starts); None for a folder with files and no `.git`.
    pub fn new_project(path: &Path) -> Option<WorkspacePlan> {
        (path.join(".git").exists() || is_empty_folder(path)).then(|| WorkspacePlan::Repo {
            root: path.to_path_buf(),
            with_changes: false,
        })
    }

    /// `--in-place`: the folder itself, with the risk named when it is a repository.
    pub fn in_place(path: &Path) -> WorkspacePlan {
        WorkspacePlan::InPlace {
            git_exposed: path.join(".git").exists(),
        }
    }
}

fn is_empty_folder(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

/// Why `folder` may not be mounted into a sandbox, if it may not: a folder that is `/`, the
/// user's home, or holds the home folder or one of cctui's own folders (config, state) would
/// show the agent `~/.ssh`, credentials, or the allowlist it must not widen. Paths are
/// compared as given; pass canonical ones.
pub fn mount_refusal(folder: &Path, home: Option<&Path>, own: &[&Path]) -> Option<String> {
    let holds = |inner: &Path| inner.starts_with(folder);
    let why = if folder.parent().is_none() {
        "is the root folder".to_string()
    } else if home.is_some_and(holds) {
        "is or holds your home folder (with ~/.ssh and your credentials)".to_string()
    } else if let Some(dir) = own.iter().find(|d| holds(d)) {
        format!("holds cctui's own folder {}", dir.display())
    } else {
        return None;
    };
    Some(format!(
        "{} {why}: the agent would see it all; start the session in a project folder",
        folder.display()
    ))
}

/// The branch chosen for a session at create time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchPlan {
    pub branch: String,
    pub base: String,
}

/// The per-session volume that holds the session's repository.
pub fn work_volume(session: &str) -> String {
    format!("cctui-{session}-work")
}

/// The short-lived container that reaches a stopped session's checkout. Session names are
/// lowercase, so this name never collides with another session's containers.
pub fn helper_container(session: &str) -> String {
    format!("cctui-{session}-Git")
}

/// The session's labels for its workspace.
pub fn labels_for(plan: &WorkspacePlan, branch: Option<&BranchPlan>) -> Labels {
    let mut l = Labels::new();
    match plan {
        WorkspacePlan::InPlace { git_exposed } => {
            l.insert(label::MODE.into(), "in-place".into());
            if *git_exposed {
                l.insert(label::EXPOSED.into(), "1".into());
            }
        }
        WorkspacePlan::Repo { root, .. } => {
            l.insert(label::MODE.into(), "repo".into());
            l.insert(label::REPO.into(), root.display().to_string());
            if let Some(b) = branch {
                l.insert(label::BRANCH.into(), b.branch.clone());
                l.insert(label::BASE.into(), b.base.clone());
            }
        }
    }
    l
}

/// The mounts of an agent container for its workspace: the host folder (in place) or the
/// session's volume, at the same absolute path either way.
pub fn workspace_mount(plan: &WorkspacePlan, project: &Path, session: &str) -> MountSpec {
    match plan {
        WorkspacePlan::InPlace { .. } => MountSpec {
            kind: MountKind::Bind,
            source: project.display().to_string(),
            target: project.display().to_string(),
            read_only: false,
        },
        WorkspacePlan::Repo { root, .. } => MountSpec {
            kind: MountKind::VolumeNoCopy,
            source: work_volume(session),
            target: root.display().to_string(),
            read_only: false,
        },
    }
}

/// A session that works in a repository of its own, as its labels describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSession {
    pub session: String,
    pub repo: HostRepo,
    /// `cctui/<key>`.
    pub branch: String,
    pub base: String,
    /// The session's checkout inside its container (the project's path).
    pub folder: String,
}

impl RepoSession {
    pub fn key(&self) -> &str {
        self.branch.strip_prefix("cctui/").unwrap_or(&self.branch)
    }
    pub fn branch_ref(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }
    /// cctui's own refs for the session, under `refs/cctui/<key>/`.
    pub fn cctui_ref(&self, what: &str) -> String {
        format!("refs/cctui/{}/{what}", self.key())
    }
}

/// The repository workspace of the session whose agent container this is, if it has one.
pub fn repo_session(agent: &ContainerSummary) -> Option<RepoSession> {
    let l = &agent.labels;
    if l.get(label::MODE).map(String::as_str) != Some("repo") {
        return None;
    }
    let root = PathBuf::from(l.get(label::REPO)?);
    Some(RepoSession {
        session: l.get(labels::SESSION)?.clone(),
        folder: root.display().to_string(),
        repo: HostRepo { root },
        branch: l.get(label::BRANCH)?.clone(),
        base: l.get(label::BASE)?.clone(),
    })
}

/// Whether a session's container says its agent can write the host's `.git` (an in-place
/// session of a git repository).
pub fn exposes_host_git(container: &ContainerSummary) -> bool {
    container.labels.get(label::EXPOSED).map(String::as_str) == Some("1")
}

/// Whether a session's agent container has the host folder mounted in place.
pub fn mounted_in_place(agent: &ContainerSummary) -> bool {
    agent.labels.get(label::MODE).map(String::as_str) != Some("repo")
}

/// What an import brought in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub head: String,
    pub wip: Option<String>,
    pub new_commits: u64,
}

impl Imported {
    /// The newest state of the session's files: the snapshot if there is one, else HEAD.
    pub fn tip(&self) -> &str {
        self.wip.as_deref().unwrap_or(&self.head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_the_folder() {
        let tmp = std::env::temp_dir().join(format!("cctui-ws-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join("repo/.git")).unwrap();
        std::fs::create_dir_all(tmp.join("plain")).unwrap();
        std::fs::write(tmp.join("plain/notes"), "x").unwrap();
        std::fs::create_dir_all(tmp.join("empty")).unwrap();
        assert!(matches!(
            WorkspacePlan::new_project(&tmp.join("empty")),
            Some(WorkspacePlan::Repo { .. })
        ));
        assert_eq!(WorkspacePlan::new_project(&tmp.join("plain")), None);
        assert!(matches!(
            WorkspacePlan::for_folder(&tmp.join("repo")),
            WorkspacePlan::Repo { .. }
        ));
        assert_eq!(
            WorkspacePlan::for_folder(&tmp.join("plain")),
            WorkspacePlan::InPlace { git_exposed: false }
        );
        assert_eq!(
            WorkspacePlan::in_place(&tmp.join("repo")),
            WorkspacePlan::InPlace { git_exposed: true }
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn home_its_parents_the_root_and_cctuis_folders_are_never_mounted() {
        let home = Some(Path::new("/home/ann"));
        let own = [
            Path::new("/home/ann/.config/cctui"),
            Path::new("/srv/state/cctui"),
        ];
        for refused in ["/", "/home", "/home/ann", "/home/ann/.config", "/srv/state"] {
            assert!(
                mount_refusal(Path::new(refused), home, &own).is_some(),
                "{refused}"
            );
        }
        for allowed in ["/home/ann/code/web", "/srv/work", "/home/annex"] {
            assert_eq!(
                mount_refusal(Path::new(allowed), home, &own),
                None,
                "{allowed}"
            );
        }
    }
}
