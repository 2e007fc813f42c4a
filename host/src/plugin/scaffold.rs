//! `plugin new NAME`: a team validator crate that builds for `wasm32-wasip2`
//! and passes its own cases file unchanged.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The contract, copied into every scaffold so the crate builds on its own.
const WIT: &[(&str, &str)] = &[
    (
        "types.wit",
        include_str!("../../../wit/since_v0.1.0/types.wit"),
    ),
    (
        "validator.wit",
        include_str!("../../../wit/since_v0.1.0/validator.wit"),
    ),
    (
        "router.wit",
        include_str!("../../../wit/since_v0.1.0/router.wit"),
    ),
];

const CARGO_TOML: &str = r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
wit-bindgen = { version = "0.63", default-features = false, features = ["macros", "realloc", "std"] }

# A standalone crate, even when created inside another workspace.
[workspace]

[profile.release]
opt-level = 3
strip = "debuginfo"
"#;

const LIB_RS: &str = r#"//! {name}: a team validator for cluster-exec.
//!
//! cluster-exec runs every validator in a fresh sandbox per command: it calls
//! `configure` with this plugin's `[config]` section (as JSON), then
//! `validate`. Return `Verdict::Deny(reason)` to refuse, `Verdict::Ask(reason)`
//! to require a human's confirmation, `Verdict::Allow` otherwise. A panic, a
//! trap or a timeout denies, so a bug here never lets a command through.

wit_bindgen::generate!({ path: "wit", world: "validator" });

use std::sync::Mutex;

use serde::Deserialize;

/// This plugin's `[config]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Programs that always need a human's confirmation.
    confirm: Vec<String>,
}

static CONFIG: Mutex<Option<Config>> = Mutex::new(None);

struct Plugin;

impl Guest for Plugin {
    fn configure(config: String) -> Result<(), String> {
        let parsed: Config = if config.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str(&config).map_err(|e| format!("{name} config: {e}"))?
        };
        *CONFIG.lock().map_err(|_| "config lock poisoned".to_string())? = Some(parsed);
        Ok(())
    }

    fn validate(request: CommandRequest) -> Verdict {
        let words: Vec<&str> = request.command.split_whitespace().collect();
        // Example rule: never destroy infrastructure from an assistant.
        if words.windows(2).any(|w| w[0] == "terraform" && w[1] == "destroy") {
            return Verdict::Deny("{name}: terraform destroy is not run from an assistant".into());
        }
        let confirm = CONFIG
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|c| c.confirm.clone()))
            .unwrap_or_default();
        if let Some(program) = words.first() {
            if confirm.iter().any(|p| p == program) {
                return Verdict::Ask(format!("{name}: {program} needs a human's confirmation"));
            }
        }
        Verdict::Allow
    }
}

export!(Plugin);
"#;

const CASES: &str = r#"# Run with: cluster-exec plugin test cases.toml
plugin = "target/wasm32-wasip2/release/{crate}.wasm"

[config]
confirm = ["kubectl"]

[[case]]
name = "terraform destroy is denied"
command = "terraform destroy -auto-approve"
expect = "deny"
reason = "terraform destroy"

[[case]]
name = "terraform plan is allowed"
command = "terraform plan"
expect = "allow"

[[case]]
name = "configured programs ask a human"
command = "kubectl delete pod web-1"
expect = "ask"
reason = "kubectl"
"#;

const README: &str = r#"# {name}

A validator plugin for cluster-exec.

    rustup target add wasm32-wasip2
    cargo build --release --target wasm32-wasip2
    cluster-exec plugin test cases.toml
    cluster-exec plugin check target/wasm32-wasip2/release/{crate}.wasm

Use it by adding to the cluster-exec config:

    [[plugins.validators]]
    plugin = "builtin:validator"

    [[plugins.validators]]
    plugin = "/path/to/{crate}.wasm"
    config = { confirm = ["kubectl"] }
"#;

/// Creates `parent/NAME/` and returns its path; refuses an existing folder.
pub fn create(parent: &Path, name: &str) -> Result<PathBuf> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !valid {
        bail!(
            "`{name}` is not a usable plugin name: use lower-case letters, digits and `-`, \
             starting with a letter (for example `team-policy`)"
        );
    }
    let dir = parent.join(name);
    if dir.exists() {
        bail!(
            "{} already exists; pick another name or remove it",
            dir.display()
        );
    }
    let crate_name = name.replace('-', "_");
    let fill = |t: &str| t.replace("{name}", name).replace("{crate}", &crate_name);
    fs::create_dir_all(dir.join("src")).with_context(|| format!("creating {}", dir.display()))?;
    fs::create_dir_all(dir.join("wit"))?;
    fs::write(dir.join("Cargo.toml"), fill(CARGO_TOML))?;
    fs::write(dir.join("src/lib.rs"), fill(LIB_RS))?;
    fs::write(dir.join("cases.toml"), fill(CASES))?;
    fs::write(dir.join("README.md"), fill(README))?;
    fs::write(dir.join(".gitignore"), "/target\n")?;
    for (file, text) in WIT {
        fs::write(dir.join("wit").join(file), text)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_that_are_not_crate_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "Team", "-x", "a b", "x-", "../x"] {
            assert!(super::create(dir.path(), bad).is_err(), "{bad:?} accepted");
        }
        assert!(super::create(dir.path(), "team-policy").is_ok());
        assert!(
            super::create(dir.path(), "team-policy").is_err(),
            "existing folder reused"
        );
    }
}
