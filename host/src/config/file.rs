//! The configuration file exactly as written: every table refuses unknown
//! fields, and the fields that later checks may refuse keep their position in
//! the file (`toml::Spanned`) so errors can name line and column.

use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::plugin::settings::PluginsConfig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub ssh: RawSsh,
    #[serde(default)]
    pub network: RawNetwork,
    #[serde(default)]
    pub plugins: PluginsConfig,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub audit: RawAudit,
    #[serde(default, rename = "node")]
    pub nodes: Vec<RawNode>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSsh {
    pub user: Option<Spanned<String>>,
    pub identity_file: Option<PathBuf>,
    pub known_hosts_file: Option<PathBuf>,
    pub config_file: Option<PathBuf>,
    pub control_dir: Option<PathBuf>,
    pub port: Option<u16>,
    pub connect_timeout_secs: Option<u64>,
    pub command_timeout_secs: Option<u64>,
    pub retries: Option<u32>,
    pub control_persist_secs: Option<u64>,
    pub keepalive_interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    #[serde(default)]
    pub deny: Vec<IpNet>,
    #[serde(default)]
    pub allow: Vec<IpNet>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub output_cap_bytes: Option<usize>,
    pub max_command_bytes: Option<usize>,
    pub global_concurrency: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub sync: super::AuditSync,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    pub id: Spanned<String>,
    pub host: Option<Spanned<String>>,
    pub port: Option<u16>,
    pub user: Option<Spanned<String>>,
    #[serde(default)]
    pub aliases: Vec<Spanned<String>>,
    pub os: Option<String>,
    pub arch: Option<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub specialties: Vec<String>,
    #[serde(default)]
    pub priority: i32,
    pub max_tasks: Option<u32>,
    #[serde(default)]
    pub transport: super::Transport,
    #[serde(default)]
    pub login_shell: super::LoginShell,
}
