//! The [`Executor`]: one entry point that checks the command, waits for a
//! slot under the per-node and global limits, and hands the command to the
//! node's transport (ssh or local). Also probes node status.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::limits::TaskLimits;
use super::local;
use super::result::{ExecError, RunOptions, RunResult};
use super::ssh::{RunSpec, SshRunner};
use super::ssh_control::{self, ControlSlots};
use super::ssh_quote;
use super::status::{NodeStatus, PROBE_SCRIPT, parse_probe};
use crate::config::{Config, Node, SshSettings, Transport};

/// How long a status answer is reused.
pub const STATUS_TTL: Duration = Duration::from_secs(5);
/// Upper bound of one status probe (connection included).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(8);

/// Runs commands on nodes. Create one per process and share it: it holds the
/// concurrency limits and the control-socket slots.
#[derive(Debug)]
pub struct Executor {
    ssh: SshRunner,
    limits: TaskLimits,
    max_command_bytes: usize,
    default_timeout: Duration,
    status_cache: Mutex<HashMap<String, (Instant, NodeStatus)>>,
}

impl Executor {
    /// Prepares the private control-socket folder and the known-hosts
    /// folder. Nothing connects yet.
    pub fn new(config: &Config) -> anyhow::Result<Executor> {
        let s: &SshSettings = &config.ssh;
        let uses_ssh = config.nodes.iter().any(|n| n.transport == Transport::Ssh);
        if uses_ssh {
            ssh_control::prepare_dir(&s.control_dir)?;
            if let Some(parent) = s.known_hosts_file.parent()
                && !parent.exists()
            {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .with_context(|| {
                        format!(
                            "cannot create the folder of known_hosts_file {}; set [ssh] \
                             known_hosts_file to a writable place",
                            s.known_hosts_file.display()
                        )
                    })?;
            }
        }
        Ok(Executor {
            ssh: SshRunner {
                settings: s.clone(),
                guard: config.guard(),
                control: ControlSlots::new(s.control_dir.clone()),
                output_cap: config.limits.output_cap_bytes,
            },
            limits: TaskLimits::new(config.limits.global_concurrency),
            max_command_bytes: config.limits.max_command_bytes,
            default_timeout: Duration::from_secs(s.command_timeout_secs),
            status_cache: Mutex::new(HashMap::new()),
        })
    }

    /// Runs `command` on `node`. The network guard is checked here (again)
    /// on the resolved address, whatever the caller checked before.
    ///
    /// `Ok` when the command started — including when it then timed out or
    /// was cancelled (`timed_out`/`cancelled` set, its process group killed,
    /// partial output kept). `Err` when it never started, or its connection
    /// was lost under it ([`ExecError::ConnectionLost`] carries the partial
    /// result).
    pub async fn run(
        &self,
        node: &Node,
        command: &str,
        opts: RunOptions,
    ) -> Result<RunResult, ExecError> {
        if command.len() > self.max_command_bytes {
            return Err(ExecError::CommandTooLong {
                node: node.id.clone(),
                len: command.len(),
                max: self.max_command_bytes,
            });
        }
        if command.contains('\0') {
            return Err(ExecError::NulInCommand {
                node: node.id.clone(),
            });
        }
        let begun = Instant::now();
        let deadline = begun + opts.timeout.unwrap_or(self.default_timeout);
        let permit = tokio::select! {
            p = self.limits.acquire(node) => p,
            () = tokio::time::sleep_until(deadline) => return Err(ExecError::TimedOut {
                node: node.id.clone(),
                after_ms: ms(begun.elapsed()),
                stage: format!("waiting for a free slot (max_tasks = {})", node.max_tasks),
            }),
            () = opts.cancel.cancelled() => return Err(ExecError::Cancelled {
                node: node.id.clone(),
                stage: "waiting for a free slot".into(),
            }),
        };
        let spec = RunSpec {
            node,
            command,
            deadline,
            cancel: &opts.cancel,
            live: opts.on_output.clone(),
            retries: self.ssh.settings.retries,
        };
        let result = match node.transport {
            Transport::Ssh => self.ssh.run(spec).await,
            Transport::Local => local::run(spec, self.ssh.output_cap).await,
        };
        drop(permit);
        result.map(|mut r| {
            r.duration_ms = ms(begun.elapsed());
            r
        })
    }

    /// Commands running on `node_id` now.
    pub fn running_tasks(&self, node_id: &str) -> u32 {
        self.limits.running(node_id)
    }

    /// Probes `nodes` in parallel (answers younger than [`STATUS_TTL`] are
    /// reused unless `refresh`). Never fails: an unreachable node says why.
    pub async fn status(&self, nodes: &[Node], refresh: bool) -> Vec<NodeStatus> {
        let probes = nodes.iter().map(|n| self.status_one(n, refresh));
        futures::future::join_all(probes).await
    }

    async fn status_one(&self, node: &Node, refresh: bool) -> NodeStatus {
        if !refresh && let Some(mut s) = self.cached(&node.id) {
            s.running_tasks = self.running_tasks(&node.id);
            s.cached = true;
            return s;
        }
        let begun = Instant::now();
        let spec = RunSpec {
            node,
            command: &format!("exec /bin/sh -c {}", ssh_quote::quote(PROBE_SCRIPT)),
            deadline: begun + PROBE_TIMEOUT,
            cancel: &CancellationToken::new(),
            live: None,
            retries: 0,
        };
        // Probes bypass max_tasks: a busy node must still report.
        let outcome = match node.transport {
            Transport::Ssh => self.ssh.run(spec).await,
            Transport::Local => local::run(spec, 64 * 1024).await,
        };
        let mut s = NodeStatus {
            node: node.id.clone(),
            running_tasks: self.running_tasks(&node.id),
            ..NodeStatus::default()
        };
        match outcome {
            Ok(r) if r.exit_code == Some(0) => {
                let p = parse_probe(&r.stdout);
                s.reachable = true;
                s.latency_ms = Some(ms(begun.elapsed()));
                s.kernel = p.kernel;
                s.cores = p.cores;
                s.load_average = p.load_average;
                s.memory_used_percent = p.memory_used_percent;
                s.memory_total_bytes = p.memory_total_bytes;
                if s.cores.is_none() {
                    s.why = Some("the probe's output could not be parsed".into());
                }
            }
            Ok(r) if r.timed_out => {
                s.why = Some(format!(
                    "the probe did not finish within {} s",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            Ok(r) => {
                s.reachable = true;
                s.latency_ms = Some(ms(begun.elapsed()));
                s.why = Some(format!(
                    "the probe exited with {:?}: {}",
                    r.exit_code,
                    r.stderr.lines().last().unwrap_or("")
                ));
            }
            Err(e) => s.why = Some(e.to_string()),
        }
        if let Ok(mut c) = self.status_cache.lock() {
            c.insert(node.id.clone(), (Instant::now(), s.clone()));
        }
        s
    }

    fn cached(&self, id: &str) -> Option<NodeStatus> {
        let c = self.status_cache.lock().ok()?;
        let (at, s) = c.get(id)?;
        (at.elapsed() < STATUS_TTL).then(|| s.clone())
    }

    /// The control socket path of `slot` for `node` reached at `addr` (for
    /// diagnostics and tests: `ssh -O check -o ControlPath=...`).
    pub fn control_path(&self, node: &Node, addr: &str, slot: usize) -> PathBuf {
        let key = ControlSlots::key(node.user.as_deref(), &node.host, addr, node.port);
        self.ssh.control.path(&key, slot)
    }

    /// `ssh -O check` on a control socket: is a master alive there?
    pub async fn control_check(&self, socket: &std::path::Path) -> bool {
        self.ssh.control_op(socket, "check").await
    }

    /// Asks every master this process used to exit (at shutdown; otherwise
    /// they linger for `control_persist_secs`).
    pub async fn close(&self) {
        for p in self.ssh.control.known_paths() {
            if p.exists() {
                let _ = self.ssh.control_op(&p, "exit").await;
            }
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
