//! The resolved inventory as text, for `cluster-exec config check`.

use std::fmt::Write as _;

use super::{Config, ConfigSource, Transport};

pub(super) fn describe(c: &Config) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = match &c.source {
        ConfigSource::File(p) => writeln!(out, "config: {}", p.display()),
        ConfigSource::Embedded => writeln!(
            out,
            "config: embedded default (no --config, no $CLUSTER_CONFIG, no default file)"
        ),
    };
    for o in &c.overrides {
        let _ = writeln!(out, "  override from environment: {o}");
    }
    let s = &c.ssh;
    let _ = writeln!(
        out,
        "ssh: user={} port={} connect_timeout={}s command_timeout={}s retries={} \
         control_persist={}s keepalive={}s",
        s.user.as_deref().unwrap_or("(ssh default)"),
        s.port,
        s.connect_timeout_secs,
        s.command_timeout_secs,
        s.retries,
        s.control_persist_secs,
        s.keepalive_interval_secs
    );
    let opt = |p: &Option<std::path::PathBuf>, none: &str| {
        p.as_ref()
            .map_or_else(|| none.to_string(), |p| p.display().to_string())
    };
    let _ = writeln!(
        out,
        "  identity_file={} known_hosts_file={} config_file={} control_dir={}",
        opt(&s.identity_file, "(ssh default)"),
        s.known_hosts_file.display(),
        opt(&s.config_file, "(~/.ssh/config)"),
        s.control_dir.display()
    );
    let guard = c.guard();
    let list = |l: &[ipnet::IpNet]| {
        l.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "network: deny {}", list(guard.deny_list()));
    let _ = writeln!(
        out,
        "  allow {}",
        if guard.allow_list().is_empty() {
            "(anything not denied)".to_string()
        } else {
            list(guard.allow_list())
        }
    );
    let l = &c.limits;
    let _ = writeln!(
        out,
        "limits: output_cap={} bytes per stream, max_command={} bytes, global_concurrency={}",
        l.output_cap_bytes, l.max_command_bytes, l.global_concurrency
    );
    let _ = writeln!(
        out,
        "audit: {} (sync {})",
        c.audit.path.display(),
        match c.audit.sync {
            super::AuditSync::Background => "background",
            super::AuditSync::Always => "always",
        }
    );
    let _ = writeln!(
        out,
        "plugins: validators [{}], router {}",
        c.plugins
            .validators
            .iter()
            .map(|v| v.plugin.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        c.plugins.router.plugin
    );
    let _ = writeln!(out, "nodes ({}):", c.nodes.len());
    for n in &c.nodes {
        let via = match n.transport {
            Transport::Ssh => format!("ssh {}", n.display_target()),
            Transport::Local => "local".to_string(),
        };
        let list = |v: &[String]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(",")
            }
        };
        let _ = writeln!(
            out,
            "  {}  {via}  {}/{}  aliases={} capabilities={} specialties={} priority={} max_tasks={}",
            n.id,
            n.os,
            n.arch,
            list(&n.aliases),
            list(&n.capabilities),
            list(&n.specialties),
            n.priority,
            n.max_tasks
        );
    }
    out
}
