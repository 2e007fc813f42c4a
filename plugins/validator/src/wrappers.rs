//! Looking through wrappers to the program really run.
//!
//! `sudo`, `env`, `timeout`, `nohup`, `xargs`, `busybox`, `kubectl exec`,
//! `parallel` and friends run their arguments as a command: this module
//! finds that command (and what it reads on stdin). Programs that run a
//! *string* as shell code are in `shells.rs`.

use crate::args;
use crate::expand::Arg;
use crate::shells::{self, shell_string, stdin_then_done};
use crate::walk::{Feed, Walker};

/// What to do after looking at one program.
pub enum Step {
    /// It wraps this command, which receives this stdin.
    Next(Vec<Arg>, Feed),
    /// It was fully handled here; its output is this.
    Done(Feed),
    /// It is the program that really runs.
    Exec,
}

/// Wrappers that take options and then a command: (name, short options
/// with a value, long options with a value, operands before the command).
const SIMPLE: &[(&str, &str, &[&str], usize)] = &[
    ("nohup", "", &[], 0),
    ("coproc", "", &[], 0),
    ("nice", "n", &["adjustment"], 0),
    ("timeout", "ks", &["kill-after", "signal"], 1),
    ("stdbuf", "ioe", &["input", "output", "error"], 0),
    (
        "ionice",
        "cnpPu",
        &["class", "classdata", "pid", "pgid", "uid"],
        0,
    ),
    (
        "chrt",
        "TPD",
        &["sched-runtime", "sched-period", "sched-deadline"],
        1,
    ),
    ("taskset", "", &[], 1),
    ("setsid", "", &[], 0),
    ("time", "fo", &["format", "output"], 0),
    ("chroot", "", &["userspec", "groups"], 1),
    ("strace", "eopsuEabIOPSX", &[], 0),
    ("ltrace", "eopsuEabIOPSXnL", &[], 0),
    ("valgrind", "", &[], 0),
    ("catchsegv", "", &[], 0),
    ("eatmydata", "", &[], 0),
    ("fakeroot", "", &[], 0),
    ("unbuffer", "", &[], 0),
    ("torsocks", "", &[], 0),
    ("tsocks", "", &[], 0),
    ("caffeinate", "tw", &[], 0),
    ("proxychains", "f", &[], 0),
    ("proxychains4", "f", &[], 0),
    ("firejail", "", &[], 0),
    (
        "xvfb-run",
        "nsfe",
        &["server-num", "server-args", "auth-file", "error-file"],
        0,
    ),
    ("dbus-launch", "", &[], 0),
    ("dbus-run-session", "", &[], 0),
    ("pkexec", "", &["user"], 0),
    ("cgexec", "g", &[], 0),
    ("numactl", "CNmpiP", &[], 0),
    ("nocache", "", &[], 0),
    (
        "systemd-run",
        "upMEHGs",
        &[
            "unit",
            "property",
            "description",
            "slice",
            "uid",
            "gid",
            "nice",
            "working-directory",
            "setenv",
            "on-calendar",
            "machine",
            "host",
        ],
        0,
    ),
    ("unshare", "", &[], 0),
    (
        "nsenter",
        "tSGwrdT",
        &["target", "setuid", "setgid", "wd", "root"],
        0,
    ),
    ("builtin", "", &[], 0),
    ("busybox", "", &[], 0),
    ("toybox", "", &[], 0),
    ("doas", "uC", &[], 0),
    ("faketime", "", &[], 1),
    ("flatpak-spawn", "", &[], 0),
    ("sem", "", &[], 0),
];

pub(crate) fn rest(args: &[Arg], from: usize) -> Vec<Arg> {
    args.get(from..).map(<[Arg]>::to_vec).unwrap_or_default()
}

/// Where the command starts, given the parsed operands of a wrapper.
pub(crate) fn after_operands(args: &[Arg], ops: &[&Arg], skip: usize) -> Vec<Arg> {
    match ops.get(skip) {
        Some(first) => {
            let idx = args
                .iter()
                .position(|a| std::ptr::eq(a, *first))
                .unwrap_or(args.len());
            rest(args, idx)
        }
        None => Vec::new(),
    }
}

/// Looks at one program of a command.
pub fn step(w: &mut Walker, name: &str, args: &[Arg], feed: &Feed, frag: &str) -> Step {
    let a = &args[1..];
    if args[0].text.starts_with("/etc/init.d/") || args[0].text.starts_with("/etc/rc.d/") {
        // `/etc/init.d/ssh stop` is `service ssh stop`.
        let mut next = vec![Arg::lit("service"), Arg::lit(name)];
        next.extend_from_slice(a);
        return Step::Next(next, feed.clone());
    }
    if w.is_function(name) && !args[0].text.contains('/') {
        w.call_function(name, a);
        return Step::Done(Feed::Opaque);
    }
    if let Some(&(_, sv, lv, skip)) = SIMPLE.iter().find(|(n, ..)| *n == name) {
        if name == "taskset" || name == "ionice" || name == "chrt" {
            let o = args::parse(a, sv, lv, true);
            if o.short('p') || o.long("pid") {
                return Step::Done(Feed::Opaque);
            }
        }
        let o = args::parse(a, sv, lv, true);
        let next = after_operands(a, &o.operands, skip);
        if next.is_empty() {
            if name == "chroot" {
                return stdin_then_done(w, name, feed, frag);
            }
            return Step::Done(Feed::Opaque);
        }
        return Step::Next(next, feed.clone());
    }
    if shells::SHELLS.contains(&name) || shells::RUNS_STRINGS.contains(&name) {
        return shells::step(w, name, a, feed, frag);
    }
    match name {
        "sudo" => sudo(w, a, feed, frag),
        "env" => env(w, a, feed, frag),
        "command" => {
            let o = args::parse(a, "", &[], true);
            if o.short('v') || o.short('V') {
                return Step::Done(Feed::Opaque);
            }
            Step::Next(after_operands(a, &o.operands, 0), feed.clone())
        }
        "exec" => {
            let o = args::parse(a, "a", &[], true);
            Step::Next(after_operands(a, &o.operands, 0), feed.clone())
        }
        "xargs" => xargs(w, a, feed, frag),
        "kubectl" | "oc" if a.first().is_some_and(|x| x.text == "exec") => {
            // `kubectl exec POD -- CMD...`: CMD runs in the pod.
            match a.iter().position(|x| x.text == "--") {
                Some(i) => Step::Next(a[i + 1..].to_vec(), feed.clone()),
                None => Step::Done(Feed::Opaque),
            }
        }
        "docker" | "podman" | "nerdctl" if a.first().is_some_and(|x| x.text == "exec") => {
            let o = args::parse(
                &a[1..],
                "euw",
                &["env", "env-file", "user", "workdir", "detach-keys"],
                true,
            );
            let next = after_operands(&a[1..], &o.operands, 1);
            if next.is_empty() {
                return Step::Done(Feed::Opaque);
            }
            Step::Next(next, feed.clone())
        }
        "flock" => {
            let o = args::parse(
                a,
                "wEc",
                &["timeout", "conflict-exit-code", "command"],
                true,
            );
            if let Some((_, c)) = o.values.iter().find(|(n, _)| n == "c" || n == "command") {
                let c = (*c).clone();
                return shell_string(w, name, Some(&c), frag);
            }
            let next = after_operands(a, &o.operands, 1);
            if let Some(first) = next.first()
                && (first.text == "-c" || first.text == "--command")
            {
                return shell_string(w, name, next.get(1), frag);
            }
            if next.is_empty() {
                return Step::Done(Feed::Opaque);
            }
            Step::Next(next, feed.clone())
        }
        "parallel" => {
            // `parallel CMD ::: ARGS`: CMD runs once per argument.
            let Some(sep) = a.iter().position(|x| x.text == ":::") else {
                return Step::Done(Feed::Opaque);
            };
            let o = args::parse(
                &a[..sep],
                "jSPnNLlIdEaX",
                &[
                    "jobs",
                    "sshlogin",
                    "max-args",
                    "delimiter",
                    "arg-file",
                    "replace",
                ],
                true,
            );
            let cmd = after_operands(&a[..sep], &o.operands, 0);
            if cmd.is_empty() {
                return Step::Done(Feed::Opaque);
            }
            for item in a[sep + 1..]
                .iter()
                .take_while(|x| !x.text.starts_with(":::"))
                .take(16)
            {
                let mut run: Vec<Arg> = Vec::new();
                let mut used = false;
                for x in &cmd {
                    if x.text.contains("{}") {
                        let mut y = x.clone();
                        y.text = x.text.replace("{}", &item.text);
                        y.exact = x.exact && item.exact;
                        run.push(y);
                        used = true;
                    } else {
                        run.push(x.clone());
                    }
                }
                if !used {
                    run.push(item.clone());
                }
                // parallel hands the composed line to a shell.
                if run.iter().all(|x| x.exact) {
                    let text: Vec<&str> = run.iter().map(|x| x.text.as_str()).collect();
                    w.walk_nested(&text.join(" "), frag);
                } else {
                    w.eval_argv(run, &Feed::None, frag, false);
                }
            }
            Step::Done(Feed::Opaque)
        }
        "screen" => {
            let o = args::parse(a, "SctpTXehLlr", &[], true);
            let next = after_operands(a, &o.operands, 0);
            if next.is_empty() {
                return Step::Done(Feed::Opaque);
            }
            Step::Next(next, feed.clone())
        }
        _ => Step::Exec,
    }
}

fn sudo(w: &mut Walker, a: &[Arg], feed: &Feed, frag: &str) -> Step {
    let o = args::parse(
        a,
        "CDghpRTUurtaA",
        &[
            "chdir",
            "close-from",
            "group",
            "host",
            "prompt",
            "chroot",
            "command-timeout",
            "other-user",
            "user",
            "role",
            "type",
            "auth-type",
            "login-class",
        ],
        true,
    );
    if (o.short('e')
        || o.long("edit")
        || o.short('l')
        || o.long("list")
        || o.short('v')
        || o.short('k')
        || o.short('K')
        || o.short('V'))
        && (o.operands.is_empty() || o.short('e'))
    {
        return Step::Done(Feed::Opaque);
    }
    let mut next = after_operands(a, &o.operands, 0);
    while next.first().is_some_and(|x| is_assignment(&x.text)) {
        next.remove(0);
    }
    if next.is_empty() {
        if o.short('s') || o.short('i') {
            return stdin_then_done(w, "sudo", feed, frag);
        }
        return Step::Done(Feed::Opaque);
    }
    Step::Next(next, feed.clone())
}

fn is_assignment(t: &str) -> bool {
    match t.split_once('=') {
        Some((n, _)) => {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !n.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

fn env(w: &mut Walker, a: &[Arg], feed: &Feed, frag: &str) -> Step {
    let mut i = 0;
    while i < a.len() {
        let t = a[i].text.as_str();
        match t {
            "-i" | "-" | "--ignore-environment" | "-0" | "--null" | "-v" | "--debug" => i += 1,
            "-u" | "--unset" | "-C" | "--chdir" => i += 2,
            "-S" | "--split-string" => {
                return split_string(a.get(i + 1), rest(a, i + 2), feed);
            }
            "--" => {
                i += 1;
                break;
            }
            _ if t.starts_with("-S") => {
                return split_string(Some(&Arg::lit(&t[2..])), rest(a, i + 1), feed);
            }
            _ if t.starts_with("--split-string=") => {
                return split_string(Some(&Arg::lit(&t[15..])), rest(a, i + 1), feed);
            }
            _ if t.starts_with('-') && a[i].exact => i += 1,
            _ if is_assignment(t) => i += 1,
            _ => break,
        }
    }
    let _ = (w, frag);
    let next = rest(a, i);
    if next.is_empty() {
        return Step::Done(Feed::Opaque);
    }
    Step::Next(next, feed.clone())
}

/// `env -S "prog args"`: the string is split into arguments.
fn split_string(s: Option<&Arg>, rest: Vec<Arg>, feed: &Feed) -> Step {
    let Some(s) = s else {
        return Step::Done(Feed::Opaque);
    };
    let mut next: Vec<Arg> = if s.exact {
        s.text.split_whitespace().map(Arg::lit).collect()
    } else {
        vec![Arg::unknown()]
    };
    next.extend(rest);
    Step::Next(next, feed.clone())
}

/// `xargs CMD`: CMD runs with arguments read from stdin.
fn xargs(w: &mut Walker, a: &[Arg], feed: &Feed, frag: &str) -> Step {
    let o = args::parse(
        a,
        "aEdILnPs",
        &[
            "arg-file",
            "eof",
            "delimiter",
            "replace",
            "max-lines",
            "max-args",
            "max-procs",
            "max-chars",
            "process-slot-var",
        ],
        true,
    );
    let mut cmd = after_operands(a, &o.operands, 0);
    if cmd.is_empty() {
        cmd.push(Arg::lit("echo"));
    }
    let items: Vec<Arg> = match feed {
        Feed::Literal(t) => t.split_whitespace().take(256).map(Arg::lit).collect(),
        Feed::Paths(p) => p.iter().map(|s| Arg::lit(s)).collect(),
        _ => vec![Arg::unknown()],
    };
    let replace = o
        .value("I")
        .or_else(|| o.value("replace"))
        .or_else(|| (o.short('i')).then(|| "{}".to_string()));
    let from_find = matches!(feed, Feed::Paths(_));
    match replace {
        Some(r) => {
            for item in items.iter().take(16) {
                let run: Vec<Arg> = cmd
                    .iter()
                    .map(|x| {
                        if x.text.contains(&r) {
                            let mut y = x.clone();
                            y.text = x.text.replace(&r, &item.text);
                            y.exact = x.exact && item.exact;
                            y
                        } else {
                            x.clone()
                        }
                    })
                    .collect();
                w.eval_argv(run, &Feed::None, frag, from_find);
            }
            Step::Done(Feed::Opaque)
        }
        None => {
            cmd.extend(items);
            if from_find {
                w.eval_argv(cmd, &Feed::None, frag, true);
                return Step::Done(Feed::Opaque);
            }
            Step::Next(cmd, Feed::None)
        }
    }
}
