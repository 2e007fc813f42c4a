//! Word expansion, as far as it can be done without running anything.
//!
//! Literal text, quotes, escapes, `~`, brace expansion and variables assigned
//! earlier in the same command line are expanded exactly. What only exists at
//! run time (`$(...)`, unknown `$VAR`) becomes a *marker* character from the
//! Unicode private-use area, so later checks can tell "unknown" from any real
//! text. For each unknown `$VAR` the expansion also records what the word
//! becomes if the variable is empty (the `rm -rf "$DIR/"*` trap), as `alt`.

use crate::ast::{ParamOp, Seg, Word};

const MARK_BASE: u32 = 0xE000;
const MARK_LAST: u32 = 0xF8FF;

/// Most words one command may expand to (brace expansion is exponential).
pub const MAX_WORDS: usize = 4096;
/// Most characters brace expansion may produce for one command.
pub const MAX_BRACE_CHARS: usize = 256 * 1024;

/// True for the characters that stand for unknown run-time text.
pub fn is_marker(c: char) -> bool {
    (MARK_BASE..=MARK_LAST).contains(&(c as u32))
}

/// One expanded argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arg {
    /// The text, with markers where run-time values go.
    pub text: String,
    /// No marker: the text is exactly what the program receives.
    pub exact: bool,
    /// The text when every unguarded unknown variable is empty (or takes its
    /// `${X:-default}`), when that differs from `text`.
    pub alt: Option<String>,
    /// The argument is a `<(...)` process substitution: the identity of
    /// its script, to look up what it outputs.
    pub procsub: Option<usize>,
    /// For `$(which X)` / `$(command -v X)`: the program X it names.
    pub hint: Option<String>,
    /// Part of the text came from a command substitution, even when its
    /// value is known (`$(echo rm)`): such a program name is still hidden.
    pub computed: bool,
    /// For a word that is one `$(cmd args)` of literal words: those words
    /// (`kill $(pidof sshd)` names what it kills).
    pub sub_cmd: Option<Vec<String>>,
}

impl Arg {
    /// A literal argument.
    pub fn lit(s: &str) -> Arg {
        Arg {
            text: s.to_string(),
            exact: true,
            ..Arg::default()
        }
    }

    /// An argument whose value is entirely unknown.
    pub fn unknown() -> Arg {
        Arg {
            text: char::from_u32(MARK_BASE)
                .map(String::from)
                .unwrap_or_default(),
            exact: false,
            ..Arg::default()
        }
    }

    /// The texts this argument may take that the policy checks: the text
    /// and, when different, the empty-variable variant.
    pub fn variants(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.text.as_str()).chain(self.alt.as_deref())
    }

    /// The text with markers shown as `$?`, for reasons.
    pub fn display(&self) -> String {
        let mut out = String::new();
        for c in self.text.chars() {
            if is_marker(c) {
                out.push_str("$?");
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// Why a word could not be expanded.
#[derive(Debug)]
pub struct ExpandError(pub String);

/// What expansion needs to know about the shell state.
pub trait Env {
    /// The literal value of a shell variable set earlier, if known.
    fn var(&self, name: &str) -> Option<String>;
    /// The current directory as text, if known.
    fn cwd_text(&self) -> Option<String>;
}

/// How a character came to be in the word, which decides what later
/// expansion steps may do with it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Quoted, or the value of something quoted: taken as is.
    Quoted,
    /// Unquoted source text: brace expansion applies.
    Source,
    /// The unquoted value of a variable: word splitting applies.
    Split,
}

type Chars = Vec<(char, Kind)>;

struct Builder {
    chars: Chars,
    /// For marker `k`: its value when empty (`None`: never empty).
    alts: Vec<Option<String>>,
    procsub: Option<usize>,
    hint: Option<String>,
    sub_cmd: Option<Vec<String>>,
    computed: bool,
    quoted_any: bool,
}

impl Builder {
    fn marker(&mut self, alt: Option<String>) {
        let k = self.alts.len() as u32;
        let c = char::from_u32(MARK_BASE + k.min(MARK_LAST - MARK_BASE)).unwrap_or('\u{E000}');
        self.alts.push(alt);
        self.chars.push((c, Kind::Quoted));
    }

    fn push_str(&mut self, s: &str, kind: Kind) {
        self.chars.extend(s.chars().map(|c| (c, kind)));
    }
}

/// The one simple command of a `$(...)` holding exactly one, if it is that.
fn sole_simple(seg: &Seg) -> Option<&crate::ast::Simple> {
    let Seg::CmdSub { script, .. } = seg else {
        return None;
    };
    let [item] = script.items.as_slice() else {
        return None;
    };
    let [pipeline] = item.pipelines.as_slice() else {
        return None;
    };
    let [crate::ast::Command::Simple(s)] = pipeline.cmds.as_slice() else {
        return None;
    };
    Some(s)
}

/// The program named by a `$(which X)`-style substitution.
fn sub_words(seg: &Seg) -> Option<Vec<String>> {
    let s = sole_simple(seg)?;
    s.words.iter().map(|w| w.literal()).collect()
}

/// What `$(echo literal...)` or `$(printf literal)` prints.
fn echo_value(seg: &Seg) -> Option<String> {
    let s = sole_simple(seg)?;
    if !s.assigns.is_empty() || !s.redirs.is_empty() {
        return None;
    }
    let words: Vec<String> = s.words.iter().map(|w| w.literal()).collect::<Option<_>>()?;
    match words.split_first() {
        Some((p, rest)) if p == "echo" && rest.first().is_none_or(|f| !f.starts_with('-')) => {
            Some(rest.join(" "))
        }
        Some((p, [one])) if p == "printf" && !one.contains(['%', '\\']) => Some(one.clone()),
        _ => None,
    }
}

fn which_hint(seg: &Seg) -> Option<String> {
    let s = sole_simple(seg)?;
    let words: Option<Vec<String>> = s.words.iter().map(|w| w.literal()).collect();
    let words = words?;
    match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["which", x] | ["command", "-v", x] | ["type", "-p", x] | ["type", "-P", x] => {
            Some((*x).to_string())
        }
        _ => None,
    }
}

/// Expands one word into zero or more arguments.
pub fn expand_word(
    word: &Word,
    env: &dyn Env,
    budget: &mut usize,
) -> Result<Vec<Arg>, ExpandError> {
    let mut b = Builder {
        chars: Vec::new(),
        alts: Vec::new(),
        procsub: None,
        hint: None,
        sub_cmd: None,
        computed: false,
        quoted_any: false,
    };
    for (i, seg) in word.segs.iter().enumerate() {
        match seg {
            Seg::Lit { text, quoted } => {
                if *quoted {
                    b.quoted_any = true;
                    b.push_str(text, Kind::Quoted);
                } else if i == 0 && text.starts_with('~') {
                    let (prefix, rest) = match text.find('/') {
                        Some(p) => text.split_at(p),
                        None => (text.as_str(), ""),
                    };
                    match prefix {
                        "~" => match env.var("HOME") {
                            Some(h) => b.push_str(&h, Kind::Quoted),
                            None => b.push_str("~", Kind::Quoted),
                        },
                        "~+" => match env.cwd_text() {
                            Some(c) => b.push_str(&c, Kind::Quoted),
                            None => b.marker(None),
                        },
                        "~-" => b.marker(None),
                        "~root" => b.push_str("/root", Kind::Quoted),
                        user => {
                            let user = &user[1..];
                            b.push_str("/home/", Kind::Quoted);
                            b.push_str(user, Kind::Source);
                        }
                    }
                    b.push_str(rest, Kind::Source);
                } else {
                    b.push_str(text, Kind::Source);
                }
            }
            Seg::Param { name, op, quoted } => {
                b.quoted_any |= *quoted;
                let kind = if *quoted { Kind::Quoted } else { Kind::Split };
                let known = match (name.as_str(), op) {
                    (_, ParamOp::Other(_)) => None,
                    ("HOME", _) => Some(env.var("HOME").unwrap_or_else(|| "~".to_string())),
                    ("PWD", _) => env.cwd_text(),
                    (n, _) => env.var(n),
                };
                match known {
                    Some(v) if !(v.is_empty() && matches!(op, ParamOp::Default(_))) => {
                        b.push_str(&v, kind)
                    }
                    _ => {
                        let alt = match op {
                            ParamOp::Plain | ParamOp::Other(_) => Some(String::new()),
                            ParamOp::Guarded => None,
                            ParamOp::Default(w) => Some(w.literal().unwrap_or_default()),
                        };
                        b.marker(alt);
                    }
                }
            }
            Seg::CmdSub { quoted, .. } => {
                b.quoted_any |= *quoted;
                b.computed = true;
                if word.segs.len() == 1 {
                    b.hint = which_hint(seg);
                    b.sub_cmd = sub_words(seg);
                }
                // `$(echo /)` prints a literal: its value is known.
                match echo_value(seg) {
                    Some(v) => b.push_str(&v, if *quoted { Kind::Quoted } else { Kind::Split }),
                    None => b.marker(None),
                }
            }
            Seg::ProcSub { script } => {
                b.procsub = Some(script as *const _ as usize);
                b.marker(None);
            }
            Seg::Arith => b.marker(None),
        }
    }
    let words = brace_expand(b.chars, budget)?;
    let mut out = Vec::new();
    for w in words {
        for piece in split_fields(w) {
            let text: String = piece.iter().map(|(c, _)| *c).collect();
            if text.is_empty() && !b.quoted_any {
                continue;
            }
            let exact = !text.chars().any(is_marker);
            let mut alt_text = String::new();
            let mut differs = false;
            for c in text.chars() {
                if is_marker(c) {
                    let k = (c as u32 - MARK_BASE) as usize;
                    if let Some(Some(a)) = b.alts.get(k) {
                        alt_text.push_str(a);
                        differs = true;
                        continue;
                    }
                }
                alt_text.push(c);
            }
            out.push(Arg {
                text,
                exact,
                alt: differs.then_some(alt_text),
                procsub: b.procsub,
                hint: b.hint.clone(),
                sub_cmd: b.sub_cmd.clone(),
                computed: b.computed,
            });
            if out.len() > MAX_WORDS {
                return Err(ExpandError(format!(
                    "expands to more than {MAX_WORDS} words"
                )));
            }
        }
    }
    Ok(out)
}

/// Splits on blanks that came from unquoted variable values.
fn split_fields(w: Chars) -> Vec<Chars> {
    if !w
        .iter()
        .any(|(c, k)| *k == Kind::Split && c.is_whitespace())
    {
        return vec![w];
    }
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for (c, k) in w {
        if k == Kind::Split && c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push((c, k));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A brace expression found in a word.
struct Brace {
    open: usize,
    close: usize,
    /// Positions of the top-level commas, or empty for a sequence.
    commas: Vec<usize>,
    seq: Option<Vec<String>>,
}

/// Finds the leftmost valid brace expression in one linear pass.
fn find_brace(w: &Chars) -> Option<Brace> {
    let mut stack: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut best: Option<Brace> = None;
    for (i, (c, k)) in w.iter().enumerate() {
        if *k != Kind::Source {
            continue;
        }
        match c {
            '{' => stack.push((i, Vec::new())),
            ',' => {
                if let Some(top) = stack.last_mut() {
                    top.1.push(i);
                }
            }
            '}' => {
                if let Some((open, commas)) = stack.pop() {
                    if best.as_ref().is_some_and(|b| b.open < open) {
                        continue;
                    }
                    if !commas.is_empty() {
                        best = Some(Brace {
                            open,
                            close: i,
                            commas,
                            seq: None,
                        });
                    } else if let Some(seq) = sequence(&w[open + 1..i]) {
                        best = Some(Brace {
                            open,
                            close: i,
                            commas,
                            seq: Some(seq),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    best
}

/// `{1..5}`, `{a..e}`, `{1..10..2}`: up to 64 items, else not expanded.
fn sequence(inner: &[(char, Kind)]) -> Option<Vec<String>> {
    if inner.len() > 40 || inner.iter().any(|(_, k)| *k != Kind::Source) {
        return None;
    }
    let s: String = inner.iter().map(|(c, _)| *c).collect();
    let parts: Vec<&str> = s.split("..").collect();
    if parts.len() != 2 && parts.len() != 3 {
        return None;
    }
    let step: i64 = match parts.get(2) {
        Some(p) => p.parse::<i64>().ok()?.checked_abs()?.max(1),
        None => 1,
    };
    if let (Ok(a), Ok(b)) = (parts[0].parse::<i64>(), parts[1].parse::<i64>()) {
        let n = (a - b).checked_abs()? / step + 1;
        if n > 64 {
            return None;
        }
        let mut out = Vec::new();
        let mut x = a;
        for _ in 0..n {
            out.push(x.to_string());
            x = if a <= b { x + step } else { x - step };
        }
        return Some(out);
    }
    let (a, b) = (parts[0], parts[1]);
    let (Some(ca), Some(cb)) = (a.chars().next(), b.chars().next()) else {
        return None;
    };
    if a.chars().count() != 1
        || b.chars().count() != 1
        || !ca.is_ascii_alphabetic()
        || !cb.is_ascii_alphabetic()
    {
        return None;
    }
    let (lo, hi) = (ca.min(cb) as u8, ca.max(cb) as u8);
    let mut out: Vec<String> = (lo..=hi)
        .step_by(step as usize)
        .map(|c| (c as char).to_string())
        .collect();
    if ca > cb {
        out.reverse();
    }
    Some(out)
}

/// Bash brace expansion, with the number and size of results bounded.
fn brace_expand(w: Chars, budget: &mut usize) -> Result<Vec<Chars>, ExpandError> {
    if !w.iter().any(|(c, k)| *c == '{' && *k == Kind::Source) {
        return Ok(vec![w]);
    }
    let mut out = Vec::new();
    let mut work = vec![w];
    while let Some(item) = work.pop() {
        *budget = budget.saturating_sub(item.len() + 1);
        if *budget == 0 {
            return Err(ExpandError("brace expansion too large".to_string()));
        }
        let Some(br) = find_brace(&item) else {
            out.push(item);
            if out.len() > MAX_WORDS {
                return Err(ExpandError("brace expansion too large".to_string()));
            }
            continue;
        };
        let prefix = &item[..br.open];
        let suffix = &item[br.close + 1..];
        let mut alts: Vec<Chars> = Vec::new();
        if let Some(seq) = br.seq {
            for s in seq {
                alts.push(s.chars().map(|c| (c, Kind::Quoted)).collect());
            }
        } else {
            let mut start = br.open + 1;
            for &c in br.commas.iter().chain(std::iter::once(&br.close)) {
                alts.push(item[start..c].to_vec());
                start = c + 1;
            }
        }
        if alts.len() + work.len() + out.len() > MAX_WORDS {
            return Err(ExpandError("brace expansion too large".to_string()));
        }
        for alt in alts.into_iter().rev() {
            let mut v = Vec::with_capacity(prefix.len() + alt.len() + suffix.len());
            v.extend_from_slice(prefix);
            v.extend(alt);
            v.extend_from_slice(suffix);
            work.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Arg, Env, expand_word};
    use crate::parse::parse;

    struct NoEnv;
    impl Env for NoEnv {
        fn var(&self, name: &str) -> Option<String> {
            (name == "X").then(|| "/usr".to_string())
        }
        fn cwd_text(&self) -> Option<String> {
            None
        }
    }

    fn args(text: &str) -> Vec<Arg> {
        let (script, _) = parse(text, 0, 40).expect("parses");
        let crate::ast::Command::Simple(s) = &script.items[0].pipelines[0].cmds[0] else {
            panic!("simple");
        };
        let mut budget = super::MAX_BRACE_CHARS;
        s.words
            .iter()
            .flat_map(|w| expand_word(w, &NoEnv, &mut budget).expect("expands"))
            .collect()
    }

    fn texts(text: &str) -> Vec<String> {
        args(text).into_iter().map(|a| a.text).collect()
    }

    #[test]
    fn braces_expand_unquoted_only() {
        assert_eq!(texts("{rm,-rf,/}"), ["rm", "-rf", "/"]);
        assert_eq!(texts("echo a{1..3}"), ["echo", "a1", "a2", "a3"]);
        assert_eq!(texts("echo '{a,b}'"), ["echo", "{a,b}"]);
    }

    #[test]
    fn tilde_home_and_known_variables() {
        assert_eq!(
            texts("ls ~ ~/x $HOME ${HOME}/y ~root $X"),
            ["ls", "~", "~/x", "~", "~/y", "/root", "/usr"]
        );
    }

    #[test]
    fn unknown_values_are_marked_with_their_empty_variant() {
        let a = args("rm \"$DIR/\"*");
        assert!(!a[1].exact);
        assert_eq!(a[1].alt.as_deref(), Some("/*"));
        let g = args("rm \"${DIR:?}/\"*");
        assert_eq!(g[1].alt, None);
    }

    #[test]
    fn brace_bombs_are_refused() {
        let (script, _) = parse(&"{a,b}".repeat(40), 0, 40).expect("parses");
        let crate::ast::Command::Simple(s) = &script.items[0].pipelines[0].cmds[0] else {
            panic!("simple");
        };
        let mut budget = super::MAX_BRACE_CHARS;
        assert!(expand_word(&s.words[0], &NoEnv, &mut budget).is_err());
    }
}
