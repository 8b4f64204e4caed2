//! cctui: a terminal dashboard that runs Claude Code in hardened Docker containers, one
//! sandbox per project, behind an egress firewall the agent cannot touch.
//!
//! The shape: `backend` speaks to the engine in cctui's own types; `config` and `paths` are
//! the user's settings; `image`, `session` and `sandbox` decide what to create; `cli` and the
//! dashboard (`app`, `ui`, `tui`) are the two faces over the same operations.

pub mod app;
pub mod backend;
pub mod bounded;
pub mod cli;
pub mod clipboard;
pub mod config;
pub mod devcontainer;
pub mod doctor;
pub mod engines;
pub mod error;
pub mod image;
pub mod keys;
pub mod notify;
pub mod paths;
pub mod project;
pub mod prompt;
pub mod sandbox;
pub mod session;
pub mod term;
pub mod tui;
pub mod ui;
pub mod usage;
pub mod workspace;
