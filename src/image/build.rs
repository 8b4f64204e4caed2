//! Building the planned images on the engine: each unless its tag exists, with progress, and
//! cancelled when a step prints nothing for too long.

use std::collections::VecDeque;

use futures_util::StreamExt;

use super::fence::Fence;
use super::{ImagePlan, BASE_FROM};
use crate::backend::{labels, Backend, BuildEvent, BuildSpec, Labels};
use crate::config::Config;
use crate::error::{Error, Result};

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
        if let Some(fence) = &plan.fence {
            let gate = &fence.gate_image;
            if backend.inspect_image(&gate.tag).await?.is_none() {
                progress(BuildProgress::Started {
                    layer: gate.layer.clone(),
                    tag: gate.tag.clone(),
                });
                build_one(backend, gate, options, None, &mut progress).await?;
            }
        }
        progress(BuildProgress::Started {
            layer: plan.layer.clone(),
            tag: plan.tag.clone(),
        });
        build_maybe_fenced(backend, plan, options, &mut progress).await?;
        progress(BuildProgress::Finished {
            layer: plan.layer.clone(),
            tag: plan.tag.clone(),
        });
    }
    Ok(last)
}

/// Builds one image, inside a fence when its plan has one: the fence comes down after the
/// build whatever its outcome, and a failure names what the fence refused.
async fn build_maybe_fenced<B: Backend>(
    backend: &B,
    plan: &ImagePlan,
    options: BuildOptions,
    progress: &mut impl FnMut(BuildProgress),
) -> Result<()> {
    let Some(spec) = &plan.fence else {
        return build_one(backend, plan, options, None, progress).await;
    };
    let fence = Fence::up(backend, spec, &plan.hash).await?;
    let result = build_one(backend, plan, options, Some(fence.network_mode()), progress).await;
    let refused = match &result {
        Err(_) => fence.refused(backend, &spec.rules).await,
        Ok(()) => Vec::new(),
    };
    fence.down(backend).await;
    match result {
        Err(e) if !refused.is_empty() => Err(Error::other(format!(
            "{e}\nthe build's network fence refused: {} (a build from a repository's \
             proposal reaches only image.build_presets and image.build_allow)",
            refused.join(", ")
        ))),
        other => other,
    }
}

fn build_spec(plan: &ImagePlan, options: BuildOptions, network: Option<String>) -> BuildSpec {
    BuildSpec {
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
        network_mode: network,
    }
}

/// Builds one image, failing with the step it was at when it errs or stalls.
async fn build_one<B: Backend>(
    backend: &B,
    plan: &ImagePlan,
    options: BuildOptions,
    network: Option<String>,
    progress: &mut impl FnMut(BuildProgress),
) -> Result<()> {
    let mut stream = backend.build_image(build_spec(plan, options, network));
    let stall = options.stall.unwrap_or(DEFAULT_BUILD_STALL);
    let mut watch = Watch::default();
    loop {
        let event = match tokio::time::timeout(stall, stream.next()).await {
            Ok(Some(event)) => event,
            Ok(None) => return Ok(()),
            Err(_) => {
                // Dropping the stream ends the request, and the engine cancels the build in
                // its own time; the step's container goes now, so nothing of the build still
                // runs when this returns.
                drop(stream);
                if let Some(id) = &watch.step_container {
                    let _ = backend.remove_container(id).await;
                }
                return Err(watch.failure(
                    plan,
                    format!(
                        "stalled: no output for {} s, so the build was cancelled \
                         (image.build_stall_secs; a retry often gets past a stuck download)",
                        stall.as_secs()
                    ),
                ));
            }
        };
        match event {
            Ok(event) => watch.see(event, &plan.layer, progress),
            Err(e) => return Err(watch.failure(plan, e.to_string())),
        }
    }
}

/// What one build has shown so far, for its progress and its failure message.
struct Watch {
    step: String,
    /// The last lines of output of the current step.
    tail: VecDeque<String>,
    /// The classic builder runs each step in a container it names in its output.
    step_container: Option<String>,
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            step: "the start".into(),
            tail: VecDeque::new(),
            step_container: None,
        }
    }
}

/// Lines of a failing step's output kept for its error.
const TAIL_LINES: usize = 15;

impl Watch {
    fn see(&mut self, event: BuildEvent, layer: &str, progress: &mut impl FnMut(BuildProgress)) {
        match event {
            BuildEvent::Step { index, total, text } => {
                self.step = format!("step {index}/{total}: {text}");
                self.tail.clear();
                progress(BuildProgress::Step {
                    layer: layer.to_string(),
                    index,
                    total,
                    text,
                });
            }
            BuildEvent::Output(line) => {
                if let Some(id) = line.trim().strip_prefix("---> Running in ") {
                    self.step_container = Some(id.trim().to_string());
                }
                if self.tail.len() == TAIL_LINES {
                    self.tail.pop_front();
                }
                self.tail.push_back(line.clone());
                progress(BuildProgress::Output {
                    layer: layer.to_string(),
                    line,
                });
            }
            BuildEvent::Done { .. } => {}
        }
    }

    fn failure(self, plan: &ImagePlan, detail: String) -> Error {
        let tail = self
            .tail
            .into_iter()
            .map(|l| format!("  | {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        Error::other(
            BuildFailure {
                layer: plan.layer.clone(),
                step: self.step,
                tail,
                detail,
            }
            .to_string(),
        )
    }
}
