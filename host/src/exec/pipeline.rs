//! The one place that decides: validators, then the router, then the
//! executor, with every step written to the audit log. The CLI and the MCP
//! server are thin translators over [`Pipeline`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::request::{Answer, Confirmation, Hooks, Report, Request, Status};
use super::result::{ExecError, RunOptions, RunResult};
use super::status::NodeStatus;
use super::transport::Executor;
use crate::audit::AuditLog;
use crate::config::{Config, Node};
use crate::plugin::types::{CommandRequest, RouteRequest, Verdict};
use crate::plugin::{PluginSet, VerdictRecord, combine};

/// Validators and router, executor, audit log: everything a request needs.
pub struct Pipeline {
    config: Config,
    plugins: Arc<PluginSet>,
    executor: Executor,
    audit: AuditLog,
}

/// Verdicts and the routing decision, without running anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Explanation {
    pub command: String,
    pub verdicts: Vec<VerdictRecord>,
    pub decision: Verdict,
    pub node: Option<String>,
    pub route_reason: Option<String>,
    /// Why no node was chosen, when none was.
    pub route_error: Option<String>,
}

/// Options of a fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParallelOptions {
    pub max_parallel: usize,
    pub fail_fast: bool,
}

/// The outcome of a fan-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ParallelReport {
    /// False when a denial stopped everything before anything ran.
    pub ran: bool,
    pub message: String,
    pub reports: Vec<Report>,
    pub summary: Summary,
}

/// Counts over a fan-out's reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub denied: usize,
    /// Not started because `fail_fast` stopped the fan-out.
    pub skipped: usize,
    pub other: usize,
}

fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:x}-{:x}-{}",
        nanos,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The outcome of validation and placement, before running.
enum Decided<'a> {
    Go(Go<'a>),
    Stop(Box<Report>),
}

/// Everything decided before a command may run.
struct Go<'a> {
    node: &'a Node,
    route_reason: String,
    verdicts: Vec<VerdictRecord>,
    decision: Verdict,
    confirmation: Option<String>,
}

impl Pipeline {
    /// Loads plugins (failing on any that would be refused), prepares the
    /// executor and opens the audit log.
    pub fn new(config: Config) -> Result<Self> {
        let base = match &config.source {
            crate::config::ConfigSource::File(path) => path.parent().map(|p| p.to_path_buf()),
            crate::config::ConfigSource::Embedded => None,
        };
        let plugins = PluginSet::load(&config.plugins, base.as_deref())?;
        let executor = Executor::new(&config)?;
        let audit = AuditLog::open(&config.audit.path, config.audit.sync).with_context(|| {
            format!(
                "cannot open the audit log {}; set [audit] path to a writable file",
                config.audit.path.display()
            )
        })?;
        Ok(Self {
            config,
            plugins: Arc::new(plugins),
            executor,
            audit,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Records an audit event. A log that cannot be written is reported on
    /// stderr; callers that must not proceed without it check `audit_ok`.
    fn audit(&self, kind: &str, fields: serde_json::Value) -> bool {
        // The last line of a request carries the disk flush for all of them.
        let write = || {
            if kind == "result" {
                self.audit.record_durable(kind, fields)
            } else {
                self.audit.record(kind, fields)
            }
        };
        // Writing waits for the file lock and, on the last line, the disk:
        // on a multi-threaded runtime, let other tasks (the output readers
        // of running commands) move to another worker meanwhile. A
        // current-thread runtime (`run`, `explain`) serves one request.
        let written = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(write)
            }
            _ => write(),
        };
        match written {
            Ok(_) => true,
            Err(e) => {
                tracing::error!("audit log write failed: {e:#}");
                false
            }
        }
    }

    /// Runs validators off the async threads (a call may use its whole
    /// deadline) and returns their verdicts.
    async fn validate(
        &self,
        command: &str,
        node: Option<&str>,
        request: &Request,
    ) -> Vec<VerdictRecord> {
        let plugins = self.plugins.clone();
        let req = CommandRequest {
            command: command.to_string(),
            node: node.map(str::to_string),
            requester: Some(request.requester.clone()),
        };
        match tokio::task::spawn_blocking(move || plugins.validate(&req)).await {
            Ok(records) => records,
            Err(e) => vec![VerdictRecord {
                plugin: "host".into(),
                verdict: Verdict::Deny(format!("validation did not complete: {e}")),
                micros: 0,
            }],
        }
    }

    /// Live load of every node, for the router (cached briefly by the executor).
    pub async fn status(&self, refresh: bool) -> Vec<NodeStatus> {
        self.executor.status(&self.config.nodes, refresh).await
    }

    /// Picks the node: the named one, the default one, or the router's choice.
    async fn place(&self, request: &Request) -> Result<(&Node, String), (Status, String)> {
        if let Some(name) = &request.node {
            return match self.config.resolve_node(name) {
                Ok(node) => Ok((node, format!("{} named by the caller", node.id))),
                Err(unknown) => Err((
                    Status::UnknownNode,
                    format!(
                        "unknown node `{}`; known nodes (aliases): {}",
                        unknown.name, unknown.known
                    ),
                )),
            };
        }
        if !request.auto_route {
            return match self.config.nodes.first() {
                Some(node) => Ok((
                    node,
                    format!("{} is the default node (auto_route off)", node.id),
                )),
                None => Err((Status::NoRoute, "no nodes are configured".into())),
            };
        }
        let statuses = self.status(false).await;
        let nodes = self
            .config
            .nodes
            .iter()
            .map(|n| {
                let load = statuses
                    .iter()
                    .find(|s| s.node == n.id)
                    .map(NodeStatus::to_load)
                    .unwrap_or_default();
                n.to_node_info(load)
            })
            .collect();
        let route_request = RouteRequest {
            command: request.command.clone(),
            requirements: request.requirements.clone(),
            nodes,
        };
        let plugins = self.plugins.clone();
        let routed = tokio::task::spawn_blocking(move || plugins.router.route(&route_request))
            .await
            .map_err(|e| (Status::NoRoute, format!("routing did not complete: {e}")))?;
        match routed {
            Ok(route) => match self.config.resolve_node(&route.node_id) {
                Ok(node) => Ok((node, route.reason)),
                Err(_) => Err((
                    Status::NoRoute,
                    format!("router picked unknown node {}", route.node_id),
                )),
            },
            Err(e) => Err((
                Status::NoRoute,
                format!("{e}; relax the requirements or name a node"),
            )),
        }
    }

    /// Verdicts and routing, without running anything.
    pub async fn explain(&self, request: &Request) -> Explanation {
        let named = request.node.as_deref();
        let verdicts = self.validate(&request.command, named, request).await;
        let decision = combine(&verdicts);
        let (node, route_reason, route_error) = match self.place(request).await {
            Ok((node, reason)) => (Some(node.id.clone()), Some(reason), None),
            Err((_, why)) => (None, None, Some(why)),
        };
        Explanation {
            command: request.command.clone(),
            verdicts,
            decision,
            node,
            route_reason,
            route_error,
        }
    }

    /// Validates (asking a human when a validator says `ask`) and places.
    async fn decide(&self, id: &str, request: &Request, hooks: &Hooks) -> Decided<'_> {
        let blank = |status: Status,
                     message: String,
                     verdicts: Vec<VerdictRecord>,
                     decision: Verdict| Report {
            request_id: id.to_string(),
            command: request.command.clone(),
            status,
            message,
            node: request.node.clone(),
            route_reason: None,
            verdicts,
            decision,
            confirmation: None,
            result: None,
            error_kind: None,
        };
        let verdicts = self
            .validate(&request.command, request.node.as_deref(), request)
            .await;
        for v in &verdicts {
            self.audit("verdict", json!({"request": id, "plugin": v.plugin, "verdict": v.verdict, "micros": v.micros}));
        }
        let decision = combine(&verdicts);
        if let Verdict::Deny(reason) = &decision {
            let message = format!(
                "denied: {reason}. Nothing ran. Rephrase the command so it does what you \
                 need without this, or ask the operator to change the policy."
            );
            return Decided::Stop(Box::new(blank(
                Status::Denied,
                message,
                verdicts,
                decision.clone(),
            )));
        }
        // Place before asking anyone: a human should never be asked about a
        // node that does not exist, and is shown the node that will run it.
        let (node, route_reason) = match self.place(request).await {
            Ok(placed) => placed,
            Err((status, message)) => {
                self.audit("route", json!({"request": id, "error": message}));
                return Decided::Stop(Box::new(blank(status, message, verdicts, decision)));
            }
        };
        self.audit(
            "route",
            json!({"request": id, "node": node.id, "reason": route_reason}),
        );
        let mut confirmation = None;
        if let Verdict::Ask(reason) = &decision {
            let answer = match &hooks.confirm {
                Some(confirm) => {
                    confirm(Confirmation {
                        command: request.command.clone(),
                        node: Some(node.id.clone()),
                        reason: reason.clone(),
                    })
                    .await
                }
                None => Answer::Unavailable("no way to ask a human here".into()),
            };
            self.audit(
                "confirmation",
                json!({"request": id, "node": node.id, "reason": reason, "answer": answer}),
            );
            let refused = match &answer {
                Answer::Approved => None,
                Answer::Declined => Some("the user declined it".to_string()),
                Answer::Unavailable(why) => {
                    Some(format!("it needs a human's confirmation and {why}"))
                }
            };
            if let Some(why) = refused {
                let message = format!("denied: {reason}; {why}. Nothing ran.");
                let mut report = blank(Status::Denied, message, verdicts, decision.clone());
                report.node = Some(node.id.clone());
                report.confirmation = Some(answer.describe());
                return Decided::Stop(Box::new(report));
            }
            confirmation = Some(answer.describe());
        }
        Decided::Go(Go {
            node,
            route_reason,
            verdicts,
            decision,
            confirmation,
        })
    }

    /// The whole flow for one command.
    pub async fn run(&self, request: Request, hooks: Hooks) -> Report {
        let id = new_request_id();
        let recorded = self.audit(
            "request",
            json!({"request": id, "command": audit_text(&request.command),
                   "command_bytes": request.command.len(),
                   "command_sha256": hex::encode(Sha256::digest(request.command.as_bytes())),
                   "node": request.node,
                   "requirements": request.requirements, "requester": request.requester,
                   "timeout_ms": request.timeout.map(|t| t.as_millis() as u64)}),
        );
        if !recorded {
            // Fail closed: a command that cannot be recorded does not run.
            return Report {
                request_id: id,
                command: request.command.clone(),
                status: Status::Error,
                message: format!(
                    "the audit log {} cannot be written, so nothing ran; fix its permissions or \
                     disk space, or set [audit] path",
                    self.config.audit.path.display()
                ),
                node: request.node.clone(),
                route_reason: None,
                verdicts: Vec::new(),
                decision: Verdict::Deny("audit log unavailable".into()),
                confirmation: None,
                result: None,
                error_kind: Some("audit_unavailable".into()),
            };
        }
        let report = self.run_decided(&id, &request, &hooks).await;
        self.audit(
            "result",
            json!({"request": id, "status": report.status, "node": report.node,
                   "exit_code": report.result.as_ref().and_then(|r| r.exit_code),
                   "duration_ms": report.result.as_ref().map(|r| r.duration_ms),
                   "stdout_bytes": report.result.as_ref().map(|r| r.stdout_bytes),
                   "stderr_bytes": report.result.as_ref().map(|r| r.stderr_bytes),
                   "message": report.message}),
        );
        report
    }

    async fn run_decided(&self, id: &str, request: &Request, hooks: &Hooks) -> Report {
        let go = match self.decide(id, request, hooks).await {
            Decided::Stop(report) => return *report,
            Decided::Go(go) => go,
        };
        let node = go.node;
        if hooks.cancel.is_cancelled() {
            self.audit("cancelled", json!({"request": id, "stage": "before start"}));
        }
        let options = RunOptions {
            timeout: request.timeout,
            cancel: hooks.cancel.clone(),
            on_output: hooks.on_output.clone(),
        };
        let outcome = self.executor.run(node, &request.command, options).await;
        let connection = match &outcome {
            Ok(r) => {
                json!({"request": id, "node": node.id, "target": r.target, "attempts": r.attempts, "reused": r.reused_connection, "connected": true})
            }
            Err(e) => {
                json!({"request": id, "node": node.id, "connected": false, "error": e.kind(), "message": e.to_string()})
            }
        };
        self.audit("connection", connection);
        let (status, message, result, error_kind) = match outcome {
            Ok(result) => {
                let (status, message) = describe_run(&result);
                if result.cancelled {
                    self.audit(
                        "cancelled",
                        json!({"request": id, "node": node.id, "kill": result.kill}),
                    );
                }
                (status, message, Some(result), None)
            }
            Err(ExecError::ConnectionLost {
                node,
                why,
                pgid,
                partial,
            }) => {
                let error = ExecError::ConnectionLost {
                    node,
                    why,
                    pgid,
                    partial: partial.clone(),
                };
                (
                    Status::Error,
                    error.to_string(),
                    Some(*partial),
                    Some(error.kind().to_string()),
                )
            }
            Err(error) => {
                let status = match &error {
                    ExecError::Cancelled { .. } => Status::Cancelled,
                    ExecError::TimedOut { .. } => Status::TimedOut,
                    _ => Status::Error,
                };
                if status == Status::Cancelled {
                    self.audit(
                        "cancelled",
                        json!({"request": id, "node": node.id, "stage": "before start"}),
                    );
                }
                (
                    status,
                    error.to_string(),
                    None,
                    Some(error.kind().to_string()),
                )
            }
        };
        Report {
            request_id: id.to_string(),
            command: request.command.clone(),
            status,
            message,
            node: Some(node.id.clone()),
            route_reason: Some(go.route_reason),
            verdicts: go.verdicts,
            decision: go.decision,
            confirmation: go.confirmation,
            result,
            error_kind,
        }
    }

    /// Validates every command first; if any is denied, none runs. Otherwise
    /// fans out under `max_parallel` and the executor's per-node and global
    /// limits. With `fail_fast`, the first failure cancels the rest.
    pub async fn parallel(
        &self,
        requests: Vec<Request>,
        options: ParallelOptions,
        hooks: Hooks,
    ) -> ParallelReport {
        let total = requests.len();
        // Validation first, for all: a denial anywhere means nothing runs.
        let mut denials = Vec::new();
        for (i, request) in requests.iter().enumerate() {
            let verdicts = self
                .validate(&request.command, request.node.as_deref(), request)
                .await;
            if let Verdict::Deny(reason) = combine(&verdicts) {
                denials.push((i, reason, verdicts));
            }
        }
        if !denials.is_empty() {
            let reports: Vec<Report> = denials
                .into_iter()
                .map(|(i, reason, verdicts)| {
                    let id = new_request_id();
                    self.audit(
                        "request",
                        json!({"request": id, "command": audit_text(&requests[i].command), "command_bytes": requests[i].command.len(), "parallel_index": i}),
                    );
                    for v in &verdicts {
                        self.audit(
                            "verdict",
                            json!({"request": id, "plugin": v.plugin, "verdict": v.verdict}),
                        );
                    }
                    self.audit("result", json!({"request": id, "status": Status::Denied}));
                    Report {
                        request_id: id,
                        command: requests[i].command.clone(),
                        status: Status::Denied,
                        message: format!("command {} denied: {reason}", i + 1),
                        node: requests[i].node.clone(),
                        route_reason: None,
                        decision: Verdict::Deny(reason),
                        verdicts,
                        confirmation: None,
                        result: None,
                        error_kind: None,
                    }
                })
                .collect();
            let message = format!(
                "nothing ran: {} of {total} commands were denied ({}); fix or drop them and resend the batch",
                reports.len(),
                reports
                    .iter()
                    .map(|r| r.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            let summary = Summary {
                total,
                denied: reports.len(),
                skipped: total - reports.len(),
                ..Summary::default()
            };
            return ParallelReport {
                ran: false,
                message,
                reports,
                summary,
            };
        }

        let gate = Arc::new(Semaphore::new(options.max_parallel.max(1)));
        let stop = hooks.cancel.child_token();
        let runs = requests.into_iter().map(|request| {
            let gate = gate.clone();
            let stop = stop.clone();
            let finished = hooks.on_finished.clone();
            let hooks = Hooks {
                cancel: stop.clone(),
                on_output: hooks.on_output.clone(),
                confirm: hooks.confirm.clone(),
                on_finished: None,
            };
            async move {
                let Ok(_permit) = gate.acquire_owned().await else {
                    return None;
                };
                if stop.is_cancelled() {
                    return None;
                }
                let report = self.run(request, hooks).await;
                if options.fail_fast && report.is_error() {
                    stop.cancel();
                }
                if let Some(tx) = &finished {
                    // The receiver may be gone; progress is best effort.
                    let _ = tx.send(report.clone());
                }
                Some(report)
            }
        });
        let outcomes = futures::future::join_all(runs).await;
        let mut summary = Summary {
            total,
            ..Summary::default()
        };
        let mut reports = Vec::with_capacity(total);
        for outcome in outcomes {
            match outcome {
                None => summary.skipped += 1,
                Some(report) => {
                    match report.status {
                        Status::Succeeded => summary.succeeded += 1,
                        Status::Failed => summary.failed += 1,
                        Status::Denied => summary.denied += 1,
                        _ => summary.other += 1,
                    }
                    reports.push(report);
                }
            }
        }
        let message = format!(
            "{total} commands: {} succeeded, {} failed, {} denied, {} other, {} skipped",
            summary.succeeded, summary.failed, summary.denied, summary.other, summary.skipped
        );
        ParallelReport {
            ran: true,
            message,
            reports,
            summary,
        }
    }
}

/// Longest command text written into one audit line; longer commands are
/// recorded by their head, their length and their SHA-256, so a hostile
/// 10 MiB command cannot bloat the log.
const AUDIT_COMMAND_BYTES: usize = 4096;

fn audit_text(command: &str) -> String {
    if command.len() <= AUDIT_COMMAND_BYTES {
        return command.to_string();
    }
    let mut end = AUDIT_COMMAND_BYTES;
    while !command.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &command[..end])
}

/// Status and one sentence for a command that started.
fn describe_run(result: &RunResult) -> (Status, String) {
    if result.cancelled {
        return (
            Status::Cancelled,
            format!("cancelled on {}; its process group was killed", result.node),
        );
    }
    if result.timed_out {
        return (
            Status::TimedOut,
            format!(
                "timed out on {} after {} ms; its process group was killed. Raise the timeout or \
                 run it in the background",
                result.node, result.duration_ms
            ),
        );
    }
    match (result.exit_code, result.signal) {
        (Some(0), _) => (
            Status::Succeeded,
            format!("exited 0 on {} in {} ms", result.node, result.duration_ms),
        ),
        (Some(code), _) => (
            Status::Failed,
            format!("exited {code} on {}; see stderr for why", result.node),
        ),
        (None, Some(signal)) => (
            Status::Failed,
            format!("killed by signal {signal} on {}", result.node),
        ),
        (None, None) => (
            Status::Failed,
            format!("ended without an exit status on {}", result.node),
        ),
    }
}
