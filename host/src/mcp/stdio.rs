//! The stdio front-end. rmcp reads from one end of an in-memory pipe; this
//! task owns the real stdin and stdout so that it can answer a line that is
//! not JSON with a JSON-RPC -32700 error (rmcp drops such lines silently),
//! refuse a line over the size limit with -32600, and notice stdin's end at
//! once: it then cancels the shutdown token, which kills running commands,
//! instead of letting rmcp wait for them.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Longest accepted message line: rmcp's own line codec limit.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// A JSON-RPC error line for a message that has no usable id.
fn error_line(code: i64, message: &str) -> Vec<u8> {
    let msg = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    });
    let mut line = msg.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// Pumps stdin to rmcp (checking each line) and rmcp's output to stdout,
/// until stdin ends.
pub async fn front(front: DuplexStream, shutdown: CancellationToken) {
    let (from_rmcp, mut to_rmcp) = tokio::io::split(front);
    // One writer owns stdout, so protocol lines never interleave.
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
    let writer = tokio::spawn(async move {
        let mut out = tokio::io::stdout();
        while let Some(line) = rx.recv().await {
            if out.write_all(&line).await.is_err() || out.flush().await.is_err() {
                break;
            }
        }
    });
    let tx_out = tx.clone();
    let pump = tokio::spawn(async move {
        let mut r = BufReader::new(from_rmcp);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx_out.send(line).await.is_err() {
                        break;
                    }
                }
            }
        }
    });

    let mut stdin = BufReader::with_capacity(64 * 1024, tokio::io::stdin());
    loop {
        let mut line = Vec::new();
        match (&mut stdin)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::error!("reading stdin failed: {e}; shutting down");
                break;
            }
        }
        if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
            discard_rest_of_line(&mut stdin).await;
            let _ = tx
                .send(error_line(
                    -32600,
                    &format!(
                        "Invalid Request: message exceeds {MAX_LINE} bytes; put large content \
                         in a file on the node instead"
                    ),
                ))
                .await;
            continue;
        }
        if line.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice::<serde::de::IgnoredAny>(line.trim_ascii()) {
            Ok(_) => {
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
                if to_rmcp.write_all(&line).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!("input line is not JSON: {e}");
                let _ = tx
                    .send(error_line(
                        -32700,
                        &format!("Parse error: {e}; send one JSON-RPC message per line"),
                    ))
                    .await;
            }
        }
    }
    tracing::info!("stdin closed: cancelling running commands and shutting down");
    shutdown.cancel();
    let _ = to_rmcp.shutdown().await;
    drop(to_rmcp);
    drop(tx);
    let _ = pump.await;
    let _ = writer.await;
}

/// Skips to the end of an oversized line, reading at most `MAX_LINE` at once.
async fn discard_rest_of_line<R: tokio::io::AsyncBufRead + Unpin>(stdin: &mut R) {
    loop {
        let mut rest = Vec::new();
        match (&mut *stdin)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut rest)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) if rest.last() == Some(&b'\n') => break,
            Ok(_) => {}
        }
    }
}
