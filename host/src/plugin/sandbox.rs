//! One plugin call's sandbox: a fresh store with an empty WASI context, a
//! memory cap, a deadline, and captured stderr; and the translation of
//! whatever went wrong into a sentence that names the plugin and the cause.

use std::fmt;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::validator::cluster_exec::plugin::log;
use super::engine;

/// Bytes of a plugin's stderr kept per call; a plugin writing more sees its
/// stream closed (and usually fails, which denies).
const STDERR_CAPACITY: usize = 16 * 1024;
/// Log lines a plugin may emit per call, and their length, so a plugin cannot
/// flood the host's log.
const MAX_LOG_LINES: usize = 64;
const MAX_LOG_LINE: usize = 1024;

/// Time and memory a plugin call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub deadline: Duration,
    pub memory_bytes: usize,
}

impl Limits {
    pub fn new(deadline_ms: u64, memory_mib: u64) -> Self {
        Self {
            deadline: Duration::from_millis(deadline_ms),
            memory_bytes: usize::try_from(memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
        }
    }
}

/// Per-call host state. Nothing in it outlives the call.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryGuard,
    plugin: String,
    log_lines: usize,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl log::Host for CallState {
    fn log(&mut self, level: log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let message: String = message.chars().take(MAX_LOG_LINE).collect();
        let plugin = &self.plugin;
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

/// Refuses memory growth past the cap and remembers that it did, so the
/// resulting trap can be reported as "exceeded N MiB" rather than as the
/// allocator abort it turns into inside the guest.
struct MemoryGuard {
    cap: usize,
    exceeded: bool,
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any real
        // plugin and bounds the host memory they can claim.
        Ok(desired <= 1_000_000)
    }
}

/// A linker with WASI (backed by the empty context) and the `log` import.
/// Imports that grant access are refused at load by `inspect`, before a
/// component ever meets this linker.
pub fn linker(engine: &Engine) -> anyhow::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    log::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// One call: its store and the stderr it captured.
pub struct Call {
    pub store: Store<CallState>,
    /// Held for the call's life; declared after `store` so the instance is
    /// freed before the slot is.
    _slot: engine::SlotGuard,
    stderr: MemoryOutputPipe,
    limits: Limits,
}

impl Call {
    /// A fresh store: no files, no environment, no arguments, no sockets, no
    /// name lookups; stdout and stderr captured; deadline and cap armed.
    pub fn new(engine: &Engine, plugin: &str, limits: Limits) -> Result<Self, Failure> {
        if !engine::ticker_running() {
            return Err(Failure::NoDeadline);
        }
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtxBuilder::new()
            .stdout(MemoryOutputPipe::new(STDERR_CAPACITY))
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = CallState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryGuard {
                cap: limits.memory_bytes,
                exceeded: false,
            },
            plugin: plugin.to_string(),
            log_lines: 0,
        };
        let slot = engine::slot();
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(engine::ticks_for(limits.deadline));
        store.epoch_deadline_trap();
        Ok(Self {
            store,
            _slot: slot,
            stderr,
            limits,
        })
    }

    /// What the plugin wrote to stderr, lossily decoded.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }

    /// Names the cause of a failed call.
    pub fn failure(&self, error: wasmtime::Error) -> Failure {
        let stderr = self.stderr();
        if self.store.data().memory.exceeded {
            return Failure::OutOfMemory(self.limits.memory_bytes);
        }
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return Failure::TimedOut(self.limits.deadline);
        }
        if let Some(message) = panic_message(&stderr) {
            return Failure::Panicked(message);
        }
        let trap = error
            .downcast_ref::<Trap>()
            .map(|t| t.to_string())
            .unwrap_or_else(|| format!("{error:#}"));
        Failure::Trapped {
            trap,
            stderr: tail(&stderr, 512),
        }
    }
}

/// Runs `body` in a fresh sandbox and names the cause when it fails. The body
/// returns `Ok(Err(message))` when the plugin rejected its configuration.
pub fn run<T>(
    engine: &Engine,
    plugin: &str,
    limits: Limits,
    body: impl FnOnce(&mut Store<CallState>) -> wasmtime::Result<Result<T, String>>,
) -> Result<T, Failure> {
    let mut call = Call::new(engine, plugin, limits)?;
    let outcome = body(&mut call.store);
    let stderr = call.stderr();
    if !stderr.trim().is_empty() {
        tracing::debug!(plugin, stderr = %tail(&stderr, 2048), "plugin wrote to stderr");
    }
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(Failure::Config(message)),
        Err(error) => Err(call.failure(error)),
    }
}

/// Why a plugin call produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    TimedOut(Duration),
    OutOfMemory(usize),
    Panicked(String),
    Trapped {
        trap: String,
        stderr: String,
    },
    /// The plugin refused its configuration at call time.
    Config(String),
    NoDeadline,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut(d) => write!(f, "timed out after {} ms", d.as_millis()),
            Self::OutOfMemory(bytes) => write!(f, "exceeded {} MiB of memory", bytes >> 20),
            Self::Panicked(message) => write!(f, "panicked: {message}"),
            Self::Trapped { trap, stderr } if stderr.is_empty() => write!(f, "trapped: {trap}"),
            Self::Trapped { trap, stderr } => write!(f, "trapped: {trap} (stderr: {stderr})"),
            Self::Config(message) => write!(f, "rejected its configuration: {message}"),
            Self::NoDeadline => write!(f, "not run: the plugin deadline clock is not running"),
        }
    }
}

/// Extracts the message of a Rust panic from the standard panic output:
/// `thread '...' panicked at FILE:LINE:COL:\nMESSAGE\nnote: ...`.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at ")?;
    let after = &stderr[start..];
    let mut lines = after.lines();
    let header = lines.next()?;
    let body: Vec<&str> = lines
        .take_while(|l| !l.starts_with("note: ") && !l.starts_with("stack backtrace"))
        .collect();
    let message = body.join("\n").trim().to_string();
    if message.is_empty() {
        // Older formats put the message on the header line after a comma.
        Some(header.trim_start_matches("panicked at ").to_string())
    } else {
        Some(message)
    }
}

fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = text.len() - max;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    format!("...{}", &text[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_message_is_taken_from_rust_panic_output() {
        let out = "\nthread '<unnamed>' panicked at src/lib.rs:10:5:\nboom: bad input\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(panic_message(out).as_deref(), Some("boom: bad input"));
        assert_eq!(panic_message("just noise"), None);
    }

    #[test]
    fn failures_read_as_the_issue_promises() {
        assert_eq!(
            Failure::TimedOut(Duration::from_millis(100)).to_string(),
            "timed out after 100 ms"
        );
        assert_eq!(
            Failure::OutOfMemory(32 << 20).to_string(),
            "exceeded 32 MiB of memory"
        );
        assert_eq!(Failure::Panicked("x".into()).to_string(), "panicked: x");
    }
}
