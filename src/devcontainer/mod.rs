//! A repository's `.devcontainer/devcontainer.json` (or `.devcontainer.json`): the environment
//! the project already defines, read as repository-proposed settings (`proposal`). cctui takes
//! what shapes the image and the agent's environment, and ignores, by name, everything that
//! would widen the sandbox: its own hardening and firewall always apply.

pub mod dockerfile;
pub mod files;
pub mod proposal;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// The label that says which environment a session's image came from.
pub const ENVIRONMENT_LABEL: &str = "cctui.environment";

/// Where a repository may keep its devcontainer, first found wins (the spec's order).
pub const FILES: [&str; 2] = [".devcontainer/devcontainer.json", ".devcontainer.json"];

/// What cctui takes from a devcontainer.json.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DevContainer {
    /// The devcontainer.json, absolute.
    pub file: PathBuf,
    pub image: Option<String>,
    pub build: Option<Build>,
    /// `containerEnv`, then `remoteEnv` over it; never secrets.
    pub env: BTreeMap<String, String>,
    /// Mapped onto the agent's uid (the project folder's owner); never root.
    pub remote_user: Option<String>,
    /// Each an argv, run as the agent in the project folder once the firewall is verified.
    pub post_create: Vec<Vec<String>>,
    pub post_start: Vec<Vec<String>>,
    /// Local features (a folder next to the file); features that need a download are skipped
    /// with a warning.
    pub features: Vec<Feature>,
    /// One line per key ignored, each naming it.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Build {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub args: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// As written, e.g. `./features/hello`.
    pub id: String,
    pub dir: PathBuf,
    /// Option name (upper-cased, as install.sh sees it) to value.
    pub options: BTreeMap<String, String>,
}

/// The devcontainer.json of the project at `root`, if it has one: anything by that name,
/// symlink or FIFO too, so that reading it refuses it by name rather than passing over it.
pub fn find(root: &Path) -> Option<PathBuf> {
    FILES
        .iter()
        .map(|f| root.join(f))
        .find(|p| p.symlink_metadata().is_ok())
}

impl DevContainer {
    /// Parses `text` (JSON with comments) as the file `file` of the project at `root`.
    /// Malformed text is one line: file, line, column and what is wrong.
    pub fn parse(text: &str, file: &Path, root: &Path) -> Result<DevContainer> {
        // JSON with comments and trailing commas, as VS Code reads it; nothing looser.
        let options = jsonc_parser::ParseOptions {
            allow_comments: true,
            allow_trailing_commas: true,
            allow_loose_object_property_names: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            ..Default::default()
        };
        let value: Value = jsonc_parser::parse_to_serde_value(text, &options).map_err(|e| {
            Error::usage(format!(
                "{}:{}:{}: {}",
                file.display(),
                e.line_display(),
                e.column_display(),
                e.kind()
            ))
        })?;
        let Value::Object(map) = value else {
            return Err(Error::usage(format!(
                "{}: a devcontainer.json is one object",
                file.display()
            )));
        };
        let dir = file.parent().unwrap_or(root).to_path_buf();
        let subst = Substitute { root };
        let mut dc = DevContainer {
            file: file.to_path_buf(),
            ..Default::default()
        };
        let bad = |key: &str, want: &str| {
            Error::usage(format!("{}: `{key}` must be {want}", file.display()))
        };
        for (key, v) in &map {
            match key.as_str() {
                "image" => dc.image = Some(v.as_str().ok_or_else(|| bad(key, "a string"))?.into()),
                "build" | "dockerFile" | "dockerfile" | "context" => {
                    dc.read_build(key, v, &dir, &subst)
                        .ok_or_else(|| bad(key, "an object"))?;
                }
                "containerEnv" | "remoteEnv" => {
                    let env =
                        string_map(v, &subst).ok_or_else(|| bad(key, "an object of strings"))?;
                    dc.env.extend(env);
                }
                "remoteUser" | "containerUser" => {
                    let user = v.as_str().ok_or_else(|| bad(key, "a string"))?;
                    if user == "root" || user == "0" {
                        dc.warnings.push(format!(
                            "ignored `{key}: {user}`: the agent never runs as root"
                        ));
                    } else if key == "remoteUser" || dc.remote_user.is_none() {
                        dc.remote_user = Some(user.to_string());
                    }
                }
                "postCreateCommand" => {
                    dc.post_create = commands(v).ok_or_else(|| bad(key, "a command"))?
                }
                "postStartCommand" => {
                    dc.post_start = commands(v).ok_or_else(|| bad(key, "a command"))?
                }
                "features" => dc.read_features(v, &dir),
                _ => dc.warn_about(key, v),
            }
        }
        dc.checked()
    }

    /// A file cctui can use: something to build or run, and no secret in the environment.
    fn checked(mut self) -> Result<DevContainer> {
        let file = self.file.clone();
        if let Some(b) = &mut self.build {
            // A `context` without a `dockerfile` (old spelling) has no Dockerfile to build.
            if b.dockerfile.as_os_str().is_empty() {
                self.build = None;
            }
        }
        if self.image.is_none() && self.build.is_none() {
            return Err(Error::usage(format!(
                "{}: give `image` or `build.dockerfile` (cctui does not run docker compose)",
                file.display()
            )));
        }
        for (k, v) in &self.env {
            if crate::sandbox::secrets::looks_like_key(v) {
                return Err(Error::usage(format!(
                    "{}: {k} looks like an API key; secrets never go in the environment, put \
                     it under [secrets] in cctui's config",
                    file.display()
                )));
            }
        }
        Ok(self)
    }

    /// `build` (and the old top-level `dockerFile` and `context`), relative to the file.
    fn read_build(&mut self, key: &str, v: &Value, dir: &Path, subst: &Substitute) -> Option<()> {
        let build = self.build.get_or_insert_with(|| Build {
            context: dir.to_path_buf(),
            ..Default::default()
        });
        match key {
            "build" => {
                let obj = v.as_object()?;
                for (k, v) in obj {
                    match k.as_str() {
                        "dockerfile" | "dockerFile" => build.dockerfile = dir.join(v.as_str()?),
                        "context" => build.context = dir.join(v.as_str()?),
                        "args" => build.args = string_map(v, subst)?,
                        other => self.warnings.push(format!("ignored `build.{other}`")),
                    }
                }
            }
            "context" => build.context = dir.join(v.as_str()?),
            _ => build.dockerfile = dir.join(v.as_str()?),
        }
        Some(())
    }

    /// Local features are taken; the others are named and skipped (no download happens).
    fn read_features(&mut self, v: &Value, dir: &Path) {
        let Some(obj) = v.as_object() else {
            self.warnings
                .push("ignored `features`: not an object".into());
            return;
        };
        for (id, opts) in obj {
            let local = id.starts_with("./") || id.starts_with("../");
            let folder = dir.join(id);
            if !local || !folder.join("install.sh").is_file() {
                self.warnings.push(format!(
                    "skipped feature `{id}`: it needs a download (only features in a folder of \
                     the repository, with an install.sh, are installed)"
                ));
                continue;
            }
            let options = match opts {
                Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| (feature_option_name(k), scalar(v)))
                    .collect(),
                Value::String(s) => BTreeMap::from([("VERSION".to_string(), s.clone())]),
                _ => BTreeMap::new(),
            };
            self.features.push(Feature {
                id: id.clone(),
                dir: folder,
                options,
            });
        }
    }

    /// Every other key is ignored; those that would widen the sandbox are named as such.
    fn warn_about(&mut self, key: &str, v: &Value) {
        let widening = |what: &str| format!("ignored `{what}`: it would widen the sandbox");
        match key {
            "runArgs" => {
                for arg in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    self.warnings.push(widening(&format!("runArgs: {arg}")));
                }
            }
            "privileged" if v.as_bool() == Some(true) => self.warnings.push(widening("privileged")),
            "capAdd" => {
                for cap in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    self.warnings.push(widening(&format!("capAdd: {cap}")));
                }
            }
            "securityOpt" | "mounts" | "workspaceMount" | "init" | "overrideCommand"
            | "hostRequirements" => self.warnings.push(widening(&format!("{key}: {v}"))),
            // Editor and port settings have no meaning in a sandbox; silently unused.
            "name" | "customizations" | "forwardPorts" | "portsAttributes" | "appPort"
            | "workspaceFolder" | "shutdownAction" | "$schema" => {}
            _ => self
                .warnings
                .push(format!("ignored `{key}`: cctui does not support it")),
        }
    }

    /// What `ls --json` and the Info tab say: `devcontainer (<file in the project>)`.
    pub fn environment(&self, root: &Path) -> String {
        let rel = self.file.strip_prefix(root).unwrap_or(&self.file);
        format!("devcontainer ({})", rel.display())
    }
}

/// A devcontainer command: a string runs in `sh -c`, an array as it is, an object is several
/// commands (run one after the other here).
fn commands(v: &Value) -> Option<Vec<Vec<String>>> {
    match v {
        Value::String(s) => Some(vec![vec!["sh".into(), "-c".into(), s.clone()]]),
        Value::Array(a) => Some(vec![a
            .iter()
            .map(|x| x.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()?]),
        Value::Object(m) => {
            let mut out = Vec::new();
            for c in m.values() {
                out.extend(commands(c)?);
            }
            Some(out)
        }
        _ => None,
    }
}

fn string_map(v: &Value, subst: &Substitute) -> Option<BTreeMap<String, String>> {
    v.as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), subst.apply(&scalar_opt(v)?))))
        .collect()
}

fn scalar_opt(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        _ => None,
    }
}

fn scalar(v: &Value) -> String {
    scalar_opt(v).unwrap_or_else(|| v.to_string())
}

/// install.sh sees option `fooBar` as `FOOBAR` (the features spec).
fn feature_option_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `${...}` variables. The host's environment (`localEnv`) is never read: it may hold
/// secrets. Its default, if the file gives one, is used instead.
struct Substitute<'a> {
    root: &'a Path,
}

impl Substitute<'_> {
    fn apply(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            out.push_str(&self.value(&rest[start + 2..start + len]));
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, var: &str) -> String {
        let mut parts = var.splitn(3, ':');
        match parts.next().unwrap_or_default() {
            "localWorkspaceFolder" | "containerWorkspaceFolder" => self.root.display().to_string(),
            "localWorkspaceFolderBasename" | "containerWorkspaceFolderBasename" => self
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            "localEnv" | "containerEnv" => parts.nth(1).unwrap_or_default().to_string(),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests;
