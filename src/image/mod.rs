//! Images from the recipe: a shared base plus one layer per toolchain profile, each tagged by a
//! hash of everything that went into it, so that equal inputs reuse the image and any change
//! rebuilds it.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::config::{Config, KNOWN_PROFILES};
use crate::error::{Error, Result};
pub use crate::paths::expand_home;

mod build;
pub mod devcontainer;
pub mod fence;
mod ids;

pub use build::{ensure_images, BuildFailure, BuildOptions, BuildProgress, DEFAULT_BUILD_STALL};
pub use fence::FenceSpec;
pub use ids::{AgentIds, RESERVED_UIDS};

/// The recipe files shipped in the binary; a file of the same name under
/// `<config dir>/recipe/` overrides each.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "base.Dockerfile",
        include_str!("../../config/recipe/base.Dockerfile"),
    ),
    (
        "net.Dockerfile",
        include_str!("../../config/recipe/net.Dockerfile"),
    ),
    (
        "agent/cctui-agent",
        include_str!("../../config/recipe/agent/cctui-agent"),
    ),
    (
        "agent/cctui-api-key",
        include_str!("../../config/recipe/agent/cctui-api-key"),
    ),
    (
        "net/cctui-fw",
        include_str!("../../config/recipe/net/cctui-fw"),
    ),
    (
        "profiles/python.Dockerfile",
        include_str!("../../config/recipe/profiles/python.Dockerfile"),
    ),
    (
        "profiles/rust.Dockerfile",
        include_str!("../../config/recipe/profiles/rust.Dockerfile"),
    ),
    (
        "profiles/go.Dockerfile",
        include_str!("../../config/recipe/profiles/go.Dockerfile"),
    ),
    (
        "profiles/node.Dockerfile",
        include_str!("../../config/recipe/profiles/node.Dockerfile"),
    ),
    (
        "profiles/java.Dockerfile",
        include_str!("../../config/recipe/profiles/java.Dockerfile"),
    ),
    (
        "profiles/c.Dockerfile",
        include_str!("../../config/recipe/profiles/c.Dockerfile"),
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
    /// What fenced builds may reach (`image.build_presets`, `image.build_allow`).
    build_allow: Vec<(String, u16)>,
    /// `image.build_networks`, where a fenced build's gate also looks names up (never
    /// `session.networks`: a container there could shadow an allowlisted name).
    networks: Vec<String>,
    /// `session.labels`, on the fence's containers and network.
    labels: crate::backend::Labels,
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
    /// Set on builds of a repository's content: their RUN steps reach only the build
    /// allowlist. Not part of the hash: the same inputs make the same image.
    pub fence: Option<FenceSpec>,
}

/// A plan tagged by a hash of everything that goes into its build: the Dockerfile, the
/// image it builds on (`base`, where that is not named in the Dockerfile), the arguments and
/// the context's files.
pub(crate) fn hashed_plan(
    repo: &str,
    layer: &str,
    dockerfile: &str,
    base: Option<&[u8]>,
    build_args: BTreeMap<String, String>,
    context: BTreeMap<String, Vec<u8>>,
) -> ImagePlan {
    let mut parts: Vec<&[u8]> = vec![dockerfile.as_bytes()];
    parts.extend(base);
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
        fence: None,
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
            build_allow: fence::build_allowlist(config)?,
            networks: config.image.build_networks.clone(),
            labels: config.session.labels.clone(),
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
        let base = Some(self.base_image_id.as_bytes());
        hashed_plan(repo, layer, dockerfile, base, build_args, context)
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

    /// The fence for builds of a repository's content, whose gate runs the holder image.
    pub fn build_fence(&self) -> FenceSpec {
        FenceSpec {
            gate_image: Box::new(self.net_image()),
            rules: self.build_allow.clone(),
            networks: self.networks.clone(),
            labels: self.labels.clone(),
        }
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
    fn the_build_gate_joins_only_the_build_networks_never_the_sessions() {
        let mut config = Config::default();
        config.session.networks = vec!["app-net".into()];
        let load = |c: &Config| Recipe::load(c, Path::new("/nonexistent")).unwrap();
        assert!(load(&config).build_fence().networks.is_empty());
        config.image.build_networks = vec!["mirror-net".into()];
        assert_eq!(load(&config).build_fence().networks, ["mirror-net"]);
    }

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
    fn unknown_profiles_are_refused() {
        let err = canonical_profiles(&["cobol".into()]).unwrap_err();
        assert!(err.to_string().contains("unknown profile `cobol`"));
        assert_eq!(err.exit_code(), 2);
    }
}
