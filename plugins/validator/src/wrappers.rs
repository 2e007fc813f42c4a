//! Looking through wrappers to the program really run.
//!
//! `sudo`, `env`, `timeout`, `nohup`, `xargs`, `busybox` and friends run
//! their arguments as a command; `bash -c`, `eval`, `ssh host`, `su -c`,
//! `watch`, `trap` and `alias` run a string as shell code, which is parsed
//! and judged like the outer command (to a bounded depth). A string that
//! cannot be seen (`bash -c "$X"`) is hidden execution.

use crate::args;
use crate::category::Category;
use crate::expand::Arg;
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

/// Shells whose `-c` runs a string and which read a script from stdin.
pub const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "rbash", "fish", "tcsh", "csh",
    "pdksh", "oksh", "loksh", "posh", "pwsh",
];

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

fn rest(args: &[Arg], from: usize) -> Vec<Arg> {
    args.get(from..).map(<[Arg]>::to_vec).unwrap_or_default()
}

/// Where the command starts, given the parsed operands of a wrapper.
fn after_operands(args: &[Arg], ops: &[&Arg], skip: usize) -> Vec<Arg> {
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

/// Runs a shell string: literal strings are judged, others are hidden.
fn shell_string(w: &mut Walker, prog: &str, s: Option<&Arg>, frag: &str) -> Step {
    match s {
        Some(a) if a.exact => w.walk_nested(&a.text, frag),
        Some(a) => w.find(
            Category::HiddenExecution,
            format!(
                "{prog} runs a command string computed at run time ({})",
                a.display()
            ),
            frag,
        ),
        None => {}
    }
    Step::Done(Feed::Opaque)
}

/// Judges what a program reads from stdin as a script.
pub fn stdin_script(w: &mut Walker, prog: &str, feed: &Feed, frag: &str, shell: bool) {
    // What was piped in is best shown with the whole pipeline.
    let pipe = w.pipe_text.clone();
    let frag = if pipe.is_empty() { frag } else { pipe.as_str() };
    match feed {
        Feed::Literal(t) if shell => w.walk_nested(t, frag),
        Feed::Tainted(src) => w.find(
            Category::HiddenExecution,
            format!("{prog} runs downloaded or decoded content ({src})"),
            frag,
        ),
        Feed::Computed(src) => w.find(
            Category::HiddenExecution,
            format!("{prog} runs text computed at run time ({src})"),
            frag,
        ),
        _ => {}
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
    if SHELLS.contains(&name) {
        return shell(w, name, a, feed, frag);
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
        "eval" => {
            if a.iter().all(|x| x.exact) {
                let text: Vec<&str> = a.iter().map(|x| x.text.as_str()).collect();
                w.walk_nested(&text.join(" "), frag);
            } else {
                let shown: Vec<String> = a.iter().map(Arg::display).collect();
                w.find(
                    Category::HiddenExecution,
                    format!("eval of text computed at run time ({})", shown.join(" ")),
                    frag,
                );
            }
            Step::Done(Feed::Opaque)
        }
        "ssh" => {
            let o = args::parse(a, "bcDEeFIiJLlmOopQRSWw", &[], true);
            let cmd = o.operands.get(1..).unwrap_or(&[]);
            if cmd.is_empty() {
                stdin_script(w, "ssh", feed, frag, true);
                return Step::Done(Feed::Opaque);
            }
            if cmd.iter().all(|x| x.exact) {
                let text: Vec<&str> = cmd.iter().map(|x| x.text.as_str()).collect();
                w.walk_nested_with_stdin(&text.join(" "), frag, feed);
            } else {
                w.find(
                    Category::HiddenExecution,
                    "ssh runs a remote command computed at run time",
                    frag,
                );
            }
            Step::Done(Feed::Opaque)
        }
        "su" | "runuser" | "sg" => {
            let o = args::parse(
                a,
                "cgGsuw",
                &[
                    "command",
                    "session-command",
                    "group",
                    "supp-group",
                    "shell",
                    "user",
                    "whitelist-environment",
                ],
                false,
            );
            if let Some((_, c)) = o
                .values
                .iter()
                .find(|(n, _)| n == "c" || n == "command" || n == "session-command")
            {
                let c = (*c).clone();
                return shell_string(w, name, Some(&c), frag);
            }
            if let Some((_, v)) = o
                .inline_values
                .iter()
                .find(|(n, _)| n == "command" || n == "c")
            {
                return shell_string(w, name, Some(&Arg::lit(v)), frag);
            }
            if name == "runuser" && o.value("u").is_some() {
                let o2 = args::parse(a, "ug", &["user", "group"], true);
                return Step::Next(after_operands(a, &o2.operands, 0), feed.clone());
            }
            if name == "sg" && o.operands.len() >= 2 {
                let cmd = o.operands[1].clone();
                return shell_string(w, name, Some(&cmd), frag);
            }
            stdin_then_done(w, name, feed, frag)
        }
        "watch" => {
            let o = args::parse(a, "nqd", &["interval", "differences"], true);
            let cmd = after_operands(a, &o.operands, 0);
            if o.short('x') || o.long("exec") {
                return Step::Next(cmd, Feed::None);
            }
            join_string(w, name, &cmd, frag)
        }
        "script" => {
            let o = args::parse(
                a,
                "cEIOBT",
                &[
                    "command",
                    "echo",
                    "log-in",
                    "log-out",
                    "log-io",
                    "log-timing",
                ],
                false,
            );
            match o.value("c").or_else(|| o.value("command")) {
                Some(c) => {
                    let arg = o
                        .values
                        .iter()
                        .find(|(n, _)| n == "c" || n == "command")
                        .map(|(_, a)| (*a).clone())
                        .unwrap_or_else(|| Arg::lit(&c));
                    shell_string(w, name, Some(&arg), frag)
                }
                None => Step::Done(Feed::Opaque),
            }
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
        "trap" => {
            if let Some(first) = a.first()
                && !first.text.starts_with('-')
            {
                return shell_string(w, name, Some(first), frag);
            }
            Step::Done(Feed::Opaque)
        }
        "alias" => {
            for x in a {
                if let Some((_, v)) = x.text.split_once('=')
                    && x.exact
                {
                    w.walk_nested(v, frag);
                }
            }
            Step::Done(Feed::Opaque)
        }
        "at" | "batch" => {
            stdin_script(w, name, feed, frag, true);
            Step::Done(Feed::Opaque)
        }
        "crontab" => {
            // `echo '* * * * * cmd' | crontab -`: the jobs it installs.
            let o = args::parse(a, "u", &["user"], false);
            if let (true, Feed::Literal(t)) = (o.operands.iter().all(|x| x.text == "-"), feed) {
                for line in t
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                {
                    let fields = if line.starts_with('@') { 1 } else { 5 };
                    let cmd = line
                        .splitn(fields + 1, char::is_whitespace)
                        .nth(fields)
                        .unwrap_or("");
                    if !cmd.contains('=') || cmd.contains(' ') {
                        w.walk_nested(cmd, frag);
                    }
                }
            }
            Step::Exec
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
        "tmux" => {
            let sub = a.iter().position(|x| !x.text.starts_with('-'));
            let Some(i) = sub else {
                return Step::Done(Feed::Opaque);
            };
            let rest = &a[i + 1..];
            match a[i].text.as_str() {
                "new" | "new-session" | "new-window" | "neww" | "split-window" | "splitw"
                | "respawn-pane" | "respawn-window" => {
                    let o = args::parse(rest, "sncFtxyeLlp", &[], true);
                    let cmd = after_operands(rest, &o.operands, 0);
                    join_string(w, name, &cmd, frag)
                }
                "send-keys" | "send" => {
                    let o = args::parse(rest, "tNX", &[], false);
                    let keys: Vec<Arg> = o
                        .operands
                        .iter()
                        .filter(|x| !matches!(x.text.as_str(), "Enter" | "C-m" | "KPEnter"))
                        .map(|x| (*x).clone())
                        .collect();
                    join_string(w, name, &keys, frag)
                }
                _ => Step::Done(Feed::Opaque),
            }
        }
        _ => Step::Exec,
    }
}

fn stdin_then_done(w: &mut Walker, name: &str, feed: &Feed, frag: &str) -> Step {
    stdin_script(w, name, feed, frag, true);
    Step::Done(Feed::Opaque)
}

/// Commands that join their arguments into a shell string (`watch`).
fn join_string(w: &mut Walker, name: &str, cmd: &[Arg], frag: &str) -> Step {
    if cmd.is_empty() {
        return Step::Done(Feed::Opaque);
    }
    if cmd.iter().all(|x| x.exact) {
        let text: Vec<&str> = cmd.iter().map(|x| x.text.as_str()).collect();
        w.walk_nested(&text.join(" "), frag);
        Step::Done(Feed::Opaque)
    } else {
        shell_string(w, name, Some(&Arg::unknown()), frag)
    }
}

fn shell(w: &mut Walker, name: &str, a: &[Arg], feed: &Feed, frag: &str) -> Step {
    let mut i = 0;
    let mut has_c = false;
    let mut stdin = false;
    while i < a.len() {
        let t = a[i].text.as_str();
        if t == "--" || t == "-" {
            i += 1;
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            if matches!(long, "rcfile" | "init-file") {
                i += 1;
            }
            if long == "command" {
                has_c = true;
            }
            i += 1;
            continue;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 && a[i].exact {
            for c in t[1..].chars() {
                match c {
                    'c' => has_c = true,
                    's' => stdin = true,
                    'o' | 'O' => i += 1,
                    _ => {}
                }
            }
            i += 1;
            continue;
        }
        break;
    }
    let operand = a.get(i);
    if has_c {
        if operand.is_none() {
            w.find(
                Category::ParseErrors,
                format!("{name} -c without a command"),
                frag,
            );
            return Step::Done(Feed::Opaque);
        }
        if let Some(op) = operand.filter(|o| o.exact) {
            w.walk_nested_args(&op.text, frag, a.get(i + 1..).unwrap_or(&[]));
            return Step::Done(Feed::Opaque);
        }
        return shell_string(w, name, operand, frag);
    }
    match operand {
        Some(op) if !stdin => {
            script_file(w, name, op, frag);
        }
        _ => stdin_script(w, name, feed, frag, true),
    }
    Step::Done(Feed::Opaque)
}

/// A script run from a file: judged only for where the file came from.
pub fn script_file(w: &mut Walker, prog: &str, op: &Arg, frag: &str) {
    if let Some(id) = op.procsub {
        match w.procsub_output(id) {
            Feed::Literal(t) => w.walk_nested(&t, frag),
            Feed::Tainted(src) | Feed::Computed(src) => w.find(
                Category::HiddenExecution,
                format!("{prog} runs a process substitution that outputs hidden content ({src})"),
                frag,
            ),
            _ => {}
        }
    } else if w.downloads.contains(&op.text) {
        w.find(
            Category::HiddenExecution,
            format!(
                "{prog} runs {}, written from downloaded or decoded content",
                op.display()
            ),
            frag,
        );
    } else if !op.exact
        && !op
            .text
            .starts_with(|c: char| c == '/' || c == '.' || c.is_alphanumeric())
    {
        w.find(
            Category::HiddenExecution,
            format!(
                "{prog} runs a script whose name is computed at run time ({})",
                op.display()
            ),
            frag,
        );
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
