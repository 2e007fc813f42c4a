//! `cluster-exec parallel`: fan out several commands; every one is validated
//! before any runs. Identical outputs are printed once, with the nodes and
//! commands that produced them (like `clush -b`).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::common::{self, ConfigArg};
use crate::exec::{Hooks, ParallelOptions, Report, Request};

#[derive(Debug, Args)]
pub struct ParallelArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Commands running at once (the per-node and global limits still apply).
    #[arg(long, default_value_t = 8)]
    pub max_parallel: usize,
    /// Stop starting commands after the first one fails.
    #[arg(long)]
    pub fail_fast: bool,
    /// Seconds before each command is killed.
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Read commands from a file, one per line (`#` comments and blank lines skipped).
    #[arg(long, short = 'f')]
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    /// Commands separated by `--`: `parallel -- uptime -- df -h`.
    #[arg(last = true, value_name = "COMMANDS")]
    pub commands: Vec<String>,
}

/// Splits `a b -- c d` into `["a b", "c d"]`.
fn split_commands(words: &[String]) -> Vec<String> {
    words
        .split(|w| w == "--")
        .map(|part| part.join(" "))
        .filter(|c| !c.trim().is_empty())
        .collect()
}

pub fn run(args: ParallelArgs) -> Result<ExitCode> {
    let mut commands = split_commands(&args.commands);
    if let Some(file) = &args.file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the commands file {}", file.display()))?;
        commands.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    if commands.is_empty() {
        anyhow::bail!("no commands given: `cluster-exec parallel -- CMD1 -- CMD2` or --file FILE");
    }
    let timeout = args.timeout.map(common::seconds).transpose()?;
    let requests: Vec<Request> = commands
        .into_iter()
        .map(|c| Request {
            timeout,
            requester: common::requester(),
            ..Request::new(c)
        })
        .collect();
    let total = requests.len();
    let options = ParallelOptions {
        max_parallel: args.max_parallel,
        fail_fast: args.fail_fast,
    };
    let rt = common::runtime()?;
    let report = rt.block_on(async {
        let pipeline = common::pipeline(&args.config)?;
        let show_progress = !args.json && std::io::stderr().is_terminal();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let bar = show_progress.then(|| tokio::spawn(progress_bar(total, rx)));
        let hooks = Hooks {
            cancel: super::run::ctrl_c_token(),
            on_output: None,
            confirm: Some(common::terminal_confirmer()),
            on_finished: Some(tx),
        };
        let report = pipeline.parallel(requests, options, hooks).await;
        if let Some(bar) = bar {
            let _ = bar.await;
        }
        anyhow::Ok(report)
    })?;
    if args.json {
        common::print_json(&report)?;
    } else {
        print_grouped(&report.reports);
        println!("{}", report.message);
    }
    let all_ok = report.ran && report.summary.succeeded == report.summary.total;
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `[done/total]`, failures and elapsed time on stderr while the fan-out
/// runs; ends when the pipeline drops its sender.
async fn progress_bar(total: usize, mut finished: tokio::sync::mpsc::UnboundedReceiver<Report>) {
    let started = std::time::Instant::now();
    let (mut done, mut failed) = (0usize, 0usize);
    let draw = |done: usize, failed: usize| {
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {done}/{total} done, {failed} failed, {:.1}s",
            "#".repeat(filled),
            " ".repeat(width - filled),
            started.elapsed().as_secs_f64()
        );
        let _ = err.flush();
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        tokio::select! {
            report = finished.recv() => match report {
                Some(report) => {
                    done += 1;
                    failed += usize::from(report.is_error());
                    draw(done, failed);
                }
                None => break,
            },
            _ = tick.tick() => draw(done, failed),
        }
    }
    let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
}

/// Prints each distinct (output, status) once, headed by who produced it.
fn print_grouped(reports: &[Report]) {
    let mut groups: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for r in reports {
        let (stdout, stderr) = r
            .result
            .as_ref()
            .map(|x| (x.stdout.clone(), x.stderr.clone()))
            .unwrap_or_default();
        let outcome = format!("{:?}: {}", r.status, r.message).to_lowercase();
        let who = format!("{} [{}]", r.node.as_deref().unwrap_or("-"), r.command);
        let outcome = if r.status == crate::exec::Status::Succeeded {
            String::new()
        } else {
            outcome
        };
        groups
            .entry((stdout, stderr, outcome))
            .or_default()
            .push(who);
    }
    for ((stdout, stderr, outcome), who) in groups {
        println!("---------------");
        println!("{}", who.join(", "));
        println!("---------------");
        print!("{stdout}");
        if !stdout.is_empty() && !stdout.ends_with('\n') {
            println!();
        }
        if !stderr.is_empty() {
            eprint!("{stderr}");
        }
        if !outcome.is_empty() {
            println!("({outcome})");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn commands_split_on_double_dash() {
        let words: Vec<String> = ["uptime", "--", "df", "-h", "--", "--"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(super::split_commands(&words), vec!["uptime", "df -h"]);
    }
}
