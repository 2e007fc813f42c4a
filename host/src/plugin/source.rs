//! Where a plugin's bytes come from: the binary itself (`builtin:NAME`) or a
//! `.wasm` file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The default validator, compiled from `plugins/validator` by `build.rs`.
pub const BUILTIN_VALIDATOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/validator.wasm"));
/// The default router, compiled from `plugins/router` by `build.rs`.
pub const BUILTIN_ROUTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/router.wasm"));

/// Names users may write after `builtin:`.
pub const BUILTINS: &[&str] = &["validator", "router"];

/// A plugin's bytes and the name every message about it uses.
#[derive(Debug, Clone)]
pub struct Source {
    /// `builtin:validator`, or the file's path as given.
    pub name: String,
    pub bytes: std::borrow::Cow<'static, [u8]>,
}

/// Resolves `builtin:NAME` or a path (relative paths against `base`).
pub fn resolve(spec: &str, base: Option<&Path>) -> Result<Source> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        let bytes: &'static [u8] = match name {
            "validator" => BUILTIN_VALIDATOR,
            "router" => BUILTIN_ROUTER,
            _ => bail!(
                "unknown built-in plugin `{spec}`: the built-ins are {}",
                BUILTINS
                    .iter()
                    .map(|b| format!("builtin:{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Ok(Source {
            name: spec.to_string(),
            bytes: bytes.into(),
        });
    }
    let path = resolve_path(spec, base);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("could not read plugin file {}", path.display()))?;
    Ok(Source {
        name: path.display().to_string(),
        bytes: bytes.into(),
    })
}

fn resolve_path(spec: &str, base: Option<&Path>) -> PathBuf {
    let path = Path::new(spec);
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    }
}
