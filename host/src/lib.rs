//! cluster-exec: run shell commands across a cluster, behind sandboxed
//! WebAssembly validators and a router, over the system's OpenSSH client.
pub mod cli;
pub mod plugin;
