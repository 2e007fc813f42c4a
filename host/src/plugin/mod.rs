//! Sandboxed WebAssembly plugins: validators and the router.
pub mod settings;
pub mod types;
