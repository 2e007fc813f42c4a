//! The checks, one module per category, and the dispatch to them.
//!
//! `check` runs on every program actually executed (after wrappers), with
//! its expanded arguments; `check_effect` on every file effect (from the
//! program or from a redirection), once per spelling the path may take.

pub mod critical;
pub mod delete;
pub mod devices;
pub mod find;
pub mod fork_bomb;
pub mod halt;
pub mod hidden;
pub mod perms;
pub mod remote;

use crate::effects::{self, Effect};
use crate::expand::Arg;
use crate::path::NPath;
use crate::walk::{Feed, Walker};

/// Added to a reason when the danger needs an unset variable to be empty.
pub fn alt_note(alt: bool) -> &'static str {
    if alt {
        " if an unset variable is empty"
    } else {
        ""
    }
}

/// Checks one program run with `args` and returns what it writes to stdout.
pub fn check(
    w: &mut Walker,
    name: &str,
    args: &[Arg],
    feed: &Feed,
    frag: &str,
    recursive: bool,
) -> Feed {
    for e in effects::of(name, args, recursive) {
        check_effect(w, &e, frag);
    }
    if name == "find" {
        return find::check(w, args, frag);
    }
    devices::check(w, name, args, frag);
    perms::check(w, name, args, frag, recursive);
    halt::check(w, name, args, frag);
    critical::check(w, name, args, frag);
    remote::check(w, name, args, frag);
    let out = hidden::check(w, name, args, feed, frag);
    if name == "cd" || name == "pushd" {
        let target = args
            .iter()
            .find(|a| !a.text.starts_with('-') || a.text == "-");
        w.cwd = match target {
            None => Some(NPath::home()),
            Some(a) if a.exact && a.text != "-" => {
                w.norm(&a.text).filter(|p| p.base != crate::path::Base::Rel)
            }
            _ => None,
        };
    }
    out
}

/// Checks one file effect against every category.
pub fn check_effect(w: &mut Walker, e: &Effect, frag: &str) {
    let variants: Vec<(String, bool)> = e
        .arg
        .variants()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i > 0))
        .collect();
    for (text, alt) in variants {
        let Some(np) = w.norm(&text) else { continue };
        delete::on_effect(w, e.kind, &np, alt, frag);
        devices::on_effect(w, e.kind, &np, alt, frag);
        critical::on_effect(w, e.kind, &np, alt, frag);
        remote::on_effect(w, e.kind, &np, alt, frag);
        halt::on_effect(w, e.kind, &np, alt, frag);
        perms::on_effect(w, e.kind, &np, alt, frag);
    }
}
