//! The `ssh` argument list: hardened options by their `ssh_config(5)` names,
//! the checked address as `HostName` with known hosts keyed by the configured
//! name (`HostKeyAlias`), and the destination after `--`.

use std::ffi::OsString;
use std::path::Path;

use crate::config::{Node, SshSettings};
use crate::net::Target;

/// Whether this invocation may become a ControlMaster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Master {
    /// `ControlMaster=auto`: use the socket, or become its master.
    Auto,
    /// `ControlMaster=no`: use the socket if it exists, never start one
    /// (kill sessions must not leave a master behind on a dying link).
    UseOnly,
}

/// Builds the full argument list (without the program name).
pub fn build(
    s: &SshSettings,
    node: &Node,
    target: &Target,
    control_path: &Path,
    master: Master,
    remote: &str,
) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::with_capacity(48);
    let mut opt = |k: &str, v: &str| {
        a.push("-o".into());
        a.push(format!("{k}={v}").into());
    };
    opt("BatchMode", "yes");
    opt("ConnectTimeout", &s.connect_timeout_secs.to_string());
    opt("StrictHostKeyChecking", "accept-new");
    opt(
        "UserKnownHostsFile",
        &s.known_hosts_file.display().to_string(),
    );
    opt(
        "ServerAliveInterval",
        &s.keepalive_interval_secs.to_string(),
    );
    opt("ServerAliveCountMax", "3");
    opt("HostName", &target.addr.to_string());
    opt("HostKeyAlias", &node.host);
    opt(
        "ControlMaster",
        match master {
            Master::Auto => "auto",
            Master::UseOnly => "no",
        },
    );
    opt("ControlPath", &control_path.display().to_string());
    opt(
        "ControlPersist",
        &format!("{}s", s.control_persist_secs.max(1)),
    );
    opt("LogLevel", "ERROR");
    opt("RequestTTY", "no");
    if let Some(id) = &s.identity_file {
        opt("IdentityFile", &id.display().to_string());
        opt("IdentitiesOnly", "yes");
    }
    if let Some(user) = &node.user {
        opt("User", user);
    }
    opt("Port", &node.port.to_string());
    if let Some(f) = &s.config_file {
        a.push("-F".into());
        a.push(f.as_os_str().to_owned());
    }
    a.push("-n".into());
    a.push("-T".into());
    a.push("--".into());
    a.push(node.host.clone().into());
    a.push(remote.into());
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Env};

    #[test]
    fn destination_follows_double_dash_and_options_are_hardened() {
        let c = Config::from_toml(
            "[ssh]\nidentity_file = \"/k/id\"\nconfig_file = \"/k/cfg\"\nknown_hosts_file = \"/k/kh\"\n\
             [[node]]\nid = \"n\"\nhost = \"example.org\"\nuser = \"bob\"\n",
            None,
            &Env::default(),
        )
        .unwrap();
        let node = &c.nodes[0];
        let t = Target {
            node: "n".into(),
            host: node.host.clone(),
            addr: "198.18.0.2".parse().unwrap(),
            port: 22,
        };
        let args: Vec<String> = build(&c.ssh, node, &t, Path::new("/c/x-0"), Master::Auto, "true")
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        let joined = args.join(" ");
        for want in [
            "BatchMode=yes",
            "StrictHostKeyChecking=accept-new",
            "UserKnownHostsFile=/k/kh",
            "HostName=198.18.0.2",
            "HostKeyAlias=example.org",
            "IdentitiesOnly=yes",
            "ControlMaster=auto",
            "ServerAliveInterval=30",
            "ServerAliveCountMax=3",
            "-F /k/cfg",
            "User=bob",
        ] {
            assert!(joined.contains(want), "missing {want}: {joined}");
        }
        let dd = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(&args[dd + 1..], ["example.org", "true"]);
        assert!(args.contains(&"-n".to_string()));
    }
}
