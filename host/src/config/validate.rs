//! From the raw file (or the embedded default) to a trusted [`Config`]:
//! defaults, environment overrides, and every check that can fail at load,
//! each error naming the file, line and column, or the node and field.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail};
use toml::Spanned;

use super::env::{Env, node_var};
use super::file::{RawConfig, RawNode};
use super::*;
use crate::net::{self, Guard};

/// Where an error points: the file and position, or the embedded default.
struct Origin<'a> {
    text: &'a str,
    path: Option<&'a Path>,
}

impl Origin<'_> {
    fn file(&self) -> String {
        match self.path {
            Some(p) => p.display().to_string(),
            None => "<config>".to_string(),
        }
    }

    /// `file:line:column` of a byte offset (1-based, column in characters).
    fn at(&self, offset: usize) -> String {
        let (line, col) = line_col(self.text, offset);
        format!("{}:{line}:{col}", self.file())
    }

    fn at_span<T>(&self, value: &Spanned<T>) -> String {
        self.at(value.span().start)
    }
}

/// 1-based line and column of `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

pub(super) fn from_toml(text: &str, path: Option<&Path>, env: &Env) -> anyhow::Result<Config> {
    let origin = Origin { text, path };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let at = match e.span() {
            Some(span) => origin.at(span.start),
            None => origin.file(),
        };
        anyhow!(
            "{at}: {}; fix the config file (see `cluster-exec config check`)",
            e.message().trim_end()
        )
    })?;
    if raw.nodes.is_empty() {
        bail!(
            "{}: no [[node]] tables; add at least one node (or remove the file to use the \
             embedded local node)",
            origin.file()
        );
    }
    let base = path.and_then(Path::parent).map(Path::to_path_buf);
    build(
        raw,
        &origin,
        base.as_deref(),
        env,
        match path {
            Some(p) => ConfigSource::File(p.to_path_buf()),
            None => ConfigSource::Embedded,
        },
    )
}

pub(super) fn embedded(env: &Env) -> anyhow::Result<Config> {
    let text = format!(
        "[[node]]\nid = \"local\"\nhost = \"localhost\"\ntransport = \"local\"\nos = \"{}\"\narch = \"{}\"\n",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let raw: RawConfig =
        toml::from_str(&text).context("embedded default configuration does not parse (a bug)")?;
    let origin = Origin {
        text: &text,
        path: None,
    };
    build(raw, &origin, None, env, ConfigSource::Embedded)
}

fn build(
    raw: RawConfig,
    origin: &Origin<'_>,
    base: Option<&Path>,
    env: &Env,
    source: ConfigSource,
) -> anyhow::Result<Config> {
    let mut overrides = Vec::new();
    let ssh = ssh_settings(&raw, origin, base, env, &mut overrides)?;
    let network = NetworkSettings {
        deny: raw.network.deny.clone(),
        allow: raw.network.allow.clone(),
    };
    let guard = Guard::new(&network.deny, &network.allow);
    let limits = Limits {
        output_cap_bytes: raw
            .limits
            .output_cap_bytes
            .unwrap_or(DEFAULT_OUTPUT_CAP_BYTES),
        max_command_bytes: raw
            .limits
            .max_command_bytes
            .unwrap_or(DEFAULT_MAX_COMMAND_BYTES),
        global_concurrency: raw
            .limits
            .global_concurrency
            .unwrap_or(DEFAULT_GLOBAL_CONCURRENCY),
    };
    if limits.output_cap_bytes < 16 {
        bail!(
            "{}: [limits] output_cap_bytes must be at least 16",
            origin.file()
        );
    }
    if limits.global_concurrency == 0 {
        bail!(
            "{}: [limits] global_concurrency must be at least 1",
            origin.file()
        );
    }
    let audit = AuditSettings {
        path: match &raw.audit.path {
            Some(p) => paths::resolve(p, base),
            None => paths::state_dir().join("audit.jsonl"),
        },
        sync: raw.audit.sync,
    };
    let plugins = resolve_plugins(raw.plugins.clone(), base);

    let mut nodes = Vec::with_capacity(raw.nodes.len());
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (index, rn) in raw.nodes.iter().enumerate() {
        let node = node(rn, index, origin, &ssh, env, &guard, &mut overrides)?;
        for name in std::iter::once(&node.id).chain(node.aliases.iter()) {
            if let Some(other) = names.insert(name.clone(), node.id.clone()) {
                bail!(
                    "{}: node `{}`: name `{name}` is already used by node `{other}`; ids and \
                     aliases must be unique so a name picks one node",
                    origin.at_span(&rn.id),
                    node.id
                );
            }
        }
        nodes.push(node);
    }

    Ok(Config {
        source,
        ssh,
        network,
        plugins,
        limits,
        audit,
        nodes,
        overrides,
    })
}

fn ssh_settings(
    raw: &RawConfig,
    origin: &Origin<'_>,
    base: Option<&Path>,
    env: &Env,
    overrides: &mut Vec<String>,
) -> anyhow::Result<SshSettings> {
    let r = &raw.ssh;
    let mut user = match &r.user {
        Some(u) => {
            net::check_user(u.get_ref())
                .map_err(|e| anyhow!("{}: [ssh] user: {e}", origin.at_span(u)))?;
            Some(u.get_ref().clone())
        }
        None => None,
    };
    if let Some(u) = env.get("CLUSTER_SSH_USER") {
        net::check_user(u).map_err(|e| anyhow!("environment variable CLUSTER_SSH_USER: {e}"))?;
        user = Some(u.to_string());
        overrides.push(format!("CLUSTER_SSH_USER={u} (ssh user)"));
    }
    let mut s = SshSettings {
        user,
        identity_file: r.identity_file.as_ref().map(|p| paths::resolve(p, base)),
        known_hosts_file: match &r.known_hosts_file {
            Some(p) => paths::resolve(p, base),
            None => paths::state_dir().join("known_hosts"),
        },
        config_file: r.config_file.as_ref().map(|p| paths::resolve(p, base)),
        control_dir: match &r.control_dir {
            Some(p) => paths::resolve(p, base),
            None => paths::runtime_dir(),
        },
        port: r.port.unwrap_or(DEFAULT_SSH_PORT),
        connect_timeout_secs: r
            .connect_timeout_secs
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS),
        command_timeout_secs: r
            .command_timeout_secs
            .unwrap_or(DEFAULT_COMMAND_TIMEOUT_SECS),
        retries: r.retries.unwrap_or(DEFAULT_RETRIES),
        control_persist_secs: r
            .control_persist_secs
            .unwrap_or(DEFAULT_CONTROL_PERSIST_SECS),
        keepalive_interval_secs: r
            .keepalive_interval_secs
            .unwrap_or(DEFAULT_KEEPALIVE_INTERVAL_SECS),
    };
    // CLUSTER_SSH_TIMEOUT is the original's name for the command timeout;
    // CLUSTER_CMD_TIMEOUT, when both are set, wins.
    for (var, field, slot) in [
        (
            "CLUSTER_SSH_CONNECT_TIMEOUT",
            "connect_timeout_secs",
            &mut s.connect_timeout_secs,
        ),
        (
            "CLUSTER_SSH_TIMEOUT",
            "command_timeout_secs",
            &mut s.command_timeout_secs,
        ),
    ] {
        if let Some(v) = env.number::<u64>(var)? {
            *slot = v;
            overrides.push(format!("{var}={v} ([ssh] {field})"));
        }
    }
    if let Some(v) = env.number::<u64>("CLUSTER_CMD_TIMEOUT")? {
        s.command_timeout_secs = v;
        overrides.push(format!(
            "CLUSTER_CMD_TIMEOUT={v} ([ssh] command_timeout_secs)"
        ));
    }
    if let Some(v) = env.number::<u32>("CLUSTER_SSH_RETRIES")? {
        s.retries = v;
        overrides.push(format!("CLUSTER_SSH_RETRIES={v} ([ssh] retries)"));
    }
    if s.connect_timeout_secs == 0 || s.command_timeout_secs == 0 {
        bail!(
            "{}: [ssh] connect_timeout_secs and command_timeout_secs must be at least 1 \
             (or check CLUSTER_SSH_CONNECT_TIMEOUT / CLUSTER_CMD_TIMEOUT)",
            origin.file()
        );
    }
    if s.keepalive_interval_secs == 0 {
        bail!(
            "{}: [ssh] keepalive_interval_secs must be at least 1",
            origin.file()
        );
    }
    for (field, p) in [
        ("identity_file", s.identity_file.as_ref()),
        ("known_hosts_file", Some(&s.known_hosts_file)),
        ("config_file", s.config_file.as_ref()),
        ("control_dir", Some(&s.control_dir)),
    ] {
        if let Some(p) = p {
            check_ssh_path(field, p).map_err(|e| anyhow!("{}: [ssh] {e}", origin.file()))?;
        }
    }
    Ok(s)
}

/// Paths end up inside `-o Option=value`: refuse what ssh would split or
/// expand (whitespace, quotes, `%` tokens, control characters).
fn check_ssh_path(field: &str, p: &Path) -> anyhow::Result<()> {
    let s = p
        .to_str()
        .ok_or_else(|| anyhow!("{field}: path is not UTF-8"))?;
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '%' | '\\'))
    {
        bail!(
            "{field} `{}` contains {c:?}, which ssh would interpret; move the file to a plain path",
            s.escape_debug()
        );
    }
    Ok(())
}

fn resolve_plugins(mut p: PluginsConfig, base: Option<&Path>) -> PluginsConfig {
    let fix = |spec: &mut crate::plugin::settings::PluginSpec| {
        if !spec.plugin.starts_with("builtin:") {
            spec.plugin = paths::resolve(Path::new(&spec.plugin), base)
                .display()
                .to_string();
        }
    };
    p.validators.iter_mut().for_each(fix);
    fix(&mut p.router);
    p.cache_dir = p.cache_dir.map(|d| paths::resolve(&d, base));
    p
}

#[allow(clippy::too_many_arguments)]
fn node(
    rn: &RawNode,
    index: usize,
    origin: &Origin<'_>,
    ssh: &SshSettings,
    env: &Env,
    guard: &Guard,
    overrides: &mut Vec<String>,
) -> anyhow::Result<Node> {
    let id = rn.id.get_ref().clone();
    net::check_node_id(&id).map_err(|e| {
        anyhow!(
            "{}: [[node]] #{} field `id`: {e}",
            origin.at_span(&rn.id),
            index + 1
        )
    })?;
    let field_err = |at: String, field: &str, e: &dyn std::fmt::Display| {
        anyhow!("{at}: node `{id}` field `{field}`: {e}")
    };

    let mut host = match (&rn.host, rn.transport) {
        (Some(h), _) => {
            net::check_host(h.get_ref()).map_err(|e| field_err(origin.at_span(h), "host", &e))?;
            h.get_ref().clone()
        }
        (None, Transport::Local) => "localhost".to_string(),
        (None, Transport::Ssh) => bail!(
            "{}: node `{id}` has no `host`; add `host = \"name-or-address\"` (or set {})",
            origin.at_span(&rn.id),
            node_var(&id, "HOST")
        ),
    };
    // CLUSTER_<NODE>_IP is the more specific of the two and wins.
    for suffix in ["HOST", "IP"] {
        let var = node_var(&id, suffix);
        if let Some(v) = env.get(&var) {
            net::check_host(v).map_err(|e| anyhow!("environment variable {var}: {e}"))?;
            host = v.to_string();
            overrides.push(format!("{var}={v} (node {id} host)"));
        }
    }
    if rn.transport == Transport::Ssh {
        guard.check_literal(&id, &host).map_err(|e| {
            let at = rn
                .host
                .as_ref()
                .map_or_else(|| origin.at_span(&rn.id), |h| origin.at_span(h));
            anyhow!("{at}: node `{id}` field `host`: {e}")
        })?;
    }

    let user = match &rn.user {
        Some(u) => {
            net::check_user(u.get_ref()).map_err(|e| field_err(origin.at_span(u), "user", &e))?;
            Some(u.get_ref().clone())
        }
        None => ssh.user.clone(),
    };
    let mut aliases = Vec::with_capacity(rn.aliases.len());
    for a in &rn.aliases {
        net::check_alias(a.get_ref()).map_err(|e| field_err(origin.at_span(a), "aliases", &e))?;
        aliases.push(a.get_ref().clone());
    }
    for (field, list) in [
        ("capabilities", &rn.capabilities),
        ("specialties", &rn.specialties),
    ] {
        if let Some(bad) = list
            .iter()
            .find(|s| s.is_empty() || s.len() > 64 || s.chars().any(char::is_control))
        {
            bail!(
                "{}: node `{id}` field `{field}`: `{}` must be 1 to 64 printable characters",
                origin.at_span(&rn.id),
                bad.escape_debug()
            );
        }
    }
    let max_tasks = rn.max_tasks.unwrap_or(DEFAULT_MAX_TASKS);
    if max_tasks == 0 {
        bail!(
            "{}: node `{id}` field `max_tasks`: must be at least 1",
            origin.at_span(&rn.id)
        );
    }
    Ok(Node {
        id,
        host,
        port: rn.port.unwrap_or(ssh.port),
        user,
        aliases,
        os: rn
            .os
            .clone()
            .unwrap_or_else(|| "unknown".to_string())
            .to_lowercase(),
        arch: rn
            .arch
            .clone()
            .unwrap_or_else(|| "unknown".to_string())
            .to_lowercase(),
        capabilities: rn.capabilities.clone(),
        specialties: rn.specialties.clone(),
        priority: rn.priority,
        max_tasks,
        transport: rn.transport,
        login_shell: rn.login_shell,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
