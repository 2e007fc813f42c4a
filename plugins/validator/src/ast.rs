//! The shape of a parsed command line.
//!
//! Only what the policy needs is kept: words as segments that remember what
//! was quoted and what is only known at run time (`$VAR`, `$(...)`), the
//! command structure (lists, pipelines, groups, compound commands, function
//! definitions) and redirections. The tree depth is bounded by the parser, so
//! walking it recursively cannot exhaust the stack.

use std::cell::RefCell;
use std::rc::Rc;

/// A sequence of and-or lists, as separated by `;`, `&` or newlines.
#[derive(Debug, Default, Clone)]
pub struct Script {
    pub items: Vec<AndOr>,
}

/// Pipelines joined by `&&` / `||`; `background` when ended by `&`.
#[derive(Debug, Clone)]
pub struct AndOr {
    pub pipelines: Vec<Pipeline>,
    pub background: bool,
}

/// Commands joined by `|` / `|&`: each one's stdout feeds the next one's stdin.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub cmds: Vec<Command>,
    /// The pipeline's source text (shortened) when it has several stages,
    /// quoted in reasons about what flows through it.
    pub text: String,
}

/// The keyword that opened a compound command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kw {
    If,
    While,
    Until,
    For,
    Case,
    /// `[[ ... ]]`
    Test,
    /// `(( ... ))`
    Arith,
    /// `for ((;;))`: a loop without end.
    Loop,
}

#[derive(Debug, Clone)]
pub enum Command {
    Simple(Simple),
    /// `( ... )` (subshell) or `{ ...; }`.
    Group {
        body: Script,
        redirs: Vec<Redir>,
    },
    FuncDef {
        name: String,
        body: Box<Command>,
    },
    /// `if`, loops, `case`, `[[ ]]`: the words they expand (loop lists, case
    /// subjects, test operands) and the bodies they may run. For `while` and
    /// `until`, `bodies[0]` is the condition. For `for NAME in ...`,
    /// `words[0]` is NAME and the rest the list (no words for `for ((;;))`).
    Compound {
        kw: Kw,
        words: Vec<Word>,
        bodies: Vec<Script>,
        redirs: Vec<Redir>,
    },
}

/// One simple command: `A=1 prog arg... >file`.
#[derive(Debug, Clone, Default)]
pub struct Simple {
    pub assigns: Vec<Assign>,
    pub words: Vec<Word>,
    pub redirs: Vec<Redir>,
    /// The command's source text (shortened), quoted back in reasons.
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Assign {
    pub name: String,
    /// One word for `A=x`, several for an array `A=(x y)`.
    pub values: Vec<Word>,
    pub array: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirOp {
    /// `<`
    In,
    /// `>`, `>|`, `&>`, `>&file`
    Out,
    /// `>>`, `&>>`
    Append,
    /// `<>`
    ReadWrite,
    /// `>&N`, `<&N`, `>&-`
    Dup,
    /// `<<<`
    HereString,
    /// `<<`, `<<-`
    HereDoc,
}

#[derive(Debug, Clone)]
pub struct Redir {
    /// The descriptor redirected; `None` for `&>` (stdout and stderr).
    pub fd: Option<u32>,
    pub op: RedirOp,
    pub target: Word,
    pub heredoc: Option<Rc<RefCell<HereDoc>>>,
}

/// A here-document body, filled in when the parser reaches the line after
/// the redirection.
#[derive(Debug, Clone, Default)]
pub struct HereDoc {
    pub body: String,
    /// A quoted delimiter (`<<'EOF'`) makes the body literal.
    pub quoted: bool,
    /// Command substitutions found in an unquoted body: they run.
    pub subs: Vec<Script>,
}

/// A word: the pieces that expansion concatenates.
#[derive(Debug, Clone, Default)]
pub struct Word {
    pub segs: Vec<Seg>,
}

#[derive(Debug, Clone)]
pub enum Seg {
    Lit {
        text: String,
        quoted: bool,
    },
    Param {
        name: String,
        op: ParamOp,
        quoted: bool,
    },
    /// `$(...)` or backticks.
    CmdSub {
        script: Script,
        quoted: bool,
    },
    /// `<(...)` or `>(...)`.
    ProcSub {
        script: Script,
    },
    /// `$((...))`: a number.
    Arith,
}

#[derive(Debug, Clone)]
pub enum ParamOp {
    /// `$X`, `${X}`
    Plain,
    /// `${X:?msg}`: the shell aborts when X is empty, so it is never empty.
    Guarded,
    /// `${X:-word}`, `${X:=word}`: empty X becomes `word`.
    Default(Word),
    /// `${X:+word}`, `${X#pat}`, `${#X}`, ...: some string derived from X.
    Other(Word),
}

impl Word {
    /// The word's text when it is made only of literal segments.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Lit { text, .. } => out.push_str(text),
                _ => return None,
            }
        }
        Some(out)
    }

    /// True when no part of the word was quoted.
    pub fn unquoted(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Lit { quoted: false, .. }))
    }
}
