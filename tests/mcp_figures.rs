//! MCP figures, measured in one run on one SSH test host (run through
//! `bench/mcp-figures.sh`; ignored by a plain `cargo test`):
//! spawn-to-`initialize` time with a warm plugin cache; the latency of a
//! `tools/call` running `true` on the host, against the same command through
//! the library directly and through a plain `ssh`; resident memory idle and
//! during a 32-way fan-out. With `SSH_MCP` set to ssh-mcp's `build/index.js`,
//! the same figures for ssh-mcp (npm, 2.x) pointed at the same host.

#[path = "common/mod.rs"]
mod common;
#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/plugins.rs"]
mod plugins;

use std::process::Stdio;
use std::time::{Duration, Instant};

use cluster_exec::exec::{Hooks, Pipeline, Request};
use common::TestBed;
use mcp::*;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

const RUNS: usize = 30;
const FAN_OUT: usize = 32;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (median, p90) in ms.
fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[(v.len() * 9) / 10])
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn figure(name: &str, value: String) {
    println!("FIGURE {name}: {value}");
}

/// A server under test: how to spawn it and how to run `cmd` on the host.
struct Subject {
    name: &'static str,
    spawn: Box<dyn Fn() -> tokio::process::Command>,
    call: fn(&str) -> (String, Value),
}

async fn measure(s: &Subject) {
    // spawn -> initialize answered (the first spawn warms caches)
    let mut init = Vec::new();
    for i in 0..6 {
        let started = Instant::now();
        let (transport, _) = TokioChildProcess::builder((s.spawn)())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let client = TestClient::default().serve(transport).await.unwrap();
        if i > 0 {
            init.push(ms(started.elapsed()));
        }
        client.cancel().await.unwrap();
    }
    let (med, p90) = stats(init);
    figure(
        &format!("{} spawn to initialize answer", s.name),
        format!("median {med:.0} ms, p90 {p90:.0} ms (5 runs, warm)"),
    );

    let (transport, _) = TokioChildProcess::builder((s.spawn)())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = transport.id().unwrap();
    let client = TestClient::default().serve(transport).await.unwrap();
    let (tool, a) = (s.call)("true");
    let one = || {
        client.call_tool(CallToolRequestParams::new(tool.clone()).with_arguments(args(a.clone())))
    };
    for _ in 0..3 {
        let r = one().await.unwrap();
        assert_ne!(r.is_error, Some(true), "{}: {}", s.name, text(&r));
    }
    let mut lat = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        one().await.unwrap();
        lat.push(ms(started.elapsed()));
    }
    let (med, p90) = stats(lat);
    figure(
        &format!("{} tools/call `true` on the host", s.name),
        format!("median {med:.1} ms, p90 {p90:.1} ms ({RUNS} calls)"),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    figure(
        &format!("{} RSS idle", s.name),
        format!("{} MiB", rss_kib(pid) / 1024),
    );

    // 32 concurrent `sleep 2` on the host; peak RSS of the server process.
    let (tool, a) = (s.call)("sleep 2");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..FAN_OUT {
        let peer = client.peer().clone();
        let (tool, a) = (tool.clone(), a.clone());
        set.spawn(async move {
            peer.call_tool(CallToolRequestParams::new(tool).with_arguments(args(a)))
                .await
        });
    }
    let started = Instant::now();
    let mut peak = 0;
    let mut failed = Vec::new();
    while !set.is_empty() {
        peak = peak.max(rss_kib(pid));
        tokio::select! {
            r = set.join_next() => match r {
                Some(Ok(Ok(r))) if r.is_error == Some(true) => failed.push(text(&r)),
                Some(Ok(Err(e))) => failed.push(e.to_string()),
                _ => {}
            },
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
    let example = failed
        .first()
        .map(|f| format!(", e.g. {}", f.chars().take(160).collect::<String>()))
        .unwrap_or_default();
    figure(
        &format!("{} RSS peak during {FAN_OUT} concurrent calls", s.name),
        format!(
            "{} MiB (all answered in {:.1} s, {} of {FAN_OUT} failed{example})",
            peak / 1024,
            started.elapsed().as_secs_f64(),
            failed.len()
        ),
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "figures: run bench/mcp-figures.sh"]
async fn mcp_figures() {
    let Some(bed) = TestBed::start(1) else { return };
    let host = bed.hosts[0].addr.to_string();
    let home = bed.path("serve-home");

    // the library directly, and plain ssh, for reference
    let pipeline = Pipeline::new(bed.config()).unwrap();
    let request = || Request {
        node: Some("h0".into()),
        ..Request::new("true")
    };
    for _ in 0..3 {
        pipeline.run(request(), Hooks::default()).await;
    }
    let mut lat = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let r = pipeline.run(request(), Hooks::default()).await;
        assert!(!r.is_error(), "{}", r.message);
        lat.push(ms(started.elapsed()));
    }
    let (med, p90) = stats(lat);
    figure(
        "library Pipeline::run `true` on the host",
        format!("median {med:.1} ms, p90 {p90:.1} ms ({RUNS} runs)"),
    );
    let mut lat = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let out = std::process::Command::new("ssh")
            .arg("-F")
            .arg(&bed.ssh_config)
            .args(["-n", "-o", "ControlMaster=no", "-o", "ControlPath=none"])
            .arg(format!("root@{host}"))
            .arg("true")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lat.push(ms(started.elapsed()));
    }
    let (med, p90) = stats(lat);
    figure(
        "plain ssh `true` (new connection each time)",
        format!("median {med:.1} ms, p90 {p90:.1} ms ({RUNS} runs)"),
    );

    let config = bed.config_path.clone();
    let ours = Subject {
        name: "cluster-exec serve",
        spawn: Box::new(move || serve_command(&config, &home)),
        call: |c| ("offload_to".into(), json!({"command": c, "node_id": "h0"})),
    };
    measure(&ours).await;

    if let Some(script) = std::env::var_os("SSH_MCP") {
        let identity = bed.identity.clone();
        let home = bed.path("ssh-mcp-home");
        std::fs::create_dir_all(&home).unwrap();
        let theirs = Subject {
            name: "ssh-mcp",
            spawn: Box::new(move || {
                let mut c = tokio::process::Command::new("node");
                c.arg(&script)
                    .arg(format!("--host={host}"))
                    .args([
                        "--user=root",
                        "--group=dev",
                        "--disableApproval",
                        "--hostKeyMode=tofu",
                    ])
                    .arg(format!("--key={}", identity.display()))
                    .env("HOME", &home);
                c
            }),
            call: |c| ("run-command".into(), json!({"command": c})),
        };
        measure(&theirs).await;
    } else {
        println!("FIGURE ssh-mcp: skipped (set SSH_MCP to its build/index.js)");
    }
}
