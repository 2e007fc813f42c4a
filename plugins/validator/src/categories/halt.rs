//! system-halt: shutting down, rebooting or killing the whole system.

use crate::args;
use crate::category::Category;
use crate::effects::Kind;
use crate::expand::Arg;
use crate::path::NPath;
use crate::walk::Walker;

/// systemd targets that stop the system or drop it to single-user mode.
const HALT_TARGETS: &[&str] = &[
    "runlevel0.target",
    "runlevel1.target",
    "runlevel6.target",
    "poweroff.target",
    "reboot.target",
    "halt.target",
    "shutdown.target",
    "rescue.target",
    "emergency.target",
    "kexec.target",
    "soft-reboot.target",
    "poweroff",
    "reboot",
    "halt",
    "rescue",
    "emergency",
];

const HALT_VERBS: &[&str] = &[
    "poweroff",
    "reboot",
    "halt",
    "kexec",
    "suspend",
    "hibernate",
    "hybrid-sleep",
    "suspend-then-hibernate",
    "soft-reboot",
    "emergency",
    "rescue",
];

fn kill(w: &mut Walker, a: &[Arg], frag: &str) {
    let mut i = 0;
    let mut sig = String::from("TERM");
    if let Some(first) = a.first() {
        let t = first.text.as_str();
        if t == "-l" || t == "-L" || t == "--list" || t == "--help" {
            return;
        }
        if t == "-s" || t == "-n" || t == "--signal" {
            sig = a.get(1).map(|x| x.text.clone()).unwrap_or_default();
            i = 2;
        } else if t.starts_with('-') && t != "--" {
            sig = t[1..].to_string();
            i = 1;
        }
    }
    if a.get(i).is_some_and(|x| x.text == "--") {
        i += 1;
    }
    let sig = sig.trim_start_matches("SIG").to_string();
    if sig == "0" {
        return;
    }
    for t in a.get(i..).unwrap_or(&[]) {
        if let Some(words) = &t.sub_cmd {
            // `kill $(pidof sshd)`, `kill $(pgrep -x init)`.
            let names: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
            // SIGHUP only makes sshd reload its configuration.
            let reload = matches!(sig.as_str(), "HUP" | "1");
            if !reload
                && names
                    .iter()
                    .any(|n| matches!(*n, "sshd" | "ssh" | "dropbear") || n.contains("sshd.pid"))
            {
                w.find(
                    Category::RemoteAccess,
                    format!("kill -{sig} of the SSH server"),
                    frag,
                );
            } else if names.iter().any(|n| matches!(*n, "init" | "systemd" | "1")) {
                w.find(Category::SystemHalt, format!("kill -{sig} of init"), frag);
            }
            continue;
        }
        match t.text.as_str() {
            "-1" => w.find(
                Category::SystemHalt,
                format!("kill -{sig} -1 signals every process"),
                frag,
            ),
            "1" => w.find(
                Category::SystemHalt,
                format!("kill -{sig} 1 signals init (PID 1)"),
                frag,
            ),
            _ => {}
        }
    }
}

pub fn check(w: &mut Walker, name: &str, a: &[Arg], frag: &str) {
    if !matches!(
        name,
        "shutdown"
            | "reboot"
            | "halt"
            | "poweroff"
            | "openrc-shutdown"
            | "uadmin"
            | "kexec"
            | "init"
            | "telinit"
            | "systemctl"
            | "loginctl"
            | "kill"
            | "killall5"
            | "pkill"
            | "killall"
    ) {
        return;
    }
    let o = args::parse(a, "", &[], false);
    if o.long("help") || o.long("version") || o.long("dry-run") {
        return;
    }
    let first = o.operands.first().map(|x| x.text.as_str()).unwrap_or("");
    match name {
        "shutdown" if !(o.short('c') || o.short('k') || o.long("show")) => {
            w.find(Category::SystemHalt, "shutdown stops the system", frag);
        }
        "reboot" | "halt" | "poweroff" | "openrc-shutdown" | "uadmin" => w.find(
            Category::SystemHalt,
            format!("{name} stops the system"),
            frag,
        ),
        "kexec" if o.short('e') || o.long("exec") => w.find(
            Category::SystemHalt,
            "kexec -e replaces the running kernel",
            frag,
        ),
        "init" | "telinit" if matches!(first, "0" | "6" | "1" | "s" | "S" | "single") => w.find(
            Category::SystemHalt,
            format!("{name} {first} changes the runlevel"),
            frag,
        ),
        "systemctl" | "loginctl" => {
            if HALT_VERBS.contains(&first) {
                w.find(
                    Category::SystemHalt,
                    format!("{name} {first} stops the system"),
                    frag,
                );
            }
            if matches!(first, "isolate" | "start" | "restart")
                && let Some(t) = o.operands[1..]
                    .iter()
                    .find(|x| HALT_TARGETS.contains(&x.text.as_str()))
            {
                w.find(
                    Category::SystemHalt,
                    format!("{name} {first} {} stops the system", t.text),
                    frag,
                );
            }
        }
        "kill" => kill(w, a, frag),
        "killall5" => w.find(Category::SystemHalt, "killall5 signals every process", frag),
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
            if o.operands
                .iter()
                .any(|x| matches!(x.text.as_str(), "init" | "systemd" | "." | ".*" | "^" | ""))
            {
                w.find(
                    Category::SystemHalt,
                    format!("{name} kills init or every process"),
                    frag,
                );
            } else if o.operands.is_empty()
                && o.values.iter().any(|(n, v)| {
                    (n == "u" || n == "U" || n == "user" || n == "euid" || n == "uid")
                        && v.text == "root"
                })
            {
                w.find(
                    Category::SystemHalt,
                    format!("{name} kills every root process"),
                    frag,
                );
            }
        }
        _ => {}
    }
}

pub fn on_effect(w: &mut Walker, kind: Kind, np: &NPath, alt: bool, frag: &str) {
    if matches!(kind, Kind::Overwrite | Kind::Append) && np.is_abs(&["proc", "sysrq-trigger"]) {
        w.find(
            Category::SystemHalt,
            format!(
                "write to /proc/sysrq-trigger (magic SysRq){}",
                super::alt_note(alt)
            ),
            frag,
        );
    }
}
