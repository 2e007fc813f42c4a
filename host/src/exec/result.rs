//! What a run produces: the structured [`RunResult`], the live
//! [`OutputChunk`]s, and the [`ExecError`]s that say what to do.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::net::GuardError;

/// How to run one command.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Wall-clock limit from the call to `run` (slot wait, connection and
    /// retries included); `None` uses `[ssh] command_timeout_secs`.
    pub timeout: Option<Duration>,
    /// Cancels the run; a started command's process group is killed.
    pub cancel: CancellationToken,
    /// Live output, as it arrives (for streaming and MCP progress).
    pub on_output: Option<UnboundedSender<OutputChunk>>,
}

/// Which output stream a chunk or a count belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A piece of live output. Bytes are raw: a chunk may end in the middle of a
/// UTF-8 character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub node: String,
    pub stream: Stream,
    pub data: Vec<u8>,
}

impl OutputChunk {
    /// The chunk decoded lossily, for display.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The outcome of a command that ran (or started and was stopped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunResult {
    pub node: String,
    /// Exit code; `None` when the command was stopped (timeout, cancel) or,
    /// on the local transport, killed by a signal. Over ssh a command killed
    /// by signal N reports 128+N, as a shell would.
    pub exit_code: Option<i32>,
    /// The signal that ended the command (local transport only: ssh carries
    /// no signal back through the wrapper).
    pub signal: Option<i32>,
    /// Captured output, lossily decoded; when truncated, the head and the
    /// tail with a marker line between them.
    pub stdout: String,
    pub stderr: String,
    /// Full byte counts, including what the cap dropped.
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// The cap dropped bytes, or reading stopped while the stream was still
    /// open (a background process held it past the grace period).
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The stream was not valid UTF-8 and was decoded lossily.
    pub stdout_lossy: bool,
    pub stderr_lossy: bool,
    pub duration_ms: u64,
    pub timed_out: bool,
    pub cancelled: bool,
    /// Connection attempts made (1 unless a connection failure was retried).
    pub attempts: u32,
    /// The address connected to, after the network guard (ssh only).
    pub target: Option<String>,
    /// The command ran on an open connection (the ControlMaster's socket)
    /// without a new handshake or a new `ssh` process.
    pub reused_connection: bool,
    /// What was done to stop a timed-out or cancelled command.
    pub kill: Option<String>,
}

impl RunResult {
    /// The command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }
}

/// Why a command could not run (or its connection was lost). Each message
/// says what failed, on which node, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "cannot connect to node {node} ({target}) after {attempts} attempt(s): {why}; check that \
         the host is up and sshd listens there, and the address in the config (`cluster-exec \
         status` shows reachability)"
    )]
    Unreachable {
        node: String,
        target: String,
        attempts: u32,
        why: String,
    },
    #[error(
        "host key for {node} changed (known hosts file {known_hosts}): the connection was refused \
         because the server presented a different key than recorded. If the host was \
         reinstalled on purpose, remove the old key with `ssh-keygen -R {host} -f {known_hosts}` \
         and retry; otherwise treat it as a possible interception and investigate"
    )]
    HostKeyChanged {
        node: String,
        host: String,
        known_hosts: String,
    },
    #[error(
        "authentication failed on node {node} as {user}: {why}; check [ssh] identity_file and \
         that its public key is in the remote user's authorized_keys"
    )]
    AuthFailed {
        node: String,
        user: String,
        why: String,
    },
    #[error("{0}")]
    Blocked(#[from] GuardError),
    #[error(
        "connection to node {node} was lost while the command ran: {why}; the command may still \
         be running there (process group {pgid:?}); check the network and rerun if safe"
    )]
    ConnectionLost {
        node: String,
        why: String,
        pgid: Option<i64>,
        partial: Box<RunResult>,
    },
    #[error(
        "timed out after {after_ms} ms before the command started on node {node} ({stage}); \
         raise the timeout or check the node with `cluster-exec status`"
    )]
    TimedOut {
        node: String,
        after_ms: u64,
        stage: String,
    },
    #[error("cancelled before the command started on node {node} ({stage}); nothing ran there")]
    Cancelled { node: String, stage: String },
    #[error(
        "command for node {node} is {len} bytes, over [limits] max_command_bytes = {max}; send a \
         script file instead, or raise the limit"
    )]
    CommandTooLong {
        node: String,
        len: usize,
        max: usize,
    },
    #[error("command for node {node} contains a NUL byte, which no shell can receive; remove it")]
    NulInCommand { node: String },
    #[error(
        "cannot start {program} for node {node}: {source}; check that it is installed and on PATH"
    )]
    Spawn {
        node: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} for node {node}: {why}")]
    Internal {
        node: String,
        what: String,
        why: String,
    },
}

impl ExecError {
    /// A short machine-readable name, for reports and the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            ExecError::Unreachable { .. } => "unreachable",
            ExecError::HostKeyChanged { .. } => "host_key_changed",
            ExecError::AuthFailed { .. } => "auth_failed",
            ExecError::Blocked(_) => "blocked",
            ExecError::ConnectionLost { .. } => "connection_lost",
            ExecError::TimedOut { .. } => "timed_out",
            ExecError::Cancelled { .. } => "cancelled",
            ExecError::CommandTooLong { .. } => "command_too_long",
            ExecError::NulInCommand { .. } => "nul_in_command",
            ExecError::Spawn { .. } => "spawn_failed",
            ExecError::Internal { .. } => "internal",
        }
    }
}
