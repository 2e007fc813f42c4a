//! Glob matching without backtracking.
//!
//! Used for shell globs met in commands (`/[a-z]*` may name `/usr`) and for
//! the patterns of configured rules. It runs in O(pattern × text) time with a
//! set of reachable text positions, so no pattern can make it exponential.
//! In `path` mode `*` and `?` stop at `/` while `**` crosses it.

#[derive(Debug)]
enum Tok {
    Lit(char),
    Any,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Star,
    DStar,
}

fn tokenize(pat: &str) -> Vec<Tok> {
    let chars: Vec<char> = pat.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' => {
                if chars.get(i + 1) == Some(&'*') {
                    while chars.get(i + 1) == Some(&'*') {
                        i += 1;
                    }
                    toks.push(Tok::DStar);
                } else {
                    toks.push(Tok::Star);
                }
            }
            '?' => toks.push(Tok::Any),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                toks.push(Tok::Lit(chars[i]));
            }
            '[' => match class(&chars, i) {
                Some((tok, end)) => {
                    toks.push(tok);
                    i = end;
                }
                None => toks.push(Tok::Lit('[')),
            },
            _ => toks.push(Tok::Lit(c)),
        }
        i += 1;
    }
    toks
}

/// Parses `[...]` starting at `start`; returns the token and the index of `]`.
fn class(chars: &[char], start: usize) -> Option<(Tok, usize)> {
    let mut i = start + 1;
    let mut negated = false;
    if matches!(chars.get(i), Some('!' | '^')) {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    let first = i;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && i > first {
            return Some((Tok::Class { ranges, negated }, i));
        }
        if c == '[' && chars.get(i + 1) == Some(&':') {
            // A POSIX class such as `[:alpha:]`: taken as any character.
            let close = (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == ':' && chars[j + 1] == ']')?;
            ranges.push(('\0', char::MAX));
            i = close + 2;
            continue;
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

/// True when the whole of `text` matches the glob `pat`.
pub fn matches(pat: &str, text: &str, path: bool) -> bool {
    let toks = tokenize(pat);
    let text: Vec<char> = text.chars().collect();
    let n = text.len();
    let mut cur = vec![false; n + 1];
    cur[0] = true;
    let mut next = vec![false; n + 1];
    for tok in &toks {
        next.iter_mut().for_each(|x| *x = false);
        match tok {
            Tok::Star | Tok::DStar => {
                let cross = matches!(tok, Tok::DStar) || !path;
                for i in 0..=n {
                    next[i] = cur[i] || (i > 0 && next[i - 1] && (cross || text[i - 1] != '/'));
                }
            }
            _ => {
                for i in 0..n {
                    if !cur[i] {
                        continue;
                    }
                    let c = text[i];
                    let ok = match tok {
                        Tok::Lit(l) => *l == c,
                        Tok::Any => !(path && c == '/'),
                        Tok::Class { ranges, negated } => {
                            ranges.iter().any(|&(a, b)| a <= c && c <= b) != *negated
                                && !(path && c == '/')
                        }
                        Tok::Star | Tok::DStar => false,
                    };
                    if ok {
                        next[i + 1] = true;
                    }
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
        if !cur.iter().any(|&x| x) {
            return false;
        }
    }
    cur[n]
}

/// Expands `{a,b}` alternatives in a configured pattern (not nested; at
/// most 64 results), so rules can say `{rm,shred}` or `{namespace,ns}`.
pub fn alternatives(pat: &str) -> Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut rest = pat;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            return Err("unclosed `{`".to_string());
        };
        let inner = &rest[open + 1..close];
        if inner.contains('{') {
            return Err("nested `{` alternatives are not supported".to_string());
        }
        let prefix = &rest[..open];
        let mut next = Vec::new();
        for o in &out {
            for alt in inner.split(',') {
                next.push(format!("{o}{prefix}{alt}"));
            }
        }
        if next.len() > 64 {
            return Err("more than 64 alternatives".to_string());
        }
        out = next;
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("unmatched `}`".to_string());
    }
    for o in &mut out {
        o.push_str(rest);
    }
    for o in &out {
        validate(o)?;
    }
    Ok(out)
}

/// Checks a configured pattern; returns why it is bad.
pub fn validate(pat: &str) -> Result<(), String> {
    if pat.is_empty() {
        return Err("empty pattern".to_string());
    }
    if pat.chars().count() > 256 {
        return Err("pattern longer than 256 characters".to_string());
    }
    let chars: Vec<char> = pat.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => match class(&chars, i) {
                Some((_, end)) => i = end,
                None => return Err(format!("unclosed `[` at character {}", i + 1)),
            },
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn basics() {
        assert!(matches("*", "abc", false));
        assert!(matches("destroy*", "destroy", false));
        assert!(!matches("destroy*", "plan", false));
        assert!(matches("[a-z]*", "usr", false));
        assert!(!matches("[!u]*", "usr", false));
        assert!(matches("/srv/**", "/srv/a/b", true));
        assert!(!matches("/srv/*", "/srv/a/b", true));
        assert!(matches("/srv/*", "/srv/a", true));
        assert!(matches("?sr", "usr", false));
        assert!(matches("[[:alpha:]]*", "usr", false));
    }

    #[test]
    fn no_blowup() {
        let pat = "*a".repeat(100);
        let text = "a".repeat(5000) + "b";
        assert!(!matches(&pat, &text, false));
    }
}
