//! `cluster-exec status`: a table of nodes, probed in parallel.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::common::{self, ConfigArg};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: StatusArgs) -> Result<ExitCode> {
    let rt = common::runtime()?;
    let statuses = rt.block_on(async {
        let pipeline = common::pipeline(&args.config)?;
        anyhow::Ok(pipeline.status(true).await)
    })?;
    if args.json {
        common::print_json(&statuses)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:<9} {:>8} {:>5} {:>6} {:>5} {:>5}  NOTE",
        "NODE", "REACHABLE", "LATENCY", "CORES", "LOAD", "MEM%", "TASKS"
    );
    let dash = || "-".to_string();
    for s in &statuses {
        println!(
            "{:<16} {:<9} {:>8} {:>5} {:>6} {:>5} {:>5}  {}",
            s.node,
            if s.reachable { "yes" } else { "no" },
            s.latency_ms.map_or_else(dash, |l| format!("{l}ms")),
            s.cores.map_or_else(dash, |c| c.to_string()),
            s.load_average.map_or_else(dash, |l| format!("{l:.2}")),
            s.memory_used_percent
                .map_or_else(dash, |m| format!("{m:.0}")),
            s.running_tasks,
            s.why.as_deref().unwrap_or(""),
        );
    }
    Ok(ExitCode::SUCCESS)
}
