//! Seeding a new session's repository: in the host's repository, the session's branch and a
//! bundle of what it starts from; in the engine, the work volume given to the agent and the
//! checkout unpacked inside the sandbox, checked against what the host sent.

use std::path::Path;

use crate::backend::{labels, Backend, ContainerSpec, Labels, MountKind, MountSpec, NetworkAttach};
use crate::error::{Error, Result};

use super::exchange::refuse_if_exposed;
use super::git::{Call, HostRepo, PrivateDir};
use super::plan::{helper_container, work_volume, BranchPlan};
use super::sandbox;

/// What `cctui new` prepared in the host's repository before the container exists.
pub struct Seed {
    pub branch: BranchPlan,
    /// The commit the session's files start from: the base, or a snapshot commit of the
    /// user's uncommitted files on top of it.
    pub start: String,
    pub bundle: Vec<u8>,
    repo: HostRepo,
    key: String,
}

impl Seed {
    /// Removes the refs this seed made (a failed create).
    pub async fn undo(&self) {
        for what in ["base", "start"] {
            let _ = self
                .repo
                .delete_ref(&format!("refs/cctui/{}/{what}", self.key))
                .await;
        }
    }
}

/// Time as `YYYYmmdd-HHMMSS` (UTC), for branch names that were used before.
fn stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// The key of the session's refs: its name, or with a time stamp when an earlier session of
/// that name left its branch or refs behind.
async fn choose_key(repo: &HostRepo, session: &str) -> Result<String> {
    let taken = |key: String| {
        let repo = repo.clone();
        async move {
            Ok::<bool, Error>(
                repo.resolve(&format!("refs/heads/cctui/{key}"))
                    .await?
                    .is_some()
                    || repo
                        .resolve(&format!("refs/cctui/{key}/base"))
                        .await?
                        .is_some(),
            )
        }
    };
    if !taken(session.to_string()).await? {
        return Ok(session.to_string());
    }
    let key = format!("{session}-{}", stamp());
    if taken(key.clone()).await? {
        return Err(Error::usage(format!(
            "the branch cctui/{key} exists already; try again in a second"
        )));
    }
    Ok(key)
}

/// In the host's repository: chooses the session's branch, records its base, and makes the
/// bundle that seeds the session (with the user's uncommitted files on request).
pub async fn prepare_seed<B: Backend>(
    backend: &B,
    session: &str,
    root: &Path,
    with_changes: bool,
) -> Result<Seed> {
    refuse_if_exposed(backend, root).await?;
    let repo = HostRepo::at(root)?;
    let base = match repo.head().await? {
        Some(head) => head,
        None => first_base(&repo).await?,
    };
    let key = choose_key(&repo, session).await?;
    let branch = format!("cctui/{key}");
    let start = if with_changes {
        snapshot_host_changes(&repo, &base).await?
    } else {
        base.clone()
    };
    let base_ref = format!("refs/cctui/{key}/base");
    let start_ref = format!("refs/cctui/{key}/start");
    repo.update_ref(&base_ref, &base).await?;
    repo.update_ref(&start_ref, &start).await?;
    let bundle = match bundle_of(&repo, &start_ref).await {
        Ok(b) => b,
        Err(e) => {
            let _ = repo.delete_ref(&base_ref).await;
            let _ = repo.delete_ref(&start_ref).await;
            return Err(e);
        }
    };
    Ok(Seed {
        branch: BranchPlan { branch, base },
        start,
        bundle,
        repo,
        key,
    })
}

/// The base of a session in a repository with no commit yet (a new project): an empty
/// commit, made only in cctui's refs, so the session has something to branch from. The
/// first merge makes it the start of the project's branch.
async fn first_base(repo: &HostRepo) -> Result<String> {
    repo.text(&[
        "-c",
        "user.name=cctui",
        "-c",
        "user.email=cctui@cctui.invalid",
        "-c",
        "commit.gpgSign=false",
        "commit-tree",
        "-m",
        "cctui: start of a new project",
        super::git::EMPTY_TREE,
    ])
    .await
}

/// Makes an empty folder a git repository (`git init`), so a new project's session works in
/// a repository of its own like any other. Only a folder with nothing in it.
pub async fn init_empty_folder(root: &Path) -> Result<()> {
    if root.join(".git").exists() {
        return Ok(());
    }
    let empty = std::fs::read_dir(root)
        .map_err(|e| Error::other(format!("{}: {e}", root.display())))?
        .next()
        .is_none();
    if !empty {
        return Err(Error::usage(format!(
            "{} is not empty and not a git repository",
            root.display()
        )));
    }
    HostRepo {
        root: root.to_path_buf(),
    }
    .run(&["init", "-q"])
    .await
    .map(|_| ())
}

/// A bundle of `reference`, made by the host's git in a private folder.
async fn bundle_of(repo: &HostRepo, reference: &str) -> Result<Vec<u8>> {
    let dir = PrivateDir::new("seed")?;
    let file = dir.path.join("seed.bundle");
    let file_s = file.display().to_string();
    repo.run(&["bundle", "create", "-q", &file_s, reference])
        .await?;
    std::fs::read(&file).map_err(|e| Error::other(format!("{file_s}: {e}")))
}

/// Inside the new container, before claude starts: gives the checkout folder to the agent and
/// makes the session's repository from the seed. The files must make exactly the tree the
/// host sent, so nothing of the user's changes is silently dropped.
pub async fn seed_checkout<B: Backend>(
    backend: &B,
    agent: &str,
    agent_user: &str,
    session: &str,
    root: &Path,
    seed: &Seed,
) -> Result<()> {
    let folder = root.display().to_string();
    let tree = sandbox::seed(
        backend,
        agent,
        agent_user,
        &folder,
        &seed.branch.branch,
        &seed.branch.base,
        &seed.start,
        session,
        seed.bundle.clone(),
    )
    .await?;
    let want = seed
        .repo
        .text(&["rev-parse", &format!("{}^{{tree}}", seed.start)])
        .await?;
    if tree != want {
        return Err(Error::other(format!(
            "the session's files do not match what was sent (tree {tree}, expected \
             {want}); the session was not started"
        )));
    }
    Ok(())
}

/// Gives the new (empty) work volume's top folder to the agent user. The agent's own
/// container cannot (it has no capabilities), so a short-lived container with only CHOWN, no
/// network and a fixed command does it before the agent exists.
pub async fn prepare_work_volume<B: Backend>(
    backend: &B,
    session: &str,
    image: &str,
    agent_user: &str,
    labels: &Labels,
) -> Result<()> {
    let mut spec = ContainerSpec::hardened(helper_container(session), image);
    spec.labels = labels.clone();
    spec.labels.insert(labels::ROLE.into(), "git".into());
    spec.entrypoint = Some(vec!["sleep".into()]);
    spec.cmd = vec!["infinity".into()];
    spec.user = Some("0:0".into());
    spec.cap_add = vec!["CHOWN".into()];
    spec.network = NetworkAttach::None;
    spec.pids_limit = Some(16);
    spec.mounts = vec![MountSpec {
        kind: MountKind::VolumeNoCopy,
        source: work_volume(session),
        target: "/cctui-work".into(),
        read_only: false,
    }];
    let _ = backend.remove_container(&spec.name).await;
    let id = backend.create_container(&spec).await?;
    let result = async {
        backend.start_container(&id).await?;
        sandbox::prepare_folder(backend, &id, agent_user, "/cctui-work").await
    }
    .await;
    let _ = backend.remove_container(&id).await;
    result
}

/// The host's uncommitted and untracked (not ignored) files as a commit on top of `base`,
/// made with a temporary index in cctui's own folder, so the user's index is untouched.
async fn snapshot_host_changes(repo: &HostRepo, base: &str) -> Result<String> {
    let dir = PrivateDir::new("changes")?;
    let index = dir.path.join("index");
    let git_dir = repo.git_dir().await?;
    if let Ok(bytes) = std::fs::read(git_dir.join("index")) {
        std::fs::write(&index, bytes).map_err(|e| Error::other(e.to_string()))?;
    }
    let call = || Call {
        index_file: Some(&index),
        ..Default::default()
    };
    repo.run_with(&["add", "-A", "--", ":/"], call()).await?;
    let tree = repo.run_with(&["write-tree"], call()).await?.text();
    let tree = tree.trim();
    if repo
        .text(&["rev-parse", &format!("{base}^{{tree}}")])
        .await?
        == tree
    {
        return Ok(base.to_string());
    }
    let out = repo
        .run(&[
            "-c",
            "user.name=cctui",
            "-c",
            "user.email=cctui@cctui.invalid",
            "-c",
            "commit.gpgSign=false",
            "commit-tree",
            "-p",
            base,
            "-m",
            "cctui: uncommitted changes brought into the session",
            tree,
        ])
        .await?;
    Ok(out.text().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_look_like_dates() {
        let s = stamp();
        assert_eq!(s.len(), 15, "{s}");
        assert!(s.starts_with("20"), "{s}");
    }
}
