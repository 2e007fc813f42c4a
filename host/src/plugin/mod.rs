//! Sandboxed WebAssembly plugins: validators and the router.
//!
//! `load` is the one path from bytes to a checked component; `sandbox` runs a
//! call in a fresh store under a deadline and memory cap; `validator` and
//! `router` turn every failure into a deny or an error naming the plugin.
pub mod bindings;
pub mod cache;
pub mod engine;
pub mod harness;
pub mod inspect;
pub mod load;
pub mod router;
pub mod sandbox;
pub mod scaffold;
pub mod set;
pub mod settings;
pub mod source;
pub mod types;
pub mod validator;

pub use set::{PluginSet, VerdictRecord, combine};
