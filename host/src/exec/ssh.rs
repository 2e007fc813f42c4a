//! The SSH transport: one command on one node through the system `ssh`,
//! with the network guard, connection reuse (a session on the node's warm
//! ControlMaster when one is up, see [`super::ssh_mux`]; otherwise a child
//! `ssh` that becomes the master), retries only while nothing started, and a
//! remote kill of the command's process group on timeout or cancel.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::net::unix::pipe::Receiver;
use tokio::process::{Child, Command};
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::output_pump::{Pump, Waited, wait_or_stop, wait_with_grace};
use super::result::{ExecError, OutputChunk, RunResult};
use super::ssh_args::{self, Master};
use super::ssh_control::{ControlSlots, SlotLease};
use super::ssh_mux;
use super::ssh_mux::{MuxSession, Opened};
use super::ssh_quote::Wrapper;
use super::ssh_quote::{self, MarkerFilter};
use crate::config::{LoginShell, Node, SshSettings};
use crate::net::{Guard, Target};

/// The program run for every connection.
pub const SSH_PROGRAM: &str = "ssh";

/// How long the readers may outlive the `ssh` process before we stop
/// waiting for end of stream.
const READ_GRACE: Duration = Duration::from_secs(2);
/// After the remote kill, how long `ssh` gets to notice its session ended.
const AFTER_KILL_GRACE: Duration = Duration::from_secs(3);
/// How long a late start marker is awaited when the deadline hits.
const MARKER_GRACE: Duration = Duration::from_millis(300);
/// First retry delay; doubles each time, capped at [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// Everything `run` needs besides the node and the command.
#[derive(Debug)]
pub struct SshRunner {
    pub settings: SshSettings,
    pub guard: Guard,
    pub control: ControlSlots,
    pub output_cap: usize,
}

/// What one attempt produced.
enum Attempt {
    /// The command started (or the remote side answered): final.
    Done(RunResult),
    /// The connection failed before the command started: may be retried.
    NotStarted { why: String },
    /// Final error.
    Failed(ExecError),
}

/// Per-run inputs that stay the same over attempts.
pub struct RunSpec<'a> {
    pub node: &'a Node,
    pub command: &'a str,
    pub deadline: Instant,
    pub cancel: &'a CancellationToken,
    pub live: Option<UnboundedSender<OutputChunk>>,
    /// Extra attempts on connection failure.
    pub retries: u32,
}

impl SshRunner {
    /// Runs `spec.command` on `spec.node`: guard, then attempts.
    pub async fn run(&self, spec: RunSpec<'_>) -> Result<RunResult, ExecError> {
        let started_at = Instant::now();
        let node = spec.node;
        let target = tokio::select! {
            t = self.guard.check_host(node) => t?,
            () = tokio::time::sleep_until(spec.deadline) => {
                return Err(ExecError::TimedOut {
                    node: node.id.clone(),
                    after_ms: ms(started_at.elapsed()),
                    stage: "resolving the host".into(),
                })
            }
            () = spec.cancel.cancelled() => {
                return Err(ExecError::Cancelled { node: node.id.clone(), stage: "resolving the host".into() })
            }
        };
        let key = ControlSlots::key(
            node.user.as_deref(),
            &node.host,
            &target.addr.to_string(),
            node.port,
        );
        let mut attempts = 0u32;
        let mut backoff = FIRST_BACKOFF;
        loop {
            attempts += 1;
            let lease = self.control.acquire(&key);
            let outcome = self.attempt(&spec, &target, &lease, started_at).await;
            drop(lease);
            match outcome {
                Attempt::Done(mut r) => {
                    r.attempts = attempts;
                    return Ok(r);
                }
                Attempt::Failed(e) => return Err(e),
                Attempt::NotStarted { why } => {
                    warn!(node = %node.id, attempt = attempts, %why, "ssh connection failed before the command started");
                    if attempts > spec.retries {
                        return Err(ExecError::Unreachable {
                            node: node.id.clone(),
                            target: format!("{}:{}", target.addr, target.port),
                            attempts,
                            why,
                        });
                    }
                    let stop = tokio::select! {
                        () = tokio::time::sleep(backoff) => None,
                        () = tokio::time::sleep_until(spec.deadline) => Some(ExecError::TimedOut {
                            node: node.id.clone(),
                            after_ms: ms(started_at.elapsed()),
                            stage: format!("retrying the connection after: {why}"),
                        }),
                        () = spec.cancel.cancelled() => Some(ExecError::Cancelled {
                            node: node.id.clone(),
                            stage: "retrying the connection".into(),
                        }),
                    };
                    if let Some(e) = stop {
                        return Err(e);
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn attempt(
        &self,
        spec: &RunSpec<'_>,
        target: &Target,
        lease: &SlotLease,
        started_at: Instant,
    ) -> Attempt {
        let node = spec.node;
        let nonce = nonce();
        let marker = Some(MarkerFilter::new(&nonce));
        let opened = match self
            .open_on_master(spec, target, lease, &nonce, started_at)
            .await
        {
            Ok(opened) => opened,
            Err(stop) => return stop,
        };
        let (mut session, mut pump) = match opened {
            Ok((s, out, err)) => {
                debug!(node = %node.id, slot = lease.slot, "session on the warm control socket");
                let pump = Pump::spawn_readers(
                    Some(out),
                    Some(err),
                    &node.id,
                    self.output_cap,
                    spec.live.clone(),
                    marker,
                );
                (Session::Mux(s), pump)
            }
            Err(why) => {
                debug!(node = %node.id, addr = %target.addr, slot = lease.slot, %why, "ssh attempt");
                let mut child = match self.spawn_ssh(spec, target, lease, &nonce) {
                    Ok(c) => c,
                    Err(e) => return Attempt::Failed(e),
                };
                let pump = Pump::spawn(
                    &mut child,
                    &node.id,
                    self.output_cap,
                    spec.live.clone(),
                    marker,
                );
                (Session::Child(child), pump)
            }
        };
        let waited = match wait_or_stop(session.wait(), spec.deadline, spec.cancel).await {
            Ok(w) => w,
            Err(e) => {
                return Attempt::Failed(ExecError::Internal {
                    node: node.id.clone(),
                    what: "waiting for ssh".into(),
                    why: e.to_string(),
                });
            }
        };
        let mut result = RunResult {
            node: node.id.clone(),
            target: Some(target.addr.to_string()),
            reused_connection: session.is_mux(),
            ..RunResult::default()
        };
        let code = match waited {
            Waited::Exited(code) => code,
            Waited::Deadline | Waited::Cancelled => {
                let cancelled = matches!(waited, Waited::Cancelled);
                let pgid = match pump.started() {
                    Some(p) => Some(p),
                    None => late_marker(&mut pump).await,
                };
                let Some(pgid) = pgid else {
                    // Nothing started: stopping the local ssh is enough.
                    session.wind_down(Duration::ZERO).await;
                    let stage = "connecting".to_string();
                    return Attempt::Failed(if cancelled {
                        ExecError::Cancelled {
                            node: node.id.clone(),
                            stage,
                        }
                    } else {
                        ExecError::TimedOut {
                            node: node.id.clone(),
                            after_ms: ms(started_at.elapsed()),
                            stage,
                        }
                    });
                };
                result.timed_out = !cancelled;
                result.cancelled = cancelled;
                result.kill = Some(self.kill_remote(node, target, lease, pgid).await);
                info!(node = %node.id, pgid, kill = ?result.kill, "stopped a command");
                session.wind_down(AFTER_KILL_GRACE).await;
                None
            }
        };
        // After the readers are done: a start marker still in the pipe
        // when the session ended must count.
        let (out, err) = pump.finish(READ_GRACE).await;
        let (started, ended) = (pump.started(), pump.ended());
        result.duration_ms = ms(started_at.elapsed());
        result.stdout = out.text;
        result.stdout_bytes = out.total_bytes;
        result.stdout_truncated = out.truncated;
        result.stdout_lossy = out.lossy;
        let stderr_text = err.text.clone();
        result.stderr = err.text;
        result.stderr_bytes = err.total_bytes;
        result.stderr_truncated = err.truncated;
        result.stderr_lossy = err.lossy;
        if result.timed_out || result.cancelled {
            return Attempt::Done(result);
        }
        // A status the session itself reported for certain: every exit
        // message from the master, and anything but 255 from a child `ssh`
        // (which says 255 for a lost connection too).
        let certain = code.filter(|c| session.is_mux() || *c != 255);
        match (started, ended.or(certain)) {
            // The command's own status: the end marker's (128+N for a
            // signal, as a shell says it), or the session's when the
            // command replaced the shell (`exec`) or the wrapper prints
            // none. A session's certain status outranks an end marker the
            // command could have printed itself.
            (Some(_), Some(status)) => {
                result.exit_code = Some(certain.unwrap_or(status));
                Attempt::Done(result)
            }
            // Started, but no status came back: the connection died under
            // the command (or its login shell was killed outright).
            (Some(pgid), None) => Attempt::Failed(ExecError::ConnectionLost {
                node: node.id.clone(),
                why: connection_lost(&stderr_text).unwrap_or_else(|| match &session {
                    Session::Mux(_) => "the session ended without an exit status (the \
                                        connection broke, or the login shell was killed)"
                        .to_string(),
                    Session::Child(_) => format!(
                        "ssh ended (status {}) before the command's exit status arrived",
                        code.map_or("none".to_string(), |c| c.to_string())
                    ),
                }),
                pgid: Some(pgid),
                partial: Box::new(result),
            }),
            // No start marker and no status. A child `ssh` that failed this
            // way never carried the command; a session the master opened
            // did send it, so it may have run.
            (None, None) => match &session {
                Session::Mux(_) => Attempt::Failed(ExecError::ConnectionLost {
                    node: node.id.clone(),
                    why: "the session ended without an exit status before the command announced \
                          its start"
                        .into(),
                    pgid: None,
                    partial: Box::new(result),
                }),
                Session::Child(_) => classify_failure(node, &self.settings, &stderr_text),
            },
            // The remote side answered without running the wrapper: a forced
            // command, or a login shell that is not POSIX on a node without
            // `login_shell = "other"` (then a timeout cannot stop it).
            (None, Some(status)) => {
                warn!(
                    node = %node.id,
                    "the command ran without announcing its process group (a forced command, or \
                     a login shell that is not POSIX: set login_shell = \"other\" on the node)"
                );
                result.exit_code = Some(status);
                Attempt::Done(result)
            }
        }
    }

    /// Asks the node's warm master, if one answers, for a session running
    /// the command: `Ok(Ok(..))` with its output pipes, `Ok(Err(why))` when
    /// no master took the request (run `ssh` instead), `Err` with the
    /// attempt's outcome when it must stop here.
    async fn open_on_master(
        &self,
        spec: &RunSpec<'_>,
        target: &Target,
        lease: &SlotLease,
        nonce: &str,
        started_at: Instant,
    ) -> Result<Result<(MuxSession, Receiver, Receiver), String>, Attempt> {
        let node = spec.node;
        // Nothing is asked of the master before its hello: giving up here
        // is always safe.
        let limit = Duration::from_secs(self.settings.connect_timeout_secs.max(1));
        let stage = "waiting for the connection's control socket";
        let client = tokio::select! {
            c = ssh_mux::connect(&lease.path, limit) => match c {
                Ok(client) => client,
                Err(why) => return Ok(Err(why)),
            },
            () = tokio::time::sleep_until(spec.deadline) => {
                return Err(Attempt::Failed(ExecError::TimedOut {
                    node: node.id.clone(),
                    after_ms: ms(started_at.elapsed()),
                    stage: stage.into(),
                }));
            }
            () = spec.cancel.cancelled() => {
                return Err(Attempt::Failed(ExecError::Cancelled {
                    node: node.id.clone(),
                    stage: stage.into(),
                }));
            }
        };
        let form = match node.login_shell {
            LoginShell::Posix => Wrapper::InLoginShell,
            LoginShell::Other => Wrapper::Portable,
        };
        let remote = ssh_quote::wrap(spec.command, nonce, form);
        // Once asked, the master may start the command at any moment: an
        // interrupted request is "may have started".
        let opened = tokio::select! {
            o = client.start(&remote) => o,
            () = tokio::time::sleep_until(spec.deadline) => Opened::Unknown(
                "the deadline passed while the connection was opening the session".into(),
            ),
            () = spec.cancel.cancelled() => Opened::Unknown(
                "cancelled while the connection was opening the session".into(),
            ),
        };
        match opened {
            Opened::Session {
                session,
                stdout,
                stderr,
            } => Ok(Ok((session, stdout, stderr))),
            Opened::NoMaster(why) => Ok(Err(why)),
            Opened::Refused(why) => Err(Attempt::NotStarted {
                why: format!("the connection refused a new session: {why}"),
            }),
            Opened::Unknown(why) => Err(Attempt::Failed(ExecError::ConnectionLost {
                node: node.id.clone(),
                why,
                pgid: None,
                partial: Box::new(RunResult {
                    node: node.id.clone(),
                    target: Some(target.addr.to_string()),
                    reused_connection: true,
                    ..RunResult::default()
                }),
            })),
        }
    }

    /// Starts a child `ssh` for the command; it becomes the master when none
    /// is up. The portable wrapper's end marker tells a command's exit 255
    /// from ssh's own.
    fn spawn_ssh(
        &self,
        spec: &RunSpec<'_>,
        target: &Target,
        lease: &SlotLease,
        nonce: &str,
    ) -> Result<Child, ExecError> {
        let remote = ssh_quote::wrap(spec.command, nonce, Wrapper::Portable);
        let args = ssh_args::build(
            &self.settings,
            spec.node,
            target,
            &lease.path,
            Master::Auto,
            &remote,
        );
        without_locale(Command::new(SSH_PROGRAM))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ExecError::Spawn {
                node: spec.node.id.clone(),
                program: SSH_PROGRAM.into(),
                source,
            })
    }

    /// Stops process group `pgid` on the node through a second session over
    /// the same control socket. Returns a note for the result.
    async fn kill_remote(
        &self,
        node: &Node,
        target: &Target,
        lease: &SlotLease,
        pgid: i64,
    ) -> String {
        let Some(script) = ssh_quote::kill_script(pgid) else {
            return format!(
                "the remote process group was not announced correctly ({pgid}); it may still be \
                 running on {}",
                node.id
            );
        };
        let args = ssh_args::build(
            &self.settings,
            node,
            target,
            &lease.path,
            Master::UseOnly,
            &script,
        );
        let limit = Duration::from_secs(self.settings.connect_timeout_secs + 5);
        let run = Command::new(SSH_PROGRAM)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(limit, run).await {
            Ok(Ok(out)) if out.status.success() => {
                format!("killed remote process group {pgid} (TERM, then KILL after 2 s if needed)")
            }
            Ok(Ok(out)) => format!(
                "could not kill remote process group {pgid} on {}: {}; it may still be running",
                node.id,
                last_line(&String::from_utf8_lossy(&out.stderr))
            ),
            Ok(Err(e)) => format!(
                "could not start ssh to kill remote process group {pgid} on {}: {e}; it may \
                 still be running",
                node.id
            ),
            Err(_) => format!(
                "no answer from {} within {} s while killing remote process group {pgid}; it may \
                 still be running",
                node.id,
                limit.as_secs()
            ),
        }
    }

    /// Runs `ssh -O <op>` on a control socket (`check`, `exit`).
    pub async fn control_op(&self, socket: &std::path::Path, op: &str) -> bool {
        let mut cmd = Command::new(SSH_PROGRAM);
        cmd.arg("-O")
            .arg(op)
            .arg("-o")
            .arg(format!("ControlPath={}", socket.display()));
        if let Some(f) = &self.settings.config_file {
            cmd.arg("-F").arg(f);
        }
        cmd.arg("--").arg("cluster-exec-control");
        let out = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status();
        matches!(tokio::time::timeout(Duration::from_secs(5), out).await, Ok(Ok(s)) if s.success())
    }
}

/// The local end of one remote session.
enum Session {
    /// A child `ssh` (which may become the ControlMaster).
    Child(Child),
    /// A session on a running master's socket.
    Mux(MuxSession),
}

impl Session {
    /// The exit status: a child `ssh`'s (255 also when the connection
    /// failed; `None` when it was killed), or the master's exit message
    /// (`None` when the session ended without one).
    async fn wait(&mut self) -> std::io::Result<Option<i32>> {
        match self {
            Session::Child(c) => c.wait().await.map(|s| s.code()),
            Session::Mux(m) => Ok(m.wait().await),
        }
    }

    fn is_mux(&self) -> bool {
        matches!(self, Session::Mux(_))
    }

    /// Gives the session `grace` to end by itself, then lets go of it (the
    /// local side only: the remote group is the kill script's job).
    async fn wind_down(&mut self, grace: Duration) {
        match self {
            Session::Child(c) => {
                wait_with_grace(c, grace).await;
            }
            Session::Mux(m) => {
                if tokio::time::timeout(grace, m.wait()).await.is_err() {
                    m.abandon();
                }
            }
        }
    }
}

/// A child `ssh` without the locale variables, which Debian's default
/// `SendEnv LANG LC_*` would forward: sessions on a warm master carry no
/// environment, and both paths should run commands alike.
fn without_locale(mut cmd: Command) -> Command {
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if n == "LANG" || n == "LANGUAGE" || n.starts_with("LC_") {
            cmd.env_remove(&name);
        }
    }
    cmd
}

/// Gives the stderr reader a moment to deliver a marker that was in flight
/// when the deadline hit (so a just-started command is still killed).
async fn late_marker(pump: &mut Pump) -> Option<i64> {
    let deadline = Instant::now() + MARKER_GRACE;
    while Instant::now() < deadline {
        if let Some(p) = pump.started() {
            return Some(p);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pump.started()
}

/// ssh exited 255 before the command started: which failure was it?
fn classify_failure(node: &Node, s: &SshSettings, stderr: &str) -> Attempt {
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || stderr.contains("Host key verification failed")
    {
        return Attempt::Failed(ExecError::HostKeyChanged {
            node: node.id.clone(),
            host: node.host.clone(),
            known_hosts: s.known_hosts_file.display().to_string(),
        });
    }
    if stderr.contains("Permission denied") || stderr.contains("Too many authentication failures") {
        return Attempt::Failed(ExecError::AuthFailed {
            node: node.id.clone(),
            user: node
                .user
                .clone()
                .unwrap_or_else(|| "(ssh default user)".into()),
            why: last_line(stderr),
        });
    }
    Attempt::NotStarted {
        why: if stderr.trim().is_empty() {
            "ssh exited with status 255 and said nothing".into()
        } else {
            last_line(stderr)
        },
    }
}

/// ssh's own words for a connection that died under a running command.
fn connection_lost(stderr: &str) -> Option<String> {
    const SIGNS: &[&str] = &[
        "Timeout, server",
        "closed by remote host",
        "Connection reset",
        "Broken pipe",
        "client_loop:",
        "packet_write_wait",
        "Connection to ",
    ];
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    tail.iter()
        .find(|l| SIGNS.iter().any(|s| l.contains(s)))
        .map(|l| l.trim().to_string())
}

/// The last non-empty line, without ssh's `ssh: ` prefix.
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.strip_prefix("ssh: ").unwrap_or(l).to_string())
        .unwrap_or_else(|| "(no message)".into())
}

/// A per-run nonce for the start marker: unpredictable enough that the
/// login shell's rc files cannot print it by accident.
fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    h.update(std::process::id().to_be_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.update(now.to_be_bytes());
    hex::encode(&h.finalize()[..8])
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_loss_is_recognised_from_ssh_messages() {
        assert!(connection_lost("out\nTimeout, server 198.18.0.2 not responding.\n").is_some());
        assert!(connection_lost("Connection to h0 closed by remote host.\n").is_some());
        assert!(connection_lost("my own error\n").is_none());
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
    }
}
