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
//!
//! Layers: `plan` (pure), `git`, `sandbox`, `fingerprint`, `seed`, `exchange`, `review` and
//! `handover` sit below the session layer and import nothing from it; the session layer calls
//! them. The commands that find sessions by name live above, as methods of `Ops` in
//! `session::work`, and their CLI in `cli::work`. This file re-exports only the lower layers.

pub mod drivers;
pub mod exchange;
pub mod fingerprint;
pub mod git;
pub mod handover;
pub mod plan;
pub mod prune;
pub mod review;
pub mod sandbox;
pub mod seed;

pub use exchange::unmerged_work;
pub use plan::{
    helper_container, label, labels_for, repo_session, work_volume, workspace_mount, BranchPlan,
    Imported, RepoSession, WorkspacePlan,
};
pub use seed::{init_empty_folder, prepare_seed, prepare_work_volume, seed_checkout, Seed};
