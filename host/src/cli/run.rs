//! `cluster-exec run`: the whole flow for one command, output streamed as it
//! arrives, exiting with the remote exit code.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::common::{self, ConfigArg, PlacementArgs};
use crate::exec::{Hooks, Status, Stream};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub placement: PlacementArgs,
    /// Seconds before the command is killed (default: [ssh] command_timeout_secs).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Print the full report as JSON at the end instead of streaming output.
    #[arg(long)]
    pub json: bool,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    crate::plugin::engine::set_usage(crate::plugin::engine::Usage::OneShot);
    let command = common::join_command(&args.command)?;
    let request = args.placement.request(command, args.timeout)?;
    let rt = common::one_shot_runtime()?;
    let report = rt.block_on(async {
        let pipeline = common::pipeline(&args.config)?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<crate::exec::OutputChunk>();
        let stream = !args.json;
        let printer = tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if !stream {
                    continue;
                }
                let _ = match chunk.stream {
                    Stream::Stdout => std::io::stdout().lock().write_all(&chunk.data),
                    Stream::Stderr => std::io::stderr().lock().write_all(&chunk.data),
                };
            }
            let _ = std::io::stdout().flush();
        });
        let hooks = Hooks {
            cancel: ctrl_c_token(),
            on_output: Some(tx),
            confirm: Some(common::terminal_confirmer()),
            on_finished: None,
        };
        let report = pipeline.run(request, hooks).await;
        let _ = printer.await;
        anyhow::Ok(report)
    })?;
    if args.json {
        common::print_json(&report)?;
    } else if report.status != Status::Succeeded {
        eprintln!("cluster-exec: {}", report.message);
    }
    Ok(ExitCode::from(report.exit_code().clamp(0, 255) as u8))
}

/// Cancelled on Ctrl-C, so the remote process group is killed too.
pub fn ctrl_c_token() -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            t.cancel();
        }
    });
    token
}
