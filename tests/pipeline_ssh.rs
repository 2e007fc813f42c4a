//! The pipeline and the CLI against real sshd test hosts in network
//! namespaces: routing across hosts, denials proven from the host's side,
//! and the operator commands (`run`, `status`, `explain`, `parallel`).

#[path = "common/mod.rs"]
mod common;

use std::process::{Command, Output};

use cluster_exec::exec::{Hooks, Pipeline, Request, Status};
use common::TestBed;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn cli(bed: &TestBed, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cluster-exec"))
        .args(args)
        .env("CLUSTER_CONFIG", &bed.config_path)
        .env("XDG_CACHE_HOME", bed.path("cache"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn denied_command_never_reaches_the_host() {
    let Some(bed) = TestBed::start(1) else { return };
    let pipeline = Pipeline::new(bed.config()).unwrap();
    // The hosts see the machine read-only except the bed's own folder.
    let marker = bed.path("denied-marker").display().to_string();
    let rt = rt();
    // Test hosts share this machine's filesystem: `false &&` keeps it safe
    // even if a validator ever let the line through.
    let mut request = Request::new(format!(
        "touch {marker}; false && rm -rf --no-preserve-root /"
    ));
    request.node = Some("h0".into());
    let report = rt.block_on(pipeline.run(request, Hooks::default()));
    assert_eq!(report.status, Status::Denied, "{}", report.message);
    let seen = bed.exec_in(0, &["test", "-e", &marker]);
    assert!(
        !seen.status.success(),
        "the denied command reached the host"
    );
    // The same host does run what is allowed: the check above can fail.
    let mut request = Request::new(format!("touch {marker}"));
    request.node = Some("h0".into());
    let report = rt.block_on(pipeline.run(request, Hooks::default()));
    assert_eq!(report.status, Status::Succeeded, "{}", report.message);
    assert!(bed.exec_in(0, &["test", "-e", &marker]).status.success());
    bed.exec_in(0, &["rm", "-f", &marker]);
}

#[test]
fn requirements_route_to_the_host_that_meets_them() {
    let Some(bed) = TestBed::start(3) else { return };
    let pipeline = Pipeline::new(bed.config()).unwrap();
    let rt = rt();
    let cases = [
        (None, None, vec!["cuda".to_string()], "h2"),
        (None, Some("arm64"), vec![], "h1"),
        (Some("linux"), None, vec!["docker".to_string()], "h0"),
    ];
    for (os, arch, caps, want) in cases {
        let mut request = Request::new("cat /proc/sys/kernel/hostname");
        request.requirements.os = os.map(str::to_string);
        request.requirements.arch = arch.map(str::to_string);
        request.requirements.capabilities = caps;
        let report = rt.block_on(pipeline.run(request, Hooks::default()));
        assert_eq!(report.status, Status::Succeeded, "{}", report.message);
        assert_eq!(
            report.node.as_deref(),
            Some(want),
            "{:?}",
            report.route_reason
        );
    }
}

#[test]
fn operator_commands_work_against_the_hosts() {
    let Some(bed) = TestBed::start(2) else { return };

    let out = cli(
        &bed,
        &["run", "--node", "h1", "--", "echo", "from-h1;", "exit", "7"],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "from-h1\n");

    let out = cli(
        &bed,
        &[
            "run", "--node", "builder", "--", "false", "&&", "rm", "-rf", "/",
        ],
    );
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("denied"),
        "{}",
        text(&out.stderr)
    );

    let out = cli(&bed, &["run", "--node", "nowhere", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("h0 (builder)"),
        "{}",
        text(&out.stderr)
    );

    let out = cli(&bed, &["status"]);
    let table = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        table.lines().filter(|l| l.contains(" yes ")).count(),
        2,
        "{table}"
    );

    let out = cli(&bed, &["status", "--json"]);
    let statuses: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(statuses.as_array().unwrap().len(), 2);
    assert!(statuses[0]["cores"].as_u64().is_some());

    let out = cli(
        &bed,
        &["explain", "--requires-capability", "python", "--", "make"],
    );
    let explained = text(&out.stdout);
    assert!(
        explained.contains("decision: allow") && explained.contains("route:    h1"),
        "{explained}"
    );

    let out = cli(
        &bed,
        &[
            "parallel", "--", "echo", "same", "--", "echo", "same", "--", "echo", "other",
        ],
    );
    let grouped = text(&out.stdout);
    assert!(out.status.success(), "{grouped}{}", text(&out.stderr));
    assert_eq!(
        grouped.matches("\nsame\n").count(),
        1,
        "identical outputs not grouped: {grouped}"
    );
    assert!(grouped.contains("3 succeeded"), "{grouped}");

    let out = cli(&bed, &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(": ok,"));

    let out = cli(&bed, &["config", "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
