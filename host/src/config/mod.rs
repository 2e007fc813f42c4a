//! Configuration: the TOML file (or the embedded default), the original
//! server's environment overrides, and validation, producing one resolved
//! [`Config`] that the rest of the program trusts.
//!
//! Precedence of the file: `--config`, else `$CLUSTER_CONFIG`, else
//! `<config dir>/cluster-exec/config.toml` if it exists, else the embedded
//! default (one `local` node). Environment variables then win over the file.

mod describe;
pub mod env;
mod file;
pub mod paths;
mod validate;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::net::Guard;
use crate::plugin::settings::PluginsConfig;
use crate::plugin::types::{NodeInfo, NodeLoad};

pub use env::Env;

/// Default `[ssh]` values.
pub const DEFAULT_SSH_PORT: u16 = 22;
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_COMMAND_TIMEOUT_SECS: u64 = 300;
pub const DEFAULT_RETRIES: u32 = 2;
pub const DEFAULT_CONTROL_PERSIST_SECS: u64 = 60;
pub const DEFAULT_KEEPALIVE_INTERVAL_SECS: u64 = 30;
/// Default `[limits]` values.
pub const DEFAULT_OUTPUT_CAP_BYTES: usize = 1024 * 1024;
pub const DEFAULT_MAX_COMMAND_BYTES: usize = 64 * 1024;
pub const DEFAULT_GLOBAL_CONCURRENCY: u32 = 64;
/// Default `max_tasks` of a node.
pub const DEFAULT_MAX_TASKS: u32 = 4;

/// How commands reach a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// The system's OpenSSH client.
    #[default]
    Ssh,
    /// This machine, through `sh -c`.
    Local,
}

/// The family of a node's login shell, which parses the remote string sshd
/// hands it. Decides how the command is wrapped (`exec::ssh_quote::wrap`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoginShell {
    /// sh, bash, dash, zsh, ksh: the wrapper runs in the login shell itself.
    #[default]
    Posix,
    /// Anything else (fish, csh, tcsh): the wrapper runs under `/bin/sh` and
    /// starts the login shell for the command, one more shell per command.
    Other,
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum ConfigSource {
    /// A file given by `--config`, `$CLUSTER_CONFIG` or the default location.
    File(PathBuf),
    /// No file: a single `local` node.
    Embedded,
}

/// `[ssh]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SshSettings {
    /// Default remote user (a node's own `user` wins); `None` lets ssh decide.
    pub user: Option<String>,
    pub identity_file: Option<PathBuf>,
    /// Dedicated known-hosts file (never the user's `~/.ssh/known_hosts`).
    pub known_hosts_file: PathBuf,
    /// Passed as `ssh -F`; without it the user's `~/.ssh/config` applies.
    pub config_file: Option<PathBuf>,
    /// Private folder (mode 0700) for ControlMaster sockets.
    pub control_dir: PathBuf,
    pub port: u16,
    pub connect_timeout_secs: u64,
    pub command_timeout_secs: u64,
    /// Extra attempts when the connection itself fails (never after a start).
    pub retries: u32,
    pub control_persist_secs: u64,
    /// `ServerAliveInterval`; a dead link is noticed after three of these.
    pub keepalive_interval_secs: u64,
}

/// `[network]`: the guard's lists (the default deny list always applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkSettings {
    #[schemars(with = "Vec<String>")]
    pub deny: Vec<ipnet::IpNet>,
    #[schemars(with = "Vec<String>")]
    pub allow: Vec<ipnet::IpNet>,
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Limits {
    /// Per stream; beyond it the head and the tail are kept.
    pub output_cap_bytes: usize,
    pub max_command_bytes: usize,
    /// Commands running at once over all nodes.
    pub global_concurrency: u32,
}

/// `[audit]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditSettings {
    pub path: PathBuf,
    pub sync: AuditSync,
}

/// When audit lines reach the disk (every line is written to the file at
/// once either way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditSync {
    /// Each request's lines are flushed before its result is returned.
    #[default]
    Always,
    /// A thread flushes what accumulated, off the request path (auditd's
    /// default), for disks where a flush is slow; a power loss may lose the
    /// last moments.
    Background,
}

/// One `[[node]]`, validated and with defaults and overrides applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Node {
    pub id: String,
    /// Name or address; for `local` nodes, informational.
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    /// Roles such as `builder`, `orchestrator`, `researcher`, `inference`.
    pub aliases: Vec<String>,
    pub os: String,
    pub arch: String,
    pub capabilities: Vec<String>,
    pub specialties: Vec<String>,
    pub priority: i32,
    pub max_tasks: u32,
    pub transport: Transport,
    pub login_shell: LoginShell,
}

impl Node {
    /// The node as a router plugin sees it.
    pub fn to_node_info(&self, load: NodeLoad) -> NodeInfo {
        NodeInfo {
            id: self.id.clone(),
            aliases: self.aliases.clone(),
            os: self.os.clone(),
            arch: self.arch.clone(),
            capabilities: self.capabilities.clone(),
            specialties: self.specialties.clone(),
            priority: self.priority,
            max_tasks: self.max_tasks,
            is_local: self.transport == Transport::Local,
            load,
        }
    }

    /// `user@host:port` (or `local`) for messages.
    pub fn display_target(&self) -> String {
        match self.transport {
            Transport::Local => "local".to_string(),
            Transport::Ssh => match &self.user {
                Some(u) => format!("{u}@{}:{}", self.host, self.port),
                None => format!("{}:{}", self.host, self.port),
            },
        }
    }
}

/// A node name that matches no id or alias.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown node `{name}`; known nodes: {known}")]
pub struct UnknownNode {
    pub name: String,
    /// `id (alias, alias), id, ...`
    pub known: String,
}

/// The whole resolved configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Config {
    pub source: ConfigSource,
    pub ssh: SshSettings,
    pub network: NetworkSettings,
    #[schemars(with = "serde_json::Value")]
    pub plugins: PluginsConfig,
    pub limits: Limits,
    pub audit: AuditSettings,
    #[serde(rename = "node")]
    pub nodes: Vec<Node>,
    /// Environment variables that changed a value, for `config check`.
    pub overrides: Vec<String>,
}

impl Config {
    /// Loads with the documented precedence and this process's environment.
    pub fn load(explicit_path: Option<&Path>) -> anyhow::Result<Config> {
        Self::load_with_env(explicit_path, &Env::from_process())
    }

    /// [`Config::load`] with an injected environment (tests).
    pub fn load_with_env(explicit_path: Option<&Path>, env: &Env) -> anyhow::Result<Config> {
        let path = match explicit_path {
            Some(p) => Some(p.to_path_buf()),
            None => match env.get("CLUSTER_CONFIG") {
                Some(p) => Some(PathBuf::from(p)),
                None => paths::default_config_file().filter(|p| p.is_file()),
            },
        };
        match path {
            None => Self::embedded(env),
            Some(path) => {
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "cannot read config file {}; check the path given by --config or \
                         $CLUSTER_CONFIG",
                        path.display()
                    )
                })?;
                Self::from_toml(&text, Some(&path), env)
            }
        }
    }

    /// Parses and validates TOML text; `path` names the file in errors and is
    /// the base for relative paths.
    pub fn from_toml(text: &str, path: Option<&Path>, env: &Env) -> anyhow::Result<Config> {
        validate::from_toml(text, path, env)
    }

    /// The embedded default: one `local` node describing this machine.
    pub fn embedded(env: &Env) -> anyhow::Result<Config> {
        validate::embedded(env)
    }

    /// Finds a node by id, then by alias.
    pub fn resolve_node(&self, name_or_alias: &str) -> Result<&Node, UnknownNode> {
        self.nodes
            .iter()
            .find(|n| n.id == name_or_alias)
            .or_else(|| {
                self.nodes
                    .iter()
                    .find(|n| n.aliases.iter().any(|a| a == name_or_alias))
            })
            .ok_or_else(|| UnknownNode {
                name: name_or_alias.to_string(),
                known: self.known_names(),
            })
    }

    fn known_names(&self) -> String {
        if self.nodes.is_empty() {
            return "(none configured)".to_string();
        }
        self.nodes
            .iter()
            .map(|n| {
                if n.aliases.is_empty() {
                    n.id.clone()
                } else {
                    format!("{} ({})", n.id, n.aliases.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The network guard this configuration asks for.
    pub fn guard(&self) -> Guard {
        Guard::new(&self.network.deny, &self.network.allow)
    }

    /// Human-readable inventory for `cluster-exec config check`.
    pub fn describe(&self) -> String {
        describe::describe(self)
    }
}
