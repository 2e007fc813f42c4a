//! `notifications/progress` while a tool call runs, when the client sent a
//! progress token. A single command reports its elapsed time and the bytes of
//! output so far (counted from `Hooks.on_output`); a fan-out reports how many
//! of its commands have finished.
//!
//! `Pipeline::parallel` returns only at the end, so the fan-out count is read
//! from the batch's [`Confirmer`]: the pipeline hands every command its own
//! clone of that `Arc` (and never clones it further: the output sender, by
//! contrast, is cloned into the executor and its pumps), and drops it when
//! the command is done or skipped. With our clone and the pipeline's own,
//! `total + 2 - strong_count` commands have finished. Should the pipeline
//! ever keep the clones longer, the count only lags; the end of the batch
//! always sends `total/total`. A per-command completion hook in the pipeline
//! would make this exact by construction.

use std::future::Future;
use std::time::{Duration, Instant};

use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RequestContext};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::exec::{Confirmer, OutputChunk};

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
/// have finished; `counter` is a clone of the confirmer in the batch's hooks
/// (see the module comment for how they are counted).
pub async fn drive_parallel<F: Future>(
    fan_out: F,
    mut output: UnboundedReceiver<OutputChunk>,
    total: usize,
    counter: Confirmer,
    mut ticker: Option<Ticker>,
) -> F::Output {
    let started = Instant::now();
    let mut bytes: u64 = 0;
    let mut open = true;
    // The fan-out has begun once clones beyond ours and the pipeline's own
    // exist; before that (validation), nothing has finished.
    let mut begun = false;
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    tokio::pin!(fan_out);
    let out = loop {
        tokio::select! {
            out = &mut fan_out => break out,
            chunk = output.recv(), if open => match chunk {
                Some(c) => bytes += c.data.len() as u64,
                None => open = false,
            },
            _ = tick.tick(), if ticker.is_some() => {
                let live = std::sync::Arc::strong_count(&counter);
                begun |= live > 2;
                let done = if begun { finished(total, live) } else { 0 };
                if let Some(t) = ticker.as_mut() {
                    let secs = started.elapsed().as_secs_f64();
                    t.send(done as f64, Some(total as f64), format!(
                        "{done}/{total} commands finished after {secs:.1}s, {bytes} bytes of output so far"
                    )).await;
                }
            }
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

/// Commands finished, from the live clones of the confirmer: ours, the
/// pipeline's own, and one per unfinished command.
fn finished(total: usize, live_clones: usize) -> usize {
    total
        .saturating_sub(live_clones.saturating_sub(2))
        .min(total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finished_counts_dropped_confirmer_clones() {
        assert_eq!(super::finished(4, 6), 0);
        assert_eq!(super::finished(4, 4), 2);
        assert_eq!(super::finished(4, 2), 4);
        assert_eq!(super::finished(4, 9), 0);
        assert_eq!(super::finished(4, 0), 4);
    }
}
