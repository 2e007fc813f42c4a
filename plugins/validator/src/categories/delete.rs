//! recursive-delete: deleting `/`, a system directory or the home directory.

use crate::category::Category;
use crate::effects::Kind;
use crate::path::{
    Base, DEEP_DIRS, NPath, SYSTEM_DIRS, VAR_DIRS, is_broad, is_glob, may_match_any,
};
use crate::walk::Walker;

/// What deleting this tree would destroy, if it is a tree that matters.
pub fn danger(np: &NPath) -> Option<String> {
    let n = np.comps.len();
    match np.base {
        Base::Root => {
            let Some(c0) = np.c(0) else {
                return Some("/".to_string());
            };
            if n == 1 {
                if is_glob(c0) && (is_broad(c0) || may_match_any(c0, SYSTEM_DIRS)) {
                    return Some(format!("every top-level directory matching /{c0}"));
                }
                if SYSTEM_DIRS.contains(&c0) {
                    return Some(format!("system directory /{c0}"));
                }
                return None;
            }
            let c1 = np.c(1).unwrap_or("");
            if n == 2 {
                if c0 == "home" || c0 == "Users" {
                    return Some(if is_glob(c1) {
                        format!("every home directory (/{c0}/{c1})")
                    } else {
                        format!("the home directory /{c0}/{c1}")
                    });
                }
                if c0 == "root" {
                    return is_broad(c1).then(|| format!("everything in root's home (/root/{c1})"));
                }
                if is_glob(c0) && may_match_any(c0, DEEP_DIRS) {
                    return Some(format!("system directories matching /{c0}/{c1}"));
                }
                if DEEP_DIRS.contains(&c0) {
                    return Some(format!("system directory /{c0}/{c1}"));
                }
                if c0 == "var" && (may_match_any(c1, VAR_DIRS) || is_broad(c1)) {
                    return Some(format!("system directory /var/{c1}"));
                }
                if SYSTEM_DIRS.contains(&c0) && c0 != "tmp" && is_broad(c1) {
                    return Some(format!("everything in /{c0}"));
                }
                return None;
            }
            if n == 3
                && (c0 == "home" || c0 == "Users")
                && is_glob(c1)
                && np.c(2).is_some_and(is_broad)
            {
                return Some("everything in every home directory".to_string());
            }
            None
        }
        Base::Home => match np.comps.as_slice() {
            [] => Some("the home directory (~)".to_string()),
            [c] if is_broad(c) => Some(format!("everything in the home directory (~/{c})")),
            _ => None,
        },
        Base::Rel => (np.comps.is_empty() && np.up >= 1)
            .then(|| format!("a parent directory ({})", np.display())),
    }
}

pub fn on_effect(w: &mut Walker, kind: Kind, np: &NPath, alt: bool, frag: &str) {
    if kind == (Kind::Delete { recursive: true })
        && let Some(d) = danger(np)
    {
        w.find(
            Category::RecursiveDelete,
            format!("recursive delete of {d}{}", super::alt_note(alt)),
            frag,
        );
    }
}
