//! `cluster-exec explain`: the verdicts and the routing decision, without
//! running anything.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::common::{self, ConfigArg, PlacementArgs};
use crate::plugin::types::Verdict;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub placement: PlacementArgs,
    #[arg(long)]
    pub json: bool,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: ExplainArgs) -> Result<ExitCode> {
    crate::plugin::engine::set_usage(crate::plugin::engine::Usage::OneShot);
    let command = common::join_command(&args.command)?;
    let request = args.placement.request(command, None)?;
    let rt = common::one_shot_runtime()?;
    let explanation = rt.block_on(async {
        let pipeline = common::pipeline(&args.config)?;
        anyhow::Ok(pipeline.explain(&request).await)
    })?;
    if args.json {
        common::print_json(&explanation)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("command:  {}", explanation.command);
    for v in &explanation.verdicts {
        let (word, reason) = match &v.verdict {
            Verdict::Allow => ("allow", String::new()),
            Verdict::Deny(r) => ("deny", format!(": {r}")),
            Verdict::Ask(r) => ("ask", format!(": {r}")),
        };
        println!(
            "verdict:  {} says {word}{reason} ({} µs)",
            v.plugin, v.micros
        );
    }
    let decision = match &explanation.decision {
        Verdict::Allow => "allow".to_string(),
        Verdict::Deny(r) => format!("deny ({r})"),
        Verdict::Ask(r) => format!("ask a human ({r})"),
    };
    println!("decision: {decision}");
    match (&explanation.node, &explanation.route_error) {
        (Some(node), _) => println!(
            "route:    {node}: {}",
            explanation.route_reason.as_deref().unwrap_or("")
        ),
        (None, Some(error)) => println!("route:    none: {error}"),
        (None, None) => println!("route:    none"),
    }
    Ok(ExitCode::SUCCESS)
}
