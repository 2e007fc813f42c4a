//! The network guard: which addresses a command may be sent to.
//!
//! Checked twice: on literal addresses when the configuration loads, and on
//! the address a host name resolves to just before connecting. The executor
//! then connects to exactly that checked address (OpenSSH `HostName=<ip>`,
//! `HostKeyAlias=<host>`), so a name that re-resolves to a denied address
//! between the check and the connection (DNS rebinding) cannot slip through.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::Node;

/// Addresses refused unless the configuration says otherwise — and it cannot:
/// the configured deny list adds to these, it never replaces them.
pub const DEFAULT_DENY: &[&str] = &[
    "127.0.0.0/8",    // loopback
    "::1/128",        // loopback
    "0.0.0.0/8",      // unspecified / "this network"
    "::/128",         // unspecified
    "169.254.0.0/16", // link-local (cloud metadata services live here)
    "fe80::/10",      // link-local
    "172.17.0.0/16",  // Docker's default bridge
];

/// How long a name may take to resolve before the node counts as unreachable.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A refusal by the guard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error(
        "network guard blocked node {node}: {host} is {addr}, which is in the deny list ({rule}); \
         point the node at a routable address, or use `transport = \"local\"` for this machine"
    )]
    Denied {
        node: String,
        host: String,
        addr: IpAddr,
        rule: IpNet,
    },
    #[error(
        "network guard blocked node {node}: {host} is {addr}, which is not in [network] allow; \
         add a range containing it to `allow` in the config if this node is meant to be reached"
    )]
    NotAllowed {
        node: String,
        host: String,
        addr: IpAddr,
    },
    #[error(
        "cannot resolve host {host} of node {node}: {why}; check the name in the config \
         (or set CLUSTER_<NODE>_IP) and the machine's DNS"
    )]
    Resolve {
        node: String,
        host: String,
        why: String,
    },
}

/// A checked destination: connect to `addr`, keep host keys under `host`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    pub node: String,
    /// The host as configured (a name or a literal address).
    pub host: String,
    /// The address it resolved to, which passed the guard.
    pub addr: IpAddr,
    pub port: u16,
}

/// Deny and allow lists of address ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Guard {
    #[schemars(with = "Vec<String>")]
    deny: Vec<IpNet>,
    #[schemars(with = "Vec<String>")]
    allow: Vec<IpNet>,
}

impl Default for Guard {
    fn default() -> Self {
        Self::new(&[], &[])
    }
}

impl Guard {
    /// The default deny list plus `extra_deny`; when `allow` is not empty, an
    /// address must also fall inside one of its ranges.
    pub fn new(extra_deny: &[IpNet], allow: &[IpNet]) -> Self {
        let mut deny: Vec<IpNet> = DEFAULT_DENY.iter().filter_map(|s| s.parse().ok()).collect();
        debug_assert_eq!(deny.len(), DEFAULT_DENY.len(), "default deny list parses");
        deny.extend_from_slice(extra_deny);
        Self {
            deny,
            allow: allow.to_vec(),
        }
    }

    /// The effective deny list.
    pub fn deny_list(&self) -> &[IpNet] {
        &self.deny
    }

    /// The allow list (empty: everything not denied passes).
    pub fn allow_list(&self) -> &[IpNet] {
        &self.allow
    }

    /// Checks one address. IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are
    /// judged as the IPv4 address they carry, and as themselves.
    pub fn check_addr(&self, node: &str, host: &str, addr: IpAddr) -> Result<(), GuardError> {
        let forms = [addr, addr.to_canonical()];
        for form in forms {
            if let Some(rule) = self.deny.iter().find(|net| net.contains(&form)) {
                return Err(GuardError::Denied {
                    node: node.to_string(),
                    host: host.to_string(),
                    addr,
                    rule: *rule,
                });
            }
        }
        if !self.allow.is_empty()
            && !forms
                .iter()
                .any(|form| self.allow.iter().any(|net| net.contains(form)))
        {
            return Err(GuardError::NotAllowed {
                node: node.to_string(),
                host: host.to_string(),
                addr,
            });
        }
        Ok(())
    }

    /// Load-time check: a literal address is judged now; a name waits for
    /// [`Guard::check_host`].
    pub fn check_literal(&self, node: &str, host: &str) -> Result<(), GuardError> {
        match host.parse::<IpAddr>() {
            Ok(addr) => self.check_addr(node, host, addr),
            Err(_) => Ok(()),
        }
    }

    /// Connect-time check of a node: resolves its host, refuses the node if
    /// *any* resolved address is denied (fail closed), and returns the first
    /// address to connect to.
    pub async fn check_host(&self, node: &Node) -> Result<Target, GuardError> {
        self.check_name(&node.id, &node.host, node.port).await
    }

    /// [`Guard::check_host`] for a bare id/host/port triple.
    pub async fn check_name(
        &self,
        node: &str,
        host: &str,
        port: u16,
    ) -> Result<Target, GuardError> {
        let addrs = resolve(node, host, port).await?;
        for addr in &addrs {
            self.check_addr(node, host, *addr)?;
        }
        let addr = addrs.first().copied().ok_or_else(|| GuardError::Resolve {
            node: node.to_string(),
            host: host.to_string(),
            why: "the name has no addresses".to_string(),
        })?;
        Ok(Target {
            node: node.to_string(),
            host: host.to_string(),
            addr,
            port,
        })
    }
}

/// Resolves `host` with the system resolver, off the async threads, bounded.
async fn resolve(node: &str, host: &str, port: u16) -> Result<Vec<IpAddr>, GuardError> {
    if let Ok(addr) = host.parse::<IpAddr>() {
        return Ok(vec![addr]);
    }
    let err = |why: String| GuardError::Resolve {
        node: node.to_string(),
        host: host.to_string(),
        why,
    };
    let name = host.to_string();
    let lookup = tokio::task::spawn_blocking(move || {
        (name.as_str(), port)
            .to_socket_addrs()
            .map(|it| it.map(|sa: SocketAddr| sa.ip()).collect::<Vec<_>>())
    });
    match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Err(_) => Err(err(format!(
            "no answer within {} s",
            RESOLVE_TIMEOUT.as_secs()
        ))),
        Ok(Err(join)) => Err(err(format!("resolver task failed: {join}"))),
        Ok(Ok(Err(io))) => Err(err(io.to_string())),
        Ok(Ok(Ok(addrs))) => Ok(addrs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_list_denies_loopback_docker_link_local_and_unspecified() {
        let g = Guard::default();
        for bad in [
            "127.0.0.1",
            "127.255.0.9",
            "::1",
            "::ffff:127.0.0.1",
            "172.17.0.5",
            "::ffff:172.17.0.5",
            "169.254.1.1",
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "::",
            "::ffff:0.0.0.0",
        ] {
            assert!(g.check_addr("n", bad, ip(bad)).is_err(), "{bad} passed");
        }
        for good in ["198.18.0.2", "10.0.0.1", "2001:db8::1", "172.18.0.1"] {
            assert!(g.check_addr("n", good, ip(good)).is_ok(), "{good} denied");
        }
    }

    #[test]
    fn allow_list_is_the_only_thing_that_passes() {
        let g = Guard::new(&[], &["10.1.0.0/16".parse().unwrap()]);
        assert!(g.check_addr("n", "x", ip("10.1.2.3")).is_ok());
        assert!(g.check_addr("n", "x", ip("::ffff:10.1.2.3")).is_ok());
        let e = g.check_addr("n", "x", ip("10.2.0.1")).unwrap_err();
        assert!(matches!(e, GuardError::NotAllowed { .. }));
        // The allow list never re-opens the default deny list.
        let g = Guard::new(&[], &["127.0.0.0/8".parse().unwrap()]);
        assert!(g.check_addr("n", "x", ip("127.0.0.1")).is_err());
    }

    #[test]
    fn extra_deny_adds_to_defaults() {
        let g = Guard::new(&["10.0.0.0/8".parse().unwrap()], &[]);
        assert!(g.check_addr("n", "x", ip("10.9.9.9")).is_err());
        assert!(g.check_addr("n", "x", ip("127.0.0.1")).is_err());
    }

    #[tokio::test]
    async fn names_are_checked_on_what_they_resolve_to() {
        let g = Guard::default();
        let e = g.check_name("n", "localhost", 22).await.unwrap_err();
        assert!(matches!(e, GuardError::Denied { .. }), "{e}");
        assert!(e.to_string().contains("node n"));
    }
}
