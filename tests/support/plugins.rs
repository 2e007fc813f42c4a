//! Builds the hostile fixture plugins (tests/fixtures/hostile) once per test
//! binary, one component per feature, under the workspace target directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const FEATURES: &[&str] = &[
    "endless",
    "membomb",
    "panic",
    "fs",
    "counter",
    "probe",
    "router-panic",
    "v02",
];

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("fixture-plugins")
}

/// The path of the component built with `feature`.
pub fn fixture(feature: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(build_all);
    dir.join(format!("{feature}.wasm"))
}

fn build_all() -> PathBuf {
    let target = target_dir();
    std::fs::create_dir_all(&target).unwrap();
    // Test binaries run in parallel: one builds while the others wait, since
    // every feature shares one output file name before it is copied.
    let lock = std::fs::File::create(target.join("build.lock")).unwrap();
    lock.lock().unwrap();
    let manifest = workspace().join("tests/fixtures/hostile/Cargo.toml");
    for feature in FEATURES {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--features",
                feature,
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "building fixture plugin `{feature}` failed"
        );
        std::fs::copy(
            target.join("wasm32-wasip2/release/hostile.wasm"),
            target.join(format!("{feature}.wasm")),
        )
        .unwrap();
    }
    lock.unlock().unwrap();
    target
}
