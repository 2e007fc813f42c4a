//! Host-side mirrors of the WIT `types` interface.
//!
//! The rest of the host (pipeline, CLI, MCP, audit) speaks these plain serde
//! types; only `plugin::bindings` converts them to and from the generated ones,
//! so a WIT 0.2 can arrive without touching callers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who asked for a command, when the front door knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Requester {
    pub client: Option<String>,
    pub session: Option<String>,
    pub user: Option<String>,
}

/// One command for validators to judge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandRequest {
    pub command: String,
    pub node: Option<String>,
    pub requester: Option<Requester>,
}

/// A validator's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "decision", content = "reason", rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Deny(String),
    Ask(String),
}

/// What a command needs from its node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Requirements {
    pub os: Option<String>,
    pub arch: Option<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// Live load of a node as last probed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeLoad {
    pub reachable: bool,
    pub cores: Option<u32>,
    pub load_average: Option<f32>,
    pub memory_used_percent: Option<f32>,
    pub running_tasks: u32,
}

/// One node as a router sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeInfo {
    pub id: String,
    pub aliases: Vec<String>,
    pub os: String,
    pub arch: String,
    pub capabilities: Vec<String>,
    pub specialties: Vec<String>,
    pub priority: i32,
    pub max_tasks: u32,
    pub is_local: bool,
    pub load: NodeLoad,
}

/// One command to place.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RouteRequest {
    pub command: String,
    pub requirements: Requirements,
    pub nodes: Vec<NodeInfo>,
}

/// The router's choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Route {
    pub node_id: String,
    pub reason: String,
}
