//! Turns a plugin's bytes into a checked, compiled component: the single path
//! that production, `plugin check` and `plugin test` all share.

use std::path::Path;

use anyhow::{Context, Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre};

use super::cache::{CodeCache, Provenance};
use super::inspect::{self, Outline, World};
use super::sandbox::{self, CallState};
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
        Some(cache) => cache.load(engine, source),
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

/// Links a loaded component for `want` (its typed pre-instance, made by
/// `typed`), refusing a component of the other world with a message that
/// says how it was about to be used.
pub fn link<P>(
    engine: &Engine,
    loaded: &Loaded,
    want: World,
    role: &str,
    typed: impl FnOnce(InstancePre<CallState>) -> wasmtime::Result<P>,
) -> Result<P> {
    let name = &loaded.name;
    if loaded.outline.world != want {
        bail!(
            "plugin {name} implements the {} world, but is used as {role}",
            loaded.outline.world
        );
    }
    sandbox::linker(engine)?
        .instantiate_pre(&loaded.component)
        .and_then(typed)
        .map_err(|e| anyhow::anyhow!("plugin {name} does not match the {want} world: {e:#}"))
}
