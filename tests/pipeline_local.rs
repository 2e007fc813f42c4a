//! The whole pipeline on the `local` transport: validators, confirmation,
//! routing, execution and the audit log, with real plugins and real processes.

#[path = "support/plugins.rs"]
mod plugins;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cluster_exec::config::{Config, Env};
use cluster_exec::exec::{Answer, Hooks, ParallelOptions, Pipeline, Request, Status};
use cluster_exec::plugin::types::Verdict;

/// A config with two local nodes, plugins and audit log inside `dir`.
fn config(dir: &Path, extra_validator: Option<&Path>) -> Config {
    let extra = extra_validator
        .map(|p| format!("[[plugins.validators]]\nplugin = \"{}\"\n", p.display()))
        .unwrap_or_default();
    let text = format!(
        r#"
[plugins]
cache_dir = "{dir}/cache"
[[plugins.validators]]
plugin = "builtin:validator"
{extra}
[audit]
path = "{dir}/audit.jsonl"

[[node]]
id = "here"
transport = "local"
aliases = ["scratch"]
max_tasks = 4

[[node]]
id = "also-here"
transport = "local"
capabilities = ["special"]
max_tasks = 4
"#,
        dir = dir.display()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, &text).unwrap();
    Config::from_toml(
        &text,
        Some(&path),
        &Env::from_pairs(Vec::<(String, String)>::new()),
    )
    .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn audit_kinds(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn allowed_command_runs_and_every_step_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let report =
        rt().block_on(pipeline.run(Request::new("echo hello; echo oops >&2"), Hooks::default()));
    assert_eq!(report.status, Status::Succeeded, "{}", report.message);
    let result = report.result.unwrap();
    assert_eq!(result.stdout, "hello\n");
    assert_eq!(result.stderr, "oops\n");
    assert_eq!(report.verdicts.len(), 1);
    assert!(report.route_reason.is_some());
    let kinds = audit_kinds(dir.path());
    assert_eq!(
        kinds,
        ["request", "verdict", "route", "connection", "result"]
    );
    assert!(
        cluster_exec::audit::verify(dir.path().join("audit.jsonl"))
            .unwrap()
            .ok
    );
}

#[test]
fn denied_command_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    // `false &&` keeps the machine safe even if a validator ever let it
    // through: the validator judges every command in the line anyway.
    let command = format!("touch {}; false && rm -rf /", marker.display());
    let report = rt().block_on(pipeline.run(Request::new(command), Hooks::default()));
    assert_eq!(report.status, Status::Denied);
    assert!(report.message.contains("denied"), "{}", report.message);
    assert!(report.result.is_none());
    assert!(!marker.exists(), "a denied command ran");
    assert_eq!(report.exit_code(), 126);
}

#[test]
fn named_nodes_and_aliases_resolve_and_unknown_ones_list_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let rt = rt();
    let mut request = Request::new("true");
    request.node = Some("scratch".into());
    let report = rt.block_on(pipeline.run(request, Hooks::default()));
    assert_eq!(report.node.as_deref(), Some("here"));
    let mut request = Request::new("true");
    request.node = Some("nowhere".into());
    let report = rt.block_on(pipeline.run(request, Hooks::default()));
    assert_eq!(report.status, Status::UnknownNode);
    assert!(
        report.message.contains("here (scratch)") && report.message.contains("also-here"),
        "{}",
        report.message
    );
}

#[test]
fn requirements_route_to_the_node_that_has_them_or_explain_why_none_does() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let rt = rt();
    let mut request = Request::new("uname");
    request.requirements.capabilities = vec!["special".into()];
    let report = rt.block_on(pipeline.run(request.clone(), Hooks::default()));
    assert_eq!(
        report.node.as_deref(),
        Some("also-here"),
        "{}",
        report.message
    );
    request.requirements.capabilities = vec!["gpu".into()];
    let report = rt.block_on(pipeline.run(request, Hooks::default()));
    assert_eq!(report.status, Status::NoRoute);
    assert!(report.message.contains("lacks gpu"), "{}", report.message);
}

#[test]
fn exit_codes_and_timeouts_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let rt = rt();
    let report = rt.block_on(pipeline.run(Request::new("exit 3"), Hooks::default()));
    assert_eq!((report.status, report.exit_code()), (Status::Failed, 3));
    let mut request = Request::new("sleep 30");
    request.timeout = Some(Duration::from_millis(500));
    let report = rt.block_on(pipeline.run(request, Hooks::default()));
    assert_eq!(report.status, Status::TimedOut, "{}", report.message);
}

#[test]
fn cancellation_stops_the_command_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let hooks = Hooks::default();
    let cancel = hooks.cancel.clone();
    let report = rt().block_on(async {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cancel.cancel();
        });
        pipeline.run(Request::new("sleep 30"), hooks).await
    });
    assert_eq!(report.status, Status::Cancelled, "{}", report.message);
    assert!(audit_kinds(dir.path()).contains(&"cancelled".to_string()));
}

#[test]
fn ask_verdicts_need_a_human_and_the_answer_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let probe = plugins::fixture("probe");
    let pipeline = Pipeline::new(config(dir.path(), Some(&probe))).unwrap();
    let rt = rt();
    // Nobody to ask: denied.
    let report = rt.block_on(pipeline.run(Request::new("echo hi"), Hooks::default()));
    assert_eq!(report.status, Status::Denied);
    assert!(
        report.message.contains("needs a human's confirmation"),
        "{}",
        report.message
    );
    // Declined: denied.
    let declined = Hooks {
        confirm: Some(Arc::new(|_| Box::pin(async { Answer::Declined }))),
        ..Hooks::default()
    };
    let report = rt.block_on(pipeline.run(Request::new("echo hi"), declined));
    assert_eq!(report.status, Status::Denied);
    assert!(report.message.contains("declined"), "{}", report.message);
    // Approved: runs.
    let approved = Hooks {
        confirm: Some(Arc::new(|c| {
            assert_eq!(c.command, "echo hi");
            Box::pin(async { Answer::Approved })
        })),
        ..Hooks::default()
    };
    let report = rt.block_on(pipeline.run(Request::new("echo hi"), approved));
    assert_eq!(report.status, Status::Succeeded, "{}", report.message);
    assert_eq!(report.confirmation.as_deref(), Some("approved"));
    let confirmations = audit_kinds(dir.path())
        .iter()
        .filter(|k| *k == "confirmation")
        .count();
    assert_eq!(confirmations, 3);
}

#[test]
fn explain_judges_and_routes_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("explained");
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let explanation =
        rt().block_on(pipeline.explain(&Request::new(format!("touch {}", marker.display()))));
    assert_eq!(explanation.decision, Verdict::Allow);
    assert!(explanation.node.is_some());
    assert!(!marker.exists(), "explain ran the command");
}

#[test]
fn a_parallel_batch_with_one_denial_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let marker = dir.path().join("ran");
    let requests = vec![
        Request::new(format!("touch {}", marker.display())),
        Request::new("false && rm -rf /"),
    ];
    let options = ParallelOptions {
        max_parallel: 4,
        fail_fast: false,
    };
    let report = rt().block_on(pipeline.parallel(requests, options, Hooks::default()));
    assert!(!report.ran);
    assert_eq!(report.summary.denied, 1);
    assert!(
        report.message.contains("command 2 denied"),
        "{}",
        report.message
    );
    assert!(!marker.exists(), "a command of a denied batch ran");
}

#[test]
fn a_parallel_batch_fans_out_and_fail_fast_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let rt = rt();
    let requests: Vec<Request> = (0..6).map(|i| Request::new(format!("echo {i}"))).collect();
    let options = ParallelOptions {
        max_parallel: 3,
        fail_fast: false,
    };
    let report = rt.block_on(pipeline.parallel(requests, options, Hooks::default()));
    assert!(report.ran);
    assert_eq!(report.summary.succeeded, 6);
    let mut requests = vec![Request::new("exit 1")];
    requests.extend((0..4).map(|_| Request::new("sleep 0.2")));
    let options = ParallelOptions {
        max_parallel: 1,
        fail_fast: true,
    };
    let report = rt.block_on(pipeline.parallel(requests, options, Hooks::default()));
    assert_eq!(report.summary.failed, 1);
    assert_eq!(report.summary.skipped, 4, "{}", report.message);
}

#[test]
fn a_damaged_audit_log_stops_commands() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let marker = dir.path().join("unaudited");
    // A torn last line: the chain cannot be continued, so nothing may run.
    use std::io::Write;
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.path().join("audit.jsonl"))
        .unwrap();
    log.write_all(b"{\"seq\":1,\"torn").unwrap();
    let report = rt().block_on(pipeline.run(
        Request::new(format!("touch {}", marker.display())),
        Hooks::default(),
    ));
    assert_eq!(report.status, Status::Error);
    assert!(report.message.contains("audit log"), "{}", report.message);
    assert!(!marker.exists(), "{}", report.message);
}

#[test]
fn cli_ask_without_a_terminal_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let probe = plugins::fixture("probe");
    config(dir.path(), Some(&probe));
    let marker = dir.path().join("asked");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cluster-exec"))
        .args(["run", "--config"])
        .arg(dir.path().join("config.toml"))
        .arg("--")
        .arg(format!("touch {}", marker.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(126), "{stderr}");
    assert!(
        stderr.contains("there is no terminal to ask on"),
        "{stderr}"
    );
    assert!(!marker.exists());
}

#[test]
fn huge_commands_are_audited_by_head_length_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(config(dir.path(), None)).unwrap();
    let command = format!("echo {}", "x".repeat(200_000));
    let report = rt().block_on(pipeline.run(Request::new(command.clone()), Hooks::default()));
    assert_ne!(
        report.status,
        Status::Succeeded,
        "a command over the size bound ran"
    );
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let request: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(request["data"]["command_bytes"], command.len());
    assert!(request["data"]["command"].as_str().unwrap().len() < 5000);
    assert!(log.len() < 20_000, "the audit log holds the whole command");
}

#[test]
fn an_unknown_node_is_reported_before_anyone_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let probe = plugins::fixture("probe");
    let pipeline = Pipeline::new(config(dir.path(), Some(&probe))).unwrap();
    let hooks = Hooks {
        confirm: Some(Arc::new(|_| {
            panic!("asked about a node that does not exist")
        })),
        ..Hooks::default()
    };
    let mut request = Request::new("echo hi");
    request.node = Some("nowhere".into());
    let report = rt().block_on(pipeline.run(request, hooks));
    assert_eq!(report.status, Status::UnknownNode, "{}", report.message);
}
