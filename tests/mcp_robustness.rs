//! Bad input never stops the server: wrong types, unknown tools, empty
//! commands, NUL bytes, a 10 MiB command, malformed JSON lines, 200
//! concurrent calls. Each gets a clear error and the next request is served.
//! And the server leaves promptly, killing what it runs, when stdin closes.

#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/plugins.rs"]
mod plugins;

use std::process::Stdio;
use std::time::{Duration, Instant};

use mcp::*;
use rmcp::ServiceError;
use rmcp::model::{CallToolRequestParams, ErrorCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test]
async fn bad_arguments_get_clear_errors_and_the_next_call_is_served() {
    let _t = timer("bad_arguments_get_clear_errors_and_the_next_call_is_served");
    let home = home("");
    let client = start(&home, TestClient::default()).await;

    match call(&client, "no_such_tool", json!({})).await {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
            assert!(e.message.contains("tool not found"), "{e:?}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }

    // Wrong types and shapes: rmcp 3.11 answers with isError tool results
    // (SEP-1303), which the model can read and fix.
    for (tool, a, expect) in [
        ("cluster_bash", json!({"command": 5}), "invalid type"),
        (
            "cluster_bash",
            json!({"command": "true", "timeout_secs": "x"}),
            "invalid type",
        ),
        (
            "cluster_bash",
            json!({"command": "true", "timeout_secs": -1}),
            "invalid value",
        ),
        ("cluster_bash", json!({}), "missing field `command`"),
        (
            "cluster_bash",
            json!({"command": "true", "bogus": 1}),
            "unknown field",
        ),
        (
            "offload_to",
            json!({"command": "true"}),
            "missing field `node_id`",
        ),
        (
            "parallel_execute",
            json!({"commands": "echo"}),
            "invalid type",
        ),
        (
            "parallel_execute",
            json!({"commands": [42]}),
            "did not match any variant",
        ),
        ("cluster_status", json!({"refresh": "yes"}), "invalid type"),
    ] {
        let r = call(&client, tool, a.clone()).await.unwrap();
        assert_eq!(r.is_error, Some(true), "{a}");
        let t = text(&r);
        assert!(t.contains(expect), "{tool} {a}: {t}");
    }

    // Right types, unusable values: refused before the pipeline, with a hint.
    for (tool, a, expect) in [
        ("cluster_bash", json!({"command": ""}), "`command` is empty"),
        (
            "cluster_bash",
            json!({"command": "   "}),
            "`command` is empty",
        ),
        (
            "cluster_bash",
            json!({"command": "true", "timeout_secs": 0}),
            "out of range",
        ),
        (
            "offload_to",
            json!({"command": "true", "node_id": ""}),
            "`node_id` is empty",
        ),
        (
            "parallel_execute",
            json!({"commands": []}),
            "`commands` is empty",
        ),
        (
            "parallel_execute",
            json!({"commands": ["true", ""]}),
            "commands[1]",
        ),
        (
            "parallel_execute",
            json!({"commands": ["true"], "max_parallel": 0}),
            "max_parallel",
        ),
        ("explain", json!({"command": ""}), "`command` is empty"),
    ] {
        let r = call(&client, tool, a.clone()).await.unwrap();
        assert_eq!(r.is_error, Some(true), "{a}");
        let t = text(&r);
        assert!(t.contains(expect), "{tool} {a}: {t}");
    }

    // NUL bytes and a 10 MiB command reach the pipeline, which refuses to
    // run them and says why.
    let r = call(&client, "cluster_bash", json!({"command": "echo a\u{0}b"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    let s = structured(&r);
    assert!(s["status"] == "denied" || s["status"] == "error", "{s}");
    let msg = s["message"].as_str().unwrap();
    assert!(
        msg.contains("NUL") || msg.contains("unsupported character"),
        "{s}"
    );
    assert!(s["result"].is_null());

    let huge = format!("echo {}", "x".repeat(10 * 1024 * 1024));
    let started = Instant::now();
    let r = call(&client, "cluster_bash", json!({"command": huge}))
        .await
        .unwrap();
    eprintln!("10 MiB command answered in {:?}", started.elapsed());
    assert_eq!(r.is_error, Some(true));
    let s = structured(&r);
    assert!(s["result"].is_null(), "a 10 MiB command ran");
    assert!(
        s["command"].as_str().unwrap().contains("bytes in all"),
        "echo is shortened"
    );
    eprintln!("10 MiB answer: {}", s["message"]);

    let r = call(
        &client,
        "cluster_bash",
        json!({"command": "echo still-alive"}),
    )
    .await
    .unwrap();
    assert_eq!(structured(&r)["result"]["stdout"], "still-alive\n");
    client.cancel().await.unwrap();
    home.assert_audit_verifies();
}

#[tokio::test]
async fn two_hundred_concurrent_calls_are_all_answered() {
    let _t = timer("two_hundred_concurrent_calls_are_all_answered");
    // Plugin deadlines are wall-clock time: with up to 128 shells running on
    // a 2-core machine a call can wait longer than the default 100 ms for a
    // core, and is then denied (fail closed). This test is about every call
    // being answered, so it gives the plugins room.
    let home = home_with("deadline_ms = 5000", "");
    let client = start(&home, TestClient::default()).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..200 {
        let peer = client.peer().clone();
        set.spawn(async move {
            let (tool, a) = match i % 4 {
                0 => ("cluster_bash", json!({"command": format!("echo {i}")})),
                1 => (
                    "offload_to",
                    json!({"command": format!("echo {i}"), "node_id": "mac"}),
                ),
                2 => ("explain", json!({"command": format!("echo {i}")})),
                _ => ("cluster_bash", json!({"command": ""})),
            };
            let r = peer
                .call_tool(CallToolRequestParams::new(tool).with_arguments(args(a)))
                .await
                .unwrap();
            (i, r)
        });
    }
    let mut n = 0;
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.unwrap();
        match i % 4 {
            0 | 1 => assert_eq!(
                structured(&r)["result"]["stdout"],
                format!("{i}\n"),
                "{i}: {}",
                structured(&r)
            ),
            2 => assert_eq!(structured(&r)["decision"]["decision"], "allow"),
            _ => assert_eq!(r.is_error, Some(true)),
        }
        n += 1;
    }
    assert_eq!(n, 200);
    client.cancel().await.unwrap();
    assert_eq!(home.audit_of("request").len(), 100);
    home.assert_audit_verifies();
}

/// The server on raw pipes, for what rmcp's client cannot send.
struct Raw {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    out: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Raw {
    async fn spawn(home: &Home) -> Raw {
        let mut child = home
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut raw = Raw { child, stdin, out };
        raw.send(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}).to_string()).await;
        let init = raw.recv().await;
        assert_eq!(init["id"], 1);
        assert!(init["result"]["protocolVersion"].is_string());
        raw.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await;
        raw
    }

    async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.out.next_line())
            .await
            .expect("an answer in time")
            .unwrap()
            .expect("stdout open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {line}"))
    }
}

#[tokio::test]
async fn malformed_json_lines_get_json_rpc_errors_and_the_server_keeps_serving() {
    let _t = timer("malformed_json_lines_get_json_rpc_errors_and_the_server_keeps_serving");
    let home = home("");
    let mut raw = Raw::spawn(&home).await;

    raw.send("this is not json").await;
    let e = raw.recv().await;
    assert_eq!(e["error"]["code"], -32700, "{e}");
    assert!(e["id"].is_null());

    raw.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","par"#)
        .await;
    assert_eq!(raw.recv().await["error"]["code"], -32700);

    raw.send(r#"{"hello":"world"}"#).await;
    assert_eq!(raw.recv().await["error"]["code"], -32600);

    raw.send(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"cluster_bash","arguments":"oops"}}"#).await;
    let e = raw.recv().await;
    assert_eq!(e["id"], 3);
    assert_eq!(e["error"]["code"], -32602, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed params"),
        "{e}"
    );

    let oversized = format!("{{\"pad\":\"{}\"}}", "x".repeat(17 * 1024 * 1024));
    raw.send(&oversized).await;
    let e = raw.recv().await;
    assert_eq!(e["error"]["code"], -32600, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("exceeds"));

    raw.send(r#"{"jsonrpc":"2.0","id":5,"method":"no/such","params":{}}"#)
        .await;
    assert_eq!(raw.recv().await["error"]["code"], -32601);

    raw.send(r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"cluster_bash","arguments":{"command":"echo ok"}}}"#).await;
    let r = raw.recv().await;
    assert_eq!(r["id"], 6);
    assert_eq!(r["result"]["structuredContent"]["result"]["stdout"], "ok\n");
}

#[tokio::test]
async fn stdin_close_stops_the_server_promptly_and_kills_running_commands() {
    let _t = timer("stdin_close_stops_the_server_promptly_and_kills_running_commands");
    let home = home("");
    let mut raw = Raw::spawn(&home).await;
    let marker = unique("eof");
    let pidfile = home.dir.path().join("pids");
    let request = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"cluster_bash","arguments":{"command": sleeper(&pidfile, &marker)}}});
    raw.send(&request.to_string()).await;
    let pids = wait_pids(&pidfile).await;
    assert!(pids.iter().all(|p| alive(*p)));

    let closed = Instant::now();
    drop(raw.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(5), raw.child.wait())
        .await
        .expect("the server exits within 5 s of stdin's end")
        .unwrap();
    eprintln!(
        "server exited ({status}) {:?} after stdin closed",
        closed.elapsed()
    );
    assert!(status.success());
    assert_gone(&pids, &marker).await;
    let cancelled = home.audit_of("cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    home.assert_audit_verifies();
}

#[tokio::test]
async fn sigterm_stops_the_server_and_kills_running_commands() {
    let _t = timer("sigterm_stops_the_server_and_kills_running_commands");
    let home = home("");
    let mut raw = Raw::spawn(&home).await;
    let marker = unique("term");
    let pidfile = home.dir.path().join("pids");
    let request = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"cluster_bash","arguments":{"command": sleeper(&pidfile, &marker)}}});
    raw.send(&request.to_string()).await;
    let pids = wait_pids(&pidfile).await;
    let server = raw.child.id().unwrap() as i32;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(server, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(8), raw.child.wait())
        .await
        .expect("the server exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    assert_gone(&pids, &marker).await;
    assert_eq!(home.audit_of("cancelled").len(), 1);
    home.assert_audit_verifies();
}
