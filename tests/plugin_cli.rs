//! `cluster-exec plugin check | test | new` as a user runs them.

#[path = "support/plugins.rs"]
mod plugins;

use std::path::Path;
use std::process::{Command, Output};

fn cluster_exec(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cluster-exec"));
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_prints_world_version_and_imports_of_a_builtin() {
    let out = cluster_exec(&["plugin", "check", "builtin:validator"], None);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("world:   cluster-exec:plugin:validator@0.1.0"),
        "{stdout}"
    );
    assert!(stdout.contains("wasi:cli/"), "{stdout}");
    let out = cluster_exec(&["plugin", "check", "--json", "builtin:router"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["world"], "router");
    assert_eq!(json["version"], "0.1.0");
}

#[test]
fn check_exits_1_naming_file_and_forbidden_import() {
    let path = plugins::fixture("fs");
    let out = cluster_exec(&["plugin", "check", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(path.to_str().unwrap()) && stderr.contains("wasi:filesystem/"),
        "{stderr}"
    );
}

#[test]
fn test_runs_router_cases_and_reports_each_with_a_summary() {
    let cases = plugins::workspace().join("plugins/router/cases/default-routing.toml");
    let out = cluster_exec(&["plugin", "test", cases.to_str().unwrap()], None);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count() >= 10,
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");
    assert!(stdout.contains(" µs)"), "{stdout}");
}

#[test]
fn a_failing_case_exits_1_with_expected_and_got() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.toml");
    std::fs::write(
        &cases,
        "plugin = \"builtin:validator\"\n\
         [[case]]\nname = \"wrongly expects a deny\"\ncommand = \"ls\"\nexpect = \"deny\"\n\
         [[case]]\ncommand = \"pwd\"\nexpect = \"allow\"\n",
    )
    .unwrap();
    let out = cluster_exec(&["plugin", "test", cases.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAILED  wrongly expects a deny  expected deny, got allow"),
        "{stdout}"
    );
    assert!(stdout.contains("ok      pwd"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("1 passed, 1 failed"),
        "{stdout}"
    );

    let out = cluster_exec(&["plugin", "test", "--json", cases.to_str().unwrap()], None);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["passed"], false);
    assert_eq!(lines[0]["expected"], "deny");
    assert_eq!(lines[0]["got"], "allow");
    assert!(lines[1]["micros"].is_u64());
    assert_eq!(lines[2]["summary"]["failed"], 1);
}

#[test]
fn plugin_flag_overrides_the_file_and_wrong_world_is_explained() {
    let cases = plugins::workspace().join("plugins/router/cases/default-routing.toml");
    let out = cluster_exec(
        &[
            "plugin",
            "test",
            "--plugin",
            "builtin:validator",
            cases.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("has no `expect`"), "{stderr}");
}

#[test]
fn broken_cases_files_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("broken.toml");
    std::fs::write(
        &cases,
        "plugin = \"builtin:validator\"\n[[case]]\ncommand = \"ls\"\nexpect = allow\n",
    )
    .unwrap();
    let out = cluster_exec(&["plugin", "test", cases.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("broken.toml: line 4, column 10"),
        "{stderr}"
    );

    let out = cluster_exec(&["plugin", "test", "/nonexistent/cases.toml"], None);
    assert!(text(&out.stderr).contains("could not read cases file /nonexistent/cases.toml"));

    std::fs::write(&cases, "[[case]]\ncommand = \"ls\"\nexpect = \"allow\"\n").unwrap();
    let out = cluster_exec(&["plugin", "test", cases.to_str().unwrap()], None);
    assert!(
        text(&out.stderr).contains("no plugin to test"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(
        &cases,
        "plugin = \"builtin:validator\"\n[[case]]\ncommand = \"ls\"\nexpect = \"maybe\"\n",
    )
    .unwrap();
    let out = cluster_exec(&["plugin", "test", cases.to_str().unwrap()], None);
    assert!(
        text(&out.stderr).contains("use allow, deny or ask"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn scaffolded_plugin_builds_and_passes_its_own_cases_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = cluster_exec(&["plugin", "new", "team-policy"], Some(dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let crate_dir = dir.path().join("team-policy");
    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"])
        .current_dir(&crate_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .unwrap();
    assert!(build.success(), "the scaffold does not build");
    let out = cluster_exec(&["plugin", "test", "cases.toml"], Some(&crate_dir));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.trim_end().ends_with("3 passed, 0 failed"),
        "{stdout}"
    );
}

/// `run` and `explain` give instances memory on demand instead of from the
/// pool `serve` uses; the deadline and the memory cap must hold there too.
#[test]
fn one_shot_commands_keep_the_deadline_and_memory_cap() {
    let dir = tempfile::tempdir().unwrap();
    for (feature, limit, expected) in [
        ("endless", "deadline_ms = 50", "timed out after 50 ms"),
        ("membomb", "memory_mib = 8", "exceeded 8 MiB of memory"),
    ] {
        let config = dir.path().join(format!("{feature}.toml"));
        std::fs::write(
            &config,
            format!(
                "[plugins]\ncache_dir = \"{dir}/cache\"\n[[plugins.validators]]\nplugin = \"{plugin}\"\n\
                 {limit}\n[audit]\npath = \"{dir}/audit.jsonl\"\n[[node]]\nid = \"here\"\ntransport = \"local\"\n",
                dir = dir.path().display(),
                plugin = plugins::fixture(feature).display(),
            ),
        )
        .unwrap();
        let config = config.to_str().unwrap();
        for subcommand in ["explain", "run"] {
            // Not `true`: the fixtures behave on the start-up check's command.
            let out = cluster_exec(&[subcommand, "--config", config, "--", "echo hi"], None);
            let printed = text(&out.stdout) + &text(&out.stderr);
            assert!(
                printed.contains(expected),
                "{subcommand} {feature}: {printed}"
            );
            match subcommand {
                "run" => assert!(!out.status.success(), "{printed}"),
                _ => assert!(printed.contains("decision: deny"), "{printed}"),
            }
        }
    }
}

#[test]
fn one_shot_commands_refuse_a_plugin_configuration_the_plugin_rejects() {
    // `run` and `explain` skip the start-up check call (the command's own
    // call configures the plugin anyway); a bad section must still deny,
    // naming the plugin and the problem, and run nothing.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins]\ncache_dir = \"{dir}/cache\"\n[[plugins.validators]]\nplugin = \"builtin:validator\"\n\
             config = {{ categories = {{ no-such-category = \"ask\" }} }}\n[audit]\npath = \"{dir}/audit.jsonl\"\n\
             [[node]]\nid = \"here\"\ntransport = \"local\"\n",
            dir = dir.path().display(),
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let touch = format!("touch {}", marker.display());
    for subcommand in ["explain", "run"] {
        let out = cluster_exec(&[subcommand, "--config", config, "--", &touch], None);
        let printed = text(&out.stdout) + &text(&out.stderr);
        assert!(
            printed.contains("builtin:validator")
                && printed.contains("rejected its configuration")
                && printed.contains("no-such-category"),
            "{subcommand}: {printed}"
        );
        match subcommand {
            "run" => assert_eq!(out.status.code(), Some(126), "{printed}"),
            _ => assert!(printed.contains("decision: deny"), "{printed}"),
        }
    }
    assert!(!marker.exists(), "the command ran");
    // `config check` still refuses the file at once.
    let out = cluster_exec(&["config", "check", config], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no-such-category"));
}
