//! What the front doors (CLI, MCP) hand to the pipeline, and what they get
//! back. Defined once, with serde and schemars, so the CLI's `--json`, the MCP
//! `structuredContent` and the audit log all share one shape.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::result::{OutputChunk, RunResult};
use crate::plugin::VerdictRecord;
use crate::plugin::types::{Requester, Requirements, Verdict};

/// One command to judge, place and run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub command: String,
    /// A node id or alias; `None` lets the router pick (or the default node
    /// when `auto_route` is false).
    pub node: Option<String>,
    pub requirements: Requirements,
    /// `None` uses `[ssh] command_timeout_secs`.
    pub timeout: Option<Duration>,
    /// False: skip the router and use the first configured node.
    pub auto_route: bool,
    pub requester: Requester,
}

impl Request {
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            auto_route: true,
            ..Self::default()
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ran and exited 0.
    Succeeded,
    /// Ran and exited non-zero (or was killed by a signal).
    Failed,
    /// A validator denied it, or a human declined it; nothing ran.
    Denied,
    /// The named node is not in the inventory; nothing ran.
    UnknownNode,
    /// No node fits, or the router failed; nothing ran.
    NoRoute,
    /// Ran past its timeout; its process group was killed.
    TimedOut,
    /// Cancelled by the caller; what had started was killed.
    Cancelled,
    /// Could not run: unreachable, host key changed, blocked address, ...
    Error,
}

/// The whole story of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Ties the report to its audit-log lines.
    pub request_id: String,
    pub command: String,
    pub status: Status,
    /// One sentence: what happened and what to do next.
    pub message: String,
    /// The node it ran on (or would have run on).
    pub node: Option<String>,
    pub route_reason: Option<String>,
    /// Every validator's verdict, in order (the first deny stops the list).
    pub verdicts: Vec<VerdictRecord>,
    /// The combined decision.
    pub decision: Verdict,
    /// A human's answer to an `ask` verdict, when one was asked.
    pub confirmation: Option<String>,
    pub result: Option<RunResult>,
    /// Machine-readable kind of the error, when `status` is `error`.
    pub error_kind: Option<String>,
}

impl Report {
    /// Exit code for the CLI: the command's own, else 1 for anything that
    /// did not run to a clean exit.
    pub fn exit_code(&self) -> i32 {
        match (&self.status, &self.result) {
            (Status::Succeeded, _) => 0,
            (Status::Failed, Some(r)) => r.exit_code.unwrap_or(128 + r.signal.unwrap_or(0)),
            (Status::TimedOut, _) => 124,
            (Status::Denied, _) => 126,
            _ => 1,
        }
    }

    /// True when the command did not run to a zero exit.
    pub fn is_error(&self) -> bool {
        self.status != Status::Succeeded
    }
}

/// What a human was asked, when a validator said `ask`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    pub command: String,
    pub node: Option<String>,
    pub reason: String,
}

/// A human's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Approved,
    Declined,
    /// Nobody could be asked (no terminal, client cannot elicit).
    Unavailable(String),
}

impl Answer {
    /// The answer in words, for reports: `approved`, `declined`, or
    /// `unavailable: <why>`.
    pub fn describe(&self) -> String {
        match self {
            Answer::Approved => "approved".into(),
            Answer::Declined => "declined".into(),
            Answer::Unavailable(why) => format!("unavailable: {why}"),
        }
    }
}

/// Asks a human; the CLI prompts on the terminal, MCP uses elicitation.
pub type Confirmer = Arc<dyn Fn(Confirmation) -> BoxFuture<'static, Answer> + Send + Sync>;

/// Per-run hooks from the front door.
#[derive(Clone, Default)]
pub struct Hooks {
    pub cancel: CancellationToken,
    pub on_output: Option<UnboundedSender<OutputChunk>>,
    pub confirm: Option<Confirmer>,
    /// Each finished command of a fan-out, as it finishes (progress).
    pub on_finished: Option<UnboundedSender<Report>>,
}
