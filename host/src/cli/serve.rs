//! `cluster-exec serve`: the MCP server on stdio. stdout carries only
//! protocol messages; logs go to stderr, decisions to the audit log.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::common::{self, ConfigArg};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    // Load (and compile plugins) before answering anything: a broken config
    // fails here, on stderr, with the usual message.
    let rt = common::runtime()?;
    let result = rt.block_on(async {
        let pipeline = common::pipeline(&args.config)?;
        crate::mcp::serve(pipeline).await
    });
    // stdin is read on the blocking pool; after a signal it may still be
    // blocked there, so never wait for it at exit.
    rt.shutdown_timeout(Duration::from_millis(200));
    result.map(|()| ExitCode::SUCCESS)
}
