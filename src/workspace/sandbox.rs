//! The sandbox side of the exchange: scripts run by `docker exec` inside a session's
//! container, as the agent user, in the session's own repository. Data goes in on stdin (a
//! bundle the host's git made) and comes out on stdout (a bundle the sandbox's git made).
//! Nothing here trusts what comes out: the host checks it (`git bundle verify`, fsck).

use crate::backend::{Backend, ExecSpec};
use crate::error::{Error, Result};

use super::git::is_sha;

/// Makes the session's repository from the seed bundle on stdin: branch `$2` at `$3`, checked
/// out, then (with `$4`, a commit in the bundle) the user's uncommitted files laid over it,
/// left uncommitted. Prints the tree those files make, so the host can check none was lost.
/// The repository has no remote and none of the host's config.
const SEED: &str = r#"set -eu
W="$1" BR="$2" BASE="$3" START="$4" WHO="$5"
cd "$W"
if [ -n "$(ls -A)" ]; then echo "the session's checkout folder is not empty" >&2; exit 3; fi
git init -q -b "$BR" .
git config user.name "Claude (cctui session $WHO)"
git config user.email "claude@$WHO.cctui.invalid"
cat > .git/cctui-seed.bundle
git bundle unbundle .git/cctui-seed.bundle >/dev/null
rm -f .git/cctui-seed.bundle
git update-ref "refs/heads/$BR" "$BASE"
git reset -q --hard
if [ "$START" != "$BASE" ]; then
  git restore --source="$START" --worktree -- :/
fi
# A temporary index read from the tree, so with no stat data: `add -A` hashes every file.
# A copy of the real index would trust its stat data, and a file that `restore` changed in
# the same second and to the same size would count as unchanged.
d=$(mktemp -d)
GIT_INDEX_FILE="$d/index" git read-tree HEAD
GIT_INDEX_FILE="$d/index" git add -A
GIT_INDEX_FILE="$d/index" git write-tree
rm -rf "$d"
"#;

/// Exports the session's work: `HEAD`, and with `$3` = 1 a snapshot commit of the files not
/// yet committed (made with a temporary index, so the agent's own index is untouched). The
/// first line of stdout says what was exported; a bundle of the commits the host lacks (the
/// remaining arguments name commits it has) follows when there are any.
const EXPORT: &str = r#"set -eu
W="$1" S="$2" SNAP="$3"
shift 3
cd "$W"
head=$(git rev-parse -q --verify 'HEAD^{commit}') || { echo "the session's repository has no commit at HEAD" >&2; exit 3; }
git update-ref refs/cctui/export/head "$head"
wip=-
if [ "$SNAP" = 1 ]; then
  d=$(mktemp -d)
  trap 'rm -rf "$d"' EXIT
  idx=$(git rev-parse --git-path index)
  if [ -f "$idx" ]; then cp "$idx" "$d/index"; fi
  # An index older than its entries makes every entry "racily clean", so git compares
  # contents instead of trusting stat data that can hide a same-second, same-size edit.
  if [ -f "$d/index" ]; then touch -d @0 "$d/index"; fi
  GIT_INDEX_FILE="$d/index" git add -A
  tree=$(GIT_INDEX_FILE="$d/index" git write-tree)
  if [ "$tree" != "$(git rev-parse "$head^{tree}")" ]; then
    when="@$(git log -1 --format=%ct "$head") +0000"
    wip=$(GIT_AUTHOR_NAME=cctui GIT_AUTHOR_EMAIL=cctui@cctui.invalid GIT_AUTHOR_DATE="$when" \
      GIT_COMMITTER_NAME=cctui GIT_COMMITTER_EMAIL=cctui@cctui.invalid GIT_COMMITTER_DATE="$when" \
      git commit-tree -p "$head" -m "cctui: uncommitted work of $S" "$tree")
  fi
fi
refs=refs/cctui/export/head
if [ "$wip" != - ]; then
  git update-ref refs/cctui/export/wip "$wip"
  refs="$refs refs/cctui/export/wip"
fi
not=""
for x in "$@"; do
  if git cat-file -e "$x^{commit}" 2>/dev/null; then not="$not $x"; fi
done
new=$(git rev-list --count $refs --not $not)
printf 'cctui-export %s %s %s\n' "$head" "$wip" "$new"
if [ "$new" -gt 0 ]; then git bundle create - $refs --not $not 2>/dev/null; fi
"#;

/// Puts the session's checkout back at `$2` on its branch `$3`, dropping every change.
const RESET: &str = r#"set -eu
W="$1" BASE="$2" BR="$3"
cd "$W"
git checkout -q -f -B "$BR" "$BASE"
git clean -q -f -d
"#;

/// What an export said, and the bundle that came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub head: String,
    pub wip: Option<String>,
    pub new_commits: u64,
    pub bundle: Vec<u8>,
}

fn script(body: &str, args: &[&str]) -> Vec<String> {
    let mut cmd = vec![
        "sh".to_string(),
        "-c".to_string(),
        body.to_string(),
        "cctui".to_string(),
    ];
    cmd.extend(args.iter().map(|a| a.to_string()));
    cmd
}

async fn run<B: Backend>(
    backend: &B,
    container: &str,
    user: &str,
    cmd: Vec<String>,
    stdin: Option<Vec<u8>>,
    what: &str,
) -> Result<crate::backend::ExecOutput> {
    let out = backend
        .exec(
            container,
            &ExecSpec {
                cmd,
                user: Some(user.to_string()),
                stdin,
                stdout_cap: Some(EXPORT_CAP),
                ..Default::default()
            },
        )
        .await?;
    if out.exit_code != 0 {
        return Err(Error::other(format!(
            "{what} failed inside the session (exit {}): {}",
            out.exit_code,
            out.stderr_text().trim()
        )));
    }
    if out.stdout_cut > 0 {
        return Err(Error::other(format!(
            "{what}: the session printed more than {} MiB; nothing was taken. Commit less \
             (big generated files belong outside the repository)",
            EXPORT_CAP >> 20
        )));
    }
    Ok(out)
}

/// The largest export (a bundle of the session's new objects) cctui takes in.
pub const EXPORT_CAP: usize = 256 << 20;

/// Gives the empty checkout folder (the top of the session's volume) to the agent user.
pub async fn prepare_folder<B: Backend>(
    backend: &B,
    container: &str,
    agent_user: &str,
    folder: &str,
) -> Result<()> {
    // `chown -h`: never follows a link, though the mount point cannot be one.
    run(
        backend,
        container,
        "0:0",
        script(
            "chmod 0755 \"$2\" && chown -h \"$1\" \"$2\"",
            &[agent_user, folder],
        ),
        None,
        "preparing the session's checkout",
    )
    .await
    .map(|_| ())
}

/// Seeds the session's repository; returns the tree its files make (checked by the caller).
#[allow(clippy::too_many_arguments)]
pub async fn seed<B: Backend>(
    backend: &B,
    container: &str,
    agent_user: &str,
    folder: &str,
    branch: &str,
    base: &str,
    start: &str,
    who: &str,
    bundle: Vec<u8>,
) -> Result<String> {
    let out = run(
        backend,
        container,
        agent_user,
        script(SEED, &[folder, branch, base, start, who]),
        Some(bundle),
        "making the session's repository",
    )
    .await?;
    Ok(out.stdout_text().trim().to_string())
}

/// Exports the session's work; `have` are commits the host already has.
pub async fn export<B: Backend>(
    backend: &B,
    container: &str,
    agent_user: &str,
    folder: &str,
    session: &str,
    snapshot: bool,
    have: &[String],
) -> Result<Export> {
    let mut args = vec![folder, session, if snapshot { "1" } else { "0" }];
    args.extend(have.iter().filter(|h| is_sha(h)).map(String::as_str));
    let out = run(
        backend,
        container,
        agent_user,
        script(EXPORT, &args),
        None,
        "exporting the session's work",
    )
    .await?;
    parse_export(out.stdout)
}

/// Parses an export's header strictly: it came from inside the sandbox.
pub fn parse_export(mut stdout: Vec<u8>) -> Result<Export> {
    let bad = || Error::other("the session's export is malformed; nothing was imported");
    let nl = stdout.iter().position(|b| *b == b'\n').ok_or_else(bad)?;
    if nl > 200 {
        return Err(bad());
    }
    let header = String::from_utf8(stdout[..nl].to_vec()).map_err(|_| bad())?;
    let bundle = stdout.split_off(nl + 1);
    let parts: Vec<&str> = header.split(' ').collect();
    let [tag, head, wip, new] = parts[..] else {
        return Err(bad());
    };
    if tag != "cctui-export" || !is_sha(head) || !(wip == "-" || is_sha(wip)) {
        return Err(bad());
    }
    let new_commits: u64 = new.parse().map_err(|_| bad())?;
    if (new_commits > 0) == bundle.is_empty() {
        return Err(bad());
    }
    Ok(Export {
        head: head.to_string(),
        wip: (wip != "-").then(|| wip.to_string()),
        new_commits,
        bundle,
    })
}

/// Drops every change in the session's checkout: back to `base` on `branch`.
pub async fn reset<B: Backend>(
    backend: &B,
    container: &str,
    agent_user: &str,
    folder: &str,
    base: &str,
    branch: &str,
) -> Result<()> {
    run(
        backend,
        container,
        agent_user,
        script(RESET, &[folder, base, branch]),
        None,
        "discarding the session's changes",
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn export_headers_are_parsed_strictly() {
        let ok = parse_export(format!("cctui-export {A} - 0\n").into_bytes()).unwrap();
        assert_eq!((ok.head.as_str(), ok.wip, ok.new_commits), (A, None, 0));
        let with = parse_export(format!("cctui-export {A} {A} 2\nBUNDLE").into_bytes()).unwrap();
        assert_eq!(with.bundle, b"BUNDLE");
        for bad in [
            format!("cctui-export {A} - 1\n"),
            format!("cctui-export {A} - 0\nextra"),
            "cctui-export HEAD - 0\n".to_string(),
            format!("cctui-export {A} --x 0\n"),
            format!("nope {A} - 0\n"),
            String::new(),
        ] {
            assert!(parse_export(bad.clone().into_bytes()).is_err(), "{bad}");
        }
    }
}
