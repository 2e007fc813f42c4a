//! Flushing the audit log to disk off the request path
//! (`[audit] sync = "background"`).
//!
//! Every line is written to the file (`write(2)`, `O_APPEND`) before the step
//! it records goes on, so a crash or kill of cluster-exec loses nothing. What
//! a flush adds is `fdatasync`, which protects against a crash of the machine
//! itself: about 0.15 ms on the development machine's disk, milliseconds or
//! more on network block storage. In this mode requests mark the file dirty
//! and one thread flushes whatever accumulated, so a burst of lines costs one
//! flush and no request waits for the disk. This is auditd's
//! `flush = incremental_async`;
//! lines written in the last moments before a power loss may be lost, and a
//! process that exits right after its last line leaves that line to the
//! kernel's writeback.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// The handle requests use; the thread runs until the process ends.
#[derive(Debug)]
pub struct Flusher {
    dirty: Arc<(Mutex<bool>, Condvar)>,
    done: Arc<AtomicU64>,
    /// The first failed flush: sticky, because a later flush can succeed
    /// without the lines the failed one lost (Linux drops dirty pages whose
    /// writeback failed).
    failed: Arc<Mutex<Option<String>>>,
}

impl Flusher {
    /// Starts the flushing thread for `file` (a second handle on the log).
    pub fn start(file: File, path: String) -> std::io::Result<Flusher> {
        let dirty = Arc::new((Mutex::new(false), Condvar::new()));
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(Mutex::new(None));
        let (shared, count, error) = (dirty.clone(), done.clone(), failed.clone());
        std::thread::Builder::new()
            .name("audit-flush".into())
            .spawn(move || flush_loop(&file, &path, &shared, &count, &error))?;
        Ok(Flusher {
            dirty,
            done,
            failed,
        })
    }

    /// Why a flush failed, if one ever did.
    pub fn failure(&self) -> Option<String> {
        match self.failed.lock() {
            Ok(f) => f.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Flushes completed so far.
    pub fn flushes(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Asks for a flush of everything written so far.
    pub fn request(&self) {
        let (lock, wake) = &*self.dirty;
        let mut dirty = match lock.lock() {
            Ok(d) => d,
            Err(p) => p.into_inner(),
        };
        *dirty = true;
        wake.notify_one();
    }
}

fn flush_loop(
    file: &File,
    path: &str,
    dirty: &(Mutex<bool>, Condvar),
    done: &AtomicU64,
    failed: &Mutex<Option<String>>,
) {
    let (lock, wake) = dirty;
    loop {
        {
            let mut d = match lock.lock() {
                Ok(d) => d,
                Err(p) => p.into_inner(),
            };
            while !*d {
                d = match wake.wait(d) {
                    Ok(d) => d,
                    Err(p) => p.into_inner(),
                };
            }
            *d = false;
        }
        match file.sync_data() {
            Ok(()) => {
                done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!("cannot flush the audit log {path} to disk: {e}");
                let mut f = match failed.lock() {
                    Ok(f) => f,
                    Err(p) => p.into_inner(),
                };
                f.get_or_insert_with(|| e.to_string());
            }
        }
    }
}
