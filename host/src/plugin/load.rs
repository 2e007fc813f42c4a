//! Turns a plugin's bytes into a checked, compiled component: the single path
//! that production, `plugin check` and `plugin test` all share.

use std::path::Path;

use anyhow::{Context, Result};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::cache::{CodeCache, Provenance};
use super::inspect::{self, Outline};
use super::source::{self, Source};

/// A compiled component that passed every load-time check.
#[derive(Clone)]
pub struct Loaded {
    pub name: String,
    pub outline: Outline,
    pub component: Component,
    pub provenance: Provenance,
}

/// Loads `builtin:NAME` or a file, through the on-disk cache when one is given.
pub fn load(
    engine: &Engine,
    cache: Option<&CodeCache>,
    spec: &str,
    base: Option<&Path>,
) -> Result<Loaded> {
    let source = source::resolve(spec, base)?;
    load_source(engine, cache, &source)
}

pub fn load_source(engine: &Engine, cache: Option<&CodeCache>, source: &Source) -> Result<Loaded> {
    let name = &source.name;
    inspect::check_header(name, &source.bytes)?;
    let (component, provenance) = match cache {
        Some(cache) => cache.load(engine, &source.bytes),
        None => Component::new(engine, &source.bytes[..])
            .map(|c| (c, Provenance::Compiled))
            .map_err(anyhow::Error::from),
    }
    .with_context(|| {
        format!("plugin {name} is not a valid WebAssembly component (truncated or corrupt?)")
    })?;
    let outline = inspect::outline(name, engine, &component)?;
    Ok(Loaded {
        name: name.clone(),
        outline,
        component,
        provenance,
    })
}
