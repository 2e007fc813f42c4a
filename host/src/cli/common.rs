//! Pieces every operational subcommand shares: loading the config and the
//! pipeline, a tokio runtime, the terminal confirmer, JSON printing.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::config::Config;
use crate::exec::{Answer, Confirmer, Pipeline, Request};
use crate::plugin::types::{Requester, Requirements};

/// `--config`, shared by every subcommand that reads the configuration.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// Config file (default: $CLUSTER_CONFIG, then the user's config dir,
    /// then a single `local` node).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Requirements and placement flags of `run` and `explain`.
#[derive(Debug, Clone, Args)]
pub struct PlacementArgs {
    /// Run on this node (id or alias) instead of letting the router pick.
    #[arg(long, short = 'n')]
    pub node: Option<String>,
    /// Required operating system (linux, macos/darwin, ...).
    #[arg(long)]
    pub requires_os: Option<String>,
    /// Required architecture (x86_64, arm64/aarch64, ...).
    #[arg(long)]
    pub requires_arch: Option<String>,
    /// Required capability; repeat for several.
    #[arg(long = "requires-capability", value_name = "CAPABILITY")]
    pub requires_capabilities: Vec<String>,
}

impl PlacementArgs {
    pub fn request(&self, command: String, timeout: Option<f64>) -> Result<Request> {
        let timeout = timeout.map(seconds).transpose()?;
        Ok(Request {
            command,
            node: self.node.clone(),
            requirements: Requirements {
                os: self.requires_os.clone(),
                arch: self.requires_arch.clone(),
                capabilities: self.requires_capabilities.clone(),
            },
            timeout,
            auto_route: true,
            requester: requester(),
        })
    }
}

/// A positive, finite number of seconds.
pub fn seconds(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && secs > 0.0) {
        anyhow::bail!("--timeout must be a positive number of seconds, not {secs}");
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn requester() -> Requester {
    Requester {
        client: Some("cli".into()),
        session: None,
        user: std::env::var("USER").ok(),
    }
}

/// A multi-threaded runtime for the command's lifetime.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// For commands that handle one request and exit (`run`, `explain`): one
/// thread drives everything, which spares starting a worker per core (the
/// work is waiting on ssh; plugin calls go to the blocking pool anyway).
pub fn one_shot_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn pipeline(config: &ConfigArg) -> Result<Pipeline> {
    Pipeline::new(Config::load(config.config.as_deref())?)
}

/// Joins a command given as separate words after `--`.
pub fn join_command(words: &[String]) -> Result<String> {
    let command = words.join(" ");
    if command.trim().is_empty() {
        anyhow::bail!(
            "no command given; put it after `--`, for example `cluster-exec run -- uptime`"
        );
    }
    Ok(command)
}

/// Asks on the terminal; without one, nobody can confirm and the command is
/// denied.
pub fn terminal_confirmer() -> Confirmer {
    Arc::new(|c| {
        Box::pin(async move {
            if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
                return Answer::Unavailable("there is no terminal to ask on".into());
            }
            tokio::task::spawn_blocking(move || {
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\n{}\n  command: {}\n  node:    {}\nRun it? [y/N] ",
                    c.reason,
                    c.command,
                    c.node.as_deref().unwrap_or("(router decides)")
                );
                let _ = err.flush();
                let mut line = String::new();
                match std::io::stdin().lock().read_line(&mut line) {
                    Ok(_) if matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes") => {
                        Answer::Approved
                    }
                    Ok(_) => Answer::Declined,
                    Err(e) => Answer::Unavailable(format!("reading the answer failed: {e}")),
                }
            })
            .await
            .unwrap_or_else(|e| Answer::Unavailable(format!("the prompt failed: {e}")))
        })
    })
}

pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
