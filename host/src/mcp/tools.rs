//! The five tools: each maps its parameters to a pipeline call and the
//! answer to a tool result (structured content, the same JSON as text, and
//! `isError` when the command did not run to a zero exit). Nothing here
//! decides whether or where a command runs.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::confirm;
use super::params::{
    BadInput, ClusterBashParams, ExplainParams, OffloadParams, ParallelParams, StatusParams,
};
use super::progress::{self, Ticker};
use super::server::McpServer;
use crate::exec::{
    Explanation, Hooks, NodeStatus, ParallelOptions, ParallelReport, Report, Request,
};

/// `cluster_status`'s answer: the node table and a one-line summary.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ClusterStatus {
    /// How many nodes answered, in one sentence.
    pub message: String,
    pub nodes: Vec<NodeStatus>,
}

/// The generated router, for `McpServer::new` (the macro's function is
/// private to this module).
pub(super) fn router() -> ToolRouter<McpServer> {
    McpServer::tool_router()
}

/// Longest command echoed back in a result. The model sent the command and
/// the audit log keeps it whole; echoing megabytes back would only overflow
/// the client's message limit (rmcp's line codec drops lines over 16 MiB).
pub const ECHO_COMMAND_BYTES: usize = 4096;

/// `command` cut to [`ECHO_COMMAND_BYTES`] on a character boundary, saying
/// how long it was.
fn shorten(command: &mut String) {
    if command.len() <= ECHO_COMMAND_BYTES {
        return;
    }
    let mut end = ECHO_COMMAND_BYTES;
    while !command.is_char_boundary(end) {
        end -= 1;
    }
    *command = format!(
        "{}… [{} bytes in all; shortened in this answer]",
        &command[..end],
        command.len()
    );
}

/// `structuredContent` plus the same JSON as a text block.
fn to_result<T: Serialize>(value: &T, is_error: bool) -> Result<CallToolResult, McpError> {
    let v = serde_json::to_value(value)
        .map_err(|e| McpError::internal_error(format!("cannot serialise the result: {e}"), None))?;
    Ok(if is_error {
        CallToolResult::structured_error(v)
    } else {
        CallToolResult::structured(v)
    })
}

/// A tool error for input that cannot make a request; nothing was run or
/// recorded, and the text says what to send instead.
fn bad_input(BadInput(message): BadInput) -> Result<CallToolResult, McpError> {
    Ok(CallToolResult::error(vec![ContentBlock::text(format!(
        "invalid arguments: {message}"
    ))]))
}

impl McpServer {
    /// One command through the pipeline, with cancellation, progress and
    /// confirmation wired to this request; input that made no request comes
    /// back as a tool error.
    async fn run_one(
        &self,
        request: Result<Request, BadInput>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let _running = self.in_flight.enter();
        let request = match request {
            Ok(request) => request,
            Err(e) => return bad_input(e),
        };
        let cancel = self.request_token(ctx);
        // Whatever way this handler ends, its command does not outlive it.
        let _kill_on_drop = cancel.clone().drop_guard();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let hooks = Hooks {
            cancel: cancel.clone(),
            on_output: Some(tx),
            confirm: Some(confirm::confirmer(ctx, cancel.clone())),
            on_finished: None,
        };
        let mut report: Report =
            progress::drive_run(self.pipeline.run(request, hooks), rx, Ticker::new(ctx)).await;
        shorten(&mut report.command);
        to_result(&report, report.is_error())
    }
}

#[tool_router]
impl McpServer {
    #[tool(
        name = "cluster_bash",
        description = "Run a shell command on the cluster node that fits its requirements (the router picks; or the default node with auto_route=false). Returns exit code, stdout, stderr and which node ran it. A denied command, unknown node, timeout, unreachable node or non-zero exit comes back with isError and a message saying what to do. Some commands ask the user for confirmation first.",
        annotations(
            title = "Run a command on the cluster",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        ),
        output_schema = schema_for_output::<Report>()
    )]
    async fn cluster_bash(
        &self,
        Parameters(p): Parameters<ClusterBashParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run_one(p.into_request(self.requester(&ctx)), &ctx)
            .await
    }

    #[tool(
        name = "offload_to",
        description = "Run a shell command on a named node (id or alias, see cluster_status). An unknown name lists the known nodes and aliases. Same result and errors as cluster_bash.",
        annotations(
            title = "Run a command on a named node",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        ),
        output_schema = schema_for_output::<Report>()
    )]
    async fn offload_to(
        &self,
        Parameters(p): Parameters<OffloadParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.run_one(p.into_request(self.requester(&ctx)), &ctx)
            .await
    }

    #[tool(
        name = "parallel_execute",
        description = "Run several shell commands at once; each item is a command string (routed) or {command, node_id}. Every command is validated first: if any is denied, none runs and the result says which and why. Otherwise they fan out under max_parallel and the per-node and global limits, each with its own result, plus a summary. isError when any did not succeed.",
        annotations(
            title = "Run commands in parallel",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        ),
        output_schema = schema_for_output::<ParallelReport>()
    )]
    async fn parallel_execute(
        &self,
        Parameters(p): Parameters<ParallelParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let _running = self.in_flight.enter();
        let requester = self.requester(&ctx);
        let (requests, max_parallel) = match (p.into_requests(&requester), p.max_parallel()) {
            (Ok(r), Ok(m)) => (r, m),
            (Err(e), _) | (_, Err(e)) => return bad_input(e),
        };
        let options = ParallelOptions {
            max_parallel,
            fail_fast: p.fail_fast.unwrap_or(false),
        };
        let cancel = self.request_token(&ctx);
        let _kill_on_drop = cancel.clone().drop_guard();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (done_tx, done_rx) = tokio::sync::mpsc::unbounded_channel();
        let hooks = Hooks {
            cancel: cancel.clone(),
            on_output: Some(tx),
            confirm: Some(confirm::confirmer(&ctx, cancel.clone())),
            on_finished: Some(done_tx),
        };
        let total = requests.len();
        let report = progress::drive_parallel(
            self.pipeline.parallel(requests, options, hooks),
            rx,
            done_rx,
            total,
            Ticker::new(&ctx),
        )
        .await;
        let mut report = report;
        for r in &mut report.reports {
            shorten(&mut r.command);
        }
        shorten(&mut report.message);
        let all_ok = report.ran
            && report.summary.succeeded == report.summary.total
            && report.reports.iter().all(|r| !r.is_error());
        to_result(&report, !all_ok)
    }

    #[tool(
        name = "cluster_status",
        description = "The node table: for each node whether it is reachable (and why not), latency, cores, load, memory in use and the commands this server runs there. refresh=true probes now instead of using the few-seconds cache. Read-only.",
        annotations(
            title = "Cluster node status",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        ),
        output_schema = schema_for_output::<ClusterStatus>()
    )]
    async fn cluster_status(
        &self,
        Parameters(p): Parameters<StatusParams>,
    ) -> Result<CallToolResult, McpError> {
        let _running = self.in_flight.enter();
        let nodes = self.pipeline.status(p.refresh.unwrap_or(false)).await;
        let up = nodes.iter().filter(|n| n.reachable).count();
        let message = format!("{up} of {} nodes reachable", nodes.len());
        to_result(&ClusterStatus { message, nodes }, false)
    }

    #[tool(
        name = "explain",
        description = "Show what would happen to a command without running it: each validator's verdict (allow, deny, ask and why), the combined decision, and the node the router would pick (or why none fits). Read-only.",
        annotations(
            title = "Explain a command's verdicts and routing",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        ),
        output_schema = schema_for_output::<Explanation>()
    )]
    async fn explain(
        &self,
        Parameters(p): Parameters<ExplainParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let _running = self.in_flight.enter();
        match p.into_request(self.requester(&ctx)) {
            Ok(request) => {
                let mut explanation = self.pipeline.explain(&request).await;
                shorten(&mut explanation.command);
                to_result(&explanation, false)
            }
            Err(e) => bad_input(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_commands_are_shortened_on_a_char_boundary() {
        let mut c = "é".repeat(5000);
        super::shorten(&mut c);
        assert!(c.len() < super::ECHO_COMMAND_BYTES + 100, "{}", c.len());
        assert!(c.contains("10000 bytes in all"));
        let mut short = "uptime".to_string();
        super::shorten(&mut short);
        assert_eq!(short, "uptime");
    }
}
