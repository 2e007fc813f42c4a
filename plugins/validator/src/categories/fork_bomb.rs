//! fork-bomb: functions that start copies of themselves in the background
//! or through pipes (whatever the function is called), endless loops that
//! start background jobs, and interpreter one-liners that fork in a loop.

use crate::ast::{Command, Kw, Script};
use crate::category::Category;
use crate::walk::Walker;

/// True when `cmd` calls `name` in a pipeline or in the background.
fn forks_self(cmd: &Command, name: &str, forking: bool) -> bool {
    match cmd {
        Command::Simple(s) => {
            forking && s.words.first().and_then(|w| w.literal()).as_deref() == Some(name)
        }
        Command::Group { body, .. } => script_forks(body, name, forking),
        Command::Compound { bodies, .. } => bodies.iter().any(|b| script_forks(b, name, forking)),
        Command::FuncDef { .. } => false,
    }
}

fn script_forks(s: &Script, name: &str, forking: bool) -> bool {
    s.items.iter().any(|item| {
        item.pipelines.iter().any(|p| {
            let f = forking || item.background || p.cmds.len() > 1;
            p.cmds.iter().any(|c| forks_self(c, name, f))
        })
    })
}

pub fn check_function(w: &mut Walker, name: &str, body: &Command) {
    if forks_self(body, name, false) {
        w.find(
            Category::ForkBomb,
            format!("function `{name}` starts copies of itself without end"),
            &format!("{name}() {{ … }}"),
        );
    }
}

fn literal_cmd(s: &Script) -> Option<String> {
    let [item] = s.items.as_slice() else {
        return None;
    };
    let [p] = item.pipelines.as_slice() else {
        return None;
    };
    let [Command::Simple(c)] = p.cmds.as_slice() else {
        return None;
    };
    let words: Option<Vec<String>> = c.words.iter().map(|w| w.literal()).collect();
    Some(words?.join(" "))
}

fn has_background(s: &Script) -> bool {
    s.items.iter().any(|item| {
        item.background
            || item.pipelines.iter().any(|p| {
                p.cmds.iter().any(|c| match c {
                    Command::Group { body, .. } => has_background(body),
                    Command::Compound { bodies, .. } => bodies.iter().any(has_background),
                    _ => false,
                })
            })
    })
}

pub fn check_loop(w: &mut Walker, kw: Kw, bodies: &[Script]) {
    if kw == Kw::Loop {
        if bodies.first().is_some_and(has_background) {
            w.find(
                Category::ForkBomb,
                "endless loop starting background processes",
                "for ((;;)); do … & done",
            );
        }
        return;
    }
    let (Some(cond), Some(body)) = (bodies.first(), bodies.get(1)) else {
        return;
    };
    let endless = matches!(
        (kw, literal_cmd(cond).as_deref()),
        (Kw::While, Some("true" | ":" | "[ 1 ]" | "/bin/true"))
            | (Kw::Until, Some("false" | "/bin/false"))
    );
    if endless && has_background(body) {
        w.find(
            Category::ForkBomb,
            "endless loop starting background processes",
            "while true; do … & done",
        );
    }
}

/// A fork bomb in text that does not parse (`:(){:|:&};:` lacks the blank
/// bash needs after `{`): a name defined with `()` whose body calls itself
/// through a pipe or in the background.
pub fn in_raw_text(text: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = text[from..].find("()") {
        let at = from + i;
        from = at + 2;
        // The name runs back to the previous blank or operator (which may
        // be a multi-byte blank: step over the whole character).
        let name_start = text[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| {
                c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '{' | '}')
            })
            .map_or(0, |(p, c)| p + c.len_utf8());
        let name = text[name_start..at].trim_start_matches("function").trim();
        if name.is_empty() {
            continue;
        }
        let rest = &text[from..];
        let Some(open) = rest.find('{') else { continue };
        let body_end = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let body: String = rest[open + 1..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let piped = body.contains(&format!("{name}|{name}"));
        let bg = body.contains(&format!("{name}&"));
        if piped || bg {
            return Some(name.to_string());
        }
        if from > 4096 {
            break;
        }
    }
    None
}

/// Interpreter code that forks in a loop (`perl -e 'fork while fork'`).
pub fn check_code(w: &mut Walker, lang: &str, code: &str, frag: &str) {
    if !code.contains("fork") {
        return;
    }
    const LOOPS: &[&str] = &[
        "while", "loop", "for ", "for(", "until", "repeat", "goto", "times",
    ];
    if LOOPS.iter().any(|l| code.contains(l)) {
        w.find(
            Category::ForkBomb,
            format!("{lang} code that forks in a loop"),
            frag,
        );
    }
}
