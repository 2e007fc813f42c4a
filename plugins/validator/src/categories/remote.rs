//! remote-access: cutting off the SSH access this product runs through —
//! stopping or removing the SSH server, taking the network down, firewall
//! rules that drop everything or SSH, and destroying authorized keys.

use crate::args;
use crate::category::Category;
use crate::effects::Kind;
use crate::expand::Arg;
use crate::path::{Base, NPath};
use crate::walk::Walker;

fn unit_name(u: &str) -> &str {
    let u = u
        .strip_suffix(".service")
        .or_else(|| u.strip_suffix(".socket"))
        .unwrap_or(u);
    u.split('@').next().unwrap_or(u)
}

fn is_ssh_unit(u: &str) -> bool {
    matches!(
        unit_name(u),
        "ssh" | "sshd" | "openssh" | "openssh-server" | "dropbear" | "opensshd"
    )
}

fn is_net_unit(u: &str) -> bool {
    matches!(
        unit_name(u),
        "networking"
            | "network"
            | "NetworkManager"
            | "systemd-networkd"
            | "wicked"
            | "network-online"
            | "systemd-resolved"
            | "tailscaled"
    )
}

/// Interfaces whose loss does not cut the host off.
fn is_virtual_iface(i: &str) -> bool {
    [
        "lo", "docker", "veth", "br-", "virbr", "cni", "flannel", "cali", "tap", "tun", "vnet",
        "kube", "dummy",
    ]
    .iter()
    .any(|p| i.starts_with(p))
}

fn stop_verb(v: &str) -> bool {
    matches!(
        v,
        "stop" | "disable" | "mask" | "kill" | "off" | "remove" | "down"
    )
}

fn service_check(w: &mut Walker, name: &str, ops: &[&str], frag: &str) {
    if !ops.iter().any(|v| stop_verb(v)) {
        return;
    }
    if let Some(u) = ops.iter().find(|u| is_ssh_unit(u)) {
        w.find(
            Category::RemoteAccess,
            format!("{name} stops or disables the SSH server ({u})"),
            frag,
        );
    } else if let Some(u) = ops.iter().find(|u| is_net_unit(u)) {
        w.find(
            Category::RemoteAccess,
            format!("{name} stops the network service ({u})"),
            frag,
        );
    }
}

fn iptables(w: &mut Walker, name: &str, a: &[Arg], frag: &str) {
    let t: Vec<&str> = a.iter().map(|x| x.text.as_str()).collect();
    let get = |opts: &[&str]| -> Option<&str> {
        t.iter()
            .position(|x| opts.contains(x))
            .and_then(|i| t.get(i + 1).copied())
    };
    let inbound = |c: &str| matches!(c, "INPUT" | "OUTPUT" | "FORWARD" | "input" | "output");
    let drops = |j: &str| matches!(j, "DROP" | "REJECT");
    if let Some(i) = t.iter().position(|x| *x == "-P" || *x == "--policy") {
        if let (Some(c), Some(j)) = (t.get(i + 1), t.get(i + 2))
            && inbound(c)
            && drops(j)
            && *c != "FORWARD"
        {
            w.find(
                Category::RemoteAccess,
                format!("{name} sets the {c} policy to {j}"),
                frag,
            );
        }
        return;
    }
    let chain = get(&["-A", "--append", "-I", "--insert"]);
    let target = get(&["-j", "--jump"]);
    let (Some(c), Some(j)) = (chain, target) else {
        return;
    };
    if !inbound(c) || c == "FORWARD" || !drops(j) {
        return;
    }
    let any_src = |s: &str| matches!(s, "0.0.0.0/0" | "::/0" | "0/0" | "any");
    let narrowed = t.windows(2).any(|p| {
        matches!(
            p[0],
            "-s" | "--source" | "-d" | "--destination" | "--src-range" | "--dst-range"
        ) && !any_src(p[1])
            || matches!(p[0], "-i" | "--in-interface" | "-o" | "--out-interface")
                && is_virtual_iface(p[1])
            || matches!(
                p[0],
                "--uid-owner" | "--gid-owner" | "--state" | "--ctstate" | "--icmp-type"
            )
    });
    if narrowed {
        return;
    }
    let port = get(&[
        "--dport",
        "--destination-port",
        "--dports",
        "--sport",
        "--source-port",
    ]);
    match port {
        None => {
            let proto_only = get(&["-p", "--protocol"]).is_some_and(|p| p != "all" && p != "tcp");
            if !proto_only {
                w.find(
                    Category::RemoteAccess,
                    format!("{name} drops all traffic on {c}"),
                    frag,
                );
            }
        }
        Some(p) if p.split([',', ':']).any(|x| x == "22" || x == "ssh") => w.find(
            Category::RemoteAccess,
            format!("{name} blocks SSH (port {p})"),
            frag,
        ),
        _ => {}
    }
}

fn nft(w: &mut Walker, a: &[Arg], frag: &str) {
    let text = a
        .iter()
        .map(|x| x.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    let policy_drop = (text.contains("policy drop") || text.contains("policy reject"))
        && (text.contains("hook input") || text.contains("hook output"));
    let narrowed = [
        "saddr", "daddr", "dport", "sport", "iif", "oif", "ct state", "meta", "icmp",
    ]
    .iter()
    .any(|k| text.contains(k));
    let rule_drop = text.contains("add rule") || text.contains("insert rule");
    let rule_drop = rule_drop
        && (text.contains(" input") || text.contains(" output"))
        && (text.trim_end().ends_with("drop") || text.trim_end().ends_with("reject"))
        && !narrowed;
    let ssh = (text.contains("dport 22") || text.contains("dport ssh"))
        && (text.contains("drop") || text.contains("reject"));
    if policy_drop || rule_drop || ssh {
        w.find(
            Category::RemoteAccess,
            "nft rule that drops all traffic or SSH",
            frag,
        );
    }
}

/// Programs this module looks at (everything else returns at once).
const PROGRAMS: &[&str] = &[
    "systemctl",
    "service",
    "rc-service",
    "chkconfig",
    "update-rc.d",
    "sv",
    "rc-update",
    "pkill",
    "killall",
    "apt",
    "apt-get",
    "aptitude",
    "yum",
    "dnf",
    "zypper",
    "apk",
    "pacman",
    "rpm",
    "dpkg",
    "iptables",
    "ip6tables",
    "iptables-legacy",
    "iptables-nft",
    "ip6tables-legacy",
    "ip6tables-nft",
    "nft",
    "ufw",
    "firewall-cmd",
    "ip",
    "route",
    "ifdown",
    "ifconfig",
    "nmcli",
    "passwd",
    "usermod",
    "chsh",
    "userdel",
    "deluser",
];

pub fn check(w: &mut Walker, name: &str, a: &[Arg], frag: &str) {
    if a.is_empty() || !PROGRAMS.contains(&name) {
        return;
    }
    let ops: Vec<&str> = a
        .iter()
        .filter(|x| !x.text.starts_with('-'))
        .map(|x| x.text.as_str())
        .collect();
    match name {
        "systemctl" | "service" | "rc-service" | "chkconfig" | "update-rc.d" | "sv"
        | "rc-update" => service_check(w, name, &ops, frag),
        "pkill" | "killall" => {
            let o = args::parse(
                a,
                "sugtPFGUn",
                &[
                    "signal", "euid", "uid", "group", "terminal", "parent", "pidfile", "pgroup",
                    "ns", "user",
                ],
                false,
            );
            if let Some(p) = o.operands.iter().find(|x| {
                matches!(
                    x.text.as_str(),
                    "sshd" | "ssh" | "dropbear" | "^sshd" | "sshd$"
                )
            }) {
                w.find(
                    Category::RemoteAccess,
                    format!("{name} kills the SSH server ({})", p.text),
                    frag,
                );
            }
        }
        "apt" | "apt-get" | "aptitude" | "yum" | "dnf" | "zypper" | "apk" | "pacman" | "rpm"
        | "dpkg" => {
            let removes = ops.iter().any(|v| {
                matches!(
                    *v,
                    "remove" | "purge" | "autoremove" | "erase" | "del" | "rm"
                )
            }) || a.iter().any(|x| {
                matches!(
                    x.text.as_str(),
                    "-R" | "-Rs" | "-Rns" | "-e" | "--erase" | "-r" | "--remove" | "-P" | "--purge"
                )
            });
            if removes
                && let Some(p) = ops.iter().find(|p| {
                    p.starts_with("openssh-server")
                        || matches!(**p, "ssh" | "openssh" | "sshd" | "dropbear")
                })
            {
                w.find(
                    Category::RemoteAccess,
                    format!("{name} removes the SSH server ({p})"),
                    frag,
                );
            }
        }
        "iptables" | "ip6tables" | "iptables-legacy" | "iptables-nft" | "ip6tables-legacy"
        | "ip6tables-nft" => iptables(w, name, a, frag),
        "nft" => nft(w, a, frag),
        "ufw" => {
            let lower: Vec<String> = ops.iter().map(|s| s.to_lowercase()).collect();
            let l: Vec<&str> = lower.iter().map(String::as_str).collect();
            match l.as_slice() {
                ["default", "deny" | "reject", rest @ ..]
                    if rest.is_empty()
                        || rest.iter().any(|d| *d == "incoming" || *d == "outgoing") =>
                {
                    w.find(
                        Category::RemoteAccess,
                        "ufw default deny blocks incoming connections",
                        frag,
                    )
                }
                ["deny" | "reject", rest @ ..] | ["insert", _, "deny" | "reject", rest @ ..] => {
                    let ssh = rest
                        .iter()
                        .any(|x| x.starts_with("22") || x.contains("ssh"));
                    let narrowed = rest.contains(&"from")
                        && !rest.windows(2).any(|p| p[0] == "from" && p[1] == "any");
                    let port = rest.iter().any(|x| {
                        x.chars().next().is_some_and(|c| c.is_ascii_digit())
                            || *x == "port"
                            || *x == "proto"
                            || x.chars().all(|c| c.is_ascii_alphabetic())
                                && *x != "in"
                                && *x != "out"
                                && *x != "on"
                                && *x != "from"
                                && *x != "to"
                                && *x != "any"
                    });
                    if ssh || (!narrowed && !port) {
                        w.find(
                            Category::RemoteAccess,
                            "ufw rule that blocks SSH or all traffic",
                            frag,
                        );
                    }
                }
                _ => {}
            }
        }
        "firewall-cmd" => {
            let t: Vec<&str> = a.iter().map(|x| x.text.as_str()).collect();
            let hit = t.iter().any(|x| {
                *x == "--panic-on"
                    || x.starts_with("--set-default-zone=drop")
                    || x.starts_with("--set-default-zone=block")
                    || *x == "--remove-service=ssh"
            }) || t.windows(2).any(|p| {
                (p[0] == "--remove-service" && p[1] == "ssh")
                    || (p[0] == "--set-default-zone" && (p[1] == "drop" || p[1] == "block"))
            });
            if hit {
                w.find(
                    Category::RemoteAccess,
                    "firewall-cmd blocks SSH or all traffic",
                    frag,
                );
            }
        }
        "ip" => {
            let t: Vec<&str> = a
                .iter()
                .filter(|x| !x.text.starts_with('-'))
                .map(|x| x.text.as_str())
                .collect();
            let obj = t.first().copied().unwrap_or("");
            // `ip link set X down`, `ip link del X`, `ip addr del A dev X`.
            let down = obj.starts_with('l')
                && (t.contains(&"down") || t.get(1).is_some_and(|v| v.starts_with("del")))
                || obj.starts_with('a') && t.get(1).is_some_and(|v| v.starts_with("del"));
            let flush = t.contains(&"flush") && (obj.starts_with('a') || obj.starts_with('r'));
            let del_default = obj.starts_with('r')
                && t.iter().any(|x| x.starts_with("del"))
                && t.contains(&"default");
            if down || flush {
                let iface = t
                    .windows(2)
                    .find(|p| p[0] == "dev")
                    .map(|p| p[1])
                    .or_else(|| {
                        t.iter()
                            .position(|x| *x == "set" || *x == "flush" || x.starts_with("del"))
                            .and_then(|i| t.get(i + 1).copied())
                    });
                if !iface.is_some_and(is_virtual_iface) {
                    w.find(
                        Category::RemoteAccess,
                        format!("ip takes the network down ({})", iface.unwrap_or("all")),
                        frag,
                    );
                }
            } else if del_default {
                w.find(Category::RemoteAccess, "ip deletes the default route", frag);
            }
        }
        "route" if ops.iter().any(|o| o.starts_with("del")) && ops.contains(&"default") => {
            w.find(
                Category::RemoteAccess,
                "route deletes the default route",
                frag,
            );
        }
        "ifdown" | "ifconfig" => {
            let iface = ops.first().copied().unwrap_or("");
            let down = name == "ifdown" || ops.contains(&"down");
            let all = a.iter().any(|x| x.text == "-a" || x.text == "--all");
            if down && (all || !is_virtual_iface(iface)) {
                let iface = if all || iface.is_empty() {
                    "every interface"
                } else {
                    iface
                };
                w.find(
                    Category::RemoteAccess,
                    format!("{name} takes {iface} down"),
                    frag,
                );
            }
        }
        "nmcli" => {
            let hit = matches!(ops.as_slice(), ["networking" | "n", "off", ..])
                || matches!(
                    ops.as_slice(),
                    ["connection" | "con" | "c", "down" | "delete" | "del", ..]
                )
                || matches!(
                    ops.as_slice(),
                    ["device" | "dev" | "d", "disconnect" | "down", ..]
                );
            if hit {
                w.find(Category::RemoteAccess, "nmcli takes the network down", frag);
            }
        }
        "userdel" | "deluser" if a.iter().any(|x| x.text == "root" || !x.exact) => {
            w.find(
                Category::RemoteAccess,
                format!("{name} deletes the root account"),
                frag,
            );
        }
        "passwd" | "usermod" | "chsh" => {
            let o = args::parse(a, "sgGdeufcx", &["shell", "home", "expiredate"], false);
            // No user, root, or a user only known at run time.
            let target_root = o
                .operands
                .last()
                .is_none_or(|u| !u.exact || u.text == "root");
            let locks = o.short('l')
                || o.short('L')
                || o.long("lock")
                || o.value("s")
                    .or_else(|| o.value("shell"))
                    .is_some_and(|s| s.ends_with("nologin") || s.ends_with("false"));
            if locks && target_root {
                w.find(
                    Category::RemoteAccess,
                    format!("{name} locks the root or current account"),
                    frag,
                );
            }
        }
        _ => {}
    }
}

/// How a file matters to SSH access.
#[derive(PartialEq, Eq)]
enum Guard {
    /// Any write cuts access (`/etc/nologin`, `/etc/hosts.deny`).
    AnyWrite,
    /// Destroying or editing it cuts access (authorized keys).
    Edits,
    /// Destroying it cuts access; edits are ordinary administration
    /// (`sshd_config`).
    Destroy,
}

/// `~/.ssh`, `/root/.ssh` and their authorized keys.
pub fn is_ssh_keys(np: &NPath) -> bool {
    matches!(ssh_path(np), Some((_, Guard::Edits)))
}

/// SSH key and server files whose loss cuts access, with a description.
fn ssh_path(np: &NPath) -> Option<(String, Guard)> {
    let comps: Vec<&str> = np.comps.iter().map(String::as_str).collect();
    let keys = |rest: &[&str]| matches!(rest, [] | ["authorized_keys" | "authorized_keys2"]);
    let hit = match np.base {
        Base::Home => matches!(comps.as_slice(), [".ssh", rest @ ..] if keys(rest)),
        Base::Root => match comps.as_slice() {
            ["root", ".ssh", rest @ ..] | ["home", _, ".ssh", rest @ ..] => keys(rest),
            ["etc", "ssh"] | ["etc", "ssh", "sshd_config"] => {
                return Some((np.display(), Guard::Destroy));
            }
            ["etc", "hosts.deny"] | ["etc", "nologin"] => {
                return Some((np.display(), Guard::AnyWrite));
            }
            _ => false,
        },
        Base::Rel => false,
    };
    hit.then(|| (np.display(), Guard::Edits))
}

pub fn on_effect(w: &mut Walker, kind: Kind, np: &NPath, alt: bool, frag: &str) {
    let Some((p, guard)) = ssh_path(np) else {
        return;
    };
    let hit = match guard {
        Guard::AnyWrite => true,
        Guard::Edits => kind.destroys(),
        Guard::Destroy => kind.destroys() && kind != Kind::Modify,
    };
    if hit {
        w.find(
            Category::RemoteAccess,
            format!(
                "{} {p} cuts off SSH access{}",
                kind.verb(),
                super::alt_note(alt)
            ),
            frag,
        );
    }
}
