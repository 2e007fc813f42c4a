//! The MCP server object: the shared pipeline, who is asking, the shutdown
//! token every call's token hangs from, and the protocol-level handler
//! (server info, malformed-params answers). The tools are in `tools.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CallToolRequestParams, CustomRequest, CustomResult, ErrorCode, Implementation,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool_handler};
use serde::Deserialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::exec::Pipeline;
use crate::plugin::types::Requester;

/// Name announced in `initialize`.
pub const SERVER_NAME: &str = "cluster-exec";

const INSTRUCTIONS: &str = "Run shell commands on the cluster's nodes. Every command is checked \
by the operator's validators first; a denied command never runs and the result says why. Use \
`cluster_status` to see the nodes, `explain` to check a command without running it, \
`cluster_bash` to run one command where it fits, `offload_to` to run on a named node, and \
`parallel_execute` to fan out several at once.";

/// Counts the tool calls still running, so a shutdown can wait for them to
/// kill what they started and write their audit lines.
#[derive(Default)]
pub struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Held by a running tool call.
pub struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    /// Returns once no tool call is running.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// One connection's server: rmcp clones it per request, so everything in it
/// is shared.
#[derive(Clone)]
pub struct McpServer {
    pub(super) pipeline: Arc<Pipeline>,
    /// Cancelled at stdin EOF or on a signal: every call's token is a child,
    /// so running commands are killed (rmcp does not abort handlers).
    pub(super) shutdown: CancellationToken,
    pub(super) in_flight: Arc<InFlight>,
    /// Stable for this connection; goes into every request's `Requester`.
    pub(super) session: String,
    pub(super) user: Option<String>,
    pub(super) tool_router: ToolRouter<Self>,
}

impl McpServer {
    pub fn new(pipeline: Arc<Pipeline>, shutdown: CancellationToken) -> Self {
        Self {
            pipeline,
            shutdown,
            in_flight: Arc::new(InFlight::default()),
            session: new_session_id(),
            user: std::env::var("USER").ok().filter(|u| !u.is_empty()),
            tool_router: super::tools::router(),
        }
    }

    pub fn in_flight(&self) -> Arc<InFlight> {
        self.in_flight.clone()
    }

    pub fn session(&self) -> &str {
        &self.session
    }

    /// Who is asking: the client's name from `initialize`, this connection,
    /// the local user.
    pub(super) fn requester(&self, ctx: &RequestContext<RoleServer>) -> Requester {
        Requester {
            client: Some(
                ctx.client_info()
                    .map(|i| i.name)
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "unknown-mcp-client".into()),
            ),
            session: Some(self.session.clone()),
            user: self.user.clone(),
        }
    }

    /// A token cancelled when the client cancels this request
    /// (`notifications/cancelled`) or the server shuts down.
    pub(super) fn request_token(&self, ctx: &RequestContext<RoleServer>) -> CancellationToken {
        let token = self.shutdown.child_token();
        let (request, t) = (ctx.ct.clone(), token.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = request.cancelled() => t.cancel(),
                () = t.cancelled() => {}
            }
        });
        token
    }
}

/// `mcp-<pid>-<start time in ns, hex>`: one stdio server serves one
/// connection, so this names the connection in the audit log.
fn new_session_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("mcp-{}-{nanos:x}", std::process::id())
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    /// rmcp routes a known method whose params fail to parse (such as
    /// `tools/call` with `"arguments": "oops"`) here, where the default
    /// answer is a misleading -32601 "Method not found": answer -32602.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        let known = ["tools/call", "tools/list", "initialize", "ping"];
        if known.contains(&request.method.as_str()) {
            let detail = match request.method.as_str() {
                "tools/call" => CallToolRequestParams::deserialize(
                    request.params.clone().unwrap_or(serde_json::Value::Null),
                )
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "unexpected shape".into()),
                _ => "unexpected shape".into(),
            };
            return Err(McpError::invalid_params(
                format!(
                    "malformed params for {}: {detail}; send {{\"name\": TOOL, \"arguments\": {{...}}}}",
                    request.method
                ),
                None,
            ));
        }
        Err(McpError::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("method not found: {}", request.method),
            None,
        ))
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
