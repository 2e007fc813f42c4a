//! The default router: keeps the original Python server's placement rules.
//!
//! Filter nodes by required os, arch and capabilities; then prefer a node whose
//! specialty matches the kind of command, higher priority, free task slots and
//! lower load. Heavy commands (build, test, container, compile) stay off the
//! local node; simple read-only ones may stay local. The logic is pure Rust so
//! it is tested natively; `glue` binds it to the WIT `router` world.

pub mod classify;
pub mod config;
pub mod model;
pub mod pick;

#[cfg(target_arch = "wasm32")]
mod glue;
