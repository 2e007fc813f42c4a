//! A bash parser, written for judging commands rather than running them.
//!
//! It reads the text once, left to right (every loop advances the cursor),
//! and nests only through `$(...)`, backticks, `${...}`, groups and compound
//! commands, each of which counts against `max_depth`: hostile input can make
//! it fail, never make it slow or overflow the stack. Anything it does not
//! understand is an error, and the policy denies errors.

use std::cell::RefCell;
use std::rc::Rc;

use crate::ast::{
    AndOr, Assign, Command, HereDoc, Kw, Pipeline, Redir, RedirOp, Script, Seg, Simple, Word,
};
use crate::lex::Mode;

/// Why the text could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub msg: String,
    pub at: usize,
    /// Work done before the error, for the linearity tests.
    pub steps: u64,
}

/// Where a nested script ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Eof,
    /// `)` of a subshell, `$(`, `<(`.
    Paren,
    /// Keyword `}`.
    Brace,
    /// One of these keywords (`then`, `fi`, `done`, ...).
    Kws(&'static [&'static str]),
    /// `;;`, `;&`, `;;&` or `esac` inside a `case`.
    CaseItem,
}

struct Pending {
    doc: Rc<RefCell<HereDoc>>,
    delim: String,
    strip_tabs: bool,
}

/// Parses `text` into a script. `depth` is the nesting already used by the
/// caller (for `bash -c` re-parsing), `max_depth` the bound on all of it.
/// Returns the script and the number of work steps taken.
pub fn parse(text: &str, depth: usize, max_depth: usize) -> Result<(Script, u64), ParseError> {
    let mut p = Parser::new(text, depth, max_depth);
    let r = p
        .parse_script(End::Eof)
        .and_then(|s| p.finish().map(|()| s));
    match r {
        Ok(script) => Ok((script, p.steps)),
        Err(mut e) => {
            e.steps = p.steps;
            Err(e)
        }
    }
}

/// Collects the command substitutions of a here-document body or other text
/// treated like the inside of double quotes. Returns them and the steps.
pub fn parse_dq_text(
    text: &str,
    depth: usize,
    max_depth: usize,
) -> Result<(Word, u64), ParseError> {
    let mut p = Parser::new(text, depth, max_depth);
    let segs = p.lex_dq(None)?;
    Ok((Word { segs }, p.steps))
}

const KW_THEN: &[&str] = &["then"];
const KW_ELSE: &[&str] = &["elif", "else", "fi"];
const KW_FI: &[&str] = &["fi"];
const KW_DO: &[&str] = &["do"];
const KW_DONE: &[&str] = &["done"];

/// Keywords that can never start a command.
const MISPLACED: &[&str] = &[
    "then", "else", "elif", "fi", "do", "done", "esac", "}", "in",
];

pub(crate) fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

/// Shortens a command's text for quoting in a reason.
pub fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.len() <= max || s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// Most simple commands in one command line (before nested shells).
pub const MAX_COMMANDS: usize = 4_000;
/// Most words in one command line (before nested shells): each costs a
/// few allocations to judge, so this bounds the time as much as the size.
pub const MAX_WORDS: usize = 8_192;

pub(crate) struct Parser<'a> {
    pub(crate) words: usize,
    pub(crate) commands: usize,
    pub(crate) text: &'a str,
    pub(crate) src: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) depth: usize,
    pub(crate) max_depth: usize,
    pending: Vec<Pending>,
    pub(crate) steps: u64,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str, depth: usize, max_depth: usize) -> Self {
        Parser {
            words: 0,
            commands: 0,
            text,
            src: text.as_bytes(),
            pos: 0,
            depth,
            max_depth,
            pending: Vec::new(),
            steps: 0,
        }
    }

    pub(crate) fn err<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            msg: msg.into(),
            at: self.pos,
            steps: 0,
        })
    }

    pub(crate) fn finish(&mut self) -> Result<(), ParseError> {
        if self.pos < self.src.len() {
            return self.err("unexpected `)`");
        }
        if let Some(p) = self.pending.first() {
            return self.err(format!(
                "unterminated here-document (no line `{}`)",
                p.delim
            ));
        }
        Ok(())
    }

    pub(crate) fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return self.err(format!("nesting depth exceeds {} levels", self.max_depth));
        }
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, k: usize) -> Option<u8> {
        self.src.get(self.pos + k).copied()
    }

    pub(crate) fn starts(&self, s: &str) -> bool {
        self.src[self.pos.min(self.src.len())..].starts_with(s.as_bytes())
    }

    /// Skips spaces, tabs, line continuations and a comment.
    fn skip_blanks(&mut self) {
        loop {
            self.steps += 1;
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                Some(b'\\') if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                Some(b'#') => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.steps += 1;
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Skips blanks and newlines, reading here-document bodies at each newline.
    fn skip_linebreaks(&mut self) -> Result<(), ParseError> {
        loop {
            self.skip_blanks();
            if self.peek() == Some(b'\n') {
                self.pos += 1;
                self.read_heredocs()?;
            } else {
                return Ok(());
            }
        }
    }

    /// The bare word at the cursor when it could be a keyword.
    fn peek_kw(&self) -> Option<&'a str> {
        let start = self.pos;
        let mut end = start;
        while let Some(&b) = self.src.get(end) {
            if is_meta(b) || matches!(b, b'\'' | b'"' | b'\\' | b'$' | b'`') {
                break;
            }
            end += 1;
            if end - start > 8 {
                return None;
            }
        }
        if end == start {
            return None;
        }
        self.text.get(start..end)
    }

    fn at_kw(&self, kw: &str) -> bool {
        self.peek_kw() == Some(kw)
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), ParseError> {
        self.skip_linebreaks()?;
        if self.at_kw(kw) {
            self.pos += kw.len();
            Ok(())
        } else {
            self.err(format!("missing `{kw}`"))
        }
    }

    fn at_case_end(&self) -> bool {
        self.starts(";;") || self.starts(";&") || self.at_kw("esac")
    }

    pub(crate) fn parse_script(&mut self, end: End) -> Result<Script, ParseError> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            self.skip_linebreaks()?;
            let Some(b) = self.peek() else {
                match end {
                    End::Eof => break,
                    End::Paren => return self.err("unterminated `(` (missing `)`)"),
                    End::Brace => return self.err("unterminated `{` (missing `}`)"),
                    End::Kws(k) => {
                        return self.err(format!(
                            "unexpected end of input (missing `{}`)",
                            k.last().copied().unwrap_or("")
                        ));
                    }
                    End::CaseItem => return self.err("unterminated `case` (missing `esac`)"),
                }
            };
            let stop = match end {
                End::Eof => false,
                End::Paren => b == b')',
                End::Brace => self.at_kw("}"),
                End::Kws(k) => self.peek_kw().is_some_and(|w| k.contains(&w)),
                End::CaseItem => self.at_case_end(),
            };
            if stop {
                break;
            }
            if b == b')' {
                return self.err("unexpected `)`");
            }
            let mut andor = self.parse_andor()?;
            self.skip_blanks();
            match self.peek() {
                Some(b'&') => {
                    self.pos += 1;
                    andor.background = true;
                }
                Some(b';') if !self.starts(";;") && !self.starts(";&") => self.pos += 1,
                None | Some(b'\n' | b')') => {}
                Some(b';') if end == End::CaseItem => {}
                _ => {
                    let ok = match end {
                        End::Brace => self.at_kw("}"),
                        End::Kws(k) => self.peek_kw().is_some_and(|w| k.contains(&w)),
                        _ => false,
                    };
                    if !ok {
                        return self.err("syntax error: unexpected token");
                    }
                }
            }
            items.push(andor);
        }
        self.leave();
        Ok(Script { items })
    }

    fn parse_andor(&mut self) -> Result<AndOr, ParseError> {
        let mut pipelines = vec![self.parse_pipeline()?];
        loop {
            self.skip_blanks();
            if self.starts("&&") || self.starts("||") {
                self.pos += 2;
                self.skip_linebreaks()?;
                pipelines.push(self.parse_pipeline()?);
            } else {
                break;
            }
        }
        Ok(AndOr {
            pipelines,
            background: false,
        })
    }

    fn parse_pipeline(&mut self) -> Result<Pipeline, ParseError> {
        self.skip_blanks();
        let start = self.pos;
        loop {
            if self.at_kw("!") {
                self.pos += 1;
            } else if self.at_kw("time") {
                self.pos += 4;
                self.skip_blanks();
                if self.at_kw("-p") {
                    self.pos += 2;
                }
            } else {
                break;
            }
            self.skip_blanks();
        }
        let mut cmds = vec![self.parse_command()?];
        loop {
            self.skip_blanks();
            if self.starts("||") {
                break;
            }
            if self.starts("|&") {
                self.pos += 2;
            } else if self.peek() == Some(b'|') {
                self.pos += 1;
            } else {
                break;
            }
            self.skip_linebreaks()?;
            cmds.push(self.parse_command()?);
        }
        let text = if cmds.len() > 1 {
            shorten(self.text.get(start..self.pos).unwrap_or(""), 120)
        } else {
            String::new()
        };
        Ok(Pipeline { cmds, text })
    }

    fn parse_command(&mut self) -> Result<Command, ParseError> {
        self.skip_blanks();
        self.steps += 1;
        if let Some(kw) = self.peek_kw() {
            if MISPLACED.contains(&kw) {
                return self.err(format!("unexpected `{kw}`"));
            }
            match kw {
                "{" => {
                    self.pos += 1;
                    let body = self.parse_script(End::Brace)?;
                    self.expect_kw("}")?;
                    let redirs = self.parse_trailing_redirs()?;
                    return Ok(Command::Group { body, redirs });
                }
                "if" => return self.parse_if(),
                "while" | "until" => return self.parse_while(kw),
                "for" | "select" => return self.parse_for(kw),
                "case" => return self.parse_case(),
                "function" => return self.parse_function(),
                "[[" => return self.parse_test(),
                _ => {}
            }
        }
        if self.peek() == Some(b'(') {
            if self.peek_at(1) == Some(b'(') {
                self.pos += 2;
                self.scan_arith()?;
                let redirs = self.parse_trailing_redirs()?;
                return Ok(Command::Compound {
                    kw: Kw::Arith,
                    words: Vec::new(),
                    bodies: Vec::new(),
                    redirs,
                });
            }
            self.pos += 1;
            let body = self.parse_script(End::Paren)?;
            if self.peek() != Some(b')') {
                return self.err("unterminated `(` (missing `)`)");
            }
            self.pos += 1;
            let redirs = self.parse_trailing_redirs()?;
            return Ok(Command::Group { body, redirs });
        }
        self.parse_simple()
    }

    fn parse_if(&mut self) -> Result<Command, ParseError> {
        self.pos += 2;
        let mut bodies = vec![self.parse_script(End::Kws(KW_THEN))?];
        self.expect_kw("then")?;
        bodies.push(self.parse_script(End::Kws(KW_ELSE))?);
        loop {
            self.skip_linebreaks()?;
            if self.at_kw("elif") {
                self.pos += 4;
                bodies.push(self.parse_script(End::Kws(KW_THEN))?);
                self.expect_kw("then")?;
                bodies.push(self.parse_script(End::Kws(KW_ELSE))?);
            } else if self.at_kw("else") {
                self.pos += 4;
                bodies.push(self.parse_script(End::Kws(KW_FI))?);
            } else {
                break;
            }
        }
        self.expect_kw("fi")?;
        let redirs = self.parse_trailing_redirs()?;
        Ok(Command::Compound {
            kw: Kw::If,
            words: Vec::new(),
            bodies,
            redirs,
        })
    }

    fn parse_while(&mut self, kw: &str) -> Result<Command, ParseError> {
        self.pos += kw.len();
        let cond = self.parse_script(End::Kws(KW_DO))?;
        self.expect_kw("do")?;
        let body = self.parse_script(End::Kws(KW_DONE))?;
        self.expect_kw("done")?;
        let redirs = self.parse_trailing_redirs()?;
        Ok(Command::Compound {
            kw: if kw == "while" { Kw::While } else { Kw::Until },
            words: Vec::new(),
            bodies: vec![cond, body],
            redirs,
        })
    }

    fn parse_for(&mut self, kw: &str) -> Result<Command, ParseError> {
        self.pos += kw.len();
        self.skip_blanks();
        let mut words = Vec::new();
        let mut endless = false;
        if self.starts("((") {
            self.pos += 2;
            let start = self.pos;
            self.scan_arith()?;
            // `for ((;;))` never ends.
            let header = self
                .text
                .get(start..self.pos.saturating_sub(2))
                .unwrap_or("");
            endless = header.chars().all(|c| c == ';' || c.is_whitespace());
            self.skip_blanks();
            if self.peek() == Some(b';') {
                self.pos += 1;
            }
        } else {
            match self.lex_word(Mode::Normal)? {
                Some(name) => words.push(name),
                None => return self.err("missing loop variable after `for`"),
            }
            self.skip_linebreaks()?;
            if self.at_kw("in") {
                self.pos += 2;
                loop {
                    self.skip_blanks();
                    match self.peek() {
                        Some(b';') => {
                            self.pos += 1;
                            break;
                        }
                        Some(b'\n') => break,
                        None => return self.err("unexpected end of input (missing `do`)"),
                        _ => match self.lex_word(Mode::Normal)? {
                            Some(w) => words.push(w),
                            None => return self.err("syntax error in `for` list"),
                        },
                    }
                }
            } else if self.peek() == Some(b';') {
                self.pos += 1;
            }
        }
        self.expect_kw("do")?;
        let body = self.parse_script(End::Kws(KW_DONE))?;
        self.expect_kw("done")?;
        let redirs = self.parse_trailing_redirs()?;
        Ok(Command::Compound {
            kw: if endless { Kw::Loop } else { Kw::For },
            words,
            bodies: vec![body],
            redirs,
        })
    }

    fn parse_case(&mut self) -> Result<Command, ParseError> {
        self.pos += 4;
        self.skip_blanks();
        let mut words = Vec::new();
        match self.lex_word(Mode::Normal)? {
            Some(w) => words.push(w),
            None => return self.err("missing word after `case`"),
        }
        self.expect_kw("in")?;
        let mut bodies = Vec::new();
        loop {
            self.skip_linebreaks()?;
            if self.at_kw("esac") {
                self.pos += 4;
                break;
            }
            if self.peek().is_none() {
                return self.err("unterminated `case` (missing `esac`)");
            }
            if self.peek() == Some(b'(') {
                self.pos += 1;
            }
            loop {
                self.skip_blanks();
                match self.lex_word(Mode::Normal)? {
                    Some(w) => words.push(w),
                    None => return self.err("bad `case` pattern"),
                }
                self.skip_blanks();
                match self.peek() {
                    Some(b'|') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.err("bad `case` pattern (missing `)`)"),
                }
            }
            self.enter()?;
            bodies.push(self.parse_script(End::CaseItem)?);
            self.leave();
            self.skip_blanks();
            if self.starts(";;&") {
                self.pos += 3;
            } else if self.starts(";;") || self.starts(";&") {
                self.pos += 2;
            }
        }
        let redirs = self.parse_trailing_redirs()?;
        Ok(Command::Compound {
            kw: Kw::Case,
            words,
            bodies,
            redirs,
        })
    }

    fn parse_function(&mut self) -> Result<Command, ParseError> {
        self.pos += 8;
        self.skip_blanks();
        let name = match self.lex_word(Mode::Normal)?.and_then(|w| w.literal()) {
            Some(n) => n,
            None => return self.err("bad function name"),
        };
        self.skip_blanks();
        if self.peek() == Some(b'(') {
            self.pos += 1;
            self.skip_blanks();
            if self.peek() != Some(b')') {
                return self.err("bad function definition");
            }
            self.pos += 1;
        }
        self.skip_linebreaks()?;
        self.enter()?;
        let body = self.parse_command()?;
        self.leave();
        Ok(Command::FuncDef {
            name,
            body: Box::new(body),
        })
    }

    fn parse_test(&mut self) -> Result<Command, ParseError> {
        self.pos += 2;
        let mut words = Vec::new();
        loop {
            self.skip_blanks();
            if self.at_kw("]]") {
                self.pos += 2;
                break;
            }
            match self.peek() {
                None | Some(b'\n') => return self.err("unterminated `[[` (missing `]]`)"),
                Some(b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b'!' | b';') => self.pos += 1,
                _ => match self.lex_word(Mode::Normal)? {
                    Some(w) => words.push(w),
                    None => self.pos += 1,
                },
            }
        }
        let redirs = self.parse_trailing_redirs()?;
        Ok(Command::Compound {
            kw: Kw::Test,
            words,
            bodies: Vec::new(),
            redirs,
        })
    }

    /// Skips the inside of `((...))` / `$((...))` up to and including `))`.
    pub(crate) fn scan_arith(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            self.steps += 1;
            match self.peek() {
                None => return self.err("unterminated `((` (missing `))`)"),
                Some(b'(') => depth += 1,
                Some(b')') => {
                    if depth == 0 {
                        if self.peek_at(1) == Some(b')') {
                            self.pos += 2;
                            return Ok(());
                        }
                        return self.err("unbalanced `)` in arithmetic");
                    }
                    depth -= 1;
                }
                Some(b'`') => return self.err("command substitution inside arithmetic"),
                Some(b'$') if self.peek_at(1) == Some(b'(') && self.peek_at(2) != Some(b'(') => {
                    return self.err("command substitution inside arithmetic");
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn parse_trailing_redirs(&mut self) -> Result<Vec<Redir>, ParseError> {
        let mut redirs = Vec::new();
        loop {
            self.skip_blanks();
            if !self.try_redir(&mut redirs)? {
                return Ok(redirs);
            }
        }
    }

    /// Parses one redirection at the cursor, if there is one.
    fn try_redir(&mut self, out: &mut Vec<Redir>) -> Result<bool, ParseError> {
        let save = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        let b = self.peek();
        let is_redir = match b {
            Some(b'<' | b'>') => self.peek_at(1) != Some(b'('),
            Some(b'&') => self.peek_at(1) == Some(b'>') && self.pos == save,
            _ => false,
        };
        if !is_redir {
            self.pos = save;
            return Ok(false);
        }
        const OPS: &[(&str, RedirOp)] = &[
            ("&>>", RedirOp::Append),
            ("&>", RedirOp::Out),
            ("<<<", RedirOp::HereString),
            ("<<-", RedirOp::HereDoc),
            ("<<", RedirOp::HereDoc),
            ("<&", RedirOp::Dup),
            ("<>", RedirOp::ReadWrite),
            (">>", RedirOp::Append),
            (">|", RedirOp::Out),
            (">&", RedirOp::Dup),
            ("<", RedirOp::In),
            (">", RedirOp::Out),
        ];
        let fd: Option<u32> = self.text.get(save..self.pos).and_then(|d| d.parse().ok());
        let Some(&(s, mut op)) = OPS.iter().find(|(s, _)| self.starts(s)) else {
            return self.err("bad redirection");
        };
        self.pos += s.len();
        self.skip_blanks();
        let Some(target) = self.lex_word(Mode::Normal)? else {
            return self.err(format!("missing target after `{s}`"));
        };
        let mut heredoc = None;
        if op == RedirOp::HereDoc {
            let mut delim = String::new();
            let mut quoted = false;
            for seg in &target.segs {
                match seg {
                    Seg::Lit { text, quoted: q } => {
                        delim.push_str(text);
                        quoted |= *q;
                    }
                    Seg::Param { name, .. } => {
                        delim.push('$');
                        delim.push_str(name);
                    }
                    _ => return self.err("unsupported here-document delimiter"),
                }
            }
            let doc = Rc::new(RefCell::new(HereDoc {
                quoted,
                ..HereDoc::default()
            }));
            self.pending.push(Pending {
                doc: Rc::clone(&doc),
                delim,
                strip_tabs: s == "<<-",
            });
            heredoc = Some(doc);
        } else if op == RedirOp::Dup && s == ">&" {
            // `>&file` writes to a file; `>&2`, `>&-` duplicate descriptors.
            let lit = target.literal().unwrap_or_default();
            if !(lit == "-" || (!lit.is_empty() && lit.bytes().all(|c| c.is_ascii_digit()))) {
                op = RedirOp::Out;
            }
        }
        let fd = match (fd, s) {
            (Some(fd), _) => Some(fd),
            (None, "&>" | "&>>") => None,
            (None, _) if s.starts_with('<') => Some(0),
            (None, _) => Some(1),
        };
        out.push(Redir {
            fd,
            op,
            target,
            heredoc,
        });
        Ok(true)
    }

    /// Reads the bodies of the here-documents opened on the line just ended.
    fn read_heredocs(&mut self) -> Result<(), ParseError> {
        let pending = std::mem::take(&mut self.pending);
        for p in pending {
            let mut body = String::new();
            loop {
                if self.pos >= self.src.len() {
                    return self.err(format!(
                        "unterminated here-document (no line `{}`)",
                        p.delim
                    ));
                }
                let rest = &self.src[self.pos..];
                let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                self.steps += len as u64 + 1;
                let line = self.text.get(self.pos..self.pos + len).unwrap_or("");
                self.pos = (self.pos + len + 1).min(self.src.len());
                let line = if p.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if line.trim_end_matches('\r') == p.delim {
                    break;
                }
                body.push_str(line);
                body.push('\n');
            }
            let mut doc = p.doc.borrow_mut();
            if !doc.quoted {
                let (word, steps) = parse_dq_text(&body, self.depth + 1, self.max_depth)?;
                self.steps += steps;
                for seg in word.segs {
                    if let Seg::CmdSub { script, .. } = seg {
                        doc.subs.push(script);
                    }
                }
            }
            doc.body = body;
        }
        Ok(())
    }

    fn parse_simple(&mut self) -> Result<Command, ParseError> {
        self.commands += 1;
        if self.commands > MAX_COMMANDS {
            return self.err(format!("more than {MAX_COMMANDS} commands"));
        }
        let start = self.pos;
        let mut s = Simple::default();
        loop {
            self.skip_blanks();
            let Some(b) = self.peek() else { break };
            if self.try_redir(&mut s.redirs)? {
                continue;
            }
            let procsub = matches!(b, b'<' | b'>') && self.peek_at(1) == Some(b'(');
            if is_meta(b) && !procsub {
                break;
            }
            if s.words.is_empty() && self.try_assign(&mut s)? {
                continue;
            }
            self.words += 1;
            if self.words > MAX_WORDS {
                return self.err(format!("more than {MAX_WORDS} words"));
            }
            let Some(w) = self.lex_word(Mode::Normal)? else {
                return self.err("syntax error");
            };
            if s.words.is_empty() && s.assigns.is_empty() && s.redirs.is_empty() {
                let save = self.pos;
                self.skip_blanks();
                if self.peek() == Some(b'(') {
                    self.pos += 1;
                    self.skip_blanks();
                    if self.peek() == Some(b')') {
                        self.pos += 1;
                        let Some(name) = w.literal() else {
                            return self.err("bad function name");
                        };
                        self.skip_linebreaks()?;
                        self.enter()?;
                        let body = self.parse_command()?;
                        self.leave();
                        return Ok(Command::FuncDef {
                            name,
                            body: Box::new(body),
                        });
                    }
                    return self.err("syntax error near `(`");
                }
                self.pos = save;
            }
            s.words.push(w);
        }
        if s.words.is_empty() && s.assigns.is_empty() && s.redirs.is_empty() {
            let near = self
                .peek()
                .map(|b| (b as char).to_string())
                .unwrap_or_default();
            return self.err(format!("syntax error near `{near}`"));
        }
        s.text = shorten(self.text.get(start..self.pos).unwrap_or(""), 120);
        Ok(Command::Simple(s))
    }

    /// `NAME=value`, `NAME+=value`, `NAME[i]=value` or `NAME=(a b)`.
    fn try_assign(&mut self, s: &mut Simple) -> Result<bool, ParseError> {
        let start = self.pos;
        let mut i = start;
        match self.src.get(i) {
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => i += 1,
            _ => return Ok(false),
        }
        while let Some(b) = self.src.get(i) {
            if b.is_ascii_alphanumeric() || *b == b'_' {
                i += 1;
            } else {
                break;
            }
        }
        let name_end = i;
        if self.src.get(i) == Some(&b'[') {
            while let Some(&b) = self.src.get(i) {
                i += 1;
                if b == b']' {
                    break;
                }
            }
        }
        if self.src.get(i) == Some(&b'+') {
            i += 1;
        }
        if self.src.get(i) != Some(&b'=') {
            return Ok(false);
        }
        let name = self.text.get(start..name_end).unwrap_or("").to_string();
        self.pos = i + 1;
        if self.peek() == Some(b'(') {
            self.pos += 1;
            let mut values = Vec::new();
            loop {
                self.skip_linebreaks()?;
                match self.peek() {
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    None => return self.err("unterminated array assignment"),
                    _ => match self.lex_word(Mode::Normal)? {
                        Some(w) => values.push(w),
                        None => return self.err("syntax error in array assignment"),
                    },
                }
            }
            s.assigns.push(Assign {
                name,
                values,
                array: true,
            });
        } else {
            let value = self.lex_word(Mode::Normal)?.unwrap_or_default();
            s.assigns.push(Assign {
                name,
                values: vec![value],
                array: false,
            });
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::ast::{Command, Seg};

    fn simple_words(text: &str) -> Vec<Vec<String>> {
        let (script, _) = parse(text, 0, 40).expect("parses");
        let mut out = Vec::new();
        for item in &script.items {
            for p in &item.pipelines {
                for c in &p.cmds {
                    if let Command::Simple(s) = c {
                        out.push(
                            s.words
                                .iter()
                                .map(|w| w.literal().unwrap_or_else(|| "<expansion>".into()))
                                .collect(),
                        );
                    }
                }
            }
        }
        out
    }

    #[test]
    fn quotes_and_escapes_join_into_one_word() {
        assert_eq!(
            simple_words(r#"r''m "-r"f \/"#),
            vec![vec!["rm", "-rf", "/"]]
        );
        assert_eq!(simple_words("$'\\x72\\x6d' x"), vec![vec!["rm", "x"]]);
    }

    #[test]
    fn separators_split_commands() {
        assert_eq!(simple_words("a; b && c || d | e & f\ng").len(), 7);
    }

    #[test]
    fn substitutions_are_parsed_not_skipped() {
        let (script, _) = parse("echo \"$(rm -rf /)\" `ls`", 0, 40).expect("parses");
        let Command::Simple(s) = &script.items[0].pipelines[0].cmds[0] else {
            panic!("simple");
        };
        assert!(matches!(
            s.words[1].segs[0],
            Seg::CmdSub { quoted: true, .. }
        ));
        assert!(matches!(
            s.words[2].segs[0],
            Seg::CmdSub { quoted: false, .. }
        ));
    }

    #[test]
    fn heredoc_bodies_are_read() {
        let (script, _) =
            parse("cat <<EOF | sh\nrm -rf /\nEOF\necho after", 0, 40).expect("parses");
        assert_eq!(script.items.len(), 2);
        let Command::Simple(s) = &script.items[0].pipelines[0].cmds[0] else {
            panic!("simple");
        };
        let doc = s.redirs[0].heredoc.as_ref().expect("heredoc");
        assert_eq!(doc.borrow().body, "rm -rf /\n");
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = parse("echo 'abc", 0, 40).unwrap_err();
        assert!(e.msg.contains("single quote"), "{}", e.msg);
        assert!(
            parse("if true; then ls", 0, 40)
                .unwrap_err()
                .msg
                .contains("fi")
        );
        assert!(
            parse(&"$(".repeat(100), 0, 40)
                .unwrap_err()
                .msg
                .contains("nesting")
        );
        assert!(parse("ls )", 0, 40).is_err());
    }

    #[test]
    fn unusual_but_valid_syntax_parses() {
        for text in [
            "cat <<-EOF\n\tx\n\tEOF",
            "x=$(cat <<EOF\nhello\nEOF\n); echo \"$x\"",
            "f() ( echo sub ); f",
            "case \"$x\" in (a) echo a;; *) ;; esac",
            "if [[ \"$a\" =~ ^[0-9]+$ ]]; then echo num; fi",
            "echo \"a\nb\" 'multi\nline'",
            "ls \\\n  -la",
            "exec {fd}>/tmp/x; echo $[1+1] $(( 16#ff ))",
            "shopt -s extglob; rm !(*.txt); [[ $x == @(a|b) ]]",
        ] {
            assert!(
                parse(text, 0, 40).is_ok(),
                "{text:?}: {:?}",
                parse(text, 0, 40).err()
            );
        }
    }

    #[test]
    fn function_definitions() {
        let (script, _) = parse(":(){ :|:& };:", 0, 40).expect("parses");
        assert!(
            matches!(script.items[0].pipelines[0].cmds[0], Command::FuncDef { ref name, .. } if name == ":")
        );
    }
}
