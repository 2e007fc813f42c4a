//! A loaded router plugin. A router that fails yields an error naming the
//! plugin and the cause; the host never picks a node on its own instead.

use anyhow::{Result, bail};
use wasmtime::Engine;

use super::bindings::router::RouterPre;
use super::inspect::World;
use super::load::{self, Loaded};
use super::sandbox::{self, Failure, Limits};
use super::types::{Route, RouteRequest};

pub struct Router {
    name: String,
    engine: Engine,
    pre: RouterPre<sandbox::CallState>,
    config: String,
    limits: Limits,
}

/// Why no node was picked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The router answered that no node fits (its own explanation).
    #[error("router {plugin}: {message}")]
    NoNode { plugin: String, message: String },
    /// The router picked a node that is not in the inventory.
    #[error("router {plugin} picked `{node}`, which is not one of the candidate nodes")]
    UnknownNode { plugin: String, node: String },
    /// The router itself failed (trap, timeout, memory, configuration).
    #[error("router {plugin} failed: {failure}")]
    Failed { plugin: String, failure: String },
}

impl Router {
    pub fn new(
        engine: &Engine,
        loaded: Loaded,
        config: &serde_json::Value,
        limits: Limits,
    ) -> Result<Self> {
        let pre = load::link(engine, &loaded, World::Router, "the router", RouterPre::new)?;
        let name = loaded.name;
        let router = Self {
            name,
            engine: engine.clone(),
            pre,
            config: serde_json::to_string(config)?,
            limits,
        };
        if !crate::plugin::engine::check_configuration_at_load() {
            return Ok(router);
        }
        // An empty inventory exercises `configure` without needing nodes; the
        // router's own "no node" answer is expected and fine here.
        match router.call(&RouteRequest::default()) {
            Ok(_) => Ok(router),
            Err(Failure::Config(message)) => {
                bail!(
                    "plugin {} rejected its configuration: {message}",
                    router.name
                )
            }
            Err(other) => bail!(
                "plugin {} failed while checking its configuration: {other}",
                router.name
            ),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Picks a node, and checks the pick is one of the nodes offered.
    pub fn route(&self, request: &RouteRequest) -> Result<Route, RouteError> {
        let plugin = self.name.clone();
        match self.call(request) {
            Ok(Ok(route)) => {
                if request.nodes.iter().any(|n| n.id == route.node_id) {
                    Ok(route)
                } else {
                    Err(RouteError::UnknownNode {
                        plugin,
                        node: route.node_id,
                    })
                }
            }
            Ok(Err(message)) => Err(RouteError::NoNode { plugin, message }),
            Err(failure) => Err(RouteError::Failed {
                plugin,
                failure: failure.to_string(),
            }),
        }
    }

    fn call(&self, request: &RouteRequest) -> Result<Result<Route, String>, Failure> {
        let request = request.into();
        sandbox::run(&self.engine, &self.name, self.limits, |store| {
            let instance = self.pre.instantiate(&mut *store)?;
            if let Err(message) = instance.call_configure(&mut *store, &self.config)? {
                return Ok(Err(message));
            }
            Ok(Ok(instance
                .call_route(&mut *store, &request)?
                .map(Route::from)))
        })
    }
}
