//! Matching the team's own rules against a command.
//!
//! Rules see the program really run (after `sudo`, `env`, `bash -c`...) and
//! its expanded arguments. An argument only known at run time (`$X`)
//! matches every deny/ask pattern (fail closed) and no allow pattern, except
//! that an allow pattern may spell out a whole `$(cmd args)` of literal words.

use crate::category::{Finding, Source};
use crate::expand::Arg;
use crate::glob;
use crate::path::{self, Base, NPath};
use crate::policy::Rule;
use crate::walk::Walker;

/// True when `r` matches `name args` on `node`. `deny` selects the
/// fail-closed reading of unknowns.
pub fn matches(
    r: &Rule,
    name: &str,
    args: &[Arg],
    node: Option<&str>,
    cwd: Option<&NPath>,
    deny: bool,
) -> bool {
    if !r.nodes.is_empty() {
        match node {
            Some(n) => {
                if !r.nodes.iter().any(|p| glob::matches(p, n, false)) {
                    return false;
                }
            }
            None => {
                if !deny {
                    return false;
                }
            }
        }
    }
    if !r.program.is_empty() && !r.program.iter().any(|p| glob::matches(p, name, false)) {
        return false;
    }
    for alts in &r.args {
        let hit = args.iter().any(|a| {
            if a.exact {
                alts.iter().any(|pat| glob::matches(pat, &a.text, false))
            } else if deny {
                true
            } else if let Some(words) = &a.sub_cmd {
                // An allow pattern may name a visible substitution:
                // `$(ssh-agent -s)` matches "$(ssh-agent *)".
                let shown = format!("$({})", words.join(" "));
                alts.iter().any(|pat| glob::matches(pat, &shown, false))
            } else {
                false
            }
        });
        if !hit {
            return false;
        }
    }
    if !r.paths.is_empty() {
        let hit = args.iter().any(|a| {
            if !a.exact {
                return deny && !a.text.starts_with('-');
            }
            if a.text.starts_with('-') {
                return false;
            }
            match path::normalize(&a.text, cwd) {
                Some(np) if np.base != Base::Rel => {
                    let shown = np.display();
                    let with_slash = format!("{}/", shown.trim_end_matches('/'));
                    r.paths.iter().any(|p| {
                        glob::matches(p, &shown, true) || glob::matches(p, &with_slash, true)
                    })
                }
                _ => false,
            }
        });
        if !hit {
            return false;
        }
    }
    true
}

/// Applies the deny and ask rules to one program of a command.
pub fn check(w: &mut Walker, name: &str, args: &[Arg], frag: &str) {
    let policy = w.policy;
    if policy.deny.is_empty() && policy.ask.is_empty() {
        return;
    }
    let node = w.node;
    let cwd = w.cwd.clone();
    if policy
        .allow
        .iter()
        .any(|r| matches(r, name, args, node, cwd.as_ref(), false))
    {
        return;
    }
    for (rules, ask) in [(&policy.deny, false), (&policy.ask, true)] {
        for r in rules {
            if matches(r, name, args, node, cwd.as_ref(), true) {
                w.push_finding(Finding {
                    source: Source::Rule {
                        location: r.location.clone(),
                        ask,
                    },
                    what: r
                        .reason
                        .clone()
                        .unwrap_or_else(|| format!("matched {} rule", r.location)),
                    fragment: frag.to_string(),
                    ctx: None,
                });
            }
        }
    }
}
