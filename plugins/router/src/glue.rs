//! Binds the pure routing policy to the WIT `router` world.

use crate::{config, model, pick};

wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
    world: "router",
});

use cluster_exec::plugin::types::Node;

struct Router;

/// The configuration handed to `configure`, kept for the one `route` call
/// that follows it on this fresh instance.
static CONFIG: std::sync::Mutex<Option<config::Config>> = std::sync::Mutex::new(None);

fn to_model(node: Node) -> model::Node {
    model::Node {
        id: node.id,
        os: node.os,
        arch: node.arch,
        capabilities: node.capabilities,
        specialties: node.specialties,
        priority: node.priority,
        max_tasks: node.max_tasks,
        is_local: node.is_local,
        load: model::Load {
            reachable: node.load.reachable,
            cores: node.load.cores,
            load_average: node.load.load_average,
            running_tasks: node.load.running_tasks,
        },
    }
}

impl Guest for Router {
    fn configure(config: String) -> Result<(), String> {
        let parsed = config::parse(&config)?;
        let mut slot = CONFIG
            .lock()
            .map_err(|_| "router config lock poisoned".to_string())?;
        *slot = Some(parsed);
        Ok(())
    }

    fn route(request: RouteRequest) -> Result<Route, String> {
        let config = CONFIG
            .lock()
            .map_err(|_| "router config lock poisoned".to_string())?
            .clone()
            .unwrap_or_default();
        let req = model::Requirements {
            os: request.requirements.os,
            arch: request.requirements.arch,
            capabilities: request.requirements.capabilities,
        };
        let nodes: Vec<model::Node> = request.nodes.into_iter().map(to_model).collect();
        let chosen = pick::pick(&request.command, &req, &nodes, &config)?;
        Ok(Route {
            node_id: chosen.node_id,
            reason: chosen.reason,
        })
    }
}

export!(Router);
