//! Generated bindings for the WIT worlds this host supports, and the
//! conversions between them and the host's own types (`plugin::types`).
//!
//! Both worlds share the `types` and `log` interfaces: the router bindings
//! reuse the validator's generated modules, so there is one `log` host trait
//! to implement and one set of record types.

/// `cluster-exec:plugin/validator@0.1.0`.
pub mod validator {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "validator",
    });
}

/// `cluster-exec:plugin/router@0.1.0`.
pub mod router {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "router",
        with: {
            "cluster-exec:plugin/types": super::validator::cluster_exec::plugin::types,
            "cluster-exec:plugin/log": super::validator::cluster_exec::plugin::log,
        },
    });
}

use super::types as host;
use validator::cluster_exec::plugin::types as wit;

/// The version of the plugin contract these bindings implement.
pub const CONTRACT_VERSION: &str = "0.1.0";
/// The WIT package name, without version.
pub const PACKAGE: &str = "cluster-exec:plugin";

impl From<&host::CommandRequest> for wit::CommandRequest {
    fn from(r: &host::CommandRequest) -> Self {
        Self {
            command: r.command.clone(),
            node: r.node.clone(),
            requester: r.requester.as_ref().map(|q| wit::Requester {
                client: q.client.clone(),
                session: q.session.clone(),
                user: q.user.clone(),
            }),
        }
    }
}

impl From<wit::Verdict> for host::Verdict {
    fn from(v: wit::Verdict) -> Self {
        match v {
            wit::Verdict::Allow => Self::Allow,
            wit::Verdict::Deny(reason) => Self::Deny(reason),
            wit::Verdict::Ask(reason) => Self::Ask(reason),
        }
    }
}

impl From<&host::RouteRequest> for wit::RouteRequest {
    fn from(r: &host::RouteRequest) -> Self {
        Self {
            command: r.command.clone(),
            requirements: wit::Requirements {
                os: r.requirements.os.clone(),
                arch: r.requirements.arch.clone(),
                capabilities: r.requirements.capabilities.clone(),
            },
            nodes: r
                .nodes
                .iter()
                .map(|n| wit::Node {
                    id: n.id.clone(),
                    aliases: n.aliases.clone(),
                    os: n.os.clone(),
                    arch: n.arch.clone(),
                    capabilities: n.capabilities.clone(),
                    specialties: n.specialties.clone(),
                    priority: n.priority,
                    max_tasks: n.max_tasks,
                    is_local: n.is_local,
                    load: wit::NodeLoad {
                        reachable: n.load.reachable,
                        cores: n.load.cores,
                        load_average: n.load.load_average,
                        memory_used_percent: n.load.memory_used_percent,
                        running_tasks: n.load.running_tasks,
                    },
                })
                .collect(),
        }
    }
}

impl From<wit::Route> for host::Route {
    fn from(r: wit::Route) -> Self {
        Self {
            node_id: r.node_id,
            reason: r.reason,
        }
    }
}
