//! Execution figures against real sshd test hosts (network namespaces; needs
//! root, `ip` and `sshd`). Run: `cargo bench -p cluster-exec --bench exec_figures`.
//!
//! 1. Per-command overhead of `cluster-exec run` over a plain `ssh` with the
//!    same options and a warm ControlMaster (median of N runs each).
//! 2. A repeated command over a warm ControlMaster against a fresh connection
//!    each time (plain ssh, same options otherwise).
//! 3. 32 commands of `sleep 0.5` fanned out over 4 hosts against one.
//!
//! The machine is noisy: each figure is a ratio of medians measured in the
//! same run, interleaving the two sides.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster_exec::exec::ssh_args::{self, Master};
use cluster_exec::exec::{Hooks, ParallelOptions, Pipeline, Request, Status};
use cluster_exec::net::Target;

const RUNS: usize = 60;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let took = start.elapsed();
    assert!(status.success(), "{cmd:?} failed");
    took
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let Some(bed) = common::TestBed::start(4) else {
        eprintln!("exec_figures: skipped (no test bed: needs root, ip and sshd)");
        return;
    };
    let config = bed.config();
    let node = config.nodes[0].clone();
    let target = Target {
        node: node.id.clone(),
        host: node.host.clone(),
        addr: node.host.parse().unwrap(),
        port: node.port,
    };
    let plain_dir = bed.path("plain-ctl");
    std::fs::create_dir_all(&plain_dir).unwrap();
    let plain = |master: bool| {
        let mut settings = config.ssh.clone();
        settings.control_persist_secs = 120;
        let control = if master {
            plain_dir.join("cm")
        } else {
            "none".into()
        };
        let mut args = ssh_args::build(&settings, &node, &target, &control, Master::Auto, "true");
        if !master {
            // Same options, but never a master: a new connection each time.
            let pos = args.iter().position(|a| a == "ControlMaster=auto").unwrap();
            args[pos] = "ControlMaster=no".into();
        }
        let mut cmd = Command::new("ssh");
        cmd.args(args);
        cmd
    };
    // The same configuration with audit flushes moved off the request path
    // (`[audit] sync = "background"`), to show what the default's flush costs.
    let background_path = bed.path("cluster-background.toml");
    let text = std::fs::read_to_string(&bed.config_path).unwrap();
    assert!(
        text.contains("[audit]\n"),
        "the bed's config has no [audit] table"
    );
    std::fs::write(
        &background_path,
        text.replacen("[audit]\n", "[audit]\nsync = \"background\"\n", 1),
    )
    .unwrap();
    let cli_with = |config: &std::path::Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cluster-exec"));
        cmd.args(["run", "--node", &node.id, "--", "true"])
            .env("CLUSTER_CONFIG", config)
            .env("XDG_CACHE_HOME", bed.path("cache"))
            .env("XDG_STATE_HOME", bed.path("state"));
        cmd
    };
    let cli = || cli_with(&bed.config_path);
    // Warm both masters and the plugin cache.
    for _ in 0..3 {
        timed(&mut plain(true));
        timed(&mut cli());
    }
    let (mut ssh_warm, mut run_warm, mut ssh_fresh) = (Vec::new(), Vec::new(), Vec::new());
    let mut run_background = Vec::new();
    for _ in 0..RUNS {
        ssh_warm.push(timed(&mut plain(true)));
        run_warm.push(timed(&mut cli()));
        run_background.push(timed(&mut cli_with(&background_path)));
        ssh_fresh.push(timed(&mut plain(false)));
    }
    let (ssh_warm, run_warm, ssh_fresh) = (median(ssh_warm), median(run_warm), median(ssh_fresh));
    let run_background = median(run_background);

    // The library directly, in one process (no process start, no plugin load).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pipeline = Pipeline::new(config.clone()).unwrap();
    let one = |command: &str, node: &str| {
        let mut r = Request::new(command);
        r.node = Some(node.to_string());
        r
    };
    let mut lib_warm = Vec::new();
    for i in 0..RUNS + 3 {
        let start = Instant::now();
        let report = rt.block_on(pipeline.run(one("true", &node.id), Hooks::default()));
        assert_eq!(report.status, Status::Succeeded, "{}", report.message);
        if i >= 3 {
            lib_warm.push(start.elapsed());
        }
    }
    let lib_warm = median(lib_warm);

    // Fan-out: 32 x sleep 0.5 over 4 hosts, against one sleep 0.5.
    let mut single = Vec::new();
    let mut fanned = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let report = rt.block_on(pipeline.run(one("sleep 0.5", &node.id), Hooks::default()));
        assert_eq!(report.status, Status::Succeeded, "{}", report.message);
        single.push(start.elapsed());
        let requests = (0..32)
            .map(|i| one("sleep 0.5", &format!("h{}", i % 4)))
            .collect();
        let options = ParallelOptions {
            max_parallel: 32,
            fail_fast: false,
        };
        let start = Instant::now();
        let report = rt.block_on(pipeline.parallel(requests, options, Hooks::default()));
        assert_eq!(report.summary.succeeded, 32, "{}", report.message);
        fanned.push(start.elapsed());
    }
    let (single, fanned) = (median(single), median(fanned));

    let lines = [
        "| figure | measured | target |".to_string(),
        "|---|---|---|".to_string(),
        format!(
            "| plain `ssh true`, warm ControlMaster (median of {RUNS}) | {:.1} ms | |",
            ms(ssh_warm)
        ),
        format!(
            "| `cluster-exec run -- true`, warm ControlMaster | {:.1} ms | |",
            ms(run_warm)
        ),
        format!(
            "| overhead of `cluster-exec run` over plain ssh | {:+.1} % | at most 10 % |",
            (ms(run_warm) / ms(ssh_warm) - 1.0) * 100.0
        ),
        format!(
            "| `cluster-exec run -- true` with `[audit] sync = \"background\"` | {:.1} ms ({:+.1} %) | |",
            ms(run_background),
            (ms(run_background) / ms(ssh_warm) - 1.0) * 100.0
        ),
        format!(
            "| `Pipeline::run(\"true\")` in-process (library) | {:.1} ms | |",
            ms(lib_warm)
        ),
        format!(
            "| plain `ssh true`, fresh connection each time | {:.1} ms | |",
            ms(ssh_fresh)
        ),
        format!(
            "| fresh connection / warm ControlMaster | {:.1}x | at least 3x |",
            ms(ssh_fresh) / ms(ssh_warm)
        ),
        format!(
            "| one `sleep 0.5` through the pipeline | {:.0} ms | |",
            ms(single)
        ),
        format!("| 32 x `sleep 0.5` over 4 hosts | {:.0} ms | |", ms(fanned)),
        format!(
            "| fan-out / single | {:.2}x | at most 1.5x |",
            ms(fanned) / ms(single)
        ),
    ];
    let table = lines.join("\n");
    println!("{table}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/figures");
    std::fs::create_dir_all(&out).ok();
    std::fs::write(out.join("exec.md"), format!("{table}\n")).ok();
}
