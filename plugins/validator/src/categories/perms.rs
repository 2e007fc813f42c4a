//! permissions: `chmod`/`chown`/`chgrp`/`setfacl`/`chattr` on `/` or system
//! trees, and moving system directories away.

use crate::args;
use crate::category::Category;
use crate::effects::Kind;
use crate::expand::Arg;
use crate::path::{
    Base, DEEP_DIRS, NPath, SYSTEM_DIRS, VAR_DIRS, is_broad, is_glob, may_match_any,
};
use crate::walk::Walker;

/// Trees whose ownership or modes must not change wholesale.
fn tree_danger(np: &NPath) -> Option<String> {
    if np.base != Base::Root {
        return None;
    }
    let Some(c0) = np.c(0) else {
        return Some("/".to_string());
    };
    match np.comps.len() {
        1 => {
            if is_glob(c0) && (is_broad(c0) || may_match_any(c0, SYSTEM_DIRS)) {
                return Some(format!("every top-level directory matching /{c0}"));
            }
            (SYSTEM_DIRS.contains(&c0)
                && c0 != "tmp"
                && c0 != "mnt"
                && c0 != "media"
                && c0 != "srv"
                && c0 != "opt")
                .then(|| format!("system directory /{c0}"))
        }
        2 => {
            let c1 = np.c(1).unwrap_or("");
            let deep = (DEEP_DIRS.contains(&c0) && c0 != "proc" && c0 != "sys")
                || (c0 == "var" && (may_match_any(c1, VAR_DIRS) || is_broad(c1)))
                || (c0 == "home" && is_glob(c1));
            deep.then(|| format!("system directory /{c0}/{c1}"))
        }
        _ => None,
    }
}

/// Modes after which sshd (StrictModes) refuses `~/.ssh` or the keys:
/// writable by group or others, or unreadable by the owner.
fn loosens_ssh(mode: &str) -> bool {
    if !mode.is_empty() && mode.chars().all(|c| c.is_ascii_digit()) {
        let digits: Vec<u32> = mode.chars().filter_map(|c| c.to_digit(8)).collect();
        let n = digits.len();
        if n < 3 {
            return false;
        }
        let (u, g, o) = (digits[n - 3], digits[n - 2], digits[n - 1]);
        return u & 4 == 0 || g & 2 != 0 || o & 2 != 0;
    }
    mode.split(',').any(|clause| {
        let who: String = clause
            .chars()
            .take_while(|c| matches!(c, 'u' | 'g' | 'o' | 'a'))
            .collect();
        let rest = &clause[who.len()..];
        let others = who.is_empty() || who.contains(['g', 'o', 'a']);
        (others && (rest.starts_with('+') || rest.starts_with('=')) && rest.contains('w'))
            || ((who.is_empty() || who.contains(['u', 'a']))
                && rest.starts_with('-')
                && rest.contains('r'))
    })
}

pub fn check(w: &mut Walker, name: &str, a: &[Arg], frag: &str, recursive_ctx: bool) {
    let (sv, lv, skip): (&str, &[&str], usize) = match name {
        "chmod" => ("", &[], 1),
        "chown" | "chgrp" => ("", &["from"], 1),
        "setfacl" => (
            "mMxX",
            &[
                "modify",
                "remove",
                "set",
                "modify-file",
                "remove-file",
                "set-file",
            ],
            0,
        ),
        "chattr" => ("pv", &[], 1),
        _ => return,
    };
    let o = args::parse(a, sv, lv, false);
    let recursive = recursive_ctx || o.short('R') || o.long("recursive");
    let has_ref = o.inline_values.iter().any(|(n, _)| n == "reference");
    let skip = if has_ref { 0 } else { skip };
    let targets = o.operands.get(skip..).unwrap_or(&[]);
    if name == "chmod"
        && !has_ref
        && let Some(mode) = o.operands.first().filter(|m| loosens_ssh(&m.text))
    {
        for t in targets {
            let Some(np) = w.norm(&t.text) else { continue };
            if super::remote::is_ssh_keys(&np) {
                w.find(
                    Category::RemoteAccess,
                    format!(
                        "chmod {} {} makes sshd refuse the keys",
                        mode.text,
                        np.display()
                    ),
                    frag,
                );
            }
        }
    }
    for t in targets {
        let variants: Vec<(String, bool)> = t
            .variants()
            .enumerate()
            .map(|(i, v)| (v.to_string(), i > 0))
            .collect();
        for (v, alt) in variants {
            let Some(np) = w.norm(&v) else { continue };
            let note = super::alt_note(alt);
            if recursive && let Some(d) = tree_danger(&np) {
                w.find(
                    Category::Permissions,
                    format!("recursive {name} of {d}{note}"),
                    frag,
                );
                continue;
            }
            if np.base == Base::Root && np.comps.is_empty() {
                w.find(
                    Category::Permissions,
                    format!("{name} of / itself{note}"),
                    frag,
                );
            } else if let Some(d) = (np.comps.len() == 1 && name != "setfacl")
                .then(|| tree_danger(&np))
                .flatten()
            {
                w.find(Category::Permissions, format!("{name} of {d}{note}"), frag);
            } else if let Some(c) = super::critical::account_file(&np) {
                w.find(
                    Category::Permissions,
                    format!("{name} of critical file {c}{note}"),
                    frag,
                );
            }
        }
    }
}

pub fn on_effect(w: &mut Walker, kind: Kind, np: &NPath, alt: bool, frag: &str) {
    if kind != Kind::MoveAway {
        return;
    }
    let d = match np.base {
        Base::Rel => None,
        _ => super::delete::danger(np),
    };
    if let Some(d) = d {
        w.find(
            Category::Permissions,
            format!("moves {d} away{}", super::alt_note(alt)),
            frag,
        );
    }
}
