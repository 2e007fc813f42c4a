//! `plugin test`: runs cases files through the exact production path
//! (load, check, fresh sandbox per call) and reports each case.
//!
//! The file format is shared with other tools, so its keys are fixed:
//! `plugin`, `[config]`, `[[node]]`, and `[[case]]` with `name`, `command`,
//! `node`, `expect`, `reason` (validators) or `requires_*` and `expect_node`
//! (routers). `expect_error` (a regex a router error must match) is ours.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::inspect::World;
use super::router::Router;
use super::set::Loader;
use super::settings::PluginsConfig;
use super::types::{CommandRequest, NodeInfo, NodeLoad, Requirements, RouteRequest, Verdict};
use super::validator::Validator;

/// A cases file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesFile {
    pub plugin: Option<String>,
    #[serde(default)]
    pub config: Option<toml::Table>,
    #[serde(default)]
    pub node: Vec<CaseNode>,
    #[serde(default)]
    pub case: Vec<Case>,
}

/// A node of a router case's inventory: the config file's `[[node]]` fields
/// that routing reads, plus a load to route against.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseNode {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default = "default_os")]
    pub os: String,
    #[serde(default = "default_arch")]
    pub arch: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub specialties: Vec<String>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub max_tasks: u32,
    /// `ssh` or `local`, as in the config file.
    #[serde(default)]
    pub transport: Option<String>,
    // Accepted so a config's [[node]] tables can be pasted unchanged.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub user: Option<String>,
    // Live load, for cases about load-based choices.
    #[serde(default = "yes")]
    pub reachable: bool,
    pub cores: Option<u32>,
    pub load_average: Option<f32>,
    pub memory_used_percent: Option<f32>,
    #[serde(default)]
    pub running_tasks: u32,
}

fn default_os() -> String {
    "linux".into()
}
fn default_arch() -> String {
    "x86_64".into()
}
fn yes() -> bool {
    true
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: Option<String>,
    pub command: String,
    pub node: Option<String>,
    pub expect: Option<String>,
    pub reason: Option<String>,
    pub requires_os: Option<String>,
    pub requires_arch: Option<String>,
    #[serde(default)]
    pub requires_capabilities: Vec<String>,
    pub expect_node: Option<String>,
    pub expect_error: Option<String>,
}

/// The outcome of one case, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub passed: bool,
    pub expected: String,
    pub got: String,
    pub reason: String,
    pub micros: u64,
}

/// Totals over every file.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
}

impl CaseNode {
    fn to_info(&self) -> NodeInfo {
        NodeInfo {
            id: self.id.clone(),
            aliases: self.aliases.clone(),
            os: self.os.clone(),
            arch: self.arch.clone(),
            capabilities: self.capabilities.clone(),
            specialties: self.specialties.clone(),
            priority: self.priority,
            max_tasks: self.max_tasks,
            is_local: self.transport.as_deref() == Some("local"),
            load: NodeLoad {
                reachable: self.reachable,
                cores: self.cores,
                load_average: self.load_average,
                memory_used_percent: self.memory_used_percent,
                running_tasks: self.running_tasks,
            },
        }
    }
}

/// Parses a cases file, naming the file, line and column of any error.
pub fn parse(path: &Path) -> Result<CasesFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read cases file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), located(&text, &e)))
}

/// toml's message, prefixed with `line L, column C`.
fn located(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before
                .rfind('\n')
                .map_or(before.len(), |i| before.len() - i - 1)
                + 1;
            format!("line {line}, column {column}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}

/// Runs every case of one file; `plugin_override` is `--plugin`.
pub fn run_file(
    loader: &Loader,
    path: &Path,
    plugin_override: Option<&str>,
) -> Result<Vec<CaseResult>> {
    let file = parse(path)?;
    let base: Option<PathBuf> = path.parent().map(Path::to_path_buf);
    let (spec, spec_base) = match (plugin_override, &file.plugin) {
        // --plugin paths are relative to the working directory.
        (Some(p), _) => (p.to_string(), None),
        (None, Some(p)) => (p.clone(), base.clone()),
        (None, None) => bail!(
            "{}: no plugin to test: add `plugin = \"builtin:validator\"` (or a path) to the file, \
             or pass --plugin",
            path.display()
        ),
    };
    if file.case.is_empty() {
        bail!(
            "{}: no [[case]] tables; a cases file must hold at least one case",
            path.display()
        );
    }
    let config = serde_json::to_value(file.config.clone().unwrap_or_default())?;
    let defaults = PluginsConfig::default();
    let loaded = loader.load(&spec, spec_base.as_deref())?;
    let limits = super::sandbox::Limits::new(defaults.deadline_ms, defaults.memory_mib);
    let label = path.display().to_string();
    match loaded.outline.world {
        World::Validator => {
            let validator = Validator::new(loader.engine(), loaded, &config, limits)?;
            file.case
                .iter()
                .enumerate()
                .map(|(i, case)| validator_case(&validator, &label, i, case))
                .collect()
        }
        World::Router => {
            let router = Router::new(loader.engine(), loaded, &config, limits)?;
            let nodes: Vec<NodeInfo> = file.node.iter().map(CaseNode::to_info).collect();
            file.case
                .iter()
                .enumerate()
                .map(|(i, case)| router_case(&router, &nodes, &label, i, case))
                .collect()
        }
    }
}

fn case_name(case: &Case) -> String {
    case.name.clone().unwrap_or_else(|| case.command.clone())
}

fn reason_regex(pattern: &Option<String>, file: &str, index: usize) -> Result<Option<Regex>> {
    pattern
        .as_deref()
        .map(|p| {
            Regex::new(p)
                .with_context(|| format!("{file}: case {} has an invalid regex `{p}`", index + 1))
        })
        .transpose()
}

fn validator_case(
    validator: &Validator,
    file: &str,
    index: usize,
    case: &Case,
) -> Result<CaseResult> {
    let name = case_name(case);
    let Some(expect) = case.expect.as_deref() else {
        bail!(
            "{file}: case {} ({name}) has no `expect` (allow, deny or ask)",
            index + 1
        );
    };
    if !matches!(expect, "allow" | "deny" | "ask") {
        bail!(
            "{file}: case {} ({name}) expects `{expect}`; use allow, deny or ask",
            index + 1
        );
    }
    let wanted_reason = reason_regex(&case.reason, file, index)?;
    let request = CommandRequest {
        command: case.command.clone(),
        node: case.node.clone(),
        requester: None,
    };
    let started = Instant::now();
    let verdict = validator.validate(&request);
    let micros = started.elapsed().as_micros() as u64;
    let (got, reason) = match &verdict {
        Verdict::Allow => ("allow", String::new()),
        Verdict::Deny(r) => ("deny", r.clone()),
        Verdict::Ask(r) => ("ask", r.clone()),
    };
    let reason_ok = wanted_reason.as_ref().is_none_or(|re| re.is_match(&reason));
    let mut expected = expect.to_string();
    if let Some(re) = &wanted_reason {
        expected.push_str(&format!(" /{}/", re.as_str()));
    }
    Ok(CaseResult {
        file: file.to_string(),
        name,
        passed: got == expect && reason_ok,
        expected,
        got: got.to_string(),
        reason,
        micros,
    })
}

fn router_case(
    router: &Router,
    nodes: &[NodeInfo],
    file: &str,
    index: usize,
    case: &Case,
) -> Result<CaseResult> {
    let name = case_name(case);
    let wanted_error = reason_regex(&case.expect_error, file, index)?;
    if case.expect_node.is_none() && wanted_error.is_none() {
        bail!(
            "{file}: case {} ({name}) has neither `expect_node` nor `expect_error`",
            index + 1
        );
    }
    let request = RouteRequest {
        command: case.command.clone(),
        requirements: Requirements {
            os: case.requires_os.clone(),
            arch: case.requires_arch.clone(),
            capabilities: case.requires_capabilities.clone(),
        },
        nodes: nodes.to_vec(),
    };
    let started = Instant::now();
    let outcome = router.route(&request);
    let micros = started.elapsed().as_micros() as u64;
    let (got, reason, passed) = match (&outcome, &case.expect_node, &wanted_error) {
        (Ok(route), Some(want), _) => (
            route.node_id.clone(),
            route.reason.clone(),
            &route.node_id == want,
        ),
        (Ok(route), None, Some(_)) => (route.node_id.clone(), route.reason.clone(), false),
        (Err(e), _, Some(re)) => (
            "error".to_string(),
            e.to_string(),
            re.is_match(&e.to_string()),
        ),
        (Err(e), _, None) => ("error".to_string(), e.to_string(), false),
        (Ok(_), None, None) => unreachable!("checked above: a case expects a node or an error"),
    };
    let expected = match (&case.expect_node, &wanted_error) {
        (Some(node), _) => node.clone(),
        (None, Some(re)) => format!("error /{}/", re.as_str()),
        (None, None) => String::new(),
    };
    Ok(CaseResult {
        file: file.to_string(),
        name,
        passed,
        expected,
        got,
        reason,
        micros,
    })
}

/// The one-line text form of a result.
pub fn render(result: &CaseResult) -> String {
    if result.passed {
        format!(
            "ok      {}  -> {}  ({} µs)  {}",
            result.name, result.got, result.micros, result.reason
        )
    } else {
        format!(
            "FAILED  {}  expected {}, got {}  ({} µs)  reason: {}",
            result.name,
            result.expected,
            result.got,
            result.micros,
            if result.reason.is_empty() {
                "-"
            } else {
                &result.reason
            }
        )
    }
}
