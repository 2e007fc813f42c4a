//! critical-files: destroying account, boot and audit files, and the jobs
//! and logs a system keeps (`crontab -r`, journal vacuum, audit rules).

use crate::args;
use crate::category::Category;
use crate::effects::Kind;
use crate::expand::Arg;
use crate::path::{Base, NPath, is_broad};
use crate::walk::Walker;

/// Files whose loss or corruption breaks logins or boot.
const ACCOUNT_FILES: &[&str] = &[
    "passwd",
    "shadow",
    "group",
    "gshadow",
    "sudoers",
    "fstab",
    "ld.so.preload",
    "login.defs",
    "nsswitch.conf",
    "pam.conf",
    "inittab",
    "master.passwd",
    "security",
];

/// Essential programs whose replacement breaks the system.
const ESSENTIAL_BINS: &[&str] = &[
    "sh", "bash", "dash", "sudo", "su", "login", "init", "systemd", "sshd", "ssh", "ls", "rm",
    "cp", "mv", "mount",
];

/// `/etc/passwd` and its kind.
pub fn account_file(np: &NPath) -> Option<String> {
    if np.base != Base::Root {
        return None;
    }
    match np
        .comps
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["etc", f] if ACCOUNT_FILES.contains(f) => Some(format!("/etc/{f}")),
        ["etc", "pam.d", f] => Some(format!("/etc/pam.d/{f}")),
        _ => None,
    }
}

/// Files and trees the system needs, with a description.
fn critical(np: &NPath, kind: Kind) -> Option<String> {
    if let Some(f) = account_file(np) {
        return Some(format!("critical file {f}"));
    }
    if np.base != Base::Root {
        return None;
    }
    let comps: Vec<&str> = np.comps.iter().map(String::as_str).collect();
    match comps.as_slice() {
        ["boot", _, ..] => Some(format!("boot file {}", np.display())),
        ["boot"] if kind == (Kind::Delete { recursive: true }) => {
            Some("every boot file (/boot)".to_string())
        }
        ["etc"] if kind == (Kind::Delete { recursive: true }) => {
            Some("every file in /etc".to_string())
        }
        ["var", "spool", "cron", ..] | ["var", "spool", "cron", "crontabs", ..]
            if kind != Kind::Create =>
        {
            Some(format!("cron jobs {}", np.display()))
        }
        ["etc", f] if is_broad(f) => Some(format!("every file in /etc ({})", np.display())),
        ["etc", "pam.d"] => Some(np.display()),
        ["bin" | "sbin", f] | ["usr", "bin" | "sbin", f] => {
            let essential = ESSENTIAL_BINS.contains(f) || is_broad(f);
            match kind {
                Kind::Delete { .. } | Kind::MoveAway => {
                    Some(format!("system program {}", np.display()))
                }
                Kind::Overwrite if essential => Some(format!("system program {}", np.display())),
                _ => None,
            }
        }
        ["lib" | "lib64" | "usr", ..]
            if comps
                .iter()
                .any(|c| c.starts_with("ld-linux") || c.starts_with("libc.so")) =>
        {
            Some(format!("system library {}", np.display()))
        }
        _ => None,
    }
}

/// Logs that record who did what on the system.
fn audit_log(np: &NPath) -> Option<String> {
    if np.base != Base::Root {
        return None;
    }
    let comps: Vec<&str> = np.comps.iter().map(String::as_str).collect();
    const LOGS: &[&str] = &[
        "wtmp",
        "btmp",
        "lastlog",
        "auth.log",
        "secure",
        "messages",
        "syslog",
        "faillog",
        "audit.log",
        "kern.log",
        "utmp",
    ];
    let hit = match comps.as_slice() {
        ["var", "log", "audit", ..]
        | ["var", "log", "journal", ..]
        | ["run", "log", "journal", ..]
        | ["var", "log"] => true,
        ["var", "log", f] => {
            LOGS.iter().any(|l| f.starts_with(l))
                || is_broad(f)
                || crate::path::may_match_any(f, LOGS)
        }
        ["var", "run", "utmp"] | ["run", "utmp"] => true,
        _ => false,
    };
    hit.then(|| format!("audit log {}", np.display()))
}

pub fn on_effect(w: &mut Walker, kind: Kind, np: &NPath, alt: bool, frag: &str) {
    let note = super::alt_note(alt);
    let verb = kind.verb();
    if matches!(kind, Kind::Append | Kind::Create) {
        return;
    }
    // In-place edits are ordinary administration, except on the account
    // databases, where one bad edit locks everybody out.
    let account_db = np.base == Base::Root
        && matches!(
            np.comps
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["etc", "passwd" | "shadow" | "group" | "gshadow" | "sudoers"]
        );
    if kind == Kind::Modify && !account_db {
        return;
    }
    if let Some(c) = critical(np, kind) {
        w.find(Category::CriticalFiles, format!("{verb} {c}{note}"), frag);
    } else if kind != Kind::Modify
        && let Some(l) = audit_log(np)
    {
        w.find(Category::CriticalFiles, format!("{verb} {l}{note}"), frag);
    }
}

/// True when a journal vacuum keeps less than a day, 10 MB or two files
/// (unreadable values count as wiping).
fn wipes_journal(opt: &str, v: &str) -> bool {
    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = v[digits.len()..].trim().to_ascii_lowercase();
    let Ok(n) = digits.parse::<u64>() else {
        return true;
    };
    match opt {
        "vacuum-files" => n < 2,
        "vacuum-size" => {
            let bytes = match unit.as_str() {
                "" | "b" => n,
                "k" | "kb" | "kib" => n * 1024,
                "m" | "mb" | "mib" => n * 1024 * 1024,
                _ => u64::MAX,
            };
            bytes < 10 * 1024 * 1024
        }
        _ => {
            let secs = match unit.as_str() {
                "" | "s" | "sec" | "second" | "seconds" => n,
                "m" | "min" | "minute" | "minutes" => n * 60,
                "h" | "hour" | "hours" => n * 3600,
                _ => u64::MAX,
            };
            secs < 86_400
        }
    }
}

pub fn check(w: &mut Walker, name: &str, a: &[Arg], frag: &str) {
    match name {
        "crontab" => {
            let o = args::parse(a, "u", &[], false);
            if o.short('r') || o.long("remove") {
                w.find(
                    Category::CriticalFiles,
                    "crontab -r removes every cron job",
                    frag,
                );
            }
        }
        "journalctl" => {
            let o = args::parse(
                a,
                "",
                &["vacuum-time", "vacuum-size", "vacuum-files"],
                false,
            );
            for (n, v) in o
                .values
                .iter()
                .map(|(n, v)| (n.clone(), v.text.clone()))
                .chain(o.inline_values.iter().cloned())
            {
                if n.starts_with("vacuum") && wipes_journal(&n, &v) {
                    w.find(
                        Category::CriticalFiles,
                        format!("journalctl --{n}={v} wipes the system journal"),
                        frag,
                    );
                }
            }
        }
        "auditctl" => {
            let o = args::parse(a, "eafbrw", &[], false);
            if o.short('D') {
                w.find(
                    Category::CriticalFiles,
                    "auditctl -D deletes every audit rule",
                    frag,
                );
            }
            if o.value("e").as_deref() == Some("0") {
                w.find(
                    Category::CriticalFiles,
                    "auditctl -e 0 disables auditing",
                    frag,
                );
            }
        }
        "systemctl" | "service" | "rc-service" | "chkconfig" | "update-rc.d" => {
            let ops: Vec<&str> = a
                .iter()
                .filter(|x| !x.text.starts_with('-'))
                .map(|x| x.text.as_str())
                .collect();
            let stops = ops
                .iter()
                .any(|v| matches!(*v, "stop" | "disable" | "mask" | "kill" | "off" | "remove"));
            if stops
                && ops.iter().any(|u| {
                    matches!(
                        *u,
                        "auditd"
                            | "auditd.service"
                            | "rsyslog"
                            | "rsyslog.service"
                            | "systemd-journald"
                            | "systemd-journald.service"
                            | "syslog"
                            | "syslog-ng"
                    )
                })
            {
                w.find(
                    Category::CriticalFiles,
                    format!("{name} stops the audit or log daemon"),
                    frag,
                );
            }
        }
        _ => {}
    }
}
