//! `cluster-exec`: parse arguments, dispatch; nothing else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cluster_exec::cli::Cli::parse();
    cluster_exec::cli::init_logging(cli.verbose);
    match cluster_exec::cli::dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
