//! Images from the recipe: a shared base plus one layer per toolchain profile, each tagged by a
//! hash of everything that went into it, so that equal inputs reuse the image and any change
//! rebuilds it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::backend::{labels, Backend, BuildEvent, BuildSpec, Labels};
use crate::config::{Config, KNOWN_PROFILES};
use crate::error::{Error, Result};

/// The recipe files shipped in the binary; a file of the same name under
/// `<config dir>/recipe/` overrides each.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "base.Dockerfile",
        include_str!("../config/recipe/base.Dockerfile"),
    ),
    (
        "net.Dockerfile",
        include_str!("../config/recipe/net.Dockerfile"),
    ),
    (
        "agent/cctui-agent",
        include_str!("../config/recipe/agent/cctui-agent"),
    ),
    (
        "agent/cctui-api-key",
        include_str!("../config/recipe/agent/cctui-api-key"),
    ),
    (
        "net/cctui-fw",
        include_str!("../config/recipe/net/cctui-fw"),
    ),
    (
        "profiles/python.Dockerfile",
        include_str!("../config/recipe/profiles/python.Dockerfile"),
    ),
    (
        "profiles/rust.Dockerfile",
        include_str!("../config/recipe/profiles/rust.Dockerfile"),
    ),
    (
        "profiles/go.Dockerfile",
        include_str!("../config/recipe/profiles/go.Dockerfile"),
    ),
    (
        "profiles/node.Dockerfile",
        include_str!("../config/recipe/profiles/node.Dockerfile"),
    ),
    (
        "profiles/java.Dockerfile",
        include_str!("../config/recipe/profiles/java.Dockerfile"),
    ),
    (
        "profiles/c.Dockerfile",
        include_str!("../config/recipe/profiles/c.Dockerfile"),
    ),
];

/// The image every Dockerfile starts from.
pub const BASE_FROM: &str = "debian:bookworm-slim";

/// The recipe in force: embedded files, each overridable from the config folder.
#[derive(Debug, Clone)]
pub struct Recipe {
    files: BTreeMap<String, String>,
    /// (file name, PEM contents) of the extra CAs.
    extra_cas: Vec<(String, Vec<u8>)>,
    claude_code_version: String,
    timezone: String,
    /// The engine's ID of `BASE_FROM`: a new base (a pull) means new tags, so a rebuild.
    base_image_id: String,
}

/// One image to build: its tag and how to make it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePlan {
    pub tag: String,
    /// What this layer is, for progress messages: "base", "net" or a profile name.
    pub layer: String,
    pub dockerfile: String,
    pub build_args: BTreeMap<String, String>,
    /// Extra files in the build context, by path.
    pub context: BTreeMap<String, Vec<u8>>,
    pub hash: String,
}

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
                 chown it to your user (e.g. `sudo chown -R $USER: {}`)",
                path.display(),
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
                "{err}; or name a project folder (`--path`)"
            ))),
        }
    }
}

fn short_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Recipe {
    /// The recipe for this config, with overrides from `<config dir>/recipe/`.
    pub fn load(config: &Config, config_dir: &Path) -> Result<Recipe> {
        let mut files = BTreeMap::new();
        for (name, text) in EMBEDDED {
            let over = config_dir.join("recipe").join(name);
            let text = match std::fs::read_to_string(&over) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => text.to_string(),
                Err(e) => return Err(Error::other(format!("{}: {e}", over.display()))),
            };
            files.insert(name.to_string(), text);
        }
        // Extra files for an overriding recipe to COPY: everything under recipe/files/.
        let files_dir = config_dir.join("recipe").join("files");
        if let Ok(entries) = std::fs::read_dir(&files_dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_file()) {
                    let text = std::fs::read_to_string(e.path())
                        .map_err(|err| Error::other(format!("{}: {err}", e.path().display())))?;
                    files.insert(format!("files/{}", e.file_name().to_string_lossy()), text);
                }
            }
        }
        let mut extra_cas = Vec::new();
        for path in &config.image.extra_ca_certs {
            let path = expand_home(path);
            let pem = std::fs::read(&path).map_err(|e| {
                Error::usage(format!(
                    "image.extra_ca_certs: {}: {e}; fix the path in {}",
                    path.display(),
                    config
                        .source
                        .as_deref()
                        .unwrap_or(Path::new("config.toml"))
                        .display()
                ))
            })?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::usage(format!(
                    "image.extra_ca_certs: {} is not a PEM certificate",
                    path.display()
                )));
            }
            let name = format!("extra-{}.crt", extra_cas.len());
            extra_cas.push((name, pem));
        }
        Ok(Recipe {
            files,
            extra_cas,
            claude_code_version: config.image.claude_code_version.clone(),
            timezone: config.image.timezone.clone(),
            base_image_id: String::new(),
        })
    }

    /// The same recipe, on the engine's current `BASE_FROM` image.
    pub fn on_base(mut self, base_image_id: &str) -> Recipe {
        self.base_image_id = base_image_id.to_string();
        self
    }

    fn file(&self, name: &str) -> &str {
        self.files.get(name).map(String::as_str).unwrap_or_default()
    }

    /// Context files shared by every image: the extra CAs and cctui's helper scripts.
    fn common_context(&self) -> BTreeMap<String, Vec<u8>> {
        let mut ctx = BTreeMap::new();
        ctx.insert(
            "extra-ca/README".to_string(),
            b"extra CA certificates from image.extra_ca_certs\n".to_vec(),
        );
        for (name, pem) in &self.extra_cas {
            ctx.insert(format!("extra-ca/{name}"), pem.clone());
        }
        for (name, text) in &self.files {
            if name.starts_with("agent/") || name.starts_with("net/") || name.starts_with("files/")
            {
                ctx.insert(name.clone(), text.as_bytes().to_vec());
            }
        }
        ctx
    }

    fn plan(
        &self,
        repo: &str,
        layer: &str,
        dockerfile: &str,
        build_args: BTreeMap<String, String>,
    ) -> ImagePlan {
        let context = self.common_context();
        let mut parts: Vec<&[u8]> = vec![dockerfile.as_bytes(), self.base_image_id.as_bytes()];
        let args: Vec<String> = build_args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.extend(args.iter().map(|a| a.as_bytes()));
        for (k, v) in &context {
            parts.push(k.as_bytes());
            parts.push(v);
        }
        let hash = short_hash(&parts);
        ImagePlan {
            tag: format!("{repo}:{hash}"),
            layer: layer.to_string(),
            dockerfile: dockerfile.to_string(),
            build_args,
            context,
            hash,
        }
    }

    /// The agent image chain for these profiles: base first, then one layer per profile in a
    /// canonical order, so that the same set always gives the same tags.
    pub fn agent_chain(&self, ids: AgentIds, profiles: &[String]) -> Result<Vec<ImagePlan>> {
        let profiles = canonical_profiles(profiles)?;
        let base_args = BTreeMap::from([
            ("AGENT_UID".to_string(), ids.uid.to_string()),
            ("AGENT_GID".to_string(), ids.gid.to_string()),
            (
                "CLAUDE_CODE_VERSION".to_string(),
                self.claude_code_version.clone(),
            ),
            ("TZ".to_string(), self.timezone.clone()),
        ]);
        let mut chain = vec![self.plan(
            "cctui-base",
            "base",
            self.file("base.Dockerfile"),
            base_args,
        )];
        let mut repo = String::from("cctui");
        for p in &profiles {
            repo.push('-');
            repo.push_str(p);
            let parent = chain.last().expect("base is first").tag.clone();
            let args = BTreeMap::from([("BASE".to_string(), parent)]);
            let file = self.file(&format!("profiles/{p}.Dockerfile")).to_string();
            chain.push(self.plan(&repo, p, &file, args));
        }
        Ok(chain)
    }

    /// The firewall's network-holder image.
    pub fn net_image(&self) -> ImagePlan {
        self.plan(
            "cctui-net",
            "net",
            self.file("net.Dockerfile"),
            BTreeMap::new(),
        )
    }
}

/// Validates profile names and puts them in the one order used for tags.
pub fn canonical_profiles(profiles: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in profiles {
        let p = p.trim().to_ascii_lowercase();
        if !KNOWN_PROFILES.contains(&p.as_str()) {
            return Err(Error::usage(format!(
                "unknown profile `{p}`; known profiles: {}",
                KNOWN_PROFILES.join(", ")
            )));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out.sort_by_key(|p| KNOWN_PROFILES.iter().position(|k| k == p));
    Ok(out)
}

pub fn expand_home(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(rest))
            .unwrap_or_else(|| path.to_path_buf()),
        Err(_) => path.to_path_buf(),
    }
}

fn context_tar(plan: &ImagePlan) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8], mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        builder
            .append_data(&mut header, name, data)
            .expect("writing to memory");
    };
    add("Dockerfile", plan.dockerfile.as_bytes(), 0o644);
    for (name, data) in &plan.context {
        let mode =
            if name.starts_with("agent/") || name.starts_with("net/") || name.starts_with("files/")
            {
                0o755
            } else {
                0o644
            };
        add(name, data, mode);
    }
    builder.into_inner().expect("writing to memory")
}

/// How a build is going, for the CLI's progress line and the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildProgress {
    /// This layer's image already exists.
    Cached {
        layer: String,
        tag: String,
    },
    Started {
        layer: String,
        tag: String,
    },
    Step {
        layer: String,
        index: u32,
        total: u32,
        text: String,
    },
    Output {
        layer: String,
        line: String,
    },
    Finished {
        layer: String,
        tag: String,
    },
}

#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    pub no_cache: bool,
    pub pull: bool,
    /// Rebuild even when an image with the tag exists.
    pub force: bool,
    /// Cancel a build that prints nothing for this long (`image.build_stall_secs`); None is
    /// the default, `DEFAULT_BUILD_STALL`.
    pub stall: Option<std::time::Duration>,
}

/// `image.build_stall_secs` by default.
pub const DEFAULT_BUILD_STALL: std::time::Duration = std::time::Duration::from_secs(300);

impl BuildOptions {
    /// These options, with the stall time of `config` unless one is set.
    pub fn with_config(self, config: &Config) -> BuildOptions {
        BuildOptions {
            stall: self.stall.or(Some(std::time::Duration::from_secs(
                config.image.build_stall_secs,
            ))),
            ..self
        }
    }
}

/// A failed build: the failing step and its last lines of output.
#[derive(Debug, thiserror::Error)]
#[error("building the {layer} image failed at {step}:\n{tail}\n{detail}")]
pub struct BuildFailure {
    pub layer: String,
    pub step: String,
    pub tail: String,
    pub detail: String,
}

/// Builds each plan in order unless its tag exists, reporting progress. Returns the last tag.
pub async fn ensure_images<B: Backend>(
    backend: &B,
    plans: &[ImagePlan],
    options: BuildOptions,
    mut progress: impl FnMut(BuildProgress),
) -> Result<String> {
    if backend.inspect_image(BASE_FROM).await?.is_none() {
        return Err(Error::other(format!(
            "the base image {BASE_FROM} is missing: run `docker pull {BASE_FROM}` \
             (without a registry, see tests/run.sh for making it with debootstrap)"
        )));
    }
    let mut last = String::new();
    for plan in plans {
        last = plan.tag.clone();
        let exists = backend.inspect_image(&plan.tag).await?.is_some();
        if exists && !options.force && !options.no_cache {
            progress(BuildProgress::Cached {
                layer: plan.layer.clone(),
                tag: plan.tag.clone(),
            });
            continue;
        }
        progress(BuildProgress::Started {
            layer: plan.layer.clone(),
            tag: plan.tag.clone(),
        });
        let spec = BuildSpec {
            context_tar: context_tar(plan),
            dockerfile: "Dockerfile".into(),
            tag: plan.tag.clone(),
            build_args: plan.build_args.clone(),
            labels: Labels::from([
                (labels::IMAGE_HASH.to_string(), plan.hash.clone()),
                ("cctui.layer".to_string(), plan.layer.clone()),
            ]),
            no_cache: options.no_cache,
            // Only the first layer names a registry image; later ones build on ours.
            pull: options.pull && plan.layer == "base",
        };
        let mut stream = backend.build_image(spec);
        let mut step = String::from("the start");
        let mut tail: std::collections::VecDeque<String> = Default::default();
        let stall = options.stall.unwrap_or(DEFAULT_BUILD_STALL);
        // The classic builder runs each step in a container it names in its output.
        let mut step_container: Option<String> = None;
        let tail_text = |tail: std::collections::VecDeque<String>| {
            tail.into_iter()
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        loop {
            let event = match tokio::time::timeout(stall, stream.next()).await {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(_) => {
                    // Dropping the stream ends the request, and the engine cancels the build
                    // in its own time; the step's container goes now, so nothing of the
                    // build still runs when this returns.
                    drop(stream);
                    if let Some(id) = &step_container {
                        let _ = backend.remove_container(id).await;
                    }
                    return Err(Error::other(
                        BuildFailure {
                            layer: plan.layer.clone(),
                            step,
                            tail: tail_text(tail),
                            detail: format!(
                                "stalled: no output for {} s, so the build was cancelled \
                                 (image.build_stall_secs; a retry often gets past a stuck \
                                 download)",
                                stall.as_secs()
                            ),
                        }
                        .to_string(),
                    ));
                }
            };
            match event {
                Ok(BuildEvent::Step { index, total, text }) => {
                    step = format!("step {index}/{total}: {text}");
                    tail.clear();
                    progress(BuildProgress::Step {
                        layer: plan.layer.clone(),
                        index,
                        total,
                        text,
                    });
                }
                Ok(BuildEvent::Output(line)) => {
                    if let Some(id) = line.trim().strip_prefix("---> Running in ") {
                        step_container = Some(id.trim().to_string());
                    }
                    if tail.len() == 15 {
                        tail.pop_front();
                    }
                    tail.push_back(line.clone());
                    progress(BuildProgress::Output {
                        layer: plan.layer.clone(),
                        line,
                    });
                }
                Ok(BuildEvent::Done { .. }) => {}
                Err(e) => {
                    return Err(Error::other(
                        BuildFailure {
                            layer: plan.layer.clone(),
                            step,
                            tail: tail_text(tail),
                            detail: e.to_string(),
                        }
                        .to_string(),
                    ))
                }
            }
        }
        progress(BuildProgress::Finished {
            layer: plan.layer.clone(),
            tag: plan.tag.clone(),
        });
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe() -> Recipe {
        Recipe::load(&Config::default(), Path::new("/nonexistent")).unwrap()
    }

    const IDS: AgentIds = AgentIds {
        uid: 1000,
        gid: 1000,
    };

    #[test]
    fn same_profiles_in_any_order_give_the_same_tags() {
        let a = recipe()
            .agent_chain(IDS, &["rust".into(), "python".into()])
            .unwrap();
        let b = recipe()
            .agent_chain(IDS, &["python".into(), "rust".into(), "python".into()])
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert!(a[2].tag.starts_with("cctui-python-rust:"));
    }

    #[test]
    fn any_input_change_changes_the_tag() {
        let base = recipe().agent_chain(IDS, &[]).unwrap()[0].tag.clone();
        let mut other = recipe();
        other.claude_code_version = "2.0.0".into();
        assert_ne!(other.agent_chain(IDS, &[]).unwrap()[0].tag, base);
        let other_uid = recipe()
            .agent_chain(
                AgentIds {
                    uid: 1001,
                    gid: 1000,
                },
                &[],
            )
            .unwrap();
        assert_ne!(other_uid[0].tag, base);
        let rebased = recipe().on_base("sha256:other");
        assert_ne!(rebased.agent_chain(IDS, &[]).unwrap()[0].tag, base);
        let mut with_ca = recipe();
        with_ca.extra_cas.push(("x.crt".into(), b"pem".to_vec()));
        assert_ne!(with_ca.agent_chain(IDS, &[]).unwrap()[0].tag, base);
    }

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

    #[test]
    fn unknown_profiles_are_refused() {
        let err = canonical_profiles(&["cobol".into()]).unwrap_err();
        assert!(err.to_string().contains("unknown profile `cobol`"));
        assert_eq!(err.exit_code(), 2);
    }
}
