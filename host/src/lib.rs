//! cluster-exec: run shell commands across a cluster, behind sandboxed
//! WebAssembly validators and a router, over the system's OpenSSH client.
pub mod audit;
pub mod cli;
pub mod config;
pub mod exec;
pub mod net;
pub mod plugin;
