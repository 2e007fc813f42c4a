//! Where a plugin's bytes come from: the binary itself (`builtin:NAME`) or a
//! `.wasm` file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// The default validator, compiled from `plugins/validator` by `build.rs`.
pub const BUILTIN_VALIDATOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/validator.wasm"));
/// The default router, compiled from `plugins/router` by `build.rs`.
pub const BUILTIN_ROUTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/router.wasm"));

/// SHA-256 of each built-in, computed by `build.rs`, so the code cache needs
/// no hashing at start-up for them.
const BUILTIN_VALIDATOR_SHA256: &str = include_str!(concat!(env!("OUT_DIR"), "/validator.sha256"));
const BUILTIN_ROUTER_SHA256: &str = include_str!(concat!(env!("OUT_DIR"), "/router.sha256"));

/// Names users may write after `builtin:`.
pub const BUILTINS: &[&str] = &["validator", "router"];

/// A plugin's bytes and the name every message about it uses.
#[derive(Debug, Clone)]
pub struct Source {
    /// `builtin:validator`, or the file's path as given.
    pub name: String,
    pub bytes: std::borrow::Cow<'static, [u8]>,
    /// Hex SHA-256 of `bytes` when known in advance (the built-ins).
    pub sha256: Option<&'static str>,
}

impl Source {
    /// Hex SHA-256 of the bytes: the code cache's content key.
    pub fn sha256(&self) -> String {
        match self.sha256 {
            Some(digest) => digest.to_string(),
            None => hex::encode(Sha256::digest(&self.bytes)),
        }
    }
}

/// Resolves `builtin:NAME` or a path (relative paths against `base`).
pub fn resolve(spec: &str, base: Option<&Path>) -> Result<Source> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        let (bytes, sha256): (&'static [u8], &'static str) = match name {
            "validator" => (BUILTIN_VALIDATOR, BUILTIN_VALIDATOR_SHA256),
            "router" => (BUILTIN_ROUTER, BUILTIN_ROUTER_SHA256),
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
            sha256: Some(sha256),
        });
    }
    let path = resolve_path(spec, base);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("could not read plugin file {}", path.display()))?;
    Ok(Source {
        name: path.display().to_string(),
        bytes: bytes.into(),
        sha256: None,
    })
}

fn resolve_path(spec: &str, base: Option<&Path>) -> PathBuf {
    let path = Path::new(spec);
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_digests_match_the_embedded_bytes() {
        for name in BUILTINS {
            let source = resolve(&format!("builtin:{name}"), None).unwrap();
            let computed = hex::encode(Sha256::digest(&source.bytes));
            assert_eq!(source.sha256(), computed, "builtin:{name}");
        }
    }
}
