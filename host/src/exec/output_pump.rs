//! Driving a child process's output: one reader per stream feeding a
//! [`CappedBuffer`] and the live `on_output` channel, and a bounded wait for
//! the child that stops at the deadline or on cancellation. Shared by the ssh
//! and local transports so both capture output the same way.

use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::output::{CappedBuffer, Captured};
use super::result::{OutputChunk, Stream};
use super::ssh_quote::MarkerFilter;

/// Readers of a child's stdout and stderr.
pub(crate) struct Pump {
    out: Arc<Mutex<CappedBuffer>>,
    err: Arc<Mutex<CappedBuffer>>,
    tasks: Vec<(Stream, JoinHandle<()>)>,
    started: watch::Receiver<Option<i64>>,
    ended: Arc<Mutex<Option<i32>>>,
}

/// How waiting for the child ended.
#[derive(Debug)]
pub(crate) enum Waited<T> {
    Exited(T),
    Deadline,
    Cancelled,
}

impl Pump {
    /// Takes the child's piped stdout and stderr. With a `marker`, stderr is
    /// filtered and [`Pump::started`] reports the announced pgid.
    pub(crate) fn spawn(
        child: &mut Child,
        node: &str,
        cap: usize,
        live: Option<UnboundedSender<OutputChunk>>,
        marker: Option<MarkerFilter>,
    ) -> Pump {
        Pump::spawn_readers(
            child.stdout.take(),
            child.stderr.take(),
            node,
            cap,
            live,
            marker,
        )
    }

    /// Reads a session's stdout and stderr, wherever they come from (a child
    /// process, or pipes handed to an ssh master).
    pub(crate) fn spawn_readers<O, E>(
        stdout: Option<O>,
        stderr: Option<E>,
        node: &str,
        cap: usize,
        live: Option<UnboundedSender<OutputChunk>>,
        marker: Option<MarkerFilter>,
    ) -> Pump
    where
        O: AsyncRead + Unpin + Send + 'static,
        E: AsyncRead + Unpin + Send + 'static,
    {
        let out = Arc::new(Mutex::new(CappedBuffer::new(cap)));
        let err = Arc::new(Mutex::new(CappedBuffer::new(cap)));
        let (started_tx, started) = watch::channel(None);
        let ended = Arc::new(Mutex::new(None));
        let mut tasks = Vec::new();
        if let Some(r) = stdout {
            let sink = StreamSink {
                stream: Stream::Stdout,
                node: node.to_string(),
                buffer: out.clone(),
                live: live.clone(),
                started: started_tx.clone(),
                ended: ended.clone(),
            };
            tasks.push((Stream::Stdout, tokio::spawn(read_stream(r, sink, None))));
        }
        if let Some(r) = stderr {
            let sink = StreamSink {
                stream: Stream::Stderr,
                node: node.to_string(),
                buffer: err.clone(),
                live,
                started: started_tx,
                ended: ended.clone(),
            };
            tasks.push((Stream::Stderr, tokio::spawn(read_stream(r, sink, marker))));
        }
        Pump {
            out,
            err,
            tasks,
            started,
            ended,
        }
    }

    /// The pgid announced by the start marker, once seen.
    pub(crate) fn started(&self) -> Option<i64> {
        *self.started.borrow()
    }

    /// The exit status announced by the end marker, once stderr ended with
    /// it (meaningful after [`Pump::finish`]).
    pub(crate) fn ended(&self) -> Option<i32> {
        self.ended.lock().ok().and_then(|e| *e)
    }

    /// Waits up to `grace` for the readers to reach end of stream (a
    /// background process may hold the pipes open), then decodes. A stream
    /// still open at that point is marked truncated: more may have come.
    pub(crate) async fn finish(&mut self, grace: Duration) -> (Captured, Captured) {
        let deadline = Instant::now() + grace;
        let (mut out_open, mut err_open) = (false, false);
        for (stream, t) in self.tasks.drain(..) {
            let abort = t.abort_handle();
            if tokio::time::timeout_at(deadline, t).await.is_err() {
                abort.abort();
                match stream {
                    Stream::Stdout => out_open = true,
                    Stream::Stderr => err_open = true,
                }
            }
        }
        let (mut out, mut err) = (snapshot(&self.out), snapshot(&self.err));
        out.truncated |= out_open;
        err.truncated |= err_open;
        (out, err)
    }
}

fn snapshot(buf: &Mutex<CappedBuffer>) -> Captured {
    match buf.lock() {
        Ok(b) => b.finish(),
        Err(poisoned) => poisoned.into_inner().finish(),
    }
}

/// Where one stream's bytes and markers go.
struct StreamSink {
    stream: Stream,
    node: String,
    buffer: Arc<Mutex<CappedBuffer>>,
    live: Option<UnboundedSender<OutputChunk>>,
    started: watch::Sender<Option<i64>>,
    ended: Arc<Mutex<Option<i32>>>,
}

async fn read_stream<R: AsyncRead + Unpin>(
    mut reader: R,
    sink: StreamSink,
    mut marker: Option<MarkerFilter>,
) {
    let StreamSink {
        stream,
        node,
        buffer,
        live,
        started,
        ended,
    } = sink;
    let emit = |data: &[u8], to_live: bool| {
        if data.is_empty() {
            return;
        }
        if let Ok(mut b) = buffer.lock() {
            b.push(data);
        }
        if to_live && let Some(tx) = &live {
            // A closed receiver only means nobody watches live output.
            let _ = tx.send(OutputChunk {
                node: node.clone(),
                stream,
                data: data.to_vec(),
            });
        }
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = &chunk[..n];
        match marker.as_mut() {
            Some(f) => {
                let (pass, pgid) = f.feed(data);
                if let Some(p) = pgid {
                    started.send_replace(Some(p));
                }
                emit(&pass, true);
            }
            None => emit(data, true),
        }
    }
    if let Some(f) = marker.as_mut() {
        // Without a marker this is ssh's own complaint about a connection
        // that never carried the command: captured, not streamed.
        let seen = started.borrow().is_some();
        let (rest, status) = f.finish();
        emit(&rest, seen);
        if let Ok(mut e) = ended.lock() {
            *e = status;
        }
    }
}

/// Waits for `exit` (a child's, or a session's) until it comes, the deadline
/// passes or `cancel` fires.
pub(crate) async fn wait_or_stop<T>(
    exit: impl Future<Output = std::io::Result<T>>,
    deadline: Instant,
    cancel: &CancellationToken,
) -> std::io::Result<Waited<T>> {
    tokio::select! {
        status = exit => status.map(Waited::Exited),
        () = tokio::time::sleep_until(deadline) => Ok(Waited::Deadline),
        () = cancel.cancelled() => Ok(Waited::Cancelled),
    }
}

/// Waits up to `grace` for the child to exit, then kills it (the local
/// process only) and reaps it.
pub(crate) async fn wait_with_grace(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        _ => {
            let _ = child.start_kill();
            child.wait().await.ok()
        }
    }
}
