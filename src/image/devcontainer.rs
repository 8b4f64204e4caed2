//! A project's own image (a devcontainer's `image` or `build`) with cctui's agent layered on
//! top: Claude Code copied from cctui's base image, the entrypoint and helpers, the extra CAs,
//! local features, and the agent user on the project folder owner's uid. So `claude` is there
//! whatever the image, and the container is made with cctui's hardening like any session's.

use std::collections::BTreeMap;

use super::{AgentIds, ImagePlan, Recipe};
use crate::error::{Error, Result};

/// The project image a devcontainer asks for, in the image layer's own terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectImage {
    /// The project's slug, for tags.
    pub slug: String,
    pub source: ImageSource,
    /// An existing user of the image to give the agent's uid, else a `claude` user is made.
    pub remote_user: Option<String>,
    pub features: Vec<LocalFeature>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// An image the engine has (no registry is asked for one it lacks).
    Image(String),
    /// The accepted Dockerfile's text, the context's files by path, and build args.
    Build {
        dockerfile: String,
        context: BTreeMap<String, Vec<u8>>,
        args: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocalFeature {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Passed to its install.sh as environment variables.
    pub options: BTreeMap<String, String>,
}

const LAYER: &str = r#"# cctui's agent on the project's own image (its devcontainer).
ARG BASE
ARG CLAUDE_FROM
FROM ${CLAUDE_FROM} AS claude
USER root
RUN mkdir -p /opt/cctui && cp -L "$(command -v claude)" /opt/cctui/claude
FROM ${BASE}
ARG AGENT_UID
ARG AGENT_GID
ARG REMOTE_USER=
USER root
COPY extra-ca/ /usr/local/share/ca-certificates/cctui/
RUN if command -v update-ca-certificates >/dev/null; then update-ca-certificates >/dev/null; fi
COPY --from=claude /opt/cctui/claude /usr/local/bin/claude
COPY agent/ /usr/local/bin/
COPY features/ /tmp/cctui-features/
RUN set -e; for f in /tmp/cctui-features/*/; do [ -f "$f/install.sh" ] || continue; \
      (cd "$f" && set -a && . ./cctui-options && set +a && sh ./install.sh); done; \
    rm -rf /tmp/cctui-features
RUN set -e; chmod 0755 /usr/local/bin/cctui-* /usr/local/bin/claude; \
    if [ -n "$REMOTE_USER" ] && id "$REMOTE_USER" >/dev/null 2>&1; then \
      groupmod -o -g "$AGENT_GID" "$(id -gn "$REMOTE_USER")"; \
      usermod -o -u "$AGENT_UID" -g "$AGENT_GID" "$REMOTE_USER"; \
    else \
      groupadd -o -g "$AGENT_GID" claude; \
      useradd -o -M -d /home/claude -u "$AGENT_UID" -g "$AGENT_GID" -s /bin/sh claude; \
    fi; \
    mkdir -p /home/claude/.claude /commandhistory /run/cctui /etc/claude-code; \
    chown "$AGENT_UID:$AGENT_GID" /home/claude /home/claude/.claude /commandhistory
ENV CLAUDE_CONFIG_DIR=/home/claude/.claude HISTFILE=/commandhistory/.bash_history \
    DISABLE_AUTOUPDATER=1 NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
USER ${AGENT_UID}:${AGENT_GID}
WORKDIR /home/claude
ENTRYPOINT ["/usr/local/bin/cctui-agent"]
CMD ["claude"]
"#;

impl Recipe {
    /// The chain for a devcontainer session: cctui's base (where claude comes from), the
    /// project's image if it is built, then cctui's layer on it. The last is the agent's.
    pub fn project_chain(&self, ids: AgentIds, project: &ProjectImage) -> Result<Vec<ImagePlan>> {
        let mut chain = self.agent_chain(ids, &[])?;
        let claude_from = chain[0].tag.clone();
        let base = match &project.source {
            ImageSource::Image(image) => image.clone(),
            ImageSource::Build {
                dockerfile,
                context,
                args,
            } => {
                let mut plan = own_plan(
                    &format!("cctui-dc-{}", project.slug),
                    "project",
                    dockerfile,
                    args.clone(),
                    context.clone(),
                );
                plan.fence = Some(self.build_fence());
                let tag = plan.tag.clone();
                chain.push(plan);
                tag
            }
        };
        let mut context = self.common_context();
        context.insert(
            "features/README".into(),
            b"local devcontainer features\n".to_vec(),
        );
        for (i, f) in project.features.iter().enumerate() {
            for (name, data) in &f.files {
                context.insert(format!("features/{i}/{name}"), data.clone());
            }
            context.insert(
                format!("features/{i}/cctui-options"),
                options_file(&f.options)?,
            );
        }
        let args = BTreeMap::from([
            ("BASE".to_string(), base),
            ("CLAUDE_FROM".to_string(), claude_from),
            ("AGENT_UID".to_string(), ids.uid.to_string()),
            ("AGENT_GID".to_string(), ids.gid.to_string()),
            (
                "REMOTE_USER".to_string(),
                project.remote_user.clone().unwrap_or_default(),
            ),
        ]);
        let repo = format!("cctui-dc-{}-agent", project.slug);
        // The features' install scripts are the repository's, and its image may be too.
        let mut layer = own_plan(&repo, "devcontainer", LAYER, args, context);
        layer.fence = Some(self.build_fence());
        chain.push(layer);
        Ok(chain)
    }
}

/// A plan with its own context (not the recipe's), tagged by a hash of all of it.
fn own_plan(
    repo: &str,
    layer: &str,
    dockerfile: &str,
    build_args: BTreeMap<String, String>,
    context: BTreeMap<String, Vec<u8>>,
) -> ImagePlan {
    super::hashed_plan(repo, layer, dockerfile, None, build_args, context)
}

/// `KEY='value'` lines, sourced by the install step; names are checked, values quoted.
fn options_file(options: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut out = String::new();
    for (k, v) in options {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::usage(format!(
                "feature option `{k}` is not a valid name"
            )));
        }
        out.push_str(&format!("{k}='{}'\n", v.replace('\'', r"'\''")));
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn project(source: ImageSource) -> ProjectImage {
        ProjectImage {
            slug: "app-1234".into(),
            source,
            remote_user: Some("node".into()),
            features: vec![],
        }
    }

    #[test]
    fn the_agent_layer_sits_on_the_project_image_and_takes_claude_from_the_base() {
        let recipe =
            Recipe::load(&Config::default(), std::path::Path::new("/nonexistent")).unwrap();
        let ids = AgentIds {
            uid: 1000,
            gid: 1000,
        };
        let built = project(ImageSource::Build {
            dockerfile: "FROM debian:bookworm-slim\n".into(),
            context: BTreeMap::from([("x".to_string(), b"1".to_vec())]),
            args: BTreeMap::new(),
        });
        let chain = recipe.project_chain(ids, &built).unwrap();
        assert_eq!(chain.len(), 3);
        assert!(chain[1].tag.starts_with("cctui-dc-app-1234:"));
        let layer = &chain[2];
        assert_eq!(layer.build_args["BASE"], chain[1].tag);
        assert_eq!(layer.build_args["CLAUDE_FROM"], chain[0].tag);
        assert_eq!(layer.build_args["REMOTE_USER"], "node");
        // Any change to the project's files is a new image.
        let mut changed = built.clone();
        if let ImageSource::Build { context, .. } = &mut changed.source {
            context.insert("x".into(), b"2".to_vec());
        }
        assert_ne!(
            recipe.project_chain(ids, &changed).unwrap()[2].tag,
            layer.tag
        );
        let named = recipe.project_chain(ids, &project(ImageSource::Image("my/img:1".into())));
        let named = named.unwrap();
        assert_eq!(named.len(), 2);
        assert_eq!(named[1].build_args["BASE"], "my/img:1");
    }

    #[test]
    fn feature_options_are_quoted_and_names_checked() {
        let opts = BTreeMap::from([("GREETING".to_string(), "it's".to_string())]);
        assert_eq!(
            options_file(&opts).unwrap(),
            b"GREETING='it'\\''s'\n".to_vec()
        );
        let bad = BTreeMap::from([("A;rm".to_string(), "x".to_string())]);
        assert!(options_file(&bad).is_err());
    }
}
