//! The configured plugins, loaded once at start-up: validators in order, then
//! the router.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use wasmtime::Engine;

use super::cache::CodeCache;
use super::engine;
use super::load;
use super::router::Router;
use super::sandbox::Limits;
use super::settings::{PluginSpec, PluginsConfig};
use super::types::{CommandRequest, Verdict};
use super::validator::Validator;

/// One validator's verdict on one command, as reports and the audit log keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VerdictRecord {
    pub plugin: String,
    pub verdict: Verdict,
    pub micros: u64,
}

/// Loads plugins through one engine and one code cache.
pub struct Loader {
    engine: Engine,
    cache: Option<CodeCache>,
}

impl Loader {
    /// Uses the cache directory from the settings, else the user's cache
    /// directory; runs without a cache (and says so) when neither is usable.
    pub fn new(cache_dir: Option<&Path>) -> Result<Self> {
        let engine = engine::shared()?;
        let dir = cache_dir
            .map(Path::to_path_buf)
            .or_else(CodeCache::default_dir);
        let cache = match dir {
            Some(dir) => match CodeCache::open(&dir) {
                Ok(cache) => Some(cache),
                Err(e) => {
                    tracing::warn!("plugins will be compiled at every start: {e:#}");
                    None
                }
            },
            None => None,
        };
        Ok(Self { engine, cache })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn load(&self, spec: &str, base: Option<&Path>) -> Result<load::Loaded> {
        load::load(&self.engine, self.cache.as_ref(), spec, base)
    }

    pub fn validator(
        &self,
        spec: &PluginSpec,
        defaults: &PluginsConfig,
        base: Option<&Path>,
    ) -> Result<Validator> {
        let limits = limits(spec, defaults)?;
        let loaded = self.load(&spec.plugin, base)?;
        Validator::new(&self.engine, loaded, &spec.config, limits)
    }

    pub fn router(
        &self,
        spec: &PluginSpec,
        defaults: &PluginsConfig,
        base: Option<&Path>,
    ) -> Result<Router> {
        let limits = limits(spec, defaults)?;
        let loaded = self.load(&spec.plugin, base)?;
        Router::new(&self.engine, loaded, &spec.config, limits)
    }
}

/// The plugin's limits, refusing ones the sandbox cannot honour.
fn limits(spec: &PluginSpec, defaults: &PluginsConfig) -> Result<Limits> {
    let deadline_ms = spec.deadline_ms.unwrap_or(defaults.deadline_ms);
    let memory_mib = spec.memory_mib.unwrap_or(defaults.memory_mib);
    let max_mib = (engine::MAX_PLUGIN_MEMORY >> 20) as u64;
    if deadline_ms == 0 || deadline_ms > 60_000 {
        anyhow::bail!("deadline_ms = {deadline_ms} is out of range; use 1 to 60000 (milliseconds)");
    }
    if memory_mib == 0 || memory_mib > max_mib {
        anyhow::bail!("memory_mib = {memory_mib} is out of range; use 1 to {max_mib}");
    }
    Ok(Limits::new(deadline_ms, memory_mib))
}

/// Every configured plugin, ready to call.
pub struct PluginSet {
    pub validators: Vec<Validator>,
    pub router: Router,
}

impl PluginSet {
    /// Loads and checks every plugin; the first one that fails stops start-up
    /// with a message naming it.
    pub fn load(config: &PluginsConfig, base: Option<&Path>) -> Result<Self> {
        let loader = Loader::new(config.cache_dir.as_deref())?;
        let mut validators = Vec::with_capacity(config.validators.len());
        for (i, spec) in config.validators.iter().enumerate() {
            validators.push(
                loader
                    .validator(spec, config, base)
                    .with_context(|| format!("[plugins] validators[{i}] ({})", spec.plugin))?,
            );
        }
        let router = loader
            .router(&config.router, config, base)
            .with_context(|| format!("[plugins] router ({})", config.router.plugin))?;
        Ok(Self { validators, router })
    }

    /// Runs validators in order until the first deny (which wins). Returns
    /// every verdict given. With no validators configured, nothing is allowed.
    pub fn validate(&self, request: &CommandRequest) -> Vec<VerdictRecord> {
        if self.validators.is_empty() {
            return vec![VerdictRecord {
                plugin: "host".into(),
                verdict: Verdict::Deny(
                    "no validators are configured; add one under [plugins] validators".into(),
                ),
                micros: 0,
            }];
        }
        let mut records = Vec::with_capacity(self.validators.len());
        for validator in &self.validators {
            let started = Instant::now();
            let verdict = validator.validate(request);
            let denied = matches!(verdict, Verdict::Deny(_));
            records.push(VerdictRecord {
                plugin: validator.name().to_string(),
                verdict,
                micros: started.elapsed().as_micros() as u64,
            });
            if denied {
                break;
            }
        }
        records
    }
}

/// The combined decision of a list of verdicts: any deny denies, else any ask
/// asks, else allow. An empty list denies (nothing vouched for the command).
pub fn combine(records: &[VerdictRecord]) -> Verdict {
    if let Some(r) = records
        .iter()
        .find(|r| matches!(r.verdict, Verdict::Deny(_)))
    {
        return r.verdict.clone();
    }
    let asks: Vec<&str> = records
        .iter()
        .filter_map(|r| match &r.verdict {
            Verdict::Ask(reason) => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    if !asks.is_empty() {
        return Verdict::Ask(asks.join("; "));
    }
    if records.is_empty() {
        return Verdict::Deny("no validator judged this command".into());
    }
    Verdict::Allow
}
