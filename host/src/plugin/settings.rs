//! The `[plugins]` section of the configuration: which plugins run, with what
//! configuration, under which limits. Typed settings with defaults in one
//! place, never literals scattered over the runtime.

use serde::{Deserialize, Serialize};

/// Default wall-clock budget of one plugin call.
pub const DEFAULT_DEADLINE_MS: u64 = 100;
/// Default cap on a plugin instance's linear memory.
pub const DEFAULT_MEMORY_MIB: u64 = 32;

/// `[plugins]`: validators run in order (first deny wins), then the router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    #[serde(default = "default_validators")]
    pub validators: Vec<PluginSpec>,
    #[serde(default = "default_router")]
    pub router: PluginSpec,
    /// Default deadline for every plugin that does not set its own.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// Default memory cap for every plugin that does not set its own.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
    /// Where compiled components are cached; defaults to the user's cache dir.
    #[serde(default)]
    pub cache_dir: Option<std::path::PathBuf>,
}

/// One plugin: `builtin:validator`, `builtin:router`, or a path to a `.wasm`
/// component (relative paths are resolved against the config file's folder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    pub plugin: String,
    /// The plugin's own section, handed to its `configure` export as JSON.
    #[serde(default = "empty_object")]
    pub config: serde_json::Value,
    pub deadline_ms: Option<u64>,
    pub memory_mib: Option<u64>,
}

impl PluginSpec {
    pub fn builtin(name: &str) -> Self {
        Self {
            plugin: format!("builtin:{name}"),
            config: empty_object(),
            deadline_ms: None,
            memory_mib: None,
        }
    }
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            validators: default_validators(),
            router: default_router(),
            deadline_ms: DEFAULT_DEADLINE_MS,
            memory_mib: DEFAULT_MEMORY_MIB,
            cache_dir: None,
        }
    }
}

fn default_validators() -> Vec<PluginSpec> {
    vec![PluginSpec::builtin("validator")]
}
fn default_router() -> PluginSpec {
    PluginSpec::builtin("router")
}
fn default_deadline_ms() -> u64 {
    DEFAULT_DEADLINE_MS
}
fn default_memory_mib() -> u64 {
    DEFAULT_MEMORY_MIB
}
fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}
