//! A repository of its own for every session of a git project.
//!
//! The session's checkout lives in a Docker volume of its own, mounted in the agent's
//! container at the project's absolute path; the host's project folder is not mounted at all.
//! The host's git makes a bundle of `HEAD` in the user's repository and it is unpacked inside
//! the sandbox, as the agent, on the branch `cctui/<session>`. The session's work comes back
//! the same way: a bundle made inside, streamed out on `docker exec`'s stdout into a private
//! file, checked and fetched by the host's git into `refs/heads/cctui/<session>` (and the
//! uncommitted files, as a snapshot commit, into `refs/cctui/<key>/wip`). Host git never runs
//! in a folder the agent can write, and every call is hardened (see [`git`]).

pub mod cli;
pub mod fingerprint;
pub mod git;
pub mod review;
pub mod sandbox;

use std::path::{Path, PathBuf};

use crate::backend::{labels, Backend, ContainerSpec, Labels, MountKind, MountSpec, NetworkAttach};
use crate::error::{Error, Result};
use crate::session::ops::Ops;
use crate::session::Session;

use git::{Call, HostRepo, PrivateDir};

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

    /// `--in-place`: the folder itself, with the risk named when it is a repository.
    pub fn in_place(path: &Path) -> WorkspacePlan {
        WorkspacePlan::InPlace {
            git_exposed: path.join(".git").exists(),
        }
    }
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

/// The repository workspace of a session, if it has one.
pub fn repo_session(s: &Session) -> Option<RepoSession> {
    let l = &s.agent.as_ref()?.labels;
    if l.get(label::MODE).map(String::as_str) != Some("repo") {
        return None;
    }
    let root = PathBuf::from(l.get(label::REPO)?);
    Some(RepoSession {
        session: s.name.clone(),
        folder: root.display().to_string(),
        repo: HostRepo { root },
        branch: l.get(label::BRANCH)?.clone(),
        base: l.get(label::BASE)?.clone(),
    })
}

/// An in-place session of a git repository: the agent can write the host's `.git`.
pub fn host_git_exposed(s: &Session) -> bool {
    [&s.agent, &s.holder]
        .into_iter()
        .flatten()
        .any(|c| c.labels.get(label::EXPOSED).map(String::as_str) == Some("1"))
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

/// Refuses to run host git in a repository that an in-place session can write.
async fn refuse_if_exposed<B: Backend>(ops: &Ops<B>, root: &Path) -> Result<()> {
    for s in ops.list().await? {
        let Some(agent) = &s.agent else { continue };
        let in_place = agent.labels.get(label::MODE).map(String::as_str) != Some("repo");
        if in_place && root.starts_with(&s.project) {
            return Err(Error::usage(format!(
                "session `{}` has {} mounted in place, so its agent can write this \
                 repository's .git; cctui runs no git there. Remove that session first \
                 (`cctui rm {}`) and check the repository (`cctui doctor`)",
                s.name, s.project, s.name
            )));
        }
    }
    Ok(())
}

impl<B: Backend> Ops<B> {
    /// In the host's repository: chooses the session's branch, records its base, and makes
    /// the bundle that seeds the session (with the user's uncommitted files on request).
    pub async fn prepare_seed(
        &self,
        session: &str,
        root: &Path,
        with_changes: bool,
    ) -> Result<Seed> {
        refuse_if_exposed(self, root).await?;
        let repo = HostRepo::at(root)?;
        let base = repo.resolve("HEAD").await?.ok_or_else(|| {
            Error::usage(format!(
                "{} has no commit yet; commit once (or use --in-place)",
                root.display()
            ))
        })?;
        let mut key = session.to_string();
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
        if taken(key.clone()).await? {
            key = format!("{session}-{}", stamp());
            if taken(key.clone()).await? {
                return Err(Error::usage(format!(
                    "the branch cctui/{key} exists already; try again in a second"
                )));
            }
        }
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
        let dir = PrivateDir::new("seed")?;
        let file = dir.path.join("seed.bundle");
        let file_s = file.display().to_string();
        let made = repo
            .run(&["bundle", "create", "-q", &file_s, &start_ref])
            .await;
        let bundle = match made
            .and_then(|_| std::fs::read(&file).map_err(|e| Error::other(format!("{file_s}: {e}"))))
        {
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

    /// Inside the new container, before claude starts: gives the checkout folder to the agent
    /// and makes the session's repository from the seed. The files must make exactly the tree
    /// the host sent, so nothing of the user's changes is silently dropped.
    pub async fn seed_checkout(
        &self,
        agent: &str,
        agent_user: &str,
        session: &str,
        root: &Path,
        seed: &Seed,
    ) -> Result<()> {
        let folder = root.display().to_string();
        let tree = sandbox::seed(
            &self.backend,
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
    /// container cannot (it has no capabilities), so a short-lived container with only
    /// CHOWN, no network and a fixed command does it before the agent exists.
    pub async fn prepare_work_volume(
        &self,
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
        let _ = self.backend.remove_container(&spec.name).await;
        let id = self.backend.create_container(&spec).await?;
        let result = async {
            self.backend.start_container(&id).await?;
            sandbox::prepare_folder(&self.backend, &id, agent_user, "/cctui-work").await
        }
        .await;
        let _ = self.backend.remove_container(&id).await;
        result
    }

    /// The container to run the sandbox side in: the running agent, or a short-lived one
    /// made from the agent's image with the session's volume and no network.
    async fn checkout_container(&self, name: &str) -> Result<(String, String, bool)> {
        let session = self.find(name).await?;
        let agent = session
            .agent
            .clone()
            .ok_or_else(|| Error::other(format!("session `{name}` has no agent container")))?;
        let details = self.backend.inspect_container(&agent.id).await?;
        if agent.state.is_running() {
            return Ok((agent.id, details.user, false));
        }
        let rs = repo_session(&session).ok_or_else(|| {
            Error::usage(format!("session `{name}` has no repository of its own"))
        })?;
        let mut spec = ContainerSpec::hardened(helper_container(name), agent.image.clone());
        spec.labels = agent.labels.clone();
        spec.labels.insert(labels::ROLE.into(), "git".into());
        spec.entrypoint = Some(vec!["sleep".into()]);
        spec.cmd = vec!["infinity".into()];
        spec.user = Some(details.user.clone());
        spec.network = NetworkAttach::None;
        spec.pids_limit = Some(256);
        spec.mounts = vec![MountSpec {
            kind: MountKind::VolumeNoCopy,
            source: work_volume(name),
            target: rs.folder.clone(),
            read_only: false,
        }];
        // A helper left by an interrupted call goes first.
        let _ = self.backend.remove_container(&spec.name).await;
        let id = self.backend.create_container(&spec).await?;
        if let Err(e) = self.backend.start_container(&id).await {
            let _ = self.backend.remove_container(&id).await;
            return Err(e.into());
        }
        Ok((id, details.user, true))
    }

    /// Runs `f` with a container that has the session's checkout.
    async fn with_checkout<T, F, Fut>(&self, name: &str, f: F) -> Result<T>
    where
        F: FnOnce(String, String) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let (id, user, temporary) = self.checkout_container(name).await?;
        let result = f(id.clone(), user).await;
        if temporary {
            let _ = self.backend.remove_container(&id).await;
        }
        result
    }

    /// The session's repository workspace, or a usage error.
    pub async fn repo_session(&self, name: &str) -> Result<RepoSession> {
        let session = self.find(name).await?;
        repo_session(&session).ok_or_else(|| {
            Error::usage(format!(
                "session `{name}` works in its project folder directly (not a git repository, \
                 or made with --in-place); there is nothing to import"
            ))
        })
    }

    /// Brings the session's commits (and, with `snapshot`, its uncommitted files) into the
    /// project's repository as `cctui/<key>` (and `refs/cctui/<key>/wip`). On any failure
    /// the repository's refs are as they were.
    pub async fn import(&self, name: &str, snapshot: bool) -> Result<Imported> {
        let rs = self.repo_session(name).await?;
        refuse_if_exposed(self, &rs.repo.root).await?;
        let repo = rs.repo.clone();
        let wip_ref = rs.cctui_ref("wip");
        let mut have = vec![rs.base.clone()];
        for r in [rs.branch_ref(), wip_ref.clone()] {
            if let Some(sha) = repo.resolve(&r).await? {
                have.push(sha);
            }
        }
        let folder = rs.folder.clone();
        let export = self
            .with_checkout(name, |id, user| {
                let backend = self.backend.clone();
                let have = have.clone();
                async move {
                    sandbox::export(&backend, &id, &user, &folder, name, snapshot, &have).await
                }
            })
            .await?;
        let incoming = rs.cctui_ref("incoming");
        let mut head = None;
        let mut wip = None;
        if export.new_commits > 0 {
            let dir = PrivateDir::new("import")?;
            let file = dir.write("export.bundle", &export.bundle)?;
            let file = file.display().to_string();
            repo.run(&["bundle", "verify", "-q", &file])
                .await
                .map_err(|e| {
                    Error::other(format!(
                        "the session's bundle does not verify; nothing imported: {e}"
                    ))
                })?;
            let refspec = format!("+refs/cctui/export/*:{incoming}/*");
            repo.run(&[
                "fetch",
                "--atomic",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
                "--no-auto-gc",
                "--quiet",
                &file,
                &refspec,
            ])
            .await
            .map_err(|e| {
                Error::other(format!(
                    "importing the session's work failed; nothing changed: {e}"
                ))
            })?;
            head = repo.resolve(&format!("{incoming}/head")).await?;
            wip = repo.resolve(&format!("{incoming}/wip")).await?;
        }
        // What the bundle did not carry must be a commit the host already had.
        let known = |sha: &str| have.iter().any(|h| h == sha);
        let head = match head {
            Some(h) => h,
            None if known(&export.head) => export.head.clone(),
            None => {
                self.drop_incoming(&rs).await;
                return Err(Error::other(
                    "the session's export names a commit it did not send; nothing imported",
                ));
            }
        };
        let wip = match (wip, &export.wip) {
            (Some(w), _) => Some(w),
            (None, None) => None,
            (None, Some(w)) if known(w) => Some(w.clone()),
            (None, Some(_)) => {
                self.drop_incoming(&rs).await;
                return Err(Error::other(
                    "the session's export names a snapshot it did not send; nothing imported",
                ));
            }
        };
        let mut tx = format!("start\nupdate {} {head}\n", rs.branch_ref());
        match &wip {
            Some(w) => tx.push_str(&format!("update {wip_ref} {w}\n")),
            None if snapshot => tx.push_str(&format!("delete {wip_ref}\n")),
            None => {}
        }
        for r in ["head", "wip"] {
            if repo.resolve(&format!("{incoming}/{r}")).await?.is_some() {
                tx.push_str(&format!("delete {incoming}/{r}\n"));
            }
        }
        tx.push_str("prepare\ncommit\n");
        let result = repo
            .run_with(
                &["update-ref", "--no-deref", "--stdin"],
                Call {
                    stdin: Some(tx.as_bytes()),
                    ..Default::default()
                },
            )
            .await;
        if let Err(e) = result {
            self.drop_incoming(&rs).await;
            return Err(Error::other(format!(
                "updating {} failed; nothing changed: {e}",
                rs.branch
            )));
        }
        let wip = if snapshot {
            wip
        } else {
            repo.resolve(&wip_ref).await?
        };
        tracing::info!(session = name, %head, new = export.new_commits, "imported");
        Ok(Imported {
            head,
            wip,
            new_commits: export.new_commits,
        })
    }

    async fn drop_incoming(&self, rs: &RepoSession) {
        for r in ["head", "wip"] {
            let _ = rs
                .repo
                .delete_ref(&rs.cctui_ref(&format!("incoming/{r}")))
                .await;
        }
    }

    /// Why removing the session would lose work, if it would: commits or uncommitted files
    /// that are neither merged into the project's `HEAD` nor applied nor discarded.
    pub async fn unmerged_work(&self, name: &str) -> Result<Option<String>> {
        let session = self.find(name).await?;
        let Some(rs) = repo_session(&session) else {
            return Ok(None);
        };
        let imported = self.import(name, true).await.map_err(|e| {
            Error::other(format!(
                "cannot check session `{name}` for unmerged work ({e}); `cctui rm {name} \
                 --force` removes it anyway, and its work with it"
            ))
        })?;
        let tip = imported.tip().to_string();
        if tip == rs.base {
            return Ok(None);
        }
        if rs.repo.resolve(&rs.cctui_ref("done")).await?.as_deref() == Some(tip.as_str()) {
            return Ok(None);
        }
        let merged = match rs.repo.resolve("HEAD").await? {
            Some(h) => rs.repo.is_ancestor(&imported.head, &h).await?,
            None => false,
        };
        if merged && imported.wip.is_none() {
            return Ok(None);
        }
        let commits = rs
            .repo
            .text(&["rev-list", "--count", &imported.head, "--not", "HEAD"])
            .await
            .unwrap_or_default();
        let mut what = Vec::new();
        if !merged {
            what.push(format!("{commits} commit(s) on {} not merged", rs.branch));
        }
        if imported.wip.is_some() {
            what.push("uncommitted changes".to_string());
        }
        Ok(Some(format!(
            "session `{name}` has {}; review with `cctui diff {name}`, then `cctui merge`, \
             `apply` or `discard` it, or remove it anyway with `cctui rm {name} --force`",
            what.join(" and ")
        )))
    }

    /// Drops the session's work: its checkout goes back to the base and the imported refs go.
    pub async fn discard(&self, name: &str) -> Result<()> {
        let rs = self.repo_session(name).await?;
        refuse_if_exposed(self, &rs.repo.root).await?;
        if rs.repo.current_branch().await?.as_deref() == Some(rs.branch.as_str()) {
            return Err(Error::usage(format!(
                "{} is checked out in {}; switch to another branch first",
                rs.branch,
                rs.repo.root.display()
            )));
        }
        let folder = rs.folder.clone();
        let (base, branch) = (rs.base.clone(), rs.branch.clone());
        self.with_checkout(name, |id, user| {
            let backend = self.backend.clone();
            async move { sandbox::reset(&backend, &id, &user, &folder, &base, &branch).await }
        })
        .await?;
        for r in [
            rs.branch_ref(),
            rs.cctui_ref("wip"),
            rs.cctui_ref("done"),
            rs.cctui_ref("incoming/head"),
            rs.cctui_ref("incoming/wip"),
        ] {
            rs.repo.delete_ref(&r).await?;
        }
        Ok(())
    }

    /// Marks `tip` as taken care of (merged, squashed or applied), for the `rm` guard.
    pub async fn mark_done(&self, rs: &RepoSession, tip: &str) -> Result<()> {
        rs.repo.update_ref(&rs.cctui_ref("done"), tip).await
    }
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

    #[test]
    fn plans_follow_the_folder() {
        let tmp = std::env::temp_dir().join(format!("cctui-ws-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join("repo/.git")).unwrap();
        std::fs::create_dir_all(tmp.join("plain")).unwrap();
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
}
