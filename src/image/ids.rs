//! Who the agent runs as: the project folder's owner, never root nor a uid the firewall
//! reserves.

use std::path::Path;

use crate::error::{Error, Result};

/// Uids of the firewall's own users (dnsmasq, the verification probe) in the holder image.
pub const RESERVED_UIDS: [u32; 2] = [64998, 64999];

/// Who the agent runs as inside the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentIds {
    pub uid: u32,
    pub gid: u32,
}

impl AgentIds {
    /// The owner of the project folder. The agent never runs as root, so a root-owned folder
    /// is refused with a way out.
    pub fn of_folder(path: &Path) -> Result<AgentIds> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
        if meta.uid() == 0 {
            return Err(Error::usage(format!(
                "{} is owned by root, and cctui never runs the agent as root; \
                 use a project folder your own user owns",
                path.display()
            )));
        }
        // The firewall holder tells its resolver and probe apart from the agent by these uids.
        if RESERVED_UIDS.contains(&meta.uid()) {
            return Err(Error::usage(format!(
                "{} is owned by uid {}, which cctui's firewall reserves; chown it to another user",
                path.display(),
                meta.uid()
            )));
        }
        Ok(AgentIds {
            uid: meta.uid(),
            gid: meta.gid(),
        })
    }
}

/// The user running cctui, and the one behind `sudo` when that is root.
fn invoking_users() -> (AgentIds, Option<AgentIds>) {
    // SAFETY: getuid and getgid cannot fail and touch no memory.
    let me = unsafe {
        AgentIds {
            uid: libc::getuid(),
            gid: libc::getgid(),
        }
    };
    let var = |n: &str| std::env::var(n).ok().and_then(|v| v.parse::<u32>().ok());
    let sudo = match (var("SUDO_UID"), var("SUDO_GID")) {
        (Some(uid), Some(gid)) => Some(AgentIds { uid, gid }),
        _ => None,
    };
    (me, sudo)
}

impl AgentIds {
    /// Whose images `cctui build` and `cctui doctor` mean when no project folder is named:
    /// the current folder's owner when it can be a project, as `cctui new` there would use;
    /// otherwise (a root-owned folder such as `/` or `/opt`) the user running cctui, or the
    /// one behind `sudo`, who owns the folders they give to `new`. Returns the ids and why.
    pub fn for_current_folder() -> Result<(AgentIds, String)> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::usage(format!("the current folder: {e}")))?;
        let (me, sudo) = invoking_users();
        AgentIds::choose(&cwd, AgentIds::of_folder(&cwd), me, sudo)
    }

    fn choose(
        folder: &Path,
        owner: Result<AgentIds>,
        me: AgentIds,
        sudo: Option<AgentIds>,
    ) -> Result<(AgentIds, String)> {
        let err = match owner {
            Ok(ids) => {
                return Ok((ids, format!("the owner of {}", folder.display())));
            }
            Err(e) => e,
        };
        let usable = |ids: &AgentIds| ids.uid != 0 && !RESERVED_UIDS.contains(&ids.uid);
        let why = |who: &str| format!("{who}; {} cannot be a project", folder.display());
        if usable(&me) {
            return Ok((me, why("you")));
        }
        match sudo.filter(|_| me.uid == 0).filter(usable) {
            Some(ids) => Ok((ids, why("the user behind sudo"))),
            None => Err(Error::usage(format!(
                "{err}; run it in a project folder you own (`cctui build` also takes `--path DIR`)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_project_the_images_are_the_invoking_users() {
        let folder = Path::new("/opt");
        let root_owned = || Err(Error::usage("/opt is owned by root"));
        let user = AgentIds {
            uid: 1001,
            gid: 1002,
        };
        let root = AgentIds { uid: 0, gid: 0 };
        let owner = AgentIds {
            uid: 1500,
            gid: 1500,
        };
        // A folder that can be a project: its owner, as `new` there would use.
        let (ids, _) = AgentIds::choose(folder, Ok(owner), user, None).unwrap();
        assert_eq!(ids, owner);
        // A root-owned folder: the user running cctui, or the one behind sudo.
        let (ids, why) = AgentIds::choose(folder, root_owned(), user, None).unwrap();
        assert_eq!((ids, why.as_str()), (user, "you; /opt cannot be a project"));
        let (ids, _) = AgentIds::choose(folder, root_owned(), root, Some(user)).unwrap();
        assert_eq!(ids, user);
        // Root without sudo: no agent user to guess; the error says how to name one.
        let e = AgentIds::choose(folder, root_owned(), root, None).unwrap_err();
        assert!(e.to_string().contains("--path"), "{e}");
        assert_eq!(e.exit_code(), 2);
        let reserved = AgentIds {
            uid: RESERVED_UIDS[0],
            gid: 0,
        };
        assert!(AgentIds::choose(folder, root_owned(), reserved, None).is_err());
    }
}
