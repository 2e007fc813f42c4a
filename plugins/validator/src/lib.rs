//! The default validator plugin of cluster-exec.
//!
//! A command is parsed the way bash would parse it, expanded as far as it
//! can be without running anything, looked through to the programs really
//! run (past wrappers and nested shells) and judged by category. All of
//! that is plain Rust, tested natively; `glue.rs` is the only WebAssembly
//! part. See `POLICY.md` for what is denied and why.

pub mod args;
pub mod ast;
pub mod categories;
pub mod category;
pub mod config;
pub mod effects;
pub mod expand;
pub mod feeds;
pub mod glob;
pub mod lex;
pub mod parse;
pub mod path;
pub mod policy;
pub mod rules;
pub mod shells;
pub mod walk;
pub mod wrappers;

#[cfg(target_arch = "wasm32")]
mod glue;

use category::{Category, Finding, Mode, Source};
use policy::Policy;

/// The answer for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(String),
    Ask(String),
}

/// Work done for one command, for the linearity tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub steps: u64,
}

/// Judges `command`, run on `node` if known.
pub fn judge(policy: &Policy, command: &str, node: Option<&str>) -> Verdict {
    judge_with_stats(policy, command, node).0
}

fn parse_error(msg: String) -> Verdict {
    Verdict::Deny(format!("{}: {msg}", Category::ParseErrors.name()))
}

/// Like `judge`, also returning how much work it took.
pub fn judge_with_stats(policy: &Policy, command: &str, node: Option<&str>) -> (Verdict, Stats) {
    let mut stats = Stats::default();
    let len = command.len();
    let refuse = |msg: String| match policy.mode(Category::ParseErrors) {
        Mode::Ask => Verdict::Ask(format!("{}: {msg}", Category::ParseErrors.name())),
        _ => parse_error(msg),
    };
    if len > policy.limits.max_bytes {
        return (
            refuse(format!(
                "command too large to judge ({len} bytes, size limit {})",
                policy.limits.max_bytes
            )),
            stats,
        );
    }
    if let Some(i) = command.find(|c: char| c == '\0' || expand::is_marker(c)) {
        return (refuse(format!("unsupported character at byte {i}")), stats);
    }
    let mut policy_run = policy.clone();
    policy_run.limits.max_steps = 64 * (len as u64).max(1024) + 1_000_000;
    let (script, steps) = match parse::parse(command, 0, policy.limits.max_depth) {
        Ok(x) => x,
        Err(e) => {
            stats.steps = e.steps;
            if let Some(name) = categories::fork_bomb::in_raw_text(command) {
                let reason = format!(
                    "{}: function `{name}` starts copies of itself without end (does not parse as bash either)",
                    Category::ForkBomb.name()
                );
                if policy.mode(Category::ForkBomb) != Mode::Off {
                    return (Verdict::Deny(reason), stats);
                }
            }
            return (
                refuse(format!("cannot parse: {} (at byte {})", e.msg, e.at)),
                stats,
            );
        }
    };
    stats.steps = steps;
    let mut w = walk::Walker::new(&policy_run, node);
    w.steps = steps;
    w.walk_top(&script);
    stats.steps = w.steps;
    let findings = std::mem::take(&mut w.findings);
    (resolve(policy, &findings, node), stats)
}

/// True when an allow rule takes this built-in finding away.
fn allowed(policy: &Policy, f: &Finding, cat: Category, node: Option<&str>) -> bool {
    let Some(ctx) = &f.ctx else { return false };
    policy.allow.iter().any(|r| {
        r.categories.contains(&cat) && rules::matches(r, &ctx.program, &ctx.args, node, None, false)
    })
}

/// Turns findings into a verdict: deny beats ask beats allow.
fn resolve(policy: &Policy, findings: &[Finding], node: Option<&str>) -> Verdict {
    let mut denies = Vec::new();
    let mut asks = Vec::new();
    for f in findings {
        let mode = match &f.source {
            Source::Builtin(c) => {
                if *c != Category::ParseErrors && allowed(policy, f, *c, node) {
                    continue;
                }
                policy.mode(*c)
            }
            Source::Rule { ask: true, .. } => Mode::Ask,
            Source::Rule { ask: false, .. } => Mode::Deny,
        };
        match mode {
            Mode::Deny => denies.push(f),
            Mode::Ask => asks.push(f),
            Mode::Off => {}
        }
    }
    // The first finding in full, then how many more and of which kinds.
    let join = |v: Vec<&Finding>| {
        let n = v.len();
        let mut s = v.first().map(|f| f.reason()).unwrap_or_default();
        if n > 1 {
            let mut others: Vec<String> = Vec::new();
            for f in &v[1..] {
                let name = match &f.source {
                    Source::Builtin(c) => c.name().to_string(),
                    Source::Rule { location, .. } => format!("custom-rule {location}"),
                };
                if !others.contains(&name) {
                    others.push(name);
                }
            }
            s.push_str(&format!("; and {} more ({})", n - 1, others.join(", ")));
        }
        s
    };
    if !denies.is_empty() {
        Verdict::Deny(join(denies))
    } else if !asks.is_empty() {
        Verdict::Ask(join(asks))
    } else {
        Verdict::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::{Verdict, judge};
    use crate::config;

    fn reason(cmd: &str) -> String {
        match judge(&Default::default(), cmd, None) {
            Verdict::Deny(r) | Verdict::Ask(r) => r,
            Verdict::Allow => String::new(),
        }
    }

    #[test]
    fn reasons_name_category_and_fragment() {
        assert_eq!(
            reason("ls; rm -r -f /"),
            "recursive-delete: recursive delete of / (rm -r -f /)"
        );
        assert!(reason("echo x; reboot; rm -rf /").ends_with("; and 1 more (recursive-delete)"));
    }

    #[test]
    fn modes_and_rules_apply() {
        let p = config::parse(r#"{"categories":{"system-halt":"ask"},"deny":[{"program":"terraform","args":["destroy"]}]}"#)
            .expect("config");
        assert!(matches!(judge(&p, "reboot", None), Verdict::Ask(_)));
        assert!(
            matches!(judge(&p, "sudo terraform destroy", None), Verdict::Deny(r) if r.starts_with("custom-rule deny[0]"))
        );
        assert_eq!(judge(&p, "terraform plan", None), Verdict::Allow);
    }

    #[test]
    fn multibyte_blanks_do_not_panic() {
        // Found by the property test: a U+2000 blank before `()`.
        assert!(matches!(
            judge(&Default::default(), "A\u{2000}()", None),
            Verdict::Deny(_)
        ));
        let _ = judge(&Default::default(), "b\u{3000}(){ b|b& }", None);
        let _ = judge(&Default::default(), "\u{3000}(){:|:&};:", None);
    }

    #[test]
    fn function_call_fan_out_is_bounded() {
        let fan = "g(){ rm -rf /tmp/x; }; h(){ g;g;g;g;g;g;g;g; }; i(){ h;h;h;h;h;h;h;h; }; j(){ i;i;i;i;i;i;i;i; }; j";
        let t = std::time::Instant::now();
        assert!(reason(fan).contains("function calls"), "{}", reason(fan));
        let rec = "f(){ f;f;f;f;f;f;f;f;f;f; }; f";
        let _ = reason(rec);
        assert!(t.elapsed().as_millis() < 500);
    }

    #[test]
    fn empty_and_comment_only_commands_are_allowed() {
        assert_eq!(judge(&Default::default(), "", None), Verdict::Allow);
        assert_eq!(
            judge(&Default::default(), "# just a comment", None),
            Verdict::Allow
        );
    }
}
