//! `cluster-exec audit verify`: check the hash chain of an audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::common::{self, ConfigArg};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Report the first broken or missing line of an audit log.
    Verify {
        /// The log (default: [audit] path of the config).
        file: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: AuditCommand) -> Result<ExitCode> {
    let AuditCommand::Verify { file, config, json } = cmd;
    let path = match file {
        Some(path) => path,
        None => Config::load(config.config.as_deref())?.audit.path,
    };
    let report = crate::audit::verify(&path)?;
    if json {
        common::print_json(&report)?;
    } else if report.ok {
        println!(
            "{}: ok, {} lines verified (last seq {}, hash {})",
            path.display(),
            report.lines_verified,
            report.last_seq,
            report.last_hash
        );
    } else if let Some(problem) = &report.problem {
        println!(
            "{}: BROKEN at line {} ({:?}): {}; {} lines verified before it",
            path.display(),
            problem.line,
            problem.kind,
            problem.message,
            report.lines_verified
        );
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
