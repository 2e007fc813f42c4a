//! The SSH executor against real sshd servers in network namespaces.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster_exec::config::{Config, LoginShell};
use cluster_exec::exec::{ExecError, Executor, RunOptions, RunResult, Stream};
use common::TestBed;
use tokio_util::sync::CancellationToken;

fn opts(timeout_secs: u64) -> RunOptions {
    RunOptions {
        timeout: Some(Duration::from_secs(timeout_secs)),
        ..RunOptions::default()
    }
}

async fn run(ex: &Executor, c: &Config, node: &str, cmd: &str) -> Result<RunResult, ExecError> {
    ex.run(c.resolve_node(node).unwrap(), cmd, opts(20)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_on_each_host_with_their_own_output_and_exit_codes() {
    let Some(bed) = TestBed::start(2) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    for (i, h) in bed.hosts.iter().enumerate() {
        let r = run(
            &ex,
            &c,
            &h.id,
            "ip -4 -o addr show; echo to-stderr >&2; exit 3",
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", h.id));
        assert!(r.stdout.contains(&h.addr.to_string()), "host {i}: {r:?}");
        assert_eq!(r.stderr, "to-stderr\n", "marker must be stripped: {r:?}");
        assert_eq!(r.exit_code, Some(3));
        assert_eq!(r.attempts, 1);
        assert_eq!(r.target.as_deref(), Some(h.addr.to_string().as_str()));
    }
    // Aliases resolve to nodes too; quoting survives the wrapper.
    let r = run(
        &ex,
        &c,
        "builder",
        r#"printf '%s|' "a b" 'it'"'"'s' \$HOME"#,
    )
    .await
    .unwrap();
    assert_eq!(r.stdout, "a b|it's|$HOME|");
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_four_concurrent_commands_to_one_host_all_succeed_despite_max_sessions() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Arc::new(Executor::new(&c).unwrap());
    let node = c.nodes[0].clone();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..24 {
        let ex = ex.clone();
        let node = node.clone();
        set.spawn(async move {
            ex.run(&node, &format!("sleep 1; echo job{i}"), opts(60))
                .await
                .map(|r| (i, r))
        });
    }
    let mut done = 0;
    while let Some(j) = set.join_next().await {
        let (i, r) = j
            .unwrap()
            .unwrap_or_else(|e| panic!("a fan-out command failed: {e}"));
        assert_eq!(r.exit_code, Some(0), "{r:?}");
        assert_eq!(r.stdout, format!("job{i}\n"));
        done += 1;
    }
    assert_eq!(done, 24);
    // 24 sessions need three control sockets of eight.
    let addr = bed.hosts[0].addr.to_string();
    for slot in 0..3 {
        let p = ex.control_path(&node, &addr, slot);
        assert!(ex.control_check(&p).await, "no master on slot {slot}");
    }
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_master_is_reused_by_the_second_command() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    let t0 = Instant::now();
    let r = run(&ex, &c, "h0", "true").await.unwrap();
    let first = t0.elapsed();
    assert!(
        !r.reused_connection,
        "the first command opens the connection"
    );
    let socket = ex.control_path(&c.nodes[0], &bed.hosts[0].addr.to_string(), 0);
    assert!(socket.exists(), "no control socket at {}", socket.display());
    assert!(ex.control_check(&socket).await, "ssh -O check failed");
    let t1 = Instant::now();
    let r = run(&ex, &c, "h0", "echo again; exit 3").await.unwrap();
    let second = t1.elapsed();
    // A session on the master's socket: no `ssh` process, same result shape.
    assert!(
        r.reused_connection,
        "the second command did not use the control socket"
    );
    assert_eq!((r.exit_code, r.stdout.as_str()), (Some(3), "again\n"));
    // Proved from the host side: one TCP connection served both commands.
    let out = bed.exec_in(
        0,
        &["ss", "-Htn", "state", "established", "( sport = :22 )"],
    );
    let conns = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(conns, 1, "expected one ssh connection, saw {conns}");
    eprintln!("first command {first:?}, second over the master {second:?}");
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portable_wrapper_for_other_login_shells_reports_the_same() {
    let Some(bed) = TestBed::start(1) else { return };
    let mut c = bed.config();
    c.nodes[0].login_shell = LoginShell::Other;
    let ex = Executor::new(&c).unwrap();
    for _ in 0..2 {
        let r = run(&ex, &c, "h0", "echo out; echo err >&2; exit 3")
            .await
            .unwrap();
        assert_eq!(
            (r.exit_code, r.stdout.as_str(), r.stderr.as_str()),
            (Some(3), "out\n", "err\n"),
            "{r:?}"
        );
        let r = run(&ex, &c, "h0", "sh -c 'kill -9 $$'").await.unwrap();
        assert_eq!(r.exit_code, Some(137), "{r:?}");
    }
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_went_away_is_replaced_and_the_command_still_runs() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    let socket = ex.control_path(&c.nodes[0], &bed.hosts[0].addr.to_string(), 0);
    assert!(!run(&ex, &c, "h0", "true").await.unwrap().reused_connection);
    assert!(run(&ex, &c, "h0", "true").await.unwrap().reused_connection);
    // Asked to exit: the socket is gone, the next command starts `ssh`.
    ex.close().await;
    let r = run(&ex, &c, "h0", "echo after-exit").await.unwrap();
    assert_eq!(
        (r.stdout.as_str(), r.reused_connection),
        ("after-exit\n", false)
    );
    // Killed outright: a stale socket file stays behind and refuses
    // connections; `ssh` replaces it.
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", &format!("^ssh: {} ", socket.display())])
        .status()
        .unwrap();
    assert!(
        killed.success(),
        "no master to kill at {}",
        socket.display()
    );
    let until = Instant::now() + Duration::from_secs(5);
    while ex.control_check(&socket).await {
        assert!(Instant::now() < until, "the master survived SIGKILL");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(socket.exists(), "expected a stale socket file");
    let r = run(&ex, &c, "h0", "echo after-kill").await.unwrap();
    assert_eq!(
        (r.stdout.as_str(), r.reused_connection),
        ("after-kill\n", false)
    );
    assert!(run(&ex, &c, "h0", "true").await.unwrap().reused_connection);
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_stops_answering_cannot_outlast_the_timeout() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    let socket = ex.control_path(&c.nodes[0], &bed.hosts[0].addr.to_string(), 0);
    run(&ex, &c, "h0", "true").await.unwrap();
    let signal = |sig: &str| {
        let ok = std::process::Command::new("pkill")
            .args([sig, "-f", &format!("^ssh: {} ", socket.display())])
            .status()
            .unwrap()
            .success();
        assert!(ok, "no master at {}", socket.display());
    };
    // Stopped, the master still has its socket (the kernel accepts the
    // connection) but never answers.
    signal("-STOP");
    let t = Instant::now();
    let e = ex.run(&c.nodes[0], "echo never", opts(2)).await;
    let took = t.elapsed();
    signal("-CONT");
    match e {
        Err(ExecError::TimedOut { .. }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let r = run(&ex, &c, "h0", "echo again").await.unwrap();
    assert_eq!((r.stdout.as_str(), r.reused_connection), ("again\n", true));
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_remote_process_group() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    // A child in the background and one in the foreground: both must die.
    let cmd = "sleep 301 & sleep 300; echo never";
    let node = c.resolve_node("h0").unwrap();
    // First through a new `ssh` (which becomes the master), then as a
    // session on the master's socket.
    for round in 0..2 {
        // Poll until both sleeps show up on the host (the machine is slow under
        // parallel tests), well before the deadline.
        let check = async {
            let until = Instant::now() + Duration::from_millis(2500);
            loop {
                let seen = (
                    bed.pgrep(0, "^sleep 300$").len(),
                    bed.pgrep(0, "^sleep 301$").len(),
                );
                if seen == (1, 1) || Instant::now() > until {
                    return seen;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let t = Instant::now();
        let (r, seen) = tokio::join!(ex.run(node, cmd, opts(3)), check);
        let r = r.unwrap();
        assert_eq!(r.reused_connection, round == 1, "{r:?}");
        assert_eq!(seen, (1, 1), "the command was not running on the host");
        assert!(r.timed_out, "{r:?}");
        assert_eq!(r.exit_code, None);
        assert!(!r.stdout.contains("never"));
        assert!(
            r.kill.as_deref().unwrap_or("").starts_with("killed"),
            "{r:?}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "took {:?}",
            t.elapsed()
        );
        let until = Instant::now() + Duration::from_secs(3);
        loop {
            let left = (bed.pgrep(0, "^sleep 300$"), bed.pgrep(0, "^sleep 301$"));
            if left.0.is_empty() && left.1.is_empty() {
                break;
            }
            assert!(
                Instant::now() < until,
                "still running on the host: {left:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_kills_the_remote_command() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    for round in 0..2 {
        let cancel = CancellationToken::new();
        let o = RunOptions {
            timeout: Some(Duration::from_secs(30)),
            cancel: cancel.clone(),
            on_output: None,
        };
        let canceller = async {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            cancel.cancel();
        };
        let (r, ()) = tokio::join!(ex.run(&c.nodes[0], "echo started; sleep 302", o), canceller);
        let r = r.unwrap();
        assert!(r.cancelled && !r.timed_out, "{r:?}");
        assert_eq!(
            (r.stdout.as_str(), r.reused_connection),
            ("started\n", round == 1)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(bed.pgrep(0, "^sleep 302$").is_empty(), "still running");
    }
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_over_the_cap_keeps_head_and_tail_and_the_full_count() {
    let Some(bed) = TestBed::start(1) else { return };
    let mut c = bed.config();
    c.limits.output_cap_bytes = 1000;
    let ex = Executor::new(&c).unwrap();
    // Through a new `ssh`, then as a session on its master: every byte
    // counted on both, including what arrives after the exit status.
    for round in 0..2 {
        let r = run(&ex, &c, "h0", "seq 1 100000; seq 1 10 >&2")
            .await
            .unwrap();
        assert_eq!(r.reused_connection, round == 1);
        let full: usize = (1..=100000).map(|i: u32| i.to_string().len() + 1).sum();
        assert_eq!(r.stdout_bytes, full as u64);
        assert!(r.stdout_truncated);
        assert!(r.stdout.starts_with("1\n2\n3\n"), "{}", &r.stdout[..40]);
        assert!(r.stdout.ends_with("99999\n100000\n"));
        assert!(r.stdout.len() < 1200);
        assert!(!r.stderr_truncated);
        assert_eq!(r.stderr_bytes, 21);
    }
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_own_redirections_never_carry_a_marker() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    for round in 0..2 {
        let r = run(&ex, &c, "h0", "exec 2>&1; echo out; echo err >&2; exit 4")
            .await
            .unwrap();
        assert_eq!(
            (r.stdout.as_str(), r.stderr.as_str(), r.exit_code),
            ("out\nerr\n", "", Some(4)),
            "{r:?}"
        );
        assert_eq!(r.reused_connection, round == 1);
    }
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_output_is_decoded_lossily_and_flagged() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    let r = run(&ex, &c, "h0", r"printf 'ok\377\376x'; printf 'fine ✓' >&2")
        .await
        .unwrap();
    assert!(r.stdout_lossy);
    assert_eq!(r.stdout, "ok\u{fffd}\u{fffd}x");
    assert!(!r.stderr_lossy);
    assert_eq!(r.stderr, "fine ✓");
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_output_is_streamed_per_stream() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let o = RunOptions {
        timeout: Some(Duration::from_secs(20)),
        on_output: Some(tx),
        ..RunOptions::default()
    };
    let r = ex
        .run(&c.nodes[0], "echo one; sleep 0.3; echo two >&2", o)
        .await
        .unwrap();
    assert_eq!(r.exit_code, Some(0));
    let mut out = String::new();
    let mut err = String::new();
    while let Ok(chunk) = rx.try_recv() {
        assert_eq!(chunk.node, "h0");
        match chunk.stream {
            Stream::Stdout => out.push_str(&chunk.text()),
            Stream::Stderr => err.push_str(&chunk.text()),
        }
    }
    assert_eq!((out.as_str(), err.as_str()), ("one\n", "two\n"));
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_sshd_is_unreachable_with_the_reason() {
    let Some(mut bed) = TestBed::start(1) else {
        return;
    };
    bed.stop_sshd(0);
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    let e = run(&ex, &c, "h0", "true").await.unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, ExecError::Unreachable { attempts: 2, .. }),
        "{msg}"
    );
    assert!(msg.contains("Connection refused"), "{msg}");
    assert!(msg.contains("node h0"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_failures_are_retried_until_the_host_answers() {
    let Some(mut bed) = TestBed::start(1) else {
        return;
    };
    bed.stop_sshd(0);
    let mut c = bed.config();
    c.ssh.retries = 5;
    let ex = Executor::new(&c).unwrap();
    let node = c.nodes[0].clone();
    let marker = bed.path("ran.txt");
    let cmd = format!("echo x >> {}", marker.display());
    let runner = ex.run(&node, &cmd, opts(30));
    let restarter = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        tokio::task::block_in_place(|| bed.start_sshd(0));
    };
    let (r, ()) = tokio::join!(runner, restarter);
    let r = r.unwrap();
    assert!(r.attempts >= 2, "{r:?}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "x\n");
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_command_is_never_rerun_even_when_it_exits_255() {
    let Some(bed) = TestBed::start(1) else { return };
    let mut c = bed.config();
    c.ssh.retries = 3;
    let ex = Executor::new(&c).unwrap();
    let marker = bed.path("ran255.txt");
    let cmd = format!("echo x >> {}; exit 255", marker.display());
    let r = run(&ex, &c, "h0", &cmd).await.unwrap();
    assert_eq!(r.exit_code, Some(255));
    assert_eq!(r.attempts, 1);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "x\n");
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_host_key_is_refused_with_a_clear_message() {
    let Some(mut bed) = TestBed::start(1) else {
        return;
    };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    run(&ex, &c, "h0", "true").await.unwrap();
    ex.close().await;
    bed.regenerate_host_key(0);
    let marker = bed.path("hostkey.txt");
    let e = run(&ex, &c, "h0", &format!("touch {}", marker.display()))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ExecError::HostKeyChanged { .. }), "{msg}");
    assert!(msg.contains("host key for h0 changed"), "{msg}");
    assert!(msg.contains("ssh-keygen -R"), "{msg}");
    assert!(!marker.exists(), "the command ran despite the changed key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_link_mid_command_is_reported_as_connection_lost() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    // Through a new `ssh`, then (after a command that opens a new master)
    // as a session on the master's socket.
    for warm in [false, true] {
        if warm {
            run(&ex, &c, "h0", "true").await.unwrap();
        }
        // Cut only once the command has visibly started on the host.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let o = RunOptions {
            timeout: Some(Duration::from_secs(25)),
            on_output: Some(tx),
            ..RunOptions::default()
        };
        let cutter = async {
            while let Some(chunk) = rx.recv().await {
                if chunk.text().contains("before") {
                    bed.cut_link(0);
                    break;
                }
            }
        };
        let t = Instant::now();
        let (r, ()) = tokio::join!(
            ex.run(&c.nodes[0], "echo before; sleep 303; echo after", o),
            cutter
        );
        let took = t.elapsed();
        bed.restore_link(0);
        match r {
            Err(ExecError::ConnectionLost { partial, why, .. }) => {
                assert_eq!(partial.stdout, "before\n", "{why}");
                assert_eq!(partial.reused_connection, warm, "{why}");
            }
            other => panic!("expected ConnectionLost, got {other:?}"),
        }
        // keepalive_interval_secs = 1 in the bed: noticed in seconds, not 90 s.
        assert!(took < Duration::from_secs(15), "took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_guard_honours_the_allow_list_at_connect_time() {
    let Some(bed) = TestBed::start(1) else { return };
    let mut c = bed.config();
    c.network.allow = vec!["10.0.0.0/8".parse().unwrap()];
    let ex = Executor::new(&c).unwrap();
    let e = run(&ex, &c, "h0", "true").await.unwrap_err();
    assert!(matches!(e, ExecError::Blocked(_)), "{e}");
    assert!(e.to_string().contains("not in [network] allow"), "{e}");
    c.network.allow = vec![format!("{}/30", bed.hosts[0].addr).parse().unwrap()];
    let ex = Executor::new(&c).unwrap();
    assert_eq!(run(&ex, &c, "h0", "true").await.unwrap().exit_code, Some(0));
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_figures_for_live_nodes_and_why_for_dead_ones() {
    let Some(mut bed) = TestBed::start(2) else {
        return;
    };
    bed.stop_sshd(1);
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    let s = ex.status(&c.nodes, true).await;
    assert_eq!(s.len(), 2);
    let (up, down) = (&s[0], &s[1]);
    assert!(up.reachable, "{up:?}");
    assert!(
        up.cores.unwrap() >= 1 && up.load_average.is_some(),
        "{up:?}"
    );
    assert!(
        up.memory_used_percent.is_some() && up.latency_ms.is_some(),
        "{up:?}"
    );
    assert_eq!(up.kernel.as_deref(), Some("Linux"));
    assert!(!down.reachable);
    assert!(
        down.why
            .as_deref()
            .unwrap_or("")
            .contains("Connection refused"),
        "{down:?}"
    );
    let again = ex.status(&c.nodes[..1], false).await;
    assert!(again[0].cached);
    let load = again[0].to_load();
    assert!(load.reachable);
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_death_is_exit_128_plus_n_not_a_lost_connection() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    // The first command opens the connection through `ssh`, the others
    // use its control socket: both paths report the same.
    for _ in 0..2 {
        let r = run(&ex, &c, "h0", "echo hi; sh -c 'kill -9 $$'")
            .await
            .unwrap();
        assert_eq!(
            (r.exit_code, r.stdout.as_str()),
            (Some(137), "hi\n"),
            "{r:?}"
        );
    }
    // A command that replaces the shell leaves no end marker; its own
    // status still comes back.
    let r = run(&ex, &c, "h0", "exec sh -c 'exit 9'").await.unwrap();
    assert_eq!((r.exit_code, r.reused_connection), (Some(9), true), "{r:?}");
    // A command that kills its own login shell leaves no status at all:
    // never reported as a success.
    let e = run(&ex, &c, "h0", "kill -9 $$").await.unwrap_err();
    assert!(matches!(e, ExecError::ConnectionLost { .. }), "{e}");
    let r = run(&ex, &c, "h0", "printf 'no newline' >&2; exit 255")
        .await
        .unwrap();
    assert_eq!(
        (r.exit_code, r.stderr.as_str()),
        (Some(255), "no newline"),
        "{r:?}"
    );
    ex.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_hosts_can_write_only_inside_the_bed() {
    let Some(bed) = TestBed::start(1) else { return };
    let c = bed.config();
    let ex = Executor::new(&c).unwrap();
    // A harmless write outside the bed must fail: the hosts share this
    // machine's file system, so the bed makes it read-only for them.
    let r = run(&ex, &c, "h0", "touch /cetb-escape-probe")
        .await
        .unwrap();
    let escaped = std::path::Path::new("/cetb-escape-probe").exists();
    if escaped {
        let _ = std::fs::remove_file("/cetb-escape-probe");
    }
    assert!(!escaped && r.exit_code != Some(0), "{r:?}");
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    let inside = bed.path("inside.txt");
    let r = run(&ex, &c, "h0", &format!("echo ok > {}", inside.display()))
        .await
        .unwrap();
    assert_eq!(r.exit_code, Some(0), "{r:?}");
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), "ok\n");
    let seen = bed.exec_in(0, &["cat", inside.to_str().unwrap()]);
    assert_eq!(seen.stdout, b"ok\n");
    ex.close().await;
}
