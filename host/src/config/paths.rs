//! Where the product keeps its files when the configuration does not say:
//! the user's config, state and runtime directories.

use std::path::{Path, PathBuf};

/// Folder name under the user's config/state directories.
pub const APP_DIR: &str = "cluster-exec";

/// `dirs::config_dir()/cluster-exec/config.toml`, when there is such a dir.
pub fn default_config_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join(APP_DIR).join("config.toml"))
}

/// The product's state directory: `dirs::state_dir()/cluster-exec`, else
/// `~/.local/state/cluster-exec` (macOS has no state dir), else a folder under
/// the temp dir named after the user id.
pub fn state_dir() -> PathBuf {
    if let Some(d) = dirs::state_dir() {
        return d.join(APP_DIR);
    }
    if let Some(h) = dirs::home_dir() {
        return h.join(".local").join("state").join(APP_DIR);
    }
    std::env::temp_dir().join(format!("{APP_DIR}-state-{}", current_uid()))
}

/// A private folder for ControlMaster sockets. Unix socket paths are limited
/// to about 104 bytes, so prefer the short runtime dir, else `/tmp`.
pub fn runtime_dir() -> PathBuf {
    match dirs::runtime_dir() {
        Some(d) if d.as_os_str().len() < 48 => d.join(APP_DIR),
        _ => PathBuf::from(format!("/tmp/{APP_DIR}-{}", current_uid())),
    }
}

/// The real user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Expands a leading `~/` and resolves a relative path against `base`
/// (the config file's folder).
pub fn resolve(path: &Path, base: Option<&Path>) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    match base {
        Some(b) if path.is_relative() => b.join(path),
        _ => path.to_path_buf(),
    }
}
