//! The session's work coming back: its checkout exported inside the sandbox, checked and
//! fetched by the host's git into `refs/heads/cctui/<key>` (and `refs/cctui/<key>/wip`), and
//! the checkout reset when the work is discarded. Works on the backend and the session's
//! agent container; finding the session by name is the caller's.

use std::path::Path;

use crate::backend::{labels, Backend, ContainerSpec, ContainerSummary, LabelFilter};
use crate::backend::{MountKind, MountSpec, NetworkAttach};
use crate::error::{Error, Result};

use super::git::{Call, PrivateDir};
use super::plan::{helper_container, mounted_in_place, repo_session, work_volume};
use super::plan::{Imported, RepoSession};
use super::sandbox::{self, Export};

/// Refuses to run host git in a repository that an in-place session can write.
pub async fn refuse_if_exposed<B: Backend>(backend: &B, root: &Path) -> Result<()> {
    let containers = backend
        .list_containers(&LabelFilter::has(labels::SESSION))
        .await?;
    let agents = containers
        .iter()
        .filter(|c| c.labels.get(labels::ROLE).map(String::as_str) == Some("agent"));
    for agent in agents {
        let name = agent
            .labels
            .get(labels::SESSION)
            .cloned()
            .unwrap_or_default();
        let project = agent
            .labels
            .get(labels::PROJECT)
            .cloned()
            .unwrap_or_default();
        if mounted_in_place(agent) && root.starts_with(&project) {
            return Err(Error::usage(format!(
                "session `{name}` has {project} mounted in place, so its agent can write this \
                 repository's .git; cctui runs no git there. Remove that session first \
                 (`cctui rm {name}`) and check the repository (`cctui doctor`)"
            )));
        }
    }
    Ok(())
}

/// A session's own repository, with the agent container that holds its checkout.
pub struct SessionRepo<'a, B> {
    backend: &'a B,
    agent: &'a ContainerSummary,
    pub rs: RepoSession,
}

impl<'a, B: Backend> SessionRepo<'a, B> {
    /// The repository of the session whose agent this is; None for an in-place session.
    pub fn of(backend: &'a B, agent: &'a ContainerSummary) -> Option<Self> {
        Some(SessionRepo {
            backend,
            agent,
            rs: repo_session(agent)?,
        })
    }

    /// The container to run the sandbox side in: the running agent, or a short-lived one
    /// made from the agent's image with the session's volume and no network.
    async fn checkout_container(&self) -> Result<(String, String, bool)> {
        let agent = self.agent;
        let details = self.backend.inspect_container(&agent.id).await?;
        if agent.state.is_running() {
            return Ok((agent.id.clone(), details.user, false));
        }
        let name = &self.rs.session;
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
            target: self.rs.folder.clone(),
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
    async fn with_checkout<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(String, String) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let (id, user, temporary) = self.checkout_container().await?;
        let result = f(id.clone(), user).await;
        if temporary {
            let _ = self.backend.remove_container(&id).await;
        }
        result
    }

    /// Brings the session's commits (and, with `snapshot`, its uncommitted files) into the
    /// project's repository as `cctui/<key>` (and `refs/cctui/<key>/wip`). On any failure the
    /// repository's refs are as they were.
    pub async fn import(&self, snapshot: bool) -> Result<Imported> {
        let rs = &self.rs;
        refuse_if_exposed(self.backend, &rs.repo.root).await?;
        let wip_ref = rs.cctui_ref("wip");
        let mut have = vec![rs.base.clone()];
        for r in [rs.branch_ref(), wip_ref.clone()] {
            if let Some(sha) = rs.repo.resolve(&r).await? {
                have.push(sha);
            }
        }
        let (folder, name) = (rs.folder.clone(), rs.session.clone());
        let export = self
            .with_checkout(|id, user| {
                let backend = self.backend.clone();
                let have = have.clone();
                async move {
                    sandbox::export(&backend, &id, &user, &folder, &name, snapshot, &have).await
                }
            })
            .await?;
        let (head, wip) = self.fetch(&export).await?;
        let (head, wip) = match settle(&export, &have, head, wip) {
            Ok(s) => s,
            Err(e) => {
                self.drop_incoming().await;
                return Err(e);
            }
        };
        self.update_refs(&head, wip.as_deref(), snapshot).await?;
        let wip = if snapshot {
            wip
        } else {
            rs.repo.resolve(&wip_ref).await?
        };
        tracing::info!(session = %rs.session, %head, new = export.new_commits, "imported");
        Ok(Imported {
            head,
            wip,
            new_commits: export.new_commits,
        })
    }

    /// Checks the export's bundle and fetches it into `refs/cctui/<key>/incoming/`; returns
    /// the head and snapshot it brought (none when it carried no new commits).
    async fn fetch(&self, export: &Export) -> Result<(Option<String>, Option<String>)> {
        if export.new_commits == 0 {
            return Ok((None, None));
        }
        let repo = &self.rs.repo;
        let incoming = self.rs.cctui_ref("incoming");
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
        Ok((
            repo.resolve(&format!("{incoming}/head")).await?,
            repo.resolve(&format!("{incoming}/wip")).await?,
        ))
    }

    /// Moves the session's branch (and snapshot ref) to what was imported and drops the
    /// incoming refs, in one transaction.
    async fn update_refs(&self, head: &str, wip: Option<&str>, snapshot: bool) -> Result<()> {
        let rs = &self.rs;
        let incoming = rs.cctui_ref("incoming");
        let wip_ref = rs.cctui_ref("wip");
        let mut tx = format!("start\nupdate {} {head}\n", rs.branch_ref());
        match wip {
            Some(w) => tx.push_str(&format!("update {wip_ref} {w}\n")),
            None if snapshot => tx.push_str(&format!("delete {wip_ref}\n")),
            None => {}
        }
        for r in ["head", "wip"] {
            if rs.repo.resolve(&format!("{incoming}/{r}")).await?.is_some() {
                tx.push_str(&format!("delete {incoming}/{r}\n"));
            }
        }
        tx.push_str("prepare\ncommit\n");
        let result = rs
            .repo
            .run_with(
                &["update-ref", "--no-deref", "--stdin"],
                Call {
                    stdin: Some(tx.as_bytes()),
                    ..Default::default()
                },
            )
            .await;
        if let Err(e) = result {
            self.drop_incoming().await;
            return Err(Error::other(format!(
                "updating {} failed; nothing changed: {e}",
                rs.branch
            )));
        }
        Ok(())
    }

    async fn drop_incoming(&self) {
        for r in ["head", "wip"] {
            let _ = self
                .rs
                .repo
                .delete_ref(&self.rs.cctui_ref(&format!("incoming/{r}")))
                .await;
        }
    }

    /// Drops the session's work: its checkout goes back to the base and the imported refs go.
    pub async fn discard(&self) -> Result<()> {
        let rs = &self.rs;
        refuse_if_exposed(self.backend, &rs.repo.root).await?;
        if rs.repo.current_branch().await?.as_deref() == Some(rs.branch.as_str()) {
            return Err(Error::usage(format!(
                "{} is checked out in {}; switch to another branch first",
                rs.branch,
                rs.repo.root.display()
            )));
        }
        let folder = rs.folder.clone();
        let (base, branch) = (rs.base.clone(), rs.branch.clone());
        self.with_checkout(|id, user| {
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
}

/// The head and snapshot of an export: what the bundle brought, or else what it named, which
/// must then be a commit the host already had (`have`).
fn settle(
    export: &Export,
    have: &[String],
    head: Option<String>,
    wip: Option<String>,
) -> Result<(String, Option<String>)> {
    let known = |sha: &str| have.iter().any(|h| h == sha);
    let head = match head {
        Some(h) => h,
        None if known(&export.head) => export.head.clone(),
        None => {
            return Err(Error::other(
                "the session's export names a commit it did not send; nothing imported",
            ))
        }
    };
    let wip = match (wip, &export.wip) {
        (Some(w), _) => Some(w),
        (None, None) => None,
        (None, Some(w)) if known(w) => Some(w.clone()),
        (None, Some(_)) => {
            return Err(Error::other(
                "the session's export names a snapshot it did not send; nothing imported",
            ))
        }
    };
    Ok((head, wip))
}

/// Why removing the session would lose work, if it would: commits or uncommitted files that
/// are neither merged into the project's `HEAD` nor applied nor discarded. `agent` is the
/// session's agent container; an in-place session has none of this.
pub async fn unmerged_work<B: Backend>(
    backend: &B,
    agent: &ContainerSummary,
) -> Result<Option<String>> {
    let Some(session) = SessionRepo::of(backend, agent) else {
        return Ok(None);
    };
    let rs = &session.rs;
    let name = &rs.session;
    let imported = session.import(true).await.map_err(|e| {
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
