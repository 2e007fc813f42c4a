//! The MCP front door: an rmcp server over stdio whose tools translate
//! parameters into pipeline requests and reports into tool results. Like the
//! CLI, it holds no policy, routing or SSH logic.

pub mod confirm;
pub mod params;
pub mod progress;
pub mod server;
pub mod stdio;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

use crate::exec::Pipeline;
pub use server::McpServer;

/// How long a shutdown waits for running calls to kill their commands and
/// write their audit lines.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves one MCP connection on stdin/stdout until stdin closes or a signal
/// arrives; then every running command is cancelled (and so killed).
pub async fn serve(pipeline: Pipeline) -> Result<()> {
    let shutdown = CancellationToken::new();
    let server = McpServer::new(Arc::new(pipeline), shutdown.clone());
    let in_flight = server.in_flight();
    tracing::info!(session = server.session(), "MCP server starting on stdio");

    let (rmcp_end, front_end) = tokio::io::duplex(1024 * 1024);
    let front = tokio::spawn(stdio::front(front_end, shutdown.clone()));

    let running = match server.serve(tokio::io::split(rmcp_end)).await {
        Ok(running) => running,
        // stdin ended before the client said hello: nothing to serve.
        Err(_) if shutdown.is_cancelled() => return Ok(()),
        Err(e) => return Err(e).context("MCP initialization failed"),
    };
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    tokio::select! {
        reason = running.waiting() => tracing::info!(?reason, "MCP service stopped"),
        _ = sigterm.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
    }
    shutdown.cancel();
    if tokio::time::timeout(SHUTDOWN_GRACE, in_flight.idle())
        .await
        .is_err()
    {
        tracing::warn!("some tool calls were still stopping after {SHUTDOWN_GRACE:?}");
    }
    // Let queued answers reach stdout.
    let _ = tokio::time::timeout(Duration::from_millis(500), front).await;
    Ok(())
}
