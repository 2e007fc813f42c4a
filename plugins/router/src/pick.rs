//! Picks one node for a command, or explains why none fits.

use crate::classify::{Kind, classify};
use crate::config::Config;
use crate::model::{Node, Requirements, normalize_arch, normalize_os};

/// The chosen node and a sentence a human can check.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub node_id: String,
    pub reason: String,
}

/// Why a node was ruled out, or `None` when it satisfies the requirements.
fn unfit(node: &Node, req: &Requirements) -> Option<String> {
    if let Some(os) = &req.os
        && normalize_os(os) != normalize_os(&node.os)
    {
        return Some(format!("{} is {}", node.id, node.os));
    }
    if let Some(arch) = &req.arch
        && normalize_arch(arch) != normalize_arch(&node.arch)
    {
        return Some(format!("{} is {}", node.id, node.arch));
    }
    let missing: Vec<&str> = req
        .capabilities
        .iter()
        .filter(|c| !node.capabilities.iter().any(|n| n.eq_ignore_ascii_case(c)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Some(format!("{} lacks {}", node.id, missing.join(", ")));
    }
    if !node.load.reachable {
        return Some(format!("{} is unreachable", node.id));
    }
    None
}

/// Load per core, or the raw load when cores are unknown; unknown load is 0.
fn relative_load(node: &Node) -> f32 {
    let load = node.load.load_average.unwrap_or(0.0);
    match node.load.cores {
        Some(cores) if cores > 0 => load / cores as f32,
        _ => load,
    }
}

fn has_free_slot(node: &Node) -> bool {
    node.max_tasks == 0 || node.load.running_tasks < node.max_tasks
}

fn specialty_matches(node: &Node, kind: Kind, command: &str) -> bool {
    node.specialties.iter().any(|s| {
        let s = s.to_ascii_lowercase();
        matches!(kind, Kind::Heavy(cat) if s == cat || s.starts_with(cat))
            || command
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
                .any(|w| w.eq_ignore_ascii_case(&s))
    })
}

/// Ranks candidates; larger is better. Ties go to the smaller id, so the same
/// inputs always give the same node.
fn score(node: &Node, kind: Kind, command: &str, config: &Config) -> (bool, i8, bool, i32, i64) {
    let local_fit: i8 = match (node.is_local, kind) {
        (true, _) if config.avoid_local => -1,
        (true, Kind::Heavy(_)) => -1,
        (true, Kind::Simple) => 1,
        _ => 0,
    };
    (
        has_free_slot(node),
        local_fit,
        specialty_matches(node, kind, command),
        node.priority,
        // Lower load is better; milli-units keep the tuple totally ordered.
        -((relative_load(node) * 1000.0) as i64),
    )
}

/// Picks the best node for `command` among `nodes`.
pub fn pick(
    command: &str,
    req: &Requirements,
    nodes: &[Node],
    config: &Config,
) -> Result<Pick, String> {
    if nodes.is_empty() {
        return Err("no nodes in the inventory: add [[node]] tables to the config".to_string());
    }
    let mut rejected = Vec::new();
    let mut candidates = Vec::new();
    for node in nodes {
        match unfit(node, req) {
            Some(why) => rejected.push(why),
            None => candidates.push(node),
        }
    }
    let kind = classify(command, config);
    let best = candidates.into_iter().max_by(|a, b| {
        score(a, kind, command, config)
            .cmp(&score(b, kind, command, config))
            .then_with(|| b.id.cmp(&a.id))
    });
    let Some(best) = best else {
        return Err(format!(
            "no node satisfies {}: {}",
            describe(req),
            rejected.join("; ")
        ));
    };
    Ok(Pick {
        node_id: best.id.clone(),
        reason: explain(best, kind, command, req, config),
    })
}

fn describe(req: &Requirements) -> String {
    let mut parts = Vec::new();
    if let Some(os) = &req.os {
        parts.push(format!("os={os}"));
    }
    if let Some(arch) = &req.arch {
        parts.push(format!("arch={arch}"));
    }
    if !req.capabilities.is_empty() {
        parts.push(format!("capabilities={}", req.capabilities.join(",")));
    }
    if parts.is_empty() {
        "the request (every node is unreachable)".to_string()
    } else {
        parts.join(" ")
    }
}

fn explain(node: &Node, kind: Kind, command: &str, req: &Requirements, config: &Config) -> String {
    let mut why = vec![format!("{} ({} {})", node.id, node.os, node.arch)];
    if req.os.is_some() || req.arch.is_some() || !req.capabilities.is_empty() {
        why.push(format!("meets {}", describe(req)));
    }
    match kind {
        Kind::Heavy(cat) if node.is_local => {
            why.push(format!("{cat} command, and no other node fits"))
        }
        Kind::Heavy(cat) => why.push(format!("{cat} command kept off the local node")),
        Kind::Simple if node.is_local && !config.avoid_local => {
            why.push("simple command stays local".to_string())
        }
        _ => {}
    }
    if specialty_matches(node, kind, command) {
        why.push(format!("specialty {}", node.specialties.join(",")));
    }
    why.push(format!("priority {}", node.priority));
    if let Some(load) = node.load.load_average {
        why.push(format!("load {load:.2}"));
    }
    if node.max_tasks > 0 {
        why.push(format!(
            "{}/{} tasks",
            node.load.running_tasks, node.max_tasks
        ));
    }
    why.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Load;

    fn node(id: &str, os: &str, arch: &str, local: bool) -> Node {
        Node {
            id: id.into(),
            os: os.into(),
            arch: arch.into(),
            is_local: local,
            max_tasks: 4,
            load: Load {
                reachable: true,
                cores: Some(4),
                load_average: Some(0.5),
                running_tasks: 0,
            },
            ..Node::default()
        }
    }

    fn go(cmd: &str, req: Requirements, nodes: &[Node]) -> Result<String, String> {
        pick(cmd, &req, nodes, &Config::default()).map(|p| p.node_id)
    }

    #[test]
    fn darwin_requirement_matches_a_macos_node_and_aarch64_matches_arm64() {
        let nodes = [
            node("lin", "linux", "x86_64", false),
            node("mac", "macos", "arm64", false),
        ];
        let req = Requirements {
            os: Some("darwin".into()),
            arch: Some("aarch64".into()),
            ..Default::default()
        };
        assert_eq!(go("uname", req, &nodes).unwrap(), "mac");
    }

    #[test]
    fn missing_capability_is_an_error_naming_each_rejected_node() {
        let nodes = [node("a", "linux", "x86_64", false)];
        let req = Requirements {
            capabilities: vec!["gpu".into()],
            ..Default::default()
        };
        let err = go("nvidia-smi", req, &nodes).unwrap_err();
        assert!(
            err.contains("capabilities=gpu") && err.contains("a lacks gpu"),
            "{err}"
        );
    }

    #[test]
    fn heavy_commands_leave_the_local_node_and_simple_ones_stay() {
        let nodes = [
            node("here", "linux", "x86_64", true),
            node("far", "linux", "x86_64", false),
        ];
        assert_eq!(
            go("cargo build", Requirements::default(), &nodes).unwrap(),
            "far"
        );
        assert_eq!(
            go("ls -la", Requirements::default(), &nodes).unwrap(),
            "here"
        );
    }

    #[test]
    fn specialty_then_priority_then_load_decide() {
        let mut a = node("a", "linux", "x86_64", false);
        let mut b = node("b", "linux", "x86_64", false);
        b.specialties = vec!["build".into()];
        a.priority = 9;
        assert_eq!(
            go("make", Requirements::default(), &[a.clone(), b.clone()]).unwrap(),
            "b"
        );
        b.specialties.clear();
        assert_eq!(
            go("make", Requirements::default(), &[a.clone(), b.clone()]).unwrap(),
            "a"
        );
        a.priority = 0;
        a.load.load_average = Some(3.0);
        assert_eq!(go("make", Requirements::default(), &[a, b]).unwrap(), "b");
    }

    #[test]
    fn a_full_node_loses_to_one_with_free_slots() {
        let mut a = node("a", "linux", "x86_64", false);
        a.priority = 5;
        a.load.running_tasks = 4;
        let b = node("b", "linux", "x86_64", false);
        assert_eq!(go("make", Requirements::default(), &[a, b]).unwrap(), "b");
    }

    #[test]
    fn unreachable_nodes_are_never_picked() {
        let mut a = node("a", "linux", "x86_64", false);
        a.load.reachable = false;
        let err = go("ls", Requirements::default(), &[a]).unwrap_err();
        assert!(err.contains("a is unreachable"), "{err}");
    }
}
