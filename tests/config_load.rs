//! Loading the configuration: precedence, environment overrides, refusals
//! at load, and errors that point at the file, line and column.

use std::path::Path;

use cluster_exec::config::{AuditSync, Config, ConfigSource, Env, LoginShell, Transport};

const BASE: &str = r#"
[ssh]
user = "ops"
port = 2222
connect_timeout_secs = 7
command_timeout_secs = 100
retries = 4

[[node]]
id = "gpu-box"
host = "gpu.example.org"
aliases = ["inference"]
os = "linux"
arch = "x86_64"
capabilities = ["gpu"]

[[node]]
id = "mac"
host = "198.18.7.2"
user = "me"
aliases = ["builder"]
os = "macos"
arch = "aarch64"
"#;

fn load(text: &str, env: &Env) -> anyhow::Result<Config> {
    Config::from_toml(text, Some(Path::new("/etc/ce/config.toml")), env)
}

#[test]
fn file_values_and_defaults_are_resolved() {
    let c = load(BASE, &Env::default()).unwrap();
    assert_eq!(c.ssh.connect_timeout_secs, 7);
    assert_eq!(c.nodes[0].port, 2222);
    assert_eq!(c.nodes[0].user.as_deref(), Some("ops"));
    assert_eq!(c.nodes[1].user.as_deref(), Some("me"));
    assert_eq!(c.limits.output_cap_bytes, 1024 * 1024);
    assert_eq!(c.resolve_node("builder").unwrap().id, "mac");
    assert_eq!(c.resolve_node("gpu-box").unwrap().host, "gpu.example.org");
    let info = c.nodes[0].to_node_info(Default::default());
    assert_eq!((info.id.as_str(), info.is_local), ("gpu-box", false));
}

#[test]
fn unknown_node_error_lists_ids_and_aliases() {
    let c = load(BASE, &Env::default()).unwrap();
    let e = c.resolve_node("nope").unwrap_err().to_string();
    assert!(
        e.contains("gpu-box (inference)") && e.contains("mac (builder)"),
        "{e}"
    );
}

#[test]
fn environment_overrides_win_over_the_file() {
    let env = Env::from_pairs([
        ("CLUSTER_SSH_USER", "envuser"),
        ("CLUSTER_SSH_CONNECT_TIMEOUT", "3"),
        ("CLUSTER_SSH_TIMEOUT", "50"),
        ("CLUSTER_CMD_TIMEOUT", "60"),
        ("CLUSTER_SSH_RETRIES", "0"),
        ("CLUSTER_GPU_BOX_HOST", "gpu2.example.org"),
        ("CLUSTER_MAC_HOST", "mac.example.org"),
        ("CLUSTER_MAC_IP", "198.18.9.2"),
    ]);
    let c = load(BASE, &env).unwrap();
    assert_eq!(c.ssh.user.as_deref(), Some("envuser"));
    assert_eq!(c.nodes[0].user.as_deref(), Some("envuser"));
    assert_eq!(c.ssh.connect_timeout_secs, 3);
    assert_eq!(c.ssh.command_timeout_secs, 60, "CLUSTER_CMD_TIMEOUT wins");
    assert_eq!(c.ssh.retries, 0);
    assert_eq!(c.nodes[0].host, "gpu2.example.org");
    assert_eq!(c.nodes[1].host, "198.18.9.2", "_IP wins over _HOST");
    assert!(c.describe().contains("CLUSTER_MAC_IP"));
}

#[test]
fn environment_values_are_checked_too() {
    let env = Env::from_pairs([("CLUSTER_MAC_HOST", "-oProxyCommand=sh")]);
    let e = load(BASE, &env).unwrap_err().to_string();
    assert!(e.contains("CLUSTER_MAC_HOST"), "{e}");
    let env = Env::from_pairs([("CLUSTER_MAC_IP", "127.0.0.1")]);
    let e = load(BASE, &env).unwrap_err().to_string();
    assert!(e.contains("network guard"), "{e}");
    let env = Env::from_pairs([("CLUSTER_SSH_RETRIES", "lots")]);
    assert!(load(BASE, &env).is_err());
}

#[test]
fn proxy_command_host_is_refused_at_load_with_its_position() {
    let text = "[[node]]\nid = \"evil\"\nhost = \"-oProxyCommand=touch /tmp/pwned\"\n";
    let e = load(text, &Env::default()).unwrap_err().to_string();
    assert!(e.starts_with("/etc/ce/config.toml:3:8:"), "{e}");
    assert!(e.contains("node `evil` field `host`"), "{e}");
}

#[test]
fn shell_syntax_in_a_node_id_is_refused_at_load() {
    let text = "[[node]]\nid = \"builder; rm -rf /\"\nhost = \"example.org\"\n";
    let e = load(text, &Env::default()).unwrap_err().to_string();
    assert!(e.contains(":2:6:") && e.contains("node id"), "{e}");
}

#[test]
fn guard_refuses_denied_literal_addresses_at_load() {
    for addr in [
        "127.0.0.1",
        "::ffff:127.0.0.1",
        "172.17.0.5",
        "169.254.1.1",
        "fe80::1",
        "::1",
        "0.0.0.0",
    ] {
        let text = format!("[[node]]\nid = \"n\"\nhost = \"{addr}\"\n");
        let e = load(&text, &Env::default()).unwrap_err().to_string();
        assert!(e.contains("deny list"), "{addr}: {e}");
    }
    // The same address is fine for a local node: it never goes over the network.
    let text = "[[node]]\nid = \"n\"\nhost = \"127.0.0.1\"\ntransport = \"local\"\n";
    assert!(load(text, &Env::default()).is_ok());
}

#[test]
fn allow_list_is_enforced_at_load_for_literals() {
    let text = "[network]\nallow = [\"10.0.0.0/8\"]\n[[node]]\nid = \"n\"\nhost = \"198.18.0.2\"\n";
    let e = load(text, &Env::default()).unwrap_err().to_string();
    assert!(e.contains("not in [network] allow"), "{e}");
    let text =
        "[network]\nallow = [\"198.18.0.0/15\"]\n[[node]]\nid = \"n\"\nhost = \"198.18.0.2\"\n";
    assert!(load(text, &Env::default()).is_ok());
}

#[test]
fn syntax_and_type_errors_name_line_and_column() {
    let text = "[ssh]\nport = \"twenty-two\"\n";
    let e = load(text, &Env::default()).unwrap_err().to_string();
    assert!(e.starts_with("/etc/ce/config.toml:2:8:"), "{e}");
    let text = "[[node]]\nid = \"a\"\nhost = \"x\"\ncolour = \"blue\"\n";
    let e = load(text, &Env::default()).unwrap_err().to_string();
    assert!(
        e.starts_with("/etc/ce/config.toml:4:1:") && e.contains("colour"),
        "{e}"
    );
}

#[test]
fn login_shell_and_audit_sync_take_only_their_words() {
    let c = load(BASE, &Env::default()).unwrap();
    assert_eq!(c.nodes[0].login_shell, LoginShell::Posix);
    assert_eq!(c.audit.sync, AuditSync::Always);
    let text = "[audit]\nsync = \"background\"\n[[node]]\nid = \"a\"\nhost = \"x\"\nlogin_shell = \"other\"\n";
    let c = load(text, &Env::default()).unwrap();
    assert_eq!(c.nodes[0].login_shell, LoginShell::Other);
    assert_eq!(c.audit.sync, AuditSync::Background);
    let text = "[[node]]\nid = \"a\"\nhost = \"x\"\nlogin_shell = \"fish\"\n";
    let e = load(text, &Env::default()).unwrap_err().to_string();
    assert!(
        e.starts_with("/etc/ce/config.toml:4:15:") && e.contains("posix") && e.contains("other"),
        "{e}"
    );
    let text = "[audit]\nsync = \"sometimes\"\n";
    let e = load(text, &Env::default()).unwrap_err().to_string();
    assert!(
        e.starts_with("/etc/ce/config.toml:2:8:") && e.contains("background"),
        "{e}"
    );
}

#[test]
fn duplicate_names_are_refused() {
    let text = "[[node]]\nid = \"a\"\nhost = \"x\"\naliases = [\"b\"]\n[[node]]\nid = \"b\"\nhost = \"y\"\n";
    let e = load(text, &Env::default()).unwrap_err().to_string();
    assert!(e.contains("already used by node `a`"), "{e}");
}

#[test]
fn embedded_default_is_one_local_node_for_this_machine() {
    let c = Config::embedded(&Env::default()).unwrap();
    assert_eq!(c.source, ConfigSource::Embedded);
    assert_eq!(c.nodes.len(), 1);
    let n = &c.nodes[0];
    assert_eq!((n.id.as_str(), n.transport), ("local", Transport::Local));
    assert_eq!(n.os, std::env::consts::OS);
    assert_eq!(n.arch, std::env::consts::ARCH);
    assert!(n.capabilities.is_empty());
    assert!(c.describe().contains("embedded default"));
}

#[test]
fn precedence_is_flag_then_env_then_default() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    std::fs::write(&a, "[[node]]\nid = \"from-a\"\nhost = \"a.example\"\n").unwrap();
    std::fs::write(&b, "[[node]]\nid = \"from-b\"\nhost = \"b.example\"\n").unwrap();
    let env = Env::from_pairs([("CLUSTER_CONFIG", b.to_str().unwrap())]);
    assert_eq!(
        Config::load_with_env(Some(&a), &env).unwrap().nodes[0].id,
        "from-a"
    );
    assert_eq!(
        Config::load_with_env(None, &env).unwrap().nodes[0].id,
        "from-b"
    );
    let missing = dir.path().join("missing.toml");
    let e = Config::load_with_env(Some(&missing), &env).unwrap_err();
    assert!(format!("{e:#}").contains("missing.toml"), "{e:#}");
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let text = "[ssh]\nidentity_file = \"keys/id\"\n[audit]\npath = \"log/a.jsonl\"\n\
                [plugins]\nvalidators = [{ plugin = \"p/v.wasm\" }]\n\
                [[node]]\nid = \"n\"\nhost = \"x.example\"\n";
    let c = load(text, &Env::default()).unwrap();
    assert_eq!(c.ssh.identity_file.unwrap(), Path::new("/etc/ce/keys/id"));
    assert_eq!(c.audit.path, Path::new("/etc/ce/log/a.jsonl"));
    assert_eq!(c.plugins.validators[0].plugin, "/etc/ce/p/v.wasm");
    assert_eq!(c.plugins.router.plugin, "builtin:router");
}

#[test]
fn describe_lists_every_node_and_json_round_trips() {
    let c = load(BASE, &Env::default()).unwrap();
    let d = c.describe();
    assert!(d.contains("gpu-box  ssh ops@gpu.example.org:2222"), "{d}");
    assert!(d.contains("mac  ssh me@198.18.7.2:2222"), "{d}");
    let json = serde_json::to_string(&c).unwrap();
    let back: Config = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
}
