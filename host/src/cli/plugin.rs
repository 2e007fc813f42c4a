//! `cluster-exec plugin check | test | new`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::plugin::harness::{self, Summary};
use crate::plugin::scaffold;
use crate::plugin::set::Loader;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Load a plugin as production would and print its world, version and
    /// imports; exit 1 with the reason if it would be refused.
    Check {
        /// A `.wasm` component, or `builtin:validator` / `builtin:router`.
        plugin: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run cases files through the production path; exit 1 if any case fails.
    Test {
        /// One or more cases files (TOML).
        #[arg(required = true)]
        cases: Vec<PathBuf>,
        /// The plugin to test (`file.wasm`, `builtin:validator`,
        /// `builtin:router`); overrides the files' own `plugin` key.
        #[arg(long)]
        plugin: Option<String>,
        /// One JSON object per case, then a summary object.
        #[arg(long)]
        json: bool,
    },
    /// Scaffold a validator plugin crate that builds and passes its own cases.
    New {
        /// Crate name (lower-case letters, digits and `-`); also the folder.
        name: String,
    },
}

pub fn run(cmd: PluginCommand) -> Result<ExitCode> {
    match cmd {
        PluginCommand::Check { plugin, json } => check(&plugin, json),
        PluginCommand::Test {
            cases,
            plugin,
            json,
        } => test(&cases, plugin.as_deref(), json),
        PluginCommand::New { name } => {
            let dir = scaffold::create(&std::env::current_dir()?, &name)?;
            println!("created {}", dir.display());
            println!("build:  cd {name} && cargo build --release --target wasm32-wasip2");
            println!("test:   cluster-exec plugin test {name}/cases.toml");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(spec: &str, json: bool) -> Result<ExitCode> {
    let loader = Loader::new(None)?;
    let loaded = match loader.load(spec, None) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("refused: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "plugin": loaded.name,
                "world": loaded.outline.world,
                "version": loaded.outline.version,
                "imports": loaded.outline.imports,
                "exports": loaded.outline.exports,
            }))?
        );
    } else {
        println!("plugin:  {}", loaded.name);
        println!(
            "world:   {}:{}@{}",
            crate::plugin::bindings::PACKAGE,
            loaded.outline.world,
            loaded.outline.version
        );
        println!("exports: {}", loaded.outline.exports.join(", "));
        println!("imports:");
        for import in &loaded.outline.imports {
            println!("  {import}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn test(files: &[PathBuf], plugin: Option<&str>, json: bool) -> Result<ExitCode> {
    let loader = Loader::new(None)?;
    let mut summary = Summary::default();
    let mut out = std::io::stdout().lock();
    for file in files {
        for result in harness::run_file(&loader, file, plugin)? {
            if result.passed {
                summary.passed += 1;
            } else {
                summary.failed += 1;
            }
            if json {
                writeln!(out, "{}", serde_json::to_string(&result)?)?;
            } else {
                writeln!(out, "{}", harness::render(&result))?;
            }
        }
    }
    if json {
        writeln!(out, "{}", serde_json::json!({"summary": summary}))?;
    } else {
        writeln!(out, "{} passed, {} failed", summary.passed, summary.failed)?;
    }
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
