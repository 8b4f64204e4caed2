//! What sessions leave in the project's repository after they are gone: the branches
//! `cctui/<key>` and the refs under `refs/cctui/<key>/`. Those whose work is merged,
//! applied, discarded or never made can go; those with work the project lacks stay until
//! the user deletes them on purpose.

use crate::error::Result;

use super::git::HostRepo;

/// One ended session's leftovers in the project's repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub key: String,
    /// The refs to delete, full names.
    pub refs: Vec<String>,
    /// Why it may go ("merged", "nothing to keep"), or None: it holds work not handed over.
    pub safe: Option<&'static str>,
}

impl Leftover {
    pub fn branch(&self) -> String {
        format!("cctui/{}", self.key)
    }
}

/// The key a ref of cctui's belongs to, if it is one of cctui's.
fn key_of(refname: &str) -> Option<&str> {
    if let Some(rest) = refname.strip_prefix("refs/heads/cctui/") {
        return (!rest.contains('/')).then_some(rest);
    }
    let rest = refname.strip_prefix("refs/cctui/")?;
    rest.split_once('/').map(|(key, _)| key)
}

/// The leftovers of every key no live session uses (`live`: the keys of this repository's
/// sessions), each judged by what it holds.
pub async fn leftovers(repo: &HostRepo, live: &[String]) -> Result<Vec<Leftover>> {
    let listing = repo
        .text(&[
            "for-each-ref",
            "--format=%(refname)",
            "refs/heads/cctui/",
            "refs/cctui/",
        ])
        .await?;
    let mut out: Vec<Leftover> = Vec::new();
    for refname in listing.lines() {
        let Some(key) = key_of(refname) else { continue };
        if live.iter().any(|k| k == key) {
            continue;
        }
        match out.iter_mut().find(|l| l.key == key) {
            Some(l) => l.refs.push(refname.to_string()),
            None => out.push(Leftover {
                key: key.to_string(),
                refs: vec![refname.to_string()],
                safe: None,
            }),
        }
    }
    for l in &mut out {
        l.safe = judge(repo, &l.key).await?;
    }
    Ok(out)
}

/// Whether a key's work is safe to delete, judged as the `rm` guard judges a live session
/// (see [`super::unmerged_work`]): its newest state (the uncommitted snapshot, else the
/// branch) is its base, or was handed over (`done`), or the branch is in the project's
/// `HEAD` with no snapshot beside it.
async fn judge(repo: &HostRepo, key: &str) -> Result<Option<&'static str>> {
    let ours = |what: &str| format!("refs/cctui/{key}/{what}");
    let base = repo.resolve(&ours("base")).await?;
    let done = repo.resolve(&ours("done")).await?;
    let wip = repo.resolve(&ours("wip")).await?;
    let branch = repo.resolve(&format!("refs/heads/cctui/{key}")).await?;
    let Some(tip) = wip.clone().or(branch.clone()) else {
        return Ok(Some("nothing to keep"));
    };
    if Some(&tip) == base.as_ref() {
        return Ok(Some("nothing to keep"));
    }
    if Some(&tip) == done.as_ref() {
        return Ok(Some("merged"));
    }
    let in_head = match (&branch, repo.head().await?) {
        (Some(b), Some(_)) => repo.is_ancestor(b, "HEAD").await?,
        _ => false,
    };
    Ok((in_head && wip.is_none()).then_some("merged"))
}

/// Deletes the leftovers of one ended session (key) when nothing of its work would be lost;
/// returns whether they went. For `run --rm`, whose sandbox is gone with it.
pub async fn prune_key(repo: &HostRepo, key: &str) -> Result<bool> {
    let all = leftovers(repo, &[]).await?;
    match all.iter().find(|l| l.key == key) {
        Some(l) if l.safe.is_some() => delete(repo, l).await.map(|_| true),
        _ => Ok(false),
    }
}

/// Deletes a leftover's refs.
pub async fn delete(repo: &HostRepo, leftover: &Leftover) -> Result<()> {
    for r in &leftover.refs {
        repo.delete_ref(r).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_cctuis_refs_only() {
        assert_eq!(key_of("refs/heads/cctui/a-1"), Some("a-1"));
        assert_eq!(key_of("refs/cctui/a-1/base"), Some("a-1"));
        assert_eq!(key_of("refs/heads/main"), None);
        assert_eq!(key_of("refs/heads/cctui/x/y"), None);
        assert_eq!(key_of("refs/cctui/nokey"), None);
    }
}
