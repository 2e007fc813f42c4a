//! Commands that run a string as shell code: `bash -c`, `eval`, `ssh host
//! '...'`, `su -c`, `watch`, `script -c`, `trap`, `alias`, `at`, `tmux`,
//! cron lines fed to `crontab -`, and shells reading a script from stdin.
//! Literal strings are parsed and judged like the outer command; strings
//! computed at run time are hidden execution.

use crate::args;
use crate::category::Category;
use crate::expand::Arg;
use crate::walk::{Feed, Walker};
use crate::wrappers::{Step, after_operands};

/// Shells whose `-c` runs a string and which read a script from stdin.
pub const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "rbash", "fish", "tcsh", "csh",
    "pdksh", "oksh", "loksh", "posh", "pwsh",
];

/// Programs other than shells that run a string as shell code.
pub const RUNS_STRINGS: &[&str] = &[
    "eval", "ssh", "su", "runuser", "sg", "watch", "script", "trap", "alias", "at", "batch",
    "crontab", "tmux",
];

/// Looks at a shell or a program that runs strings.
pub fn step(w: &mut Walker, name: &str, a: &[Arg], feed: &Feed, frag: &str) -> Step {
    if SHELLS.contains(&name) {
        return shell(w, name, a, feed, frag);
    }
    match name {
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

/// Runs a shell string: literal strings are judged, others are hidden.
pub(crate) fn shell_string(w: &mut Walker, prog: &str, s: Option<&Arg>, frag: &str) -> Step {
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

pub(crate) fn stdin_then_done(w: &mut Walker, name: &str, feed: &Feed, frag: &str) -> Step {
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
        Some(op) if !stdin && !is_stdin_path(&op.text) => {
            script_file(w, name, op, frag);
        }
        _ => stdin_script(w, name, feed, frag, true),
    }
    Step::Done(Feed::Opaque)
}

/// Paths that name the program's own stdin.
pub fn is_stdin_path(p: &str) -> bool {
    matches!(p, "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0")
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
    } else if crate::feeds::is_downloaded(w, &op.text) {
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
