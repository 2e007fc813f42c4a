//! GNU-style option parsing for the arguments of a program.
//!
//! Generic on purpose: `-rf`, `-r -f`, `-Rf`, `--recursive --force`,
//! `--opt=value`, `-ovalue`, `-o value` and `--` all land in the same place,
//! so a check asks "is `r` set" instead of matching spellings.

use crate::expand::Arg;

/// The parsed arguments of one program.
#[derive(Debug, Default)]
pub struct Opts<'a> {
    pub shorts: Vec<char>,
    /// Long options, without `--` and without their `=value`.
    pub longs: Vec<String>,
    /// Options that took a value: (name, value). Names are `x` or `long`.
    pub values: Vec<(String, &'a Arg)>,
    /// `--opt=value` values, which are not separate arguments.
    pub inline_values: Vec<(String, String)>,
    pub operands: Vec<&'a Arg>,
}

impl<'a> Opts<'a> {
    pub fn short(&self, c: char) -> bool {
        self.shorts.contains(&c)
    }

    pub fn long(&self, name: &str) -> bool {
        self.longs.iter().any(|l| l == name)
    }

    /// A long option given as a prefix (`--delete` also matches `--delete-after`).
    pub fn long_prefix(&self, prefix: &str) -> bool {
        self.longs.iter().any(|l| l.starts_with(prefix))
    }

    /// The value of an option, given either way.
    pub fn value(&self, name: &str) -> Option<String> {
        if let Some((_, a)) = self.values.iter().find(|(n, _)| n == name) {
            return Some(a.text.clone());
        }
        self.inline_values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Parses `args` (the program's arguments, without its name).
/// `short_val` lists the short options that take a value, `long_val` the
/// long ones. Options after the first operand are still options (GNU
/// permutation) unless `stop_at_operand`.
pub fn parse<'a>(
    args: &'a [Arg],
    short_val: &str,
    long_val: &[&str],
    stop_at_operand: bool,
) -> Opts<'a> {
    let mut o = Opts::default();
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        let t = a.text.as_str();
        if only_operands || !t.starts_with('-') || t == "-" {
            o.operands.push(a);
            if stop_at_operand {
                only_operands = true;
            }
            continue;
        }
        if t == "--" {
            only_operands = true;
            continue;
        }
        if let Some(long) = t.strip_prefix("--") {
            if let Some((name, value)) = long.split_once('=') {
                o.longs.push(name.to_string());
                o.inline_values.push((name.to_string(), value.to_string()));
            } else {
                o.longs.push(long.to_string());
                if long_val.contains(&long)
                    && let Some(v) = args.get(i)
                {
                    o.values.push((long.to_string(), v));
                    i += 1;
                }
            }
            continue;
        }
        let chars: Vec<char> = t[1..].chars().collect();
        for (k, &c) in chars.iter().enumerate() {
            o.shorts.push(c);
            if short_val.contains(c) {
                let rest: String = chars[k + 1..].iter().collect();
                if rest.is_empty() {
                    if let Some(v) = args.get(i) {
                        o.values.push((c.to_string(), v));
                        i += 1;
                    }
                } else {
                    o.inline_values.push((c.to_string(), rest));
                }
                break;
            }
        }
    }
    o
}

/// The last path component of a program name: `/usr/bin/rm` is `rm`.
pub fn basename(s: &str) -> &str {
    let s = s.trim_end_matches('/');
    s.rsplit('/').next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::expand::Arg;

    fn a(s: &str) -> Vec<Arg> {
        s.split_whitespace().map(Arg::lit).collect()
    }

    #[test]
    fn flag_spellings_are_equivalent() {
        for s in [
            "-rf /",
            "-r -f /",
            "-fr /",
            "--recursive --force /",
            "/ -Rf",
            "-r -- /",
        ] {
            let args = a(s);
            let o = parse(&args, "", &[], false);
            assert!(o.short('r') || o.short('R') || o.long("recursive"), "{s}");
            assert_eq!(o.operands.len(), 1, "{s}");
        }
    }

    #[test]
    fn values_attached_or_separate() {
        let args = a("-n 5 -s9 --signal=KILL --lines 3 x");
        let o = parse(&args, "ns", &["lines"], false);
        assert_eq!(o.value("n").as_deref(), Some("5"));
        assert_eq!(o.value("s").as_deref(), Some("9"));
        assert_eq!(o.value("signal").as_deref(), Some("KILL"));
        assert_eq!(o.value("lines").as_deref(), Some("3"));
        assert_eq!(o.operands.len(), 1);
    }
}
