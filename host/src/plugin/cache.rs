//! On-disk cache of compiled components, so a restart does not recompile.
//!
//! Entries are keyed by the SHA-256 of the component's bytes and the engine's
//! compatibility hash (wasmtime version and every setting that changes code),
//! and live in a directory only the user can read or write: deserializing a
//! cached file runs native code, so nobody else may be able to plant one.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::source::Source;
use anyhow::{Context, Result, bail};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled plugins live.
#[derive(Debug, Clone)]
pub struct CodeCache {
    dir: PathBuf,
}

/// How a component was obtained, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    Cached,
    Compiled,
}

impl CodeCache {
    /// The user's cache directory (`$XDG_CACHE_HOME/cluster-exec/plugins`).
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("cluster-exec").join("plugins"))
    }

    /// Opens (creating with mode 0700) a cache directory, refusing one that
    /// others could write to.
    pub fn open(dir: &Path) -> Result<Self> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("could not create the plugin cache {}", dir.display()))?;
        let meta = fs::metadata(dir)
            .with_context(|| format!("could not read the plugin cache {}", dir.display()))?;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).with_context(|| {
                format!(
                    "the plugin cache {} is open to other users (mode {:o}) and could not be \
                     restricted; fix its permissions with `chmod 700`",
                    dir.display(),
                    mode & 0o777
                )
            })?;
        }
        // SAFETY-relevant: only the owner may write what we later load as code.
        let uid = unsafe { libc::geteuid() };
        if std::os::unix::fs::MetadataExt::uid(&meta) != uid {
            bail!(
                "the plugin cache {} belongs to another user; remove it or set [plugins] cache_dir",
                dir.display()
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn entry(&self, engine: &Engine, source: &Source) -> PathBuf {
        let mut engine_hash = DefaultHasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        let content = source.sha256();
        self.dir
            .join(format!("{content}-{:016x}.cwasm", engine_hash.finish()))
    }

    /// Returns the compiled component, from the cache when possible.
    pub fn load(&self, engine: &Engine, source: &Source) -> Result<(Component, Provenance)> {
        let entry = self.entry(engine, source);
        if entry.is_file() {
            // SAFETY: the file sits in a directory checked above to be the
            // user's own with mode 0700, was written by `store` from
            // `Component::serialize` of this engine configuration (the name
            // carries its compatibility hash), and wasmtime validates the
            // header before use. A corrupt entry fails to load and is rebuilt.
            match unsafe { Component::deserialize_file(engine, &entry) } {
                Ok(component) => return Ok((component, Provenance::Cached)),
                Err(e) => tracing::warn!(
                    "discarding unusable cached plugin {}: {e:#}",
                    entry.display()
                ),
            }
        }
        let component = Component::new(engine, &source.bytes[..])?;
        if let Err(e) = self.store(&entry, &component) {
            // The cache only saves time; failing to fill it is not fatal.
            tracing::warn!(
                "could not cache compiled plugin at {}: {e:#}",
                entry.display()
            );
        }
        Ok((component, Provenance::Compiled))
    }

    /// Writes atomically (temporary file, then rename) so a concurrent
    /// reader never sees half an entry.
    fn store(&self, entry: &Path, component: &Component) -> Result<()> {
        let serialized = component.serialize()?;
        let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&serialized)?;
        file.sync_all()?;
        fs::rename(&tmp, entry)?;
        Ok(())
    }
}
