//! The MCP server as a client sees it: the real `cluster-exec serve` binary
//! driven over stdio by rmcp's client, on local nodes. Each test names the
//! behaviour it proves and checks the audit log the run left behind.

#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/plugins.rs"]
mod plugins;

use std::time::{Duration, Instant};

use mcp::*;
use rmcp::model::{CallToolRequest, CallToolRequestParams, ClientRequest};
use rmcp::service::PeerRequestOptions;
use serde_json::{Value, json};

fn tool(tools: &[rmcp::model::Tool], name: &str) -> Value {
    serde_json::to_value(tools.iter().find(|t| t.name == name).expect(name)).unwrap()
}

#[tokio::test]
async fn lists_five_tools_with_input_and_output_schemas_and_honest_annotations() {
    let _t = timer("lists_five_tools_with_input_and_output_schemas_and_honest_annotations");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("cluster-exec")
    );
    assert!(info.capabilities.tools.is_some());

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cluster_bash",
            "cluster_status",
            "explain",
            "offload_to",
            "parallel_execute"
        ]
    );
    for t in &tools {
        let v = serde_json::to_value(t).unwrap();
        assert_eq!(v["inputSchema"]["type"], "object", "{v}");
        assert_eq!(v["outputSchema"]["type"], "object", "{v}");
        assert!(v["description"].as_str().unwrap().len() > 40, "{v}");
    }
    let bash = tool(&tools, "cluster_bash");
    assert_eq!(bash["inputSchema"]["required"], json!(["command"]));
    for field in [
        "requires_os",
        "requires_arch",
        "requires_capabilities",
        "timeout_secs",
        "auto_route",
    ] {
        assert!(
            bash["inputSchema"]["properties"][field].is_object(),
            "{field}: {bash}"
        );
    }
    for field in ["status", "message", "node", "result", "verdicts"] {
        assert!(
            bash["outputSchema"]["properties"][field].is_object(),
            "{field}: {bash}"
        );
    }
    let offload = tool(&tools, "offload_to");
    let mut required: Vec<String> =
        serde_json::from_value(offload["inputSchema"]["required"].clone()).unwrap();
    required.sort();
    assert_eq!(required, ["command", "node_id"]);
    let parallel = tool(&tools, "parallel_execute");
    let items = &parallel["inputSchema"]["properties"]["commands"]["items"];
    let spec = match items["$ref"].as_str() {
        Some(r) => &parallel["inputSchema"]["$defs"][r.trim_start_matches("#/$defs/")],
        None => items,
    };
    let any_of = spec["anyOf"].as_array().expect("string | object");
    assert_eq!(any_of[0]["type"], "string");
    assert!(parallel["outputSchema"]["properties"]["summary"].is_object());
    assert!(tool(&tools, "cluster_status")["outputSchema"]["properties"]["nodes"].is_object());
    assert!(tool(&tools, "explain")["outputSchema"]["properties"]["decision"].is_object());

    for name in ["cluster_bash", "offload_to", "parallel_execute"] {
        let a = &tool(&tools, name)["annotations"];
        assert_eq!(a["readOnlyHint"], false, "{name}");
        assert_eq!(a["destructiveHint"], true, "{name}");
        assert_eq!(a["idempotentHint"], false, "{name}");
        assert_eq!(a["openWorldHint"], true, "{name}");
    }
    for name in ["cluster_status", "explain"] {
        let a = &tool(&tools, name)["annotations"];
        assert_eq!(a["readOnlyHint"], true, "{name}");
        assert_eq!(a["destructiveHint"], false, "{name}");
        assert_eq!(a["idempotentHint"], true, "{name}");
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn cluster_bash_runs_on_the_local_node_and_records_who_asked() {
    let _t = timer("cluster_bash_runs_on_the_local_node_and_records_who_asked");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    let r = call(
        &client,
        "cluster_bash",
        json!({"command": "echo hello; echo oops >&2"}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let s = structured(&r);
    assert_eq!(s["status"], "succeeded");
    assert!(s["node"] == "local" || s["node"] == "box2", "{s}");
    assert_eq!(s["result"]["exit_code"], 0);
    assert_eq!(s["result"]["stdout"], "hello\n");
    assert_eq!(s["result"]["stderr"], "oops\n");
    let as_text: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(&as_text, s, "the text block carries the same result");
    client.cancel().await.unwrap();

    let requests = home.audit_of("request");
    let requester = &requests[0]["data"]["requester"];
    assert_eq!(requester["client"], "e2e-client");
    assert!(requester["session"].as_str().unwrap().starts_with("mcp-"));
    assert_eq!(requester["user"], json!(std::env::var("USER").ok()));
    home.assert_audit_verifies();
}

#[tokio::test]
async fn cluster_bash_routes_by_requirements_or_to_the_default_node() {
    let _t = timer("cluster_bash_routes_by_requirements_or_to_the_default_node");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    for (a, node) in [
        (json!({"command": "echo x", "requires_os": "macos"}), "box2"),
        (
            json!({"command": "echo x", "requires_capabilities": ["gpu"]}),
            "box2",
        ),
        (
            json!({"command": "echo x", "requires_arch": "x86_64"}),
            "local",
        ),
        (
            json!({"command": "echo x", "requires_os": "macos", "auto_route": false}),
            "local",
        ),
    ] {
        let r = call(&client, "cluster_bash", a.clone()).await.unwrap();
        assert_eq!(r.is_error, Some(false), "{a}: {}", text(&r));
        assert_eq!(structured(&r)["node"], node, "{a}: {}", text(&r));
        assert!(structured(&r)["route_reason"].is_string());
    }
    let r = call(
        &client,
        "cluster_bash",
        json!({"command": "echo x", "requires_os": "plan9"}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(structured(&r)["status"], "no_route", "{}", text(&r));
    assert!(structured(&r)["result"].is_null(), "nothing ran");
    client.cancel().await.unwrap();
    home.assert_audit_verifies();
}

#[tokio::test]
async fn offload_to_runs_on_a_node_or_alias_and_unknown_names_list_the_known_ones() {
    let _t = timer("offload_to_runs_on_a_node_or_alias_and_unknown_names_list_the_known_ones");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    for (name, node) in [("box2", "box2"), ("mac", "box2"), ("here", "local")] {
        let r = call(
            &client,
            "offload_to",
            json!({"command": "echo on", "node_id": name}),
        )
        .await
        .unwrap();
        assert_eq!(r.is_error, Some(false), "{}", text(&r));
        assert_eq!(structured(&r)["node"], node);
        assert_eq!(structured(&r)["result"]["stdout"], "on\n");
    }
    let r = call(
        &client,
        "offload_to",
        json!({"command": "echo on", "node_id": "nowhere"}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(true));
    let s = structured(&r);
    assert_eq!(s["status"], "unknown_node");
    let msg = s["message"].as_str().unwrap();
    assert!(
        msg.contains("nowhere") && msg.contains("box2 (mac)") && msg.contains("local (here)"),
        "{msg}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn denied_command_never_runs_and_the_result_says_why() {
    let _t = timer("denied_command_never_runs_and_the_result_says_why");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    let marker = home.dir.path().join("ran");
    // `false &&` keeps the machine safe even if a validator let it through.
    let cmd = format!(
        "touch {}; false && rm -rf --no-preserve-root /",
        marker.display()
    );
    let r = call(&client, "cluster_bash", json!({"command": cmd}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    let s = structured(&r);
    assert_eq!(s["status"], "denied", "{s}");
    let reason = s["decision"]["reason"].as_str().unwrap();
    let msg = s["message"].as_str().unwrap();
    assert!(msg.contains(reason) && msg.contains("Nothing ran"), "{s}");
    assert!(s["result"].is_null());
    assert!(!marker.exists(), "a denied command ran");
    // explain shows the same verdict without running anything
    let e = call(&client, "explain", json!({"command": cmd}))
        .await
        .unwrap();
    assert_eq!(e.is_error, Some(false));
    let e = structured(&e);
    assert_eq!(e["decision"]["decision"], "deny", "{e}");
    assert_eq!(e["verdicts"][0]["plugin"], "builtin:validator");
    let e = call(
        &client,
        "explain",
        json!({"command": "uptime", "requires_os": "macos"}),
    )
    .await
    .unwrap();
    assert_eq!(structured(&e)["decision"]["decision"], "allow");
    assert_eq!(structured(&e)["node"], "box2");
    assert!(!marker.exists());
    client.cancel().await.unwrap();
    home.assert_audit_verifies();
}

#[tokio::test]
async fn nonzero_exit_and_timeout_are_tool_errors_that_say_what_happened() {
    let _t = timer("nonzero_exit_and_timeout_are_tool_errors_that_say_what_happened");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    let r = call(
        &client,
        "cluster_bash",
        json!({"command": "echo bad >&2; exit 7"}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(true));
    let s = structured(&r);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["result"]["exit_code"], 7);
    assert_eq!(s["result"]["stderr"], "bad\n");
    assert!(s["message"].as_str().unwrap().contains("exited 7"), "{s}");

    let marker = unique("timeout");
    let started = Instant::now();
    let r = call(
        &client,
        "cluster_bash",
        json!({"command": format!("sleep 30 # {marker}"), "timeout_secs": 1}),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.is_error, Some(true));
    let s = structured(&r);
    assert_eq!(s["status"], "timed_out", "{s}");
    assert!(s["message"].as_str().unwrap().contains("timeout"), "{s}");
    assert_gone(&[], &marker).await;
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn parallel_execute_fans_out_and_a_single_denial_stops_the_whole_batch() {
    let _t = timer("parallel_execute_fans_out_and_a_single_denial_stops_the_whole_batch");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    let r = call(
        &client,
        "parallel_execute",
        json!({"commands": ["echo a", {"command": "echo b", "node_id": "mac"}, {"command": "exit 4"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(true), "one command failed");
    let s = structured(&r);
    assert_eq!(s["ran"], true);
    assert_eq!(s["summary"]["total"], 3);
    assert_eq!(s["summary"]["succeeded"], 2);
    assert_eq!(s["summary"]["failed"], 1);
    let reports = s["reports"].as_array().unwrap();
    assert_eq!(reports[0]["result"]["stdout"], "a\n");
    assert_eq!(reports[1]["node"], "box2");
    assert_eq!(reports[1]["result"]["stdout"], "b\n");
    assert_eq!(reports[2]["result"]["exit_code"], 4);

    let ok = call(
        &client,
        "parallel_execute",
        json!({"commands": ["true", "echo c"]}),
    )
    .await
    .unwrap();
    assert_eq!(ok.is_error, Some(false), "{}", text(&ok));

    let marker = home.dir.path().join("fanout-ran");
    let r = call(
        &client,
        "parallel_execute",
        json!({"commands": [
            format!("touch {}", marker.display()),
            "false && rm -rf --no-preserve-root /",
            "echo c"
        ]}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(true));
    let s = structured(&r);
    assert_eq!(s["ran"], false);
    assert_eq!(s["summary"]["denied"], 1);
    let msg = s["message"].as_str().unwrap();
    let reason = s["reports"][0]["decision"]["reason"].as_str().unwrap();
    assert!(
        msg.contains("nothing ran") && msg.contains("command 2") && msg.contains(reason),
        "{msg}"
    );
    assert!(!marker.exists(), "a command of a denied batch ran");

    let started = Instant::now();
    let r = call(
        &client,
        "parallel_execute",
        json!({"commands": ["exit 1", "sleep 20", "sleep 20"], "max_parallel": 1, "fail_fast": true}),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(structured(&r)["summary"]["skipped"], 2, "{}", text(&r));
    client.cancel().await.unwrap();
    home.assert_audit_verifies();
}

#[tokio::test]
async fn progress_notifications_report_elapsed_bytes_and_finished_commands() {
    let _t = timer("progress_notifications_report_elapsed_bytes_and_finished_commands");
    let home = home("");
    let tc = TestClient::default();
    let progress = tc.progress.clone();
    let client = start(&home, tc).await;
    let r = call(
        &client,
        "cluster_bash",
        json!({"command": "for i in 1 2 3 4 5; do echo tick$i; sleep 0.5; done"}),
    )
    .await
    .unwrap();
    assert_eq!(
        structured(&r)["result"]["stdout"],
        "tick1\ntick2\ntick3\ntick4\ntick5\n"
    );
    let got = std::mem::take(&mut *progress.lock().unwrap());
    assert!(
        got.len() >= 2,
        "expected >= 2 progress notifications, got {got:?}"
    );
    assert!(
        got.windows(2).all(|w| w[1].progress > w[0].progress),
        "{got:?}"
    );
    let last = got.last().unwrap().message.clone().unwrap_or_default();
    assert!(
        last.contains("running for") && last.contains("bytes"),
        "{last}"
    );
    let bytes: u64 = last
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(bytes > 0, "output bytes counted: {last}");

    let r = call(
        &client,
        "parallel_execute",
        json!({"commands": ["sleep 0.2", "sleep 1.2", "sleep 2.2", "sleep 3.2"], "max_parallel": 4}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let got = std::mem::take(&mut *progress.lock().unwrap());
    assert!(got.iter().all(|p| p.total == Some(4.0)), "{got:?}");
    assert!(
        got.windows(2).all(|w| w[1].progress > w[0].progress),
        "{got:?}"
    );
    assert_eq!(got.last().unwrap().progress, 4.0);
    let partial: Vec<f64> = got
        .iter()
        .map(|p| p.progress)
        .filter(|p| *p > 0.0 && *p < 4.0)
        .collect();
    assert!(
        !partial.is_empty(),
        "finished commands counted while the batch ran: {got:?}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn cancelled_call_kills_the_process_tree_and_the_audit_log_records_it() {
    let _t = timer("cancelled_call_kills_the_process_tree_and_the_audit_log_records_it");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    let marker = unique("cancel");
    let pidfile = home.dir.path().join("pids");
    let req = ClientRequest::CallToolRequest(CallToolRequest::new(
        CallToolRequestParams::new("cluster_bash")
            .with_arguments(args(json!({"command": sleeper(&pidfile, &marker)}))),
    ));
    let handle = client
        .peer()
        .send_cancellable_request(req, PeerRequestOptions::no_options())
        .await
        .unwrap();
    let pids = wait_pids(&pidfile).await;
    assert!(pids.iter().all(|p| alive(*p)), "not running: {pids:?}");
    handle.cancel(Some("test cancels".into())).await.unwrap();
    assert_gone(&pids, &marker).await;

    // the server still serves
    let r = call(&client, "cluster_bash", json!({"command": "echo after"}))
        .await
        .unwrap();
    assert_eq!(structured(&r)["result"]["stdout"], "after\n");
    client.cancel().await.unwrap();
    let cancelled = home.audit_of("cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    let results = home.audit_of("result");
    assert!(
        results.iter().any(|l| l["data"]["status"] == "cancelled"),
        "{results:?}"
    );
    home.assert_audit_verifies();
}

#[tokio::test]
async fn ask_verdict_elicits_and_an_approved_command_runs() {
    let _t = timer("ask_verdict_elicits_and_an_approved_command_runs");
    let home = home(&ask_validators());
    let tc = TestClient::replying(Reply::Confirm(true));
    let asked = tc.elicitations.clone();
    let client = start(&home, tc).await;
    let r = call(
        &client,
        "offload_to",
        json!({"command": "echo confirmed", "node_id": "box2"}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(structured(&r)["result"]["stdout"], "confirmed\n");
    assert_eq!(structured(&r)["confirmation"], "approved");
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert!(
        asked[0].contains("echo confirmed")
            && asked[0].contains("box2")
            && asked[0].contains("env="),
        "the user sees command, node and reason: {}",
        asked[0]
    );
    // `true` is allowed by the probe: no question asked
    let r = call(&client, "cluster_bash", json!({"command": "true"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false));
    client.cancel().await.unwrap();
    let answers = home.audit_of("confirmation");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["data"]["answer"], "approved");
    home.assert_audit_verifies();
}

#[tokio::test]
async fn declined_dismissed_or_impossible_confirmation_denies_the_command() {
    let _t = timer("declined_dismissed_or_impossible_confirmation_denies_the_command");
    let cases = [
        (Some(Reply::Decline), "declined"),
        (Some(Reply::Confirm(false)), "declined"),
        (Some(Reply::Cancel), "dismissed"),
        (None, "cannot ask the user"),
    ];
    for (reply, expect) in cases {
        let home = home(&ask_validators());
        let tc = TestClient {
            reply,
            ..TestClient::default()
        };
        let asked = tc.elicitations.clone();
        let client = start(&home, tc).await;
        let marker = home.dir.path().join("ran");
        let r = call(
            &client,
            "cluster_bash",
            json!({"command": format!("touch {}", marker.display())}),
        )
        .await
        .unwrap();
        assert_eq!(r.is_error, Some(true), "{reply:?}");
        let s = structured(&r);
        assert_eq!(s["status"], "denied", "{reply:?}");
        assert!(
            s["message"].as_str().unwrap().contains(expect),
            "{reply:?}: {s}"
        );
        assert!(!marker.exists(), "{reply:?}: the command ran");
        assert_eq!(asked.lock().unwrap().len(), usize::from(reply.is_some()));
        client.cancel().await.unwrap();
        let answers = home.audit_of("confirmation");
        assert_eq!(answers.len(), 1, "{reply:?}");
        let answer = &answers[0]["data"]["answer"];
        match reply {
            Some(Reply::Decline) | Some(Reply::Confirm(false)) => assert_eq!(answer, "declined"),
            _ => assert!(answer["unavailable"].is_string(), "{answer}"),
        }
        home.assert_audit_verifies();
    }
}

#[tokio::test]
async fn cluster_status_lists_every_node() {
    let _t = timer("cluster_status_lists_every_node");
    let home = home("");
    let client = start(&home, TestClient::default()).await;
    let r = call(&client, "cluster_status", json!({"refresh": true}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let s = structured(&r);
    let nodes = s["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n["reachable"] == true), "{s}");
    assert_eq!(s["message"], "2 of 2 nodes reachable");
    let r = call(&client, "cluster_status", json!({})).await.unwrap();
    assert_eq!(structured(&r)["nodes"].as_array().unwrap().len(), 2);
    client.cancel().await.unwrap();
}

/// Protocol 2026-07-28 (server/discover, no initialize) forbids
/// server-to-client requests, so an `ask` verdict cannot be put to the user
/// there: the command must be denied cleanly, without asking.
#[tokio::test]
async fn modern_2026_session_runs_commands_and_denies_ask_without_eliciting() {
    use rmcp::model::ProtocolVersion;
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    use rmcp::transport::TokioChildProcess;
    let _t = timer("modern_2026_session_runs_commands_and_denies_ask_without_eliciting");
    let home = home(&ask_validators());
    let (transport, _stderr) = TokioChildProcess::builder(home.command())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let tc = TestClient::replying(Reply::Confirm(true));
    let asked = tc.elicitations.clone();
    let client = tc
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("discover");
    let r = call(&client, "cluster_bash", json!({"command": "true"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let r = call(
        &client,
        "cluster_bash",
        json!({"command": "echo needs-a-human"}),
    )
    .await
    .unwrap();
    assert_eq!(r.is_error, Some(true));
    let s = structured(&r);
    assert_eq!(s["status"], "denied");
    assert!(s["message"].as_str().unwrap().contains("2026-07-28"), "{s}");
    assert!(asked.lock().unwrap().is_empty());
    client.cancel().await.unwrap();
    home.assert_audit_verifies();
}
