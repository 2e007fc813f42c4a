//! Reading words: quotes, escapes, `$'...'`, `$VAR`, `${...}`, `$(...)`,
//! backticks and process substitution, as one pass over the text.
//!
//! These are methods of the parser (in `parse.rs`) because a word can hold
//! a whole nested script (`$(...)`), which the grammar parses.

use crate::ast::{ParamOp, Seg, Word};
use crate::parse::{End, ParseError, Parser, is_meta, parse};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// An ordinary word, ended by blanks and operators.
    Normal,
    /// The word inside `${X:-...}`, ended by `}` only.
    Param,
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

impl Parser<'_> {
    /// Reads one word. `None` when the cursor is at a word boundary.
    pub(crate) fn lex_word(&mut self, mode: Mode) -> Result<Option<Word>, ParseError> {
        let mut segs: Vec<Seg> = Vec::new();
        let mut lit: Vec<u8> = Vec::new();
        fn flush(segs: &mut Vec<Seg>, lit: &mut Vec<u8>, quoted: bool) {
            if !lit.is_empty() {
                segs.push(Seg::Lit {
                    text: String::from_utf8_lossy(lit).into_owned(),
                    quoted,
                });
                lit.clear();
            }
        }
        loop {
            let Some(b) = self.peek() else {
                if mode == Mode::Param {
                    return self.err("unterminated `${`");
                }
                break;
            };
            self.steps += 1;
            if mode == Mode::Normal {
                if matches!(b, b'<' | b'>')
                    && self.peek_at(1) == Some(b'(')
                    && segs.is_empty()
                    && lit.is_empty()
                {
                    self.pos += 2;
                    self.enter()?;
                    let script = self.parse_script(End::Paren)?;
                    self.leave();
                    if self.peek() != Some(b')') {
                        return self.err("unterminated process substitution");
                    }
                    self.pos += 1;
                    segs.push(Seg::ProcSub { script });
                    continue;
                }
                if b == b'(' && matches!(lit.last(), Some(b'?' | b'*' | b'+' | b'@' | b'!' | b'='))
                {
                    // An extended glob such as `!(keep)`, or an array value
                    // given to a builtin (`declare -a a=(x y)`).
                    let mut depth = 0usize;
                    loop {
                        self.steps += 1;
                        let Some(c) = self.peek() else {
                            return self.err("unterminated extended glob");
                        };
                        lit.push(c);
                        self.pos += 1;
                        if c == b'(' {
                            depth += 1;
                        } else if c == b')' {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                    }
                    continue;
                }
                if is_meta(b) {
                    break;
                }
            } else if b == b'}' {
                break;
            }
            match b {
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        None => lit.push(b'\\'),
                        Some(b'\n') => self.pos += 1,
                        Some(c) => {
                            flush(&mut segs, &mut lit, false);
                            let n = utf8_len(c);
                            let end = (self.pos + n).min(self.src.len());
                            segs.push(Seg::Lit {
                                text: String::from_utf8_lossy(&self.src[self.pos..end])
                                    .into_owned(),
                                quoted: true,
                            });
                            self.pos = end;
                        }
                    }
                }
                b'\'' => {
                    flush(&mut segs, &mut lit, false);
                    self.pos += 1;
                    let rest = &self.src[self.pos..];
                    let Some(len) = rest.iter().position(|&c| c == b'\'') else {
                        return self.err("unterminated single quote");
                    };
                    self.steps += len as u64;
                    segs.push(Seg::Lit {
                        text: self
                            .text
                            .get(self.pos..self.pos + len)
                            .unwrap_or("")
                            .to_string(),
                        quoted: true,
                    });
                    self.pos += len + 1;
                }
                b'"' => {
                    flush(&mut segs, &mut lit, false);
                    self.pos += 1;
                    let inner = self.lex_dq(Some(b'"'))?;
                    if inner.is_empty() {
                        segs.push(Seg::Lit {
                            text: String::new(),
                            quoted: true,
                        });
                    }
                    segs.extend(inner);
                }
                b'`' => {
                    flush(&mut segs, &mut lit, false);
                    let seg = self.backtick(false)?;
                    segs.push(seg);
                }
                b'$' => match self.dollar(false)? {
                    Some(seg) => {
                        flush(&mut segs, &mut lit, false);
                        segs.push(seg);
                    }
                    None => {
                        lit.push(b'$');
                        self.pos += 1;
                    }
                },
                _ => {
                    // A run of plain bytes is copied at once.
                    let start = self.pos;
                    let mut end = start + 1;
                    while let Some(&c) = self.src.get(end) {
                        if is_meta(c) || matches!(c, b'\\' | b'\'' | b'"' | b'`' | b'$' | b'}') {
                            break;
                        }
                        end += 1;
                    }
                    lit.extend_from_slice(&self.src[start..end]);
                    self.steps += (end - start - 1) as u64;
                    self.pos = end;
                }
            }
        }
        flush(&mut segs, &mut lit, false);
        Ok(if segs.is_empty() {
            None
        } else {
            Some(Word { segs })
        })
    }

    /// The inside of double quotes (ended by `term`), or of a here-document
    /// body (`term` = `None`, ended by the end of the text).
    pub(crate) fn lex_dq(&mut self, term: Option<u8>) -> Result<Vec<Seg>, ParseError> {
        let mut segs = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        fn flush(segs: &mut Vec<Seg>, buf: &mut Vec<u8>) {
            if !buf.is_empty() {
                segs.push(Seg::Lit {
                    text: String::from_utf8_lossy(buf).into_owned(),
                    quoted: true,
                });
                buf.clear();
            }
        }
        loop {
            self.steps += 1;
            let Some(b) = self.peek() else {
                if term.is_some() {
                    return self.err("unterminated double quote");
                }
                break;
            };
            if Some(b) == term {
                self.pos += 1;
                break;
            }
            match b {
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(c @ (b'$' | b'`' | b'\\')) => {
                        buf.push(c);
                        self.pos += 2;
                    }
                    Some(b'"') if term.is_some() => {
                        buf.push(b'"');
                        self.pos += 2;
                    }
                    _ => {
                        buf.push(b'\\');
                        self.pos += 1;
                    }
                },
                b'`' => {
                    flush(&mut segs, &mut buf);
                    let seg = self.backtick(true)?;
                    segs.push(seg);
                }
                b'$' => match self.dollar(true)? {
                    Some(seg) => {
                        flush(&mut segs, &mut buf);
                        segs.push(seg);
                    }
                    None => {
                        buf.push(b'$');
                        self.pos += 1;
                    }
                },
                _ => {
                    let start = self.pos;
                    let mut end = start + 1;
                    while let Some(&c) = self.src.get(end) {
                        if matches!(c, b'\\' | b'"' | b'`' | b'$') {
                            break;
                        }
                        end += 1;
                    }
                    buf.extend_from_slice(&self.src[start..end]);
                    self.steps += (end - start - 1) as u64;
                    self.pos = end;
                }
            }
        }
        flush(&mut segs, &mut buf);
        Ok(segs)
    }

    /// A `` `...` `` command substitution, parsed as its own script.
    fn backtick(&mut self, quoted: bool) -> Result<Seg, ParseError> {
        self.pos += 1;
        let mut inner: Vec<u8> = Vec::new();
        loop {
            self.steps += 1;
            match self.peek() {
                None => return self.err("unterminated backquote"),
                Some(b'`') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => match self.peek_at(1) {
                    Some(c @ (b'$' | b'`' | b'\\')) => {
                        inner.push(c);
                        self.pos += 2;
                    }
                    Some(b'"') if quoted => {
                        inner.push(b'"');
                        self.pos += 2;
                    }
                    _ => {
                        inner.push(b'\\');
                        self.pos += 1;
                    }
                },
                Some(c) => {
                    inner.push(c);
                    self.pos += 1;
                }
            }
        }
        let text = String::from_utf8_lossy(&inner).into_owned();
        let (script, steps) =
            parse(&text, self.depth + 1, self.max_depth).map_err(|e| ParseError {
                msg: format!("in backquotes: {}", e.msg),
                at: self.pos,
                steps: e.steps,
            })?;
        self.steps += steps;
        Ok(Seg::CmdSub { script, quoted })
    }

    /// A `$` expansion at the cursor; `None` when the `$` is literal.
    fn dollar(&mut self, quoted: bool) -> Result<Option<Seg>, ParseError> {
        let Some(next) = self.peek_at(1) else {
            return Ok(None);
        };
        match next {
            b'(' => {
                if self.peek_at(2) == Some(b'(') {
                    self.pos += 3;
                    self.scan_arith()?;
                    return Ok(Some(Seg::Arith));
                }
                self.pos += 2;
                self.enter()?;
                let script = self.parse_script(End::Paren)?;
                self.leave();
                if self.peek() != Some(b')') {
                    return self.err("unterminated `$(`");
                }
                self.pos += 1;
                Ok(Some(Seg::CmdSub { script, quoted }))
            }
            b'{' => {
                self.pos += 2;
                self.enter()?;
                let seg = self.braced_param(quoted)?;
                self.leave();
                Ok(Some(seg))
            }
            b'\'' if !quoted => {
                self.pos += 2;
                let text = self.ansi_c()?;
                Ok(Some(Seg::Lit { text, quoted: true }))
            }
            b'"' if !quoted => {
                // `$"..."` is a translated string: the same as `"..."`.
                self.pos += 1;
                self.pos += 1;
                let segs = self.lex_dq(Some(b'"'))?;
                let mut text = String::new();
                for s in &segs {
                    if let Seg::Lit { text: t, .. } = s {
                        text.push_str(t);
                    } else {
                        return self.err("expansion inside $\"...\" is not supported");
                    }
                }
                Ok(Some(Seg::Lit { text, quoted: true }))
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos + 1;
                let mut end = start;
                while let Some(&b) = self.src.get(end) {
                    if b.is_ascii_alphanumeric() || b == b'_' {
                        end += 1;
                    } else {
                        break;
                    }
                }
                self.steps += (end - start) as u64;
                self.pos = end;
                Ok(Some(Seg::Param {
                    name: self.text.get(start..end).unwrap_or("").to_string(),
                    op: ParamOp::Plain,
                    quoted,
                }))
            }
            c if c.is_ascii_digit()
                || matches!(c, b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') =>
            {
                self.pos += 2;
                Ok(Some(Seg::Param {
                    name: (c as char).to_string(),
                    op: ParamOp::Plain,
                    quoted,
                }))
            }
            _ => Ok(None),
        }
    }

    /// `${...}` after the `${`.
    fn braced_param(&mut self, quoted: bool) -> Result<Seg, ParseError> {
        let mut derived = false;
        if matches!(self.peek(), Some(b'#' | b'!')) && self.peek_at(1) != Some(b'}') {
            derived = true;
            self.pos += 1;
        }
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            match self.peek() {
                Some(b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') => self.pos += 1,
                _ => return self.err("bad substitution in `${...}`"),
            }
        }
        let name = self.text.get(start..self.pos).unwrap_or("").to_string();
        if self.peek() == Some(b'[') {
            derived = true;
        }
        if self.peek() == Some(b'}') {
            self.pos += 1;
            let op = if derived {
                ParamOp::Other(Word::default())
            } else {
                ParamOp::Plain
            };
            return Ok(Seg::Param { name, op, quoted });
        }
        let kind = if self.starts(":-") || self.starts(":=") {
            self.pos += 2;
            0
        } else if self.starts("-") || self.starts("=") {
            self.pos += 1;
            0
        } else if self.starts(":?") {
            self.pos += 2;
            1
        } else if self.starts("?") {
            self.pos += 1;
            1
        } else {
            2
        };
        let word = self.lex_word(Mode::Param)?.unwrap_or_default();
        if self.peek() != Some(b'}') {
            return self.err("unterminated `${`");
        }
        self.pos += 1;
        let op = match kind {
            _ if derived => ParamOp::Other(word),
            0 => ParamOp::Default(word),
            1 => ParamOp::Guarded,
            _ => ParamOp::Other(word),
        };
        Ok(Seg::Param { name, op, quoted })
    }

    /// Decodes `$'...'` after the `$'`.
    fn ansi_c(&mut self) -> Result<String, ParseError> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            self.steps += 1;
            let Some(b) = self.peek() else {
                return self.err("unterminated $'...' string");
            };
            self.pos += 1;
            match b {
                b'\'' => break,
                b'\\' => {
                    let Some(c) = self.peek() else {
                        return self.err("unterminated $'...' string");
                    };
                    self.pos += 1;
                    match c {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'a' => out.push(7),
                        b'b' => out.push(8),
                        b'e' | b'E' => out.push(27),
                        b'f' => out.push(12),
                        b'v' => out.push(11),
                        b'0'..=b'7' => {
                            let mut v = u32::from(c - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'x' | b'u' | b'U' => {
                            let max = match c {
                                b'x' => 2,
                                b'u' => 4,
                                _ => 8,
                            };
                            let mut v: u32 = 0;
                            let mut n = 0;
                            while n < max {
                                match self.peek().and_then(|d| (d as char).to_digit(16)) {
                                    Some(d) => {
                                        v = v.wrapping_mul(16).wrapping_add(d);
                                        self.pos += 1;
                                        n += 1;
                                    }
                                    None => break,
                                }
                            }
                            if n == 0 {
                                out.push(b'\\');
                                out.push(c);
                            } else if c == b'x' {
                                out.push((v & 0xff) as u8);
                            } else {
                                let ch = char::from_u32(v).unwrap_or('\u{fffd}');
                                let ch = if crate::expand::is_marker(ch) {
                                    '\u{fffd}'
                                } else {
                                    ch
                                };
                                let mut tmp = [0u8; 4];
                                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                            }
                        }
                        b'c' => {
                            if let Some(d) = self.peek() {
                                self.pos += 1;
                                out.push(d & 0x1f);
                            }
                        }
                        other => {
                            if !matches!(other, b'\\' | b'\'' | b'"' | b'?') {
                                out.push(b'\\');
                            }
                            out.push(other);
                        }
                    }
                }
                other => out.push(other),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
