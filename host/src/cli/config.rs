//! `cluster-exec config check`: validate a config (plugins included) and
//! print the resolved inventory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::common;
use crate::config::Config;
use crate::plugin::PluginSet;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file and print the resolved inventory.
    Check {
        /// The file (default: $CLUSTER_CONFIG, the user's config dir, or the
        /// embedded default).
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: ConfigCommand) -> Result<ExitCode> {
    let ConfigCommand::Check { file, json } = cmd;
    let config = Config::load(file.as_deref())?;
    let base = match &config.source {
        crate::config::ConfigSource::File(p) => p.parent().map(|p| p.to_path_buf()),
        crate::config::ConfigSource::Embedded => None,
    };
    // Plugins are part of the config: one that would be refused at start-up
    // fails the check now.
    PluginSet::load(&config.plugins, base.as_deref())?;
    if json {
        common::print_json(&config)?;
    } else {
        print!("{}", config.describe());
        println!("ok: {} node(s), plugins load", config.nodes.len());
    }
    Ok(ExitCode::SUCCESS)
}
