//! hidden-execution: running code that cannot be seen in the command line —
//! downloaded or decoded bytes piped into an interpreter, `<(curl ...)`,
//! interpreter code computed at run time. Also scans literal interpreter
//! code for shell-outs (`os.system("...")`, backticks, `system(...)`) and
//! for deletes and writes of literal paths, which are then judged like any
//! command. What each program writes to stdout is decided in `feeds.rs`.

use crate::args;
use crate::category::Category;
use crate::effects::{Effect, Kind};
use crate::expand::Arg;
use crate::shells::{script_file, stdin_script};
use crate::walk::{Feed, Walker};

/// The flags that introduce inline code, per interpreter.
fn code_flags(name: &str) -> Option<&'static str> {
    Some(match name {
        n if n.starts_with("python") || n.starts_with("pypy") => "c",
        n if n.starts_with("perl") => "eE",
        "ruby" | "jruby" | "lua" | "luajit" | "Rscript" | "julia" => "e",
        "node" | "nodejs" | "bun" | "deno" => "ep",
        "php" => "r",
        _ => return None,
    })
}

fn is_awk(name: &str) -> bool {
    matches!(name, "awk" | "gawk" | "mawk" | "nawk")
}

/// Names after which a string literal is run as a shell command.
const SHELL_OUTS: &[&str] = &[
    "system",
    "popen",
    "exec",
    "execSync",
    "spawnSync",
    "check_output",
    "check_call",
    "call",
    "run",
    "Popen",
    "getoutput",
    "getstatusoutput",
    "shell_exec",
    "passthru",
    "proc_open",
    "execute",
    "qx",
];

/// Names after which a string literal is a file deleted.
const FILE_DELETES: &[&str] = &["remove", "unlink", "unlinkSync", "rmdir", "delete"];

/// Names after which a string literal is a file written (`open` only with a
/// writing mode).
const FILE_WRITES: &[&str] = &[
    "open",
    "writeFileSync",
    "writeFile",
    "write_text",
    "write_bytes",
    "truncate",
];

/// Names after which a string literal is a path deleted recursively.
const TREE_DELETES: &[&str] = &[
    "rmtree",
    "rm_rf",
    "rm_r",
    "remove_dir_all",
    "rmSync",
    "rimraf",
    "removedirs",
    "rmdirSync",
];

/// Reads a quoted string starting at `s[0]`; returns it and the bytes used.
fn string_literal(s: &str) -> Option<(String, usize)> {
    let q = s.chars().next()?;
    if !matches!(q, '"' | '\'' | '`') {
        return None;
    }
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            if let Some((_, n)) = chars.next() {
                out.push(match n {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            }
        } else if c == q {
            return Some((out, i + 1));
        } else {
            out.push(c);
        }
    }
    None
}

/// The shell commands and paths named in literal interpreter code.
fn scan_code(w: &mut Walker, lang: &str, code: &str, frag: &str) {
    super::fork_bomb::check_code(w, lang, code, frag);
    const RUNS: &[&str] = &["exec(", "eval(", "exec ", "eval ", "compile(", "Function("];
    const HIDES: &[&str] = &[
        "b64decode",
        "base64",
        "decode(",
        "fromhex",
        "unhexlify",
        "urlopen",
        "requests.get",
        "urllib",
        "fetch(",
        "http.get",
        "LWP::",
        "Net::HTTP",
        "open-uri",
        "decompress",
        "pack(",
    ];
    if RUNS.iter().any(|r| code.contains(r)) && HIDES.iter().any(|h| code.contains(h)) {
        w.find(
            Category::HiddenExecution,
            format!("{lang} code runs decoded or downloaded content"),
            frag,
        );
    }
    let mut nested: Vec<String> = Vec::new();
    let mut effects: Vec<(Kind, String)> = Vec::new();
    for (list, action) in [
        (SHELL_OUTS, None),
        (TREE_DELETES, Some(Kind::Delete { recursive: true })),
        (FILE_DELETES, Some(Kind::Delete { recursive: false })),
        (FILE_WRITES, Some(Kind::Overwrite)),
    ] {
        for name in list {
            let mut from = 0;
            while let Some(i) = code[from..].find(name) {
                let start = from + i + name.len();
                from = start;
                let before_ok = code[..from - name.len()]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                if !before_ok {
                    continue;
                }
                let rest = code[start..].trim_start();
                let rest = rest
                    .strip_prefix('(')
                    .or_else(|| rest.strip_prefix('{'))
                    .unwrap_or(rest)
                    .trim_start();
                let mut found = Vec::new();
                if let Some(list_body) = rest.strip_prefix('[') {
                    let mut r = list_body.trim_start();
                    while let Some((s, used)) = string_literal(r) {
                        found.push(s);
                        r = r[used..].trim_start().trim_start_matches(',').trim_start();
                    }
                    if !found.is_empty() {
                        found = vec![found.join(" ")];
                    }
                } else if let Some((s, used)) = string_literal(rest) {
                    // `open(path, "w")`: only a writing mode counts.
                    let writes = *name != "open"
                        || rest[used..]
                            .trim_start()
                            .strip_prefix(',')
                            .and_then(|m| string_literal(m.trim_start()))
                            .is_some_and(|(m, _)| m.contains(['w', 'a', '+']));
                    if writes {
                        found.push(s);
                    }
                }
                match action {
                    None => nested.extend(found),
                    Some(kind) => effects.extend(found.into_iter().map(|f| (kind, f))),
                }
                if nested.len() + effects.len() > 16 {
                    break;
                }
            }
        }
    }
    // Perl and Ruby backticks.
    if lang.starts_with("perl") || lang == "ruby" {
        let mut r = code;
        while let Some(i) = r.find('`') {
            match string_literal(&r[i..]) {
                Some((s, used)) => {
                    nested.push(s);
                    r = &r[i + used..];
                }
                None => break,
            }
            if nested.len() > 16 {
                break;
            }
        }
    }
    for n in nested {
        w.walk_code_string(&n, frag);
    }
    for (kind, t) in effects {
        let e = Effect {
            kind,
            arg: Arg::lit(&t),
        };
        w.check_effect(&e, frag);
    }
}

/// Checks an interpreter: inline code, script file, or stdin.
fn interpreter(w: &mut Walker, name: &str, flags: &str, a: &[Arg], feed: &Feed, frag: &str) {
    let mut i = 0;
    while i < a.len() {
        let t = a[i].text.as_str();
        if let Some(code) = t
            .strip_prefix("--eval=")
            .or_else(|| t.strip_prefix("--print="))
        {
            return code_arg(
                w,
                name,
                &Arg {
                    text: code.to_string(),
                    ..a[i].clone()
                },
                frag,
            );
        }
        if t == "--eval" || t == "--print" {
            if let Some(c) = a.get(i + 1) {
                code_arg(w, name, c, frag);
            }
            return;
        }
        if t == "-" || t == "--" {
            break;
        }
        if t.starts_with("--") {
            i += 1;
            continue;
        }
        if let Some(cluster) = t.strip_prefix('-') {
            if let Some(pos) = cluster.find(|c| flags.contains(c)) {
                let rest = &cluster[pos + 1..];
                if !rest.is_empty() {
                    return code_arg(
                        w,
                        name,
                        &Arg {
                            text: rest.to_string(),
                            ..a[i].clone()
                        },
                        frag,
                    );
                }
                if let Some(c) = a.get(i + 1) {
                    code_arg(w, name, c, frag);
                }
                return;
            }
            // Options with a value (`python -m mod`, `-W x`, `-X x`).
            if matches!(cluster, "m" | "W" | "X" | "I" | "r" | "M")
                && name.starts_with("python")
                && cluster == "m"
            {
                return;
            }
            i += 1;
            continue;
        }
        if crate::shells::is_stdin_path(&a[i].text) {
            break;
        }
        script_file(w, name, &a[i], frag);
        return;
    }
    match feed {
        Feed::Literal(t) => {
            let t = t.clone();
            scan_code(w, name, &t, frag);
        }
        _ => stdin_script(w, name, feed, frag, false),
    }
}

fn code_arg(w: &mut Walker, name: &str, code: &Arg, frag: &str) {
    if code.exact {
        scan_code(w, name, &code.text, frag);
    } else {
        w.find(
            Category::HiddenExecution,
            format!("{name} runs code computed at run time ({})", code.display()),
            frag,
        );
    }
}

pub fn check(w: &mut Walker, name: &str, a: &[Arg], feed: &Feed, frag: &str) -> Feed {
    if let Some(flags) = code_flags(name) {
        interpreter(w, name, flags, a, feed, frag);
    } else if is_awk(name) {
        let o = args::parse(a, "fvF", &["file", "assign", "field-separator"], true);
        if !(o.short('f') || o.long("file"))
            && let Some(p) = o.operands.first()
        {
            code_arg(w, name, p, frag);
        }
    } else if name == "source" || name == "." {
        match a.first() {
            Some(op) if op.text == "/dev/stdin" || op.text == "-" => {
                stdin_script(w, name, feed, frag, true)
            }
            Some(op) => script_file(w, name, op, frag),
            None => {}
        }
    }
    crate::feeds::output(w, name, a, feed)
}
