//! The local transport: the same [`RunResult`] for commands on this machine,
//! run by `/bin/sh -c` in their own process group (so a timeout or cancel
//! kills everything the command started), stdin from /dev/null.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::time::Instant;

use super::output_pump::{Pump, Waited, wait_or_stop, wait_with_grace};
use super::result::{ExecError, RunResult};
use super::ssh::RunSpec;

/// The shell that parses local commands.
pub const LOCAL_SHELL: &str = "/bin/sh";
/// TERM first; KILL if the group is still there after this.
const KILL_GRACE: Duration = Duration::from_secs(2);
const READ_GRACE: Duration = Duration::from_secs(2);

/// Runs `spec.command` locally.
pub async fn run(spec: RunSpec<'_>, output_cap: usize) -> Result<RunResult, ExecError> {
    let started_at = Instant::now();
    let node = spec.node;
    let mut child = Command::new(LOCAL_SHELL)
        .arg("-c")
        .arg(spec.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ExecError::Spawn {
            node: node.id.clone(),
            program: LOCAL_SHELL.into(),
            source,
        })?;
    let pgid = child.id().and_then(|p| i32::try_from(p).ok());
    let mut pump = Pump::spawn(&mut child, &node.id, output_cap, spec.live.clone(), None);
    let waited = wait_or_stop(child.wait(), spec.deadline, spec.cancel)
        .await
        .map_err(|e| ExecError::Internal {
            node: node.id.clone(),
            what: "waiting for the local shell".into(),
            why: e.to_string(),
        })?;
    let mut result = RunResult {
        node: node.id.clone(),
        attempts: 1,
        ..RunResult::default()
    };
    let status = match waited {
        Waited::Exited(s) => Some(s),
        Waited::Deadline | Waited::Cancelled => {
            result.timed_out = matches!(waited, Waited::Deadline);
            result.cancelled = !result.timed_out;
            let (status, note) = kill_group(&mut child, pgid).await;
            result.kill = Some(note);
            status
        }
    };
    let (out, err) = pump.finish(READ_GRACE).await;
    if let Some(s) = status {
        result.exit_code = s.code();
        result.signal = s.signal();
    }
    if result.timed_out || result.cancelled {
        result.exit_code = None;
    }
    result.duration_ms = u64::try_from(started_at.elapsed().as_millis()).unwrap_or(u64::MAX);
    result.stdout = out.text;
    result.stdout_bytes = out.total_bytes;
    result.stdout_truncated = out.truncated;
    result.stdout_lossy = out.lossy;
    result.stderr = err.text;
    result.stderr_bytes = err.total_bytes;
    result.stderr_truncated = err.truncated;
    result.stderr_lossy = err.lossy;
    Ok(result)
}

/// TERM to the whole group, a grace period, then KILL to the group.
async fn kill_group(
    child: &mut tokio::process::Child,
    pgid: Option<i32>,
) -> (Option<std::process::ExitStatus>, String) {
    let Some(pgid) = pgid.filter(|p| *p > 1) else {
        let status = wait_with_grace(child, Duration::ZERO).await;
        return (
            status,
            "killed the local shell (its process group was unknown)".into(),
        );
    };
    // SAFETY: kill(2) with a negative pid signals our own child's group.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    let status = match tokio::time::timeout(KILL_GRACE, child.wait()).await {
        Ok(Ok(s)) => Some(s),
        _ => None,
    };
    // The shell may be gone while the rest of its group lingers: KILL the
    // group regardless (ESRCH when it is empty is fine).
    // SAFETY: as above.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let status = match status {
        Some(s) => Some(s),
        None => child.wait().await.ok(),
    };
    (
        status,
        format!("killed local process group {pgid} (TERM, then KILL)"),
    )
}
