//! `notifications/progress` while a tool call runs, when the client sent a
//! progress token. A single command reports its elapsed time and the bytes of
//! output so far (counted from `Hooks.on_output`); a fan-out reports how many
//! of its commands have finished.
//!
//! A fan-out's count comes from `Hooks.on_finished`, on which the pipeline
//! sends each command's report as it finishes; commands that `fail_fast`
//! skipped send nothing, so the end of the batch always sends
//! `total/total`.

use std::future::Future;
use std::time::{Duration, Instant};

use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RequestContext};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::exec::{OutputChunk, Report};

/// How often progress is sent (and the fan-out count sampled).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Sends progress for one request; keeps the value strictly increasing, as
/// the MCP specification requires.
pub struct Ticker {
    peer: Peer<RoleServer>,
    token: ProgressToken,
    last: f64,
}

impl Ticker {
    /// `None` when the client did not ask for progress.
    pub fn new(ctx: &RequestContext<RoleServer>) -> Option<Self> {
        ctx.meta.get_progress_token().map(|token| Self {
            peer: ctx.peer.clone(),
            token,
            last: f64::MIN,
        })
    }

    async fn send(&mut self, progress: f64, total: Option<f64>, message: String) {
        if progress <= self.last {
            return;
        }
        self.last = progress;
        let mut param =
            ProgressNotificationParam::new(self.token.clone(), progress).with_message(message);
        if let Some(total) = total {
            param = param.with_total(total);
        }
        if let Err(e) = self.peer.notify_progress(param).await {
            tracing::debug!("progress notification failed: {e}");
        }
    }
}

/// Drives one `Pipeline::run`, draining its output channel and reporting
/// elapsed seconds and bytes so far.
pub async fn drive_run<F: Future>(
    run: F,
    mut output: UnboundedReceiver<OutputChunk>,
    mut ticker: Option<Ticker>,
) -> F::Output {
    let started = Instant::now();
    let mut bytes: u64 = 0;
    let mut open = true;
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    tokio::pin!(run);
    loop {
        tokio::select! {
            out = &mut run => return out,
            chunk = output.recv(), if open => match chunk {
                Some(c) => bytes += c.data.len() as u64,
                None => open = false,
            },
            _ = tick.tick(), if ticker.is_some() => {
                if let Some(t) = ticker.as_mut() {
                    let secs = started.elapsed().as_secs_f64();
                    t.send(secs, None, format!("running for {secs:.1}s, {bytes} bytes of output so far")).await;
                }
            }
        }
    }
}

/// Drives one `Pipeline::parallel` of `total` commands, reporting how many
/// have finished (counted from `finished`, the batch's `on_finished`).
pub async fn drive_parallel<F: Future>(
    fan_out: F,
    mut output: UnboundedReceiver<OutputChunk>,
    mut finished: UnboundedReceiver<Report>,
    total: usize,
    mut ticker: Option<Ticker>,
) -> F::Output {
    let started = Instant::now();
    let mut bytes: u64 = 0;
    let mut done: usize = 0;
    let (mut output_open, mut finished_open) = (true, true);
    tokio::pin!(fan_out);
    let out = loop {
        tokio::select! {
            out = &mut fan_out => break out,
            chunk = output.recv(), if output_open => match chunk {
                Some(c) => bytes += c.data.len() as u64,
                None => output_open = false,
            },
            report = finished.recv(), if finished_open => match report {
                Some(r) => {
                    done += 1;
                    if let Some(t) = ticker.as_mut() {
                        let secs = started.elapsed().as_secs_f64();
                        t.send(done as f64, Some(total as f64), format!(
                            "{done}/{total} commands finished after {secs:.1}s (last: {} on {}, {:?})",
                            r.request_id,
                            r.node.as_deref().unwrap_or("no node"),
                            r.status
                        ).to_lowercase()).await;
                    }
                }
                None => finished_open = false,
            },
        }
    };
    if let Some(t) = ticker.as_mut() {
        let secs = started.elapsed().as_secs_f64();
        t.send(
            total as f64,
            Some(total as f64),
            format!("{total}/{total} commands finished after {secs:.1}s, {bytes} bytes of output"),
        )
        .await;
    }
    out
}
