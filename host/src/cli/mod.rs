//! Command-line front door: clap definitions and dispatch. Each subcommand
//! lives in its own file and only translates flags to library calls.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

pub mod audit;
pub mod common;
pub mod config;
pub mod explain;
pub mod parallel;
pub mod plugin;
pub mod run;
pub mod serve;
pub mod status;

#[derive(Debug, Parser)]
#[command(
    name = "cluster-exec",
    version,
    about = "Run shell commands across a cluster, behind sandboxed WebAssembly validators"
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one command through validators, router and transport.
    Run(run::RunArgs),
    /// Show each node: reachable, latency, cores, load, memory, tasks.
    Status(status::StatusArgs),
    /// Show the verdicts and the routing decision without running anything.
    Explain(explain::ExplainArgs),
    /// Fan out several commands; all are validated before any runs.
    Parallel(parallel::ParallelArgs),
    /// Validate the configuration and print the inventory.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Check the audit log's hash chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Check, test and scaffold validator and router plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Serve MCP on stdin/stdout (for Claude Code, Claude Desktop, ...).
    Serve(serve::ServeArgs),
}

/// Logs go to stderr only: stdout belongs to command output and, under
/// `serve`, to the MCP protocol. `CLUSTER_EXEC_LOG` takes tracing filters.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLUSTER_EXEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Status(args) => status::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Parallel(args) => parallel::run(args),
        Command::Config(cmd) => config::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Plugin(cmd) => plugin::run(cmd),
        Command::Serve(args) => serve::run(args),
    }
}
