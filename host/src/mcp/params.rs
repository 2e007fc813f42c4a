//! Tool inputs as the model sends them, with their JSON schemas, and their
//! translation into pipeline [`Request`]s. Only shape is checked here (an
//! empty command, a zero timeout); every decision stays in the pipeline.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::exec::Request;
use crate::plugin::types::{Requester, Requirements};

/// Longest timeout a tool call may ask for (one day); beyond that a command
/// belongs in a scheduler, not in a conversation.
pub const MAX_TIMEOUT_SECS: u64 = 86_400;

/// Default `max_parallel` of `parallel_execute` (the CLI's default too).
pub const DEFAULT_MAX_PARALLEL: usize = 8;

/// Most commands one `parallel_execute` call may carry.
pub const MAX_BATCH: usize = 256;

/// `cluster_bash`: route by requirements (or use the default node) and run.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterBashParams {
    /// Shell command, run by `sh -c` on the chosen node (stdin is empty).
    pub command: String,
    /// Required operating system of the node (linux, macos, ...).
    #[serde(default)]
    pub requires_os: Option<String>,
    /// Required CPU architecture of the node (x86_64, aarch64, ...).
    #[serde(default)]
    pub requires_arch: Option<String>,
    /// Capabilities the node must have (for example `gpu`, `docker`).
    #[serde(default)]
    pub requires_capabilities: Option<Vec<String>>,
    /// Kill the command (its whole process group) after this many seconds.
    /// Default: the configured `[ssh] command_timeout_secs`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_secs: Option<u64>,
    /// Let the router pick the node (default true); false runs on the
    /// default (first configured) node.
    #[serde(default)]
    pub auto_route: Option<bool>,
}

/// `offload_to`: run on a named node or alias.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OffloadParams {
    /// Shell command, run by `sh -c` on the node (stdin is empty).
    pub command: String,
    /// Node id or alias (see `cluster_status`).
    pub node_id: String,
    /// Kill the command after this many seconds (default: the configured one).
    #[serde(default)]
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_secs: Option<u64>,
}

/// One item of `parallel_execute`: with a node, or routed.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandObject {
    /// Shell command, run by `sh -c`.
    pub command: String,
    /// Node id or alias; omitted, the router picks.
    #[serde(default)]
    pub node_id: Option<String>,
}

/// A bare command string (routed) or `{command, node_id?}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CommandSpec {
    Plain(String),
    Detailed(CommandObject),
}

/// `parallel_execute`: validate all, then fan out.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParallelParams {
    /// Commands; each is a string or `{command, node_id?}`. All are validated
    /// before any runs: if one is denied, none runs.
    pub commands: Vec<CommandSpec>,
    /// Commands running at once (default 8); per-node and global limits
    /// still apply.
    #[serde(default)]
    #[schemars(range(min = 1, max = 256))]
    pub max_parallel: Option<usize>,
    /// Stop starting commands after the first one fails (default false).
    #[serde(default)]
    pub fail_fast: Option<bool>,
    /// Per-command timeout in seconds (default: the configured one).
    #[serde(default)]
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_secs: Option<u64>,
}

/// `cluster_status`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusParams {
    /// Probe every node now instead of using the few-seconds cache.
    #[serde(default)]
    pub refresh: Option<bool>,
}

/// `explain`: what would happen, without running anything.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainParams {
    /// The shell command to judge.
    pub command: String,
    /// Node id or alias; omitted, the router's choice is shown.
    #[serde(default)]
    pub node_id: Option<String>,
    #[serde(default)]
    pub requires_os: Option<String>,
    #[serde(default)]
    pub requires_arch: Option<String>,
    #[serde(default)]
    pub requires_capabilities: Option<Vec<String>>,
}

/// Input that has the right JSON types but cannot make a request; the
/// message tells the model what to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput(pub String);

/// The command as given, refused when it is blank (what would it run?).
fn command(raw: &str, field: &str) -> Result<String, BadInput> {
    if raw.trim().is_empty() {
        return Err(BadInput(format!(
            "`{field}` is empty; pass the shell command to run, for example \"uptime\""
        )));
    }
    Ok(raw.to_string())
}

fn timeout(secs: Option<u64>) -> Result<Option<Duration>, BadInput> {
    match secs {
        None => Ok(None),
        Some(s) if (1..=MAX_TIMEOUT_SECS).contains(&s) => Ok(Some(Duration::from_secs(s))),
        Some(s) => Err(BadInput(format!(
            "timeout_secs = {s} is out of range; use 1 to {MAX_TIMEOUT_SECS} seconds, or omit \
             it for the configured default"
        ))),
    }
}

fn node(raw: Option<String>) -> Result<Option<String>, BadInput> {
    match raw {
        Some(n) if n.trim().is_empty() => Err(BadInput(
            "`node_id` is empty; name a node or alias (see cluster_status), or omit it to let \
             the router pick"
                .into(),
        )),
        other => Ok(other),
    }
}

fn requirements(
    os: Option<String>,
    arch: Option<String>,
    capabilities: Option<Vec<String>>,
) -> Requirements {
    Requirements {
        os,
        arch,
        capabilities: capabilities.unwrap_or_default(),
    }
}

impl ClusterBashParams {
    pub fn into_request(self, requester: Requester) -> Result<Request, BadInput> {
        Ok(Request {
            command: command(&self.command, "command")?,
            node: None,
            requirements: requirements(
                self.requires_os,
                self.requires_arch,
                self.requires_capabilities,
            ),
            timeout: timeout(self.timeout_secs)?,
            auto_route: self.auto_route.unwrap_or(true),
            requester,
        })
    }
}

impl OffloadParams {
    pub fn into_request(self, requester: Requester) -> Result<Request, BadInput> {
        Ok(Request {
            command: command(&self.command, "command")?,
            node: node(Some(self.node_id))?,
            requirements: Requirements::default(),
            timeout: timeout(self.timeout_secs)?,
            auto_route: true,
            requester,
        })
    }
}

impl ExplainParams {
    pub fn into_request(self, requester: Requester) -> Result<Request, BadInput> {
        Ok(Request {
            command: command(&self.command, "command")?,
            node: node(self.node_id)?,
            requirements: requirements(
                self.requires_os,
                self.requires_arch,
                self.requires_capabilities,
            ),
            timeout: None,
            auto_route: true,
            requester,
        })
    }
}

impl ParallelParams {
    /// One request per item, or the first item that cannot be one (named by
    /// its position, so the model can fix it).
    pub fn into_requests(&self, requester: &Requester) -> Result<Vec<Request>, BadInput> {
        if self.commands.is_empty() {
            return Err(BadInput(
                "`commands` is empty; pass at least one command".into(),
            ));
        }
        if self.commands.len() > MAX_BATCH {
            return Err(BadInput(format!(
                "{} commands given, at most {MAX_BATCH} per call; split the batch",
                self.commands.len()
            )));
        }
        let timeout = timeout(self.timeout_secs)?;
        self.commands
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let (raw, node_id) = match spec {
                    CommandSpec::Plain(c) => (c.as_str(), None),
                    CommandSpec::Detailed(o) => (o.command.as_str(), o.node_id.clone()),
                };
                let field = format!("commands[{i}]");
                Ok(Request {
                    command: command(raw, &field)?,
                    node: node(node_id).map_err(|BadInput(m)| BadInput(format!("{field}: {m}")))?,
                    requirements: Requirements::default(),
                    timeout,
                    auto_route: true,
                    requester: requester.clone(),
                })
            })
            .collect()
    }

    pub fn max_parallel(&self) -> Result<usize, BadInput> {
        match self.max_parallel {
            None => Ok(DEFAULT_MAX_PARALLEL),
            Some(n) if (1..=MAX_BATCH).contains(&n) => Ok(n),
            Some(n) => Err(BadInput(format!(
                "max_parallel = {n} is out of range; use 1 to {MAX_BATCH}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_commands_and_zero_timeouts_are_refused_with_a_hint() {
        let p = ClusterBashParams {
            command: "  ".into(),
            requires_os: None,
            requires_arch: None,
            requires_capabilities: None,
            timeout_secs: None,
            auto_route: None,
        };
        let err = p.into_request(Requester::default()).unwrap_err();
        assert!(err.0.contains("empty"), "{err:?}");
        assert!(timeout(Some(0)).is_err());
        assert_eq!(timeout(Some(5)).unwrap(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn cluster_bash_routes_by_default() {
        let p: ClusterBashParams = serde_json::from_value(
            serde_json::json!({"command": "uptime", "requires_os": "linux"}),
        )
        .unwrap();
        let r = p.into_request(Requester::default()).unwrap();
        assert!(r.auto_route);
        assert_eq!(r.requirements.os.as_deref(), Some("linux"));
    }

    #[test]
    fn parallel_items_accept_strings_and_objects_and_name_bad_ones() {
        let p: ParallelParams = serde_json::from_value(serde_json::json!({
            "commands": ["true", {"command": "uptime", "node_id": "n1"}, {"command": ""}]
        }))
        .unwrap();
        let err = p.into_requests(&Requester::default()).unwrap_err();
        assert!(err.0.contains("commands[2]"), "{err:?}");
        let p: ParallelParams = serde_json::from_value(serde_json::json!({
            "commands": ["true", {"command": "uptime", "node_id": "n1"}]
        }))
        .unwrap();
        let r = p.into_requests(&Requester::default()).unwrap();
        assert_eq!(r[1].node.as_deref(), Some("n1"));
        assert_eq!(p.max_parallel().unwrap(), DEFAULT_MAX_PARALLEL);
    }
}
