//! Where cctui keeps its files: XDG paths, with `CCTUI_CONFIG` / `--config` overriding the
//! config file. Nothing here is ever mounted into a container.

use std::path::{Path, PathBuf};

fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "cctui")
}

/// `~/.config/cctui`, or `$XDG_CONFIG_HOME/cctui`.
pub fn config_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CCTUI_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    dirs()
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".cctui"))
}

/// The config file: `--config`, then `CCTUI_CONFIG`, then `config_dir()/config.toml`.
pub fn config_file(flag: Option<&Path>) -> PathBuf {
    flag.map(PathBuf::from)
        .or_else(|| std::env::var_os("CCTUI_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| config_dir().join("config.toml"))
}

/// `~/.local/state/cctui`: the log file and other state.
pub fn state_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CCTUI_STATE_DIR") {
        return PathBuf::from(dir);
    }
    dirs()
        .and_then(|d| d.state_dir().map(|p| p.to_path_buf()))
        .or_else(|| dirs().map(|d| d.data_local_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from(".cctui-state"))
}

pub fn log_file() -> PathBuf {
    state_dir().join("cctui.log")
}

/// `~/x` with the user's home folder; any other path as it is.
pub fn expand_home(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(rest))
            .unwrap_or_else(|| path.to_path_buf()),
        Err(_) => path.to_path_buf(),
    }
}
