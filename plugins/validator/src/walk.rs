//! Walks a parsed command line the way the shell would run it.
//!
//! It keeps the little state that changes what later commands mean
//! (variables assigned literally, the current directory after `cd`, files
//! just downloaded, defined functions), follows what flows through pipes
//! (literal text, downloaded or decoded bytes), expands each simple command,
//! looks through wrappers to the program really run and hands it to the
//! category checks. Recursion follows the parse tree, whose depth the parser
//! bounds, plus nested shells, which count against the same bound.

use crate::args::basename;
use crate::ast::{Command, Kw, Pipeline, RedirOp, Script, Seg, Simple, Word};
use crate::category::{Category, CmdCtx, Finding, Source};
use crate::effects::{Effect, Kind};
use crate::expand::{self, Arg, Env};
use crate::path::{self, Base, NPath};
use crate::policy::Policy;
use crate::{categories, parse, wrappers};

/// What a command's standard input or output carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    /// Nothing known to be piped.
    None,
    /// Text visible in the command line (`echo ...`, a here-document).
    Literal(String),
    /// Some file or program output: not visible, not suspicious.
    Opaque,
    /// Text computed at run time from unknown values (`echo "$X"`).
    Computed(String),
    /// Downloaded or decoded bytes; the string says from where.
    Tainted(String),
    /// Path names (from `find`), for `xargs`.
    Paths(Vec<String>),
}

/// Most findings kept for one command line.
const MAX_FINDINGS: usize = 32;
/// Most wrappers looked through for one command.
const MAX_HOPS: usize = 16;
/// Most values a `for` loop is unrolled for.
const MAX_UNROLL: usize = 16;

pub struct Walker<'a> {
    pub policy: &'a Policy,
    pub node: Option<&'a str>,
    /// Variables assigned in the command line: `Some` when literal.
    vars: Vec<(String, Option<String>)>,
    pub cwd: Option<NPath>,
    pub findings: Vec<Finding>,
    pub steps: u64,
    /// Current nesting (parse-tree depth plus nested shells).
    nest: usize,
    shell_depth: usize,
    unrolling: bool,
    /// Files written from downloaded or decoded content.
    pub downloads: Vec<String>,
    /// The command being judged, for allow rules (kept only when some
    /// allow rule names categories).
    cur: Option<CmdCtx>,
    keep_ctx: bool,
    /// The text of the pipeline being walked, for reasons about pipes.
    pub pipe_text: String,
    brace_budget: usize,
    limit_hit: bool,
    /// Functions defined so far: bodies are judged when called.
    funcs: Vec<(String, std::rc::Rc<Command>)>,
    /// The arguments of the function being called (`$@`, `$1`...).
    positional: Option<Vec<Arg>>,
    call_depth: usize,
    /// Functions being called, innermost last.
    call_stack: Vec<String>,
    /// Function calls judged so far (each walks the body again).
    calls: usize,
    /// Simple commands walked so far.
    walked: usize,
    /// What each process substitution outputs, by script identity.
    procsubs: Vec<(usize, Feed, std::rc::Rc<Script>)>,
}

/// Most simple commands walked for one command line, counting each
/// unrolled loop pass and function call again.
const MAX_WALKED: usize = 4_000;
/// Most simple commands an unrolled loop may walk (values × body size).
const MAX_UNROLL_WORK: usize = 512;

/// The number of simple commands in a script (stops counting at 10,000).
fn count_commands(s: &Script) -> usize {
    fn cmd(c: &Command) -> usize {
        match c {
            Command::Simple(_) => 1,
            Command::Group { body, .. } => count_commands(body),
            Command::FuncDef { .. } => 1,
            Command::Compound { bodies, .. } => bodies.iter().map(count_commands).sum(),
        }
    }
    let mut n = 0;
    for item in &s.items {
        for p in &item.pipelines {
            for c in &p.cmds {
                n += cmd(c);
                if n > 10_000 {
                    return n;
                }
            }
        }
    }
    n
}

/// Most nested function calls followed.
const MAX_CALL_DEPTH: usize = 8;
/// Most function calls judged in one command line: calls can fan out
/// (`f(){ g;g;g; }`), so past this the command is refused, not judged.
const MAX_CALLS: usize = 64;

impl Env for Walker<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    }

    fn cwd_text(&self) -> Option<String> {
        match &self.cwd {
            Some(p) if p.base != Base::Rel => Some(p.display()),
            _ => None,
        }
    }
}

impl<'a> Walker<'a> {
    pub fn new(policy: &'a Policy, node: Option<&'a str>) -> Self {
        Walker {
            policy,
            node,
            vars: Vec::new(),
            cwd: None,
            findings: Vec::new(),
            steps: 0,
            nest: 0,
            shell_depth: 0,
            unrolling: false,
            downloads: Vec::new(),
            cur: None,
            pipe_text: String::new(),
            keep_ctx: policy.allow.iter().any(|r| !r.categories.is_empty()),
            brace_budget: expand::MAX_BRACE_CHARS,
            limit_hit: false,
            funcs: Vec::new(),
            positional: None,
            call_depth: 0,
            call_stack: Vec::new(),
            calls: 0,
            walked: 0,
            procsubs: Vec::new(),
        }
    }

    /// Records a finding of a built-in category.
    pub fn find(&mut self, cat: Category, what: impl Into<String>, fragment: &str) {
        let what = what.into();
        let source = Source::Builtin(cat);
        if self
            .findings
            .iter()
            .any(|f| f.source == source && f.what == what && f.fragment == fragment)
        {
            return;
        }
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding {
                source,
                what,
                fragment: fragment.to_string(),
                ctx: self.cur.clone(),
            });
        }
    }

    pub fn push_finding(&mut self, f: Finding) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(f);
        }
    }

    /// Counts work; past the bound the command is refused, not judged.
    fn tick(&mut self, n: u64) -> bool {
        self.steps += n;
        if self.steps > self.policy.limits.max_steps {
            if !self.limit_hit {
                self.limit_hit = true;
                self.find(
                    Category::ParseErrors,
                    "command too complex to judge (work bound reached)",
                    "",
                );
            }
            return false;
        }
        true
    }

    /// Judges a whole script: the entry point.
    pub fn walk_top(&mut self, script: &Script) {
        self.walk_script(script, &Feed::None);
    }

    /// Parses and walks the text of a nested shell (`bash -c`, `eval`, ...).
    pub fn walk_nested(&mut self, text: &str, fragment: &str) {
        self.nested(text, fragment, false, &Feed::None);
    }

    /// Like `walk_nested`, with the outer command's stdin passed on
    /// (`ssh host bash <<EOF`).
    pub fn walk_nested_with_stdin(&mut self, text: &str, fragment: &str, feed: &Feed) {
        self.nested(text, fragment, false, feed);
    }

    /// Like `walk_nested`, for strings found in interpreter code that may
    /// not be shell at all: text that does not parse is ignored.
    pub fn walk_code_string(&mut self, text: &str, fragment: &str) {
        self.nested(text, fragment, true, &Feed::None);
    }

    fn nested(&mut self, text: &str, fragment: &str, lenient: bool, feed: &Feed) {
        if self.shell_depth >= self.policy.limits.max_shell_depth {
            self.find(
                Category::ParseErrors,
                format!(
                    "nested shells deeper than {} levels",
                    self.policy.limits.max_shell_depth
                ),
                fragment,
            );
            return;
        }
        if !self.tick(text.len() as u64) {
            return;
        }
        match parse::parse(text, self.nest, self.policy.limits.max_depth) {
            Ok((script, steps)) => {
                self.tick(steps);
                let vars = self.vars.clone();
                let cwd = self.cwd.clone();
                self.shell_depth += 1;
                self.walk_script(&script, feed);
                self.shell_depth -= 1;
                self.vars = vars;
                self.cwd = cwd;
            }
            Err(_) if lenient => {}
            Err(e) => self.find(
                Category::ParseErrors,
                format!("cannot parse nested command: {}", e.msg),
                fragment,
            ),
        }
    }

    pub fn walk_script(&mut self, script: &Script, feed: &Feed) -> Feed {
        // Function calls add their bodies' depth to the caller's: bound the
        // total so the walk cannot exhaust the (small) WebAssembly stack.
        if self.nest >= self.policy.limits.max_depth + 8 {
            self.find(
                Category::ParseErrors,
                format!(
                    "nesting depth exceeds {} levels",
                    self.policy.limits.max_depth
                ),
                "",
            );
            return Feed::Opaque;
        }
        self.nest += 1;
        let mut out = Feed::None;
        for item in &script.items {
            for p in &item.pipelines {
                out = self.walk_pipeline(p, feed);
            }
        }
        self.nest -= 1;
        out
    }

    fn walk_pipeline(&mut self, p: &Pipeline, feed_in: &Feed) -> Feed {
        let mut feed = feed_in.clone();
        let outer = if p.text.is_empty() {
            None
        } else {
            Some(std::mem::replace(&mut self.pipe_text, p.text.clone()))
        };
        for (i, cmd) in p.cmds.iter().enumerate() {
            let input = if i == 0 { feed_in.clone() } else { feed };
            feed = self.walk_command(cmd, &input);
        }
        if let Some(o) = outer {
            self.pipe_text = o;
        }
        feed
    }

    fn walk_command(&mut self, cmd: &Command, feed: &Feed) -> Feed {
        if !self.tick(1) {
            return Feed::Opaque;
        }
        match cmd {
            Command::Simple(s) => self.walk_simple(s, feed),
            Command::Group { body, redirs } => {
                let mut feed = feed.clone();
                for r in redirs {
                    self.walk_word_subs(&r.target);
                    if let Some(f) = self.redirect("", r) {
                        feed = f;
                    }
                }
                self.walk_script(body, &feed)
            }
            Command::FuncDef { name, body } => {
                // The body is judged where the function is called, with its
                // arguments; a function never called never runs.
                categories::fork_bomb::check_function(self, name, body);
                self.funcs.retain(|(n, _)| n != name);
                if self.funcs.len() < 64 {
                    self.funcs
                        .push((name.clone(), std::rc::Rc::new((**body).clone())));
                }
                Feed::None
            }
            Command::Compound {
                kw,
                words,
                bodies,
                redirs,
            } => {
                for w in words {
                    self.walk_word_subs(w);
                }
                let mut feed = feed.clone();
                for r in redirs {
                    self.walk_word_subs(&r.target);
                    if let Some(f) = self.redirect("", r) {
                        feed = f;
                    }
                }
                if matches!(kw, Kw::While | Kw::Until | Kw::Loop) {
                    categories::fork_bomb::check_loop(self, *kw, bodies);
                }
                if *kw == Kw::For && !words.is_empty() {
                    self.walk_for(words, bodies, &feed);
                    return Feed::Opaque;
                }
                self.nest += 1;
                for b in bodies {
                    self.walk_script(b, &feed);
                }
                self.nest -= 1;
                Feed::Opaque
            }
        }
    }

    /// `for NAME in LIST`: walks the body once per literal value, so
    /// `for d in / /usr; do rm -rf $d; done` is seen for what it is.
    fn walk_for(&mut self, words: &[Word], bodies: &[Script], feed: &Feed) {
        let name = words[0].literal().unwrap_or_default();
        let mut values = Vec::new();
        let mut known = !self.unrolling;
        for w in &words[1..] {
            match self.expand(w, "") {
                Some(args) => {
                    for a in args {
                        if a.exact {
                            values.push(a.text);
                        } else {
                            known = false;
                        }
                    }
                }
                None => known = false,
            }
        }
        known &= values.len() <= MAX_UNROLL
            && values.len() * bodies.iter().map(count_commands).sum::<usize>() <= MAX_UNROLL_WORK;
        self.nest += 1;
        if known && !values.is_empty() {
            self.unrolling = true;
            for v in values {
                self.set_var(&name, Some(v));
                for b in bodies {
                    self.walk_script(b, feed);
                }
            }
            self.unrolling = false;
        } else {
            self.set_var(&name, None);
            for b in bodies {
                self.walk_script(b, feed);
            }
        }
        self.nest -= 1;
    }

    fn set_var(&mut self, name: &str, value: Option<String>) {
        if let Some(e) = self.vars.iter_mut().find(|(n, _)| n == name) {
            e.1 = value;
        } else if self.vars.len() < 256 {
            self.vars.push((name.to_string(), value));
        }
    }

    pub fn is_function(&self, name: &str) -> bool {
        self.funcs.iter().any(|(n, _)| n == name)
    }

    /// Judges a call of a defined function with its arguments bound.
    pub fn call_function(&mut self, name: &str, args: &[Arg]) {
        let Some(body) = self
            .funcs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| std::rc::Rc::clone(b))
        else {
            return;
        };
        if self.call_depth >= MAX_CALL_DEPTH || self.call_stack.iter().any(|n| n == name) {
            // Recursion: the body is being judged already, and the
            // fork-bomb check has looked at it.
            return;
        }
        self.calls += 1;
        if self.calls > MAX_CALLS {
            self.find(
                Category::ParseErrors,
                format!("more than {MAX_CALLS} function calls to judge"),
                "",
            );
            return;
        }
        self.call_stack.push(name.to_string());
        let saved = self.positional.replace(args.to_vec());
        let saved_vars: Vec<(String, Option<String>)> = (1..=9)
            .map(|i| (i.to_string(), self.var(&i.to_string())))
            .collect();
        for i in 1..=9usize {
            let v = args.get(i - 1).filter(|a| a.exact).map(|a| a.text.clone());
            self.set_var(&i.to_string(), v);
        }
        self.call_depth += 1;
        self.nest += 1;
        self.walk_command(&body, &Feed::None);
        self.nest -= 1;
        self.call_depth -= 1;
        self.call_stack.pop();
        for (n, v) in saved_vars {
            self.set_var(&n, v);
        }
        self.positional = saved;
    }

    /// `sh -c STRING NAME ARGS...`: the string runs with `$0`, `$1`, ...
    /// bound to the arguments that follow it.
    pub fn walk_nested_args(&mut self, text: &str, fragment: &str, args: &[Arg]) {
        let saved = self
            .positional
            .replace(args.get(1..).unwrap_or(&[]).to_vec());
        let saved_vars: Vec<(String, Option<String>)> = (0..=9)
            .map(|i| (i.to_string(), self.var(&i.to_string())))
            .collect();
        for i in 0..=9usize {
            let v = args.get(i).filter(|a| a.exact).map(|a| a.text.clone());
            self.set_var(&i.to_string(), v);
        }
        self.walk_nested(text, fragment);
        for (n, v) in saved_vars {
            self.set_var(&n, v);
        }
        self.positional = saved;
    }

    /// What the process substitution with this identity outputs.
    pub fn procsub_output(&self, id: usize) -> Feed {
        self.procsubs
            .iter()
            .find(|(i, ..)| *i == id)
            .map(|(_, f, _)| f.clone())
            .unwrap_or(Feed::Opaque)
    }

    /// Walks an output process substitution (`>(sh)`) again, now knowing
    /// what is written into it.
    pub fn feed_procsub(&mut self, id: usize, feed: &Feed) {
        if matches!(feed, Feed::None | Feed::Opaque) {
            return;
        }
        let Some(script) = self
            .procsubs
            .iter()
            .find(|(i, ..)| *i == id)
            .map(|(_, _, s)| std::rc::Rc::clone(s))
        else {
            return;
        };
        self.nest += 1;
        self.walk_script(&script, feed);
        self.nest -= 1;
    }

    /// Walks the command substitutions inside a word: they run first.
    fn walk_word_subs(&mut self, w: &Word) {
        for seg in &w.segs {
            match seg {
                Seg::CmdSub { script, .. } => {
                    self.nest += 1;
                    self.walk_script(script, &Feed::None);
                    self.nest -= 1;
                }
                Seg::ProcSub { script } => {
                    self.nest += 1;
                    let out = self.walk_script(script, &Feed::None);
                    self.nest -= 1;
                    if self.procsubs.len() < 64 {
                        let id = script as *const _ as usize;
                        self.procsubs
                            .push((id, out, std::rc::Rc::new(script.clone())));
                    }
                }
                Seg::Param {
                    op: crate::ast::ParamOp::Default(w) | crate::ast::ParamOp::Other(w),
                    ..
                } => self.walk_word_subs(w),
                _ => {}
            }
        }
    }

    /// Expands a word; an expansion error becomes a finding.
    pub fn expand(&mut self, w: &Word, fragment: &str) -> Option<Vec<Arg>> {
        if let (Some(pos), [Seg::Param { name, .. }]) = (&self.positional, w.segs.as_slice())
            && (name == "@" || name == "*")
        {
            return Some(pos.clone());
        }
        let mut budget = self.brace_budget;
        let r = expand::expand_word(w, self, &mut budget);
        self.brace_budget = budget;
        match r {
            Ok(args) => {
                let n: usize = args.iter().map(|a| a.text.len() + 1).sum();
                self.tick(n as u64);
                Some(args)
            }
            Err(e) => {
                self.find(
                    Category::ParseErrors,
                    format!("cannot expand: {}", e.0),
                    fragment,
                );
                None
            }
        }
    }

    /// One argument for a redirection target (the first if several).
    fn expand_one(&mut self, w: &Word, fragment: &str) -> Arg {
        self.expand(w, fragment)
            .and_then(|v| v.into_iter().next())
            .unwrap_or_else(Arg::unknown)
    }

    /// Applies a redirection: checks writes, returns the new stdin if any.
    fn redirect(&mut self, fragment: &str, r: &crate::ast::Redir) -> Option<Feed> {
        match r.op {
            RedirOp::In if r.fd == Some(0) => {
                let a = self.expand_one(&r.target, fragment);
                if let Some(id) = a.procsub {
                    // `bash < <(curl ...)`: stdin is what the substitution outputs.
                    Some(self.procsub_output(id))
                } else if crate::feeds::is_downloaded(self, &a.text) {
                    Some(Feed::Tainted(format!(
                        "file {} downloaded earlier",
                        a.display()
                    )))
                } else {
                    Some(Feed::Opaque)
                }
            }
            RedirOp::HereString => {
                let a = self.expand_one(&r.target, fragment);
                Some(if a.exact {
                    Feed::Literal(a.text)
                } else {
                    Feed::Computed(a.display())
                })
            }
            RedirOp::HereDoc => r
                .heredoc
                .as_ref()
                .map(|d| Feed::Literal(d.borrow().body.clone())),
            RedirOp::Out | RedirOp::Append | RedirOp::ReadWrite => {
                let arg = self.expand_one(&r.target, fragment);
                let kind = if r.op == RedirOp::Append {
                    Kind::Append
                } else {
                    Kind::Overwrite
                };
                self.check_effect(&Effect { kind, arg }, fragment);
                None
            }
            _ => None,
        }
    }

    fn walk_simple(&mut self, s: &Simple, feed: &Feed) -> Feed {
        let frag = s.text.as_str();
        // Loops and function calls walk bodies again: bound the total so a
        // short command cannot make the walk slow.
        self.walked += 1;
        if self.walked > MAX_WALKED {
            if !self.limit_hit {
                self.limit_hit = true;
                self.find(
                    Category::ParseErrors,
                    format!(
                        "command too complex to judge (more than {MAX_WALKED} commands to walk)"
                    ),
                    "",
                );
            }
            return Feed::Opaque;
        }
        for a in &s.assigns {
            for w in &a.values {
                self.walk_word_subs(w);
            }
        }
        for w in &s.words {
            self.walk_word_subs(w);
        }
        for r in &s.redirs {
            self.walk_word_subs(&r.target);
            if let Some(doc) = &r.heredoc {
                let subs = doc.borrow().subs.clone();
                for sub in &subs {
                    self.nest += 1;
                    self.walk_script(sub, &Feed::None);
                    self.nest -= 1;
                }
            }
        }
        let saved = (!s.words.is_empty() && !s.assigns.is_empty()).then(|| self.vars.clone());
        for a in &s.assigns {
            let value = if a.array {
                None
            } else {
                match a.values.first() {
                    Some(w) => self
                        .expand(w, frag)
                        .and_then(|v| v.into_iter().next())
                        .filter(|a| a.exact)
                        .map(|a| a.text),
                    None => Some(String::new()),
                }
            };
            self.set_var(&a.name, value);
        }
        let mut args = Vec::new();
        for w in &s.words {
            match self.expand(w, frag) {
                Some(v) => args.extend(v),
                None => {
                    if let Some(v) = saved {
                        self.vars = v;
                    }
                    return Feed::Opaque;
                }
            }
        }
        let mut feed = feed.clone();
        let mut stdout_file: Option<Option<String>> = None;
        let mut stdout_procsub: Option<usize> = None;
        for r in &s.redirs {
            if let Some(f) = self.redirect(frag, r) {
                feed = f;
            }
            if matches!(r.op, RedirOp::Out | RedirOp::Append) && matches!(r.fd, None | Some(1)) {
                let a = self.expand_one(&r.target, frag);
                stdout_procsub = a.procsub;
                stdout_file = Some(a.exact.then_some(a.text));
            }
        }
        let out = if args.is_empty() {
            Feed::None
        } else {
            self.eval_argv(args, &feed, frag, false)
        };
        self.cur = None;
        if let Some(v) = saved {
            self.vars = v;
        }
        if let Some(id) = stdout_procsub {
            // `echo 'rm -rf /' > >(sh)`: the output feeds that script.
            self.feed_procsub(id, &out);
        }
        match stdout_file {
            Some(file) => {
                if let (Feed::Tainted(_), Some(f)) = (&out, file) {
                    self.downloads.push(f);
                }
                Feed::None
            }
            None => out,
        }
    }

    /// Runs an argument vector: looks through wrappers, then checks the
    /// program really run. `recursive` marks commands applied to whole
    /// trees (by `find -exec` without a filter).
    pub fn eval_argv(&mut self, args: Vec<Arg>, feed: &Feed, frag: &str, recursive: bool) -> Feed {
        let mut args = args;
        let mut feed = feed.clone();
        let mut hops = 0;
        loop {
            if args.is_empty() {
                return Feed::None;
            }
            hops += 1;
            if hops > MAX_HOPS || !self.tick(1) {
                self.find(
                    Category::ParseErrors,
                    format!("more than {MAX_HOPS} nested wrappers"),
                    frag,
                );
                return Feed::Opaque;
            }
            let a0 = &args[0];
            let prog = if a0.exact && !a0.computed {
                a0.text.clone()
            } else if let Some(h) = &a0.hint {
                h.clone()
            } else if let Some(base) = a0
                .text
                .rsplit_once('/')
                .map(|(_, b)| b)
                .filter(|b| !b.is_empty() && !b.chars().any(expand::is_marker))
            {
                // `"$VENV/bin/python"`, `$(dirname "$0")/run.sh`: the
                // directory is unknown but the program is not.
                base.to_string()
            } else {
                self.find(
                    Category::HiddenExecution,
                    format!(
                        "the program to run is computed at run time ({})",
                        a0.display()
                    ),
                    frag,
                );
                return Feed::Opaque;
            };
            let name = basename(&prog).to_string();
            if prog.contains('/') && crate::feeds::is_downloaded(self, &prog) {
                self.find(
                    Category::HiddenExecution,
                    format!("runs {prog}, written from downloaded content"),
                    frag,
                );
            }
            if self.keep_ctx {
                self.cur = Some(CmdCtx {
                    program: name.clone(),
                    args: args[1..].to_vec(),
                });
            }
            crate::rules::check(self, &name, &args[1..], frag);
            match wrappers::step(self, &name, &args, &feed, frag) {
                wrappers::Step::Next(next, f) => {
                    args = next;
                    feed = f;
                }
                wrappers::Step::Done(out) => return out,
                wrappers::Step::Exec => break,
            }
        }
        let name = basename(&args[0].text).to_string();
        let name = if args[0].exact && !args[0].computed {
            name
        } else {
            args[0].hint.clone().unwrap_or(name)
        };
        categories::check(self, &name, &args[1..], &feed, frag, recursive)
    }

    /// Judges one file effect against every category.
    pub fn check_effect(&mut self, e: &Effect, frag: &str) {
        categories::check_effect(self, e, frag);
    }

    /// Normalises a path argument against the known current directory.
    pub fn norm(&self, text: &str) -> Option<NPath> {
        path::normalize(text, self.cwd.as_ref())
    }
}
