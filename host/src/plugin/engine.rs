//! The one wasmtime `Engine` of the process, and the clock that enforces
//! plugin deadlines.
//!
//! Deadlines use epoch interruption: a background thread bumps the engine's
//! epoch every [`EPOCH_TICK`], and each call's store traps once its budget of
//! ticks is spent. That costs one relaxed load per loop back-edge in the guest,
//! far cheaper than fuel metering, and needs no per-call timer.

use std::sync::{Condvar, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Largest linear memory any plugin may be given (`memory_mib` above this is
/// refused at load): it sizes the slots of the instance pool.
pub const MAX_PLUGIN_MEMORY: usize = 256 << 20;
/// Low memory kept mapped between calls (the built-in plugins link with a
/// 256 KiB stack, so this covers their stack, data and first heap pages).
const KEEP_RESIDENT: usize = 512 << 10;
/// Plugin instances alive at once (each call holds one for its duration).
/// Creating the pool costs a few syscalls per slot at start-up, so it is
/// sized for the machine, and calls beyond it wait for a slot ([`slot`]).
pub const POOL_INSTANCES: u32 = 64;

/// Granularity of plugin deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Number of epoch ticks that covers `deadline`, plus one so a call never gets
/// less than its budget when it starts just before a tick.
pub fn ticks_for(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_micros().max(1);
    (deadline.as_micros().div_ceil(tick) as u64).saturating_add(1)
}

/// How this process will call plugins; it decides how instances get their
/// memory, and must be set before the first [`shared`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Many calls (`serve`, `parallel`, `plugin test`): a pre-reserved pool
    /// makes each call cheap, at a start-up cost of about a thousand
    /// `mprotect`s.
    Repeated,
    /// A handful of calls in a short-lived process (`run`, `explain`): each
    /// instance maps its memory on demand, so start-up pays nothing for a pool
    /// it would barely use, and loading skips the configuration check call
    /// (the real call configures the plugin and fails closed; `config check`
    /// and `serve` still check at start-up).
    OneShot,
}

static USAGE: OnceLock<Usage> = OnceLock::new();

/// Chooses the allocation strategy for this process (the first call wins;
/// without one, [`Usage::Repeated`]).
pub fn set_usage(usage: Usage) {
    let _ = USAGE.set(usage);
}

/// This process's usage.
pub fn usage() -> Usage {
    USAGE.get().copied().unwrap_or(Usage::Repeated)
}

/// Whether loading a plugin calls it once to check its configuration. A
/// one-shot process makes one real call, which configures the plugin the
/// same way and fails closed naming it: a check call first would only
/// double the cost.
pub fn check_configuration_at_load() -> bool {
    usage() == Usage::Repeated
}

/// The process-wide engine: compiling a component is tied to the engine that
/// compiled it, so sharing one lets every plugin share the code cache.
pub fn shared() -> Result<Engine> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine.clone());
    }
    let engine = build()?;
    // Two threads may race to build; the loser's engine is dropped unused.
    let engine = ENGINE.get_or_init(|| engine).clone();
    start_ticker(&engine);
    Ok(engine)
}

fn build() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Plugins are small; a modest stack bound turns runaway recursion into a
    // quick trap instead of a long one.
    config.max_wasm_stack(1 << 20);
    // Every call instantiates afresh, so instantiation is the hot path of a
    // long-lived process: there a pool of pre-reserved slots (reset in place,
    // data mapped copy-on-write) replaces an mmap/munmap per call.
    config.memory_reservation(MAX_PLUGIN_MEMORY as u64);
    let strategy = match usage() {
        Usage::OneShot => InstanceAllocationStrategy::OnDemand,
        Usage::Repeated => InstanceAllocationStrategy::Pooling(pool()),
    };
    config.allocation_strategy(strategy);
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("could not create the WebAssembly engine")
}

fn pool() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 4)
        .total_memories(POOL_INSTANCES)
        .total_tables(POOL_INSTANCES * 4)
        .max_memory_size(MAX_PLUGIN_MEMORY)
        // Reset the low memory (stack, data, first heap pages) with memset
        // and keep it mapped: a call then takes no page faults there, which
        // otherwise cost more than the plugin's own work.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(64 << 10);
    pool
}

/// Starts the epoch thread once; it lives as long as the process, like the
/// shared engine it drives.
fn start_ticker(engine: &Engine) {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let engine = engine.clone();
        let spawned = thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                loop {
                    thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            });
        if let Err(e) = spawned {
            // Without the ticker no deadline fires; every call would then run
            // unbounded. Calls check `ticker_running` and fail closed.
            tracing::error!("could not start the plugin deadline thread: {e}");
        } else {
            TICKER_RUNNING.set(()).ok();
        }
    });
}

static TICKER_RUNNING: OnceLock<()> = OnceLock::new();

/// Waits for a free instance slot; the returned guard frees it on drop.
/// Without this, a burst of calls beyond the pool would fail to instantiate
/// and deny commands for a reason that has nothing to do with them.
pub fn slot() -> SlotGuard {
    let (count, freed) = &SLOTS;
    let mut busy = count.lock().unwrap_or_else(|p| p.into_inner());
    while *busy >= POOL_INSTANCES {
        busy = freed.wait(busy).unwrap_or_else(|p| p.into_inner());
    }
    *busy += 1;
    SlotGuard(())
}

static SLOTS: (Mutex<u32>, Condvar) = (Mutex::new(0), Condvar::new());

/// A held instance slot.
pub struct SlotGuard(());

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let (count, freed) = &SLOTS;
        let mut busy = count.lock().unwrap_or_else(|p| p.into_inner());
        *busy = busy.saturating_sub(1);
        freed.notify_one();
    }
}

/// False when the deadline thread could not start: plugin calls must refuse
/// to run rather than run without a deadline.
pub fn ticker_running() -> bool {
    TICKER_RUNNING.get().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_always_gets_at_least_its_budget_in_ticks() {
        assert_eq!(ticks_for(Duration::from_millis(100)), 51);
        assert_eq!(ticks_for(Duration::from_millis(1)), 2);
        assert_eq!(ticks_for(Duration::ZERO), 1);
    }
}
