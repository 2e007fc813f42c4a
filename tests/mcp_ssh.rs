//! The MCP server against real sshd test hosts in network namespaces
//! (tests/common/testbed.rs): commands run on each host, routing by
//! requirements, fan-out across hosts, a denial proven from the host's side,
//! and a cancelled call whose remote process tree is gone when looked for
//! from inside the namespace. Skips (prints why) unless root with `ip` and
//! `sshd`; fails instead under CI=true.

#[path = "common/mod.rs"]
mod common;
#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/plugins.rs"]
mod plugins;

use std::time::{Duration, Instant};

use common::TestBed;
use mcp::*;
use rmcp::model::{CallToolRequest, CallToolRequestParams, ClientRequest};
use rmcp::service::PeerRequestOptions;
use serde_json::json;

async fn serve(bed: &TestBed, client: TestClient) -> Client {
    start_command(
        serve_command(&bed.config_path, &bed.path("serve-home")),
        client,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_run_route_and_fan_out_on_ssh_hosts() {
    let _t = timer("tools_run_route_and_fan_out_on_ssh_hosts");
    let Some(bed) = TestBed::start(2) else { return };
    let client = serve(&bed, TestClient::default()).await;
    let addr = |i: usize| bed.hosts[i].addr.to_string();

    // offload_to by id and by alias: the command sees the host's address.
    for (name, i) in [("h0", 0), ("researcher", 1)] {
        let r = call(
            &client,
            "offload_to",
            json!({"command": "ip -4 -o addr show", "node_id": name}),
        )
        .await
        .unwrap();
        assert_eq!(r.is_error, Some(false), "{}", text(&r));
        let s = structured(&r);
        assert_eq!(s["node"], format!("h{i}"));
        assert!(
            s["result"]["stdout"].as_str().unwrap().contains(&addr(i)),
            "{s}"
        );
        assert!(
            s["result"]["target"].as_str().unwrap().contains(&addr(i)),
            "{s}"
        );
    }
    // cluster_bash by requirements: h1 is the aarch64 host with python.
    for a in [
        json!({"command": "ip -4 -o addr show", "requires_arch": "aarch64"}),
        json!({"command": "ip -4 -o addr show", "requires_capabilities": ["python"]}),
    ] {
        let r = call(&client, "cluster_bash", a.clone()).await.unwrap();
        assert_eq!(r.is_error, Some(false), "{a}: {}", text(&r));
        assert_eq!(structured(&r)["node"], "h1", "{a}");
        assert!(
            structured(&r)["result"]["stdout"]
                .as_str()
                .unwrap()
                .contains(&addr(1))
        );
    }
    let r = call(
        &client,
        "offload_to",
        json!({"command": "exit 3", "node_id": "h0"}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(structured(&r)["result"]["exit_code"], 3);

    // fan-out over both hosts
    let r = call(
        &client,
        "parallel_execute",
        json!({"commands": [
            {"command": "ip -4 -o addr show", "node_id": "h0"},
            {"command": "ip -4 -o addr show", "node_id": "h1"},
            {"command": "echo routed"},
        ]}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let s = structured(&r);
    assert_eq!(s["summary"]["succeeded"], 3);
    for i in 0..2 {
        assert!(
            s["reports"][i]["result"]["stdout"]
                .as_str()
                .unwrap()
                .contains(&addr(i))
        );
    }

    // a denied command never reaches the host (the bed is writable only
    // under its own folder, so the marker lives there)
    let marker = bed.path("mcp-denied-marker").display().to_string();
    let r = call(
        &client,
        "offload_to",
        json!({"command": format!("touch {marker}; false && rm -rf /"), "node_id": "h0"}),
    )
    .await
    .unwrap();
    assert_eq!(structured(&r)["status"], "denied");
    assert!(
        !bed.exec_in(0, &["test", "-e", &marker]).status.success(),
        "denied command ran"
    );

    let st = call(&client, "cluster_status", json!({"refresh": true}))
        .await
        .unwrap();
    let nodes = structured(&st)["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n["reachable"] == true), "{nodes:?}");
    client.cancel().await.unwrap();
    assert_audit_verifies(&bed.audit_path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_call_kills_the_remote_process_tree_on_the_ssh_host() {
    let _t = timer("cancelled_call_kills_the_remote_process_tree_on_the_ssh_host");
    let Some(bed) = TestBed::start(1) else { return };
    let client = serve(&bed, TestClient::default()).await;
    let req = ClientRequest::CallToolRequest(CallToolRequest::new(
        CallToolRequestParams::new("offload_to").with_arguments(args(
            json!({"command": "sleep 311 & sleep 312; echo never", "node_id": "h0"}),
        )),
    ));
    let handle = client
        .peer()
        .send_cancellable_request(req, PeerRequestOptions::no_options())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while bed.pgrep(0, "^sleep 311$").is_empty() || bed.pgrep(0, "^sleep 312$").is_empty() {
        assert!(Instant::now() < deadline, "the command never started on h0");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    handle.cancel(Some("test cancels".into())).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = (bed.pgrep(0, "^sleep 311$"), bed.pgrep(0, "^sleep 312$"));
        if left.0.is_empty() && left.1.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still running on h0: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // the server still serves on the same host
    let r = call(
        &client,
        "offload_to",
        json!({"command": "echo after", "node_id": "h0"}),
    )
    .await
    .unwrap();
    assert_eq!(
        structured(&r)["result"]["stdout"],
        "after\n",
        "{}",
        text(&r)
    );
    client.cancel().await.unwrap();
    let cancelled = audit_of(&bed.audit_path, "cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0]["data"]["node"], "h0");
    assert_audit_verifies(&bed.audit_path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_close_kills_what_runs_on_the_ssh_host() {
    let _t = timer("stdin_close_kills_what_runs_on_the_ssh_host");
    let Some(bed) = TestBed::start(1) else { return };
    let mut child = serve_command(&bed.config_path, &bed.path("serve-home"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut stdin = child.stdin.take().unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"offload_to","arguments":{"command":"sleep 313; echo never","node_id":"h0"}}}),
    ] {
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }
    stdin.flush().await.unwrap();
    let init = out.next_line().await.unwrap().unwrap();
    assert!(init.contains("\"id\":1"), "{init}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while bed.pgrep(0, "^sleep 313$").is_empty() {
        assert!(Instant::now() < deadline, "the command never started on h0");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(8), child.wait())
        .await
        .expect("the server exits after stdin's end")
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !bed.pgrep(0, "^sleep 313$").is_empty() {
        assert!(
            Instant::now() < deadline,
            "sleep 313 outlived the server on h0"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(audit_of(&bed.audit_path, "cancelled").len(), 1);
    assert_audit_verifies(&bed.audit_path);
}
