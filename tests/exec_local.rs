//! The local transport: same results as ssh, process group killed on stop.

use std::time::{Duration, Instant};

use cluster_exec::config::{Config, Env};
use cluster_exec::exec::{Executor, RunOptions};
use tokio_util::sync::CancellationToken;

fn local() -> Config {
    Config::embedded(&Env::default()).unwrap()
}

fn opts(secs: u64) -> RunOptions {
    RunOptions {
        timeout: Some(Duration::from_secs(secs)),
        ..RunOptions::default()
    }
}

fn pgrep(pattern: &str) -> Vec<String> {
    let out = std::process::Command::new("pgrep")
        .args(["-a", "-f", pattern])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("pgrep"))
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn local_commands_report_exit_code_and_separate_streams() {
    let c = local();
    let ex = Executor::new(&c).unwrap();
    let r = ex
        .run(&c.nodes[0], "echo out; echo err >&2; exit 4", opts(10))
        .await
        .unwrap();
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));
    assert_eq!(r.exit_code, Some(4));
    assert_eq!(r.node, "local");
}

#[tokio::test]
async fn local_stdin_is_not_inherited() {
    let c = local();
    let ex = Executor::new(&c).unwrap();
    let r = ex
        .run(&c.nodes[0], "cat; echo done", opts(10))
        .await
        .unwrap();
    assert_eq!(r.stdout, "done\n");
}

#[tokio::test]
async fn local_timeout_kills_the_whole_process_group() {
    let c = local();
    let ex = Executor::new(&c).unwrap();
    let t = Instant::now();
    let r = ex
        .run(&c.nodes[0], "sleep 311 & sleep 312; echo never", opts(1))
        .await
        .unwrap();
    assert!(r.timed_out && r.exit_code.is_none(), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(6));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(pgrep("sleep 311").is_empty() && pgrep("sleep 312").is_empty());
}

#[tokio::test]
async fn local_cancel_stops_the_command() {
    let c = local();
    let ex = Executor::new(&c).unwrap();
    let cancel = CancellationToken::new();
    let o = RunOptions {
        timeout: Some(Duration::from_secs(30)),
        cancel: cancel.clone(),
        on_output: None,
    };
    let stopper = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    };
    let (r, ()) = tokio::join!(ex.run(&c.nodes[0], "sleep 313", o), stopper);
    let r = r.unwrap();
    assert!(r.cancelled, "{r:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(pgrep("sleep 313").is_empty());
}

#[tokio::test]
async fn per_node_max_tasks_bounds_concurrency() {
    let mut c = local();
    c.nodes[0].max_tasks = 2;
    let ex = std::sync::Arc::new(Executor::new(&c).unwrap());
    let node = c.nodes[0].clone();
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (ex, node) = (ex.clone(), node.clone());
        set.spawn(async move { ex.run(&node, "sleep 0.5", opts(10)).await });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(ex.running_tasks("local"), 2);
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap().exit_code, Some(0));
    }
    // Four half-second commands, two at a time: at least a second.
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(ex.running_tasks("local"), 0);
}

#[tokio::test]
async fn oversized_and_nul_commands_are_refused_before_running() {
    let mut c = local();
    c.limits.max_command_bytes = 10;
    let ex = Executor::new(&c).unwrap();
    let e = ex
        .run(&c.nodes[0], "echo 12345678901", opts(5))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("max_command_bytes"), "{e}");
    let e = ex.run(&c.nodes[0], "a\0b", opts(5)).await.unwrap_err();
    assert!(e.to_string().contains("NUL"), "{e}");
}

#[tokio::test]
async fn local_status_reports_this_machine() {
    let c = local();
    let ex = Executor::new(&c).unwrap();
    let s = ex.status(&c.nodes, false).await;
    assert!(s[0].reachable && s[0].cores.unwrap() >= 1, "{:?}", s[0]);
}
