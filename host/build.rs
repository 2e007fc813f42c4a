//! Builds the default plugins (`plugins/validator`, `plugins/router`) for
//! `wasm32-wasip2` and hands their bytes to the crate through `OUT_DIR`, so the
//! binary carries them and no `.wasm` blob is ever committed.
//!
//! The inner `cargo` gets its own target directory (sharing the outer one would
//! deadlock on its lock) and a clean set of flags (RUSTFLAGS meant for the host,
//! such as coverage instrumentation, must not reach the wasm build).

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use sha2::{Digest, Sha256};

const TARGET: &str = "wasm32-wasip2";
const PLUGINS: &[(&str, &str)] = &[
    ("validator", "cluster-exec-validator"),
    ("router", "cluster-exec-router"),
];

fn main() -> ExitCode {
    match build() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One clear line; cargo shows it as `error: ...`.
            println!("cargo::error={message}");
            ExitCode::FAILURE
        }
    }
}

fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let root = manifest_dir
        .parent()
        .ok_or("host/ has no parent directory")?
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);

    for (dir, _) in PLUGINS {
        let plugin = root.join("plugins").join(dir);
        println!("cargo::rerun-if-changed={}", plugin.join("src").display());
        println!(
            "cargo::rerun-if-changed={}",
            plugin.join("Cargo.toml").display()
        );
    }
    println!("cargo::rerun-if-changed={}", root.join("wit").display());
    println!(
        "cargo::rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    ensure_target_installed(&rustc)?;

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let inner_target = out_dir.join("plugin-build");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&inner_target);
    for (_, package) in PLUGINS {
        cmd.args(["-p", package]);
    }
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_LLVM_COV",
    ] {
        cmd.env_remove(var);
    }
    // Proc macros (wit-bindgen) need no optimisation; the plugins themselves do.
    // A 256 KiB stack (instead of 1 MiB) puts the stack, data and first heap
    // pages in the low memory the host keeps resident between calls.
    cmd.env(
        "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
        "-C link-arg=-zstack-size=262144",
    );
    cmd.env("CARGO_PROFILE_RELEASE_BUILD_OVERRIDE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    let output = cmd
        .output()
        .map_err(|e| format!("could not run cargo to build the default plugins: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        for line in stderr.lines() {
            println!("cargo::warning={line}");
        }
        return Err(
            "building the default plugins for wasm32-wasip2 failed (see the warnings above)".into(),
        );
    }

    for (dir, package) in PLUGINS {
        let built = inner_target
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let dest = out_dir.join(format!("{dir}.wasm"));
        let bytes = std::fs::read(&built)
            .map_err(|e| format!("reading the built plugin {}: {e}", built.display()))?;
        std::fs::write(&dest, &bytes).map_err(|e| format!("writing {}: {e}", dest.display()))?;
        // The code cache is keyed by content hash; hashing here spares every
        // process start hashing the embedded bytes.
        let digest = hex::encode(Sha256::digest(&bytes));
        std::fs::write(out_dir.join(format!("{dir}.sha256")), digest)
            .map_err(|e| format!("writing the digest of {}: {e}", dest.display()))?;
    }
    Ok(())
}

/// Fails with the exact command to run when the wasm target is missing,
/// instead of a page of rustc errors about a missing `core`.
fn ensure_target_installed(rustc: &str) -> Result<(), String> {
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run {rustc}: {e}"))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let lib = Path::new(&sysroot).join("lib").join("rustlib").join(TARGET);
    if lib.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} Rust target is not installed; run `rustup target add {TARGET}` and build again"
        ))
    }
}
