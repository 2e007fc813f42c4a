//! Path normalisation and the tables of directories that matter.
//!
//! A path is reduced to a base (`/`, the home directory, or the current
//! directory when unknown) and its components, with `.`, `//` and `..`
//! resolved, so `/tmp/../`, `/./` and `"//"` are all seen as `/`.

use crate::expand::is_marker;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    Root,
    /// `~` or `$HOME`, whose real location is unknown.
    Home,
    /// Relative to an unknown current directory.
    Rel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NPath {
    pub base: Base,
    /// For `Rel`: how many `..` climb above the unknown current directory.
    pub up: usize,
    pub comps: Vec<String>,
}

impl NPath {
    pub fn root() -> NPath {
        NPath {
            base: Base::Root,
            up: 0,
            comps: Vec::new(),
        }
    }

    pub fn home() -> NPath {
        NPath {
            base: Base::Home,
            up: 0,
            comps: Vec::new(),
        }
    }

    /// The first component, if any.
    pub fn c(&self, i: usize) -> Option<&str> {
        self.comps.get(i).map(String::as_str)
    }

    pub fn is_abs(&self, comps: &[&str]) -> bool {
        self.base == Base::Root
            && self.comps.len() == comps.len()
            && self.comps.iter().zip(comps).all(|(a, b)| a == b)
    }

    /// Shown in reasons.
    pub fn display(&self) -> String {
        let mut s = match self.base {
            Base::Root => String::new(),
            Base::Home => "~".to_string(),
            Base::Rel => {
                let mut s = String::from(".");
                for _ in 0..self.up {
                    s.push_str("/..");
                }
                s
            }
        };
        for c in &self.comps {
            s.push('/');
            for ch in c.chars() {
                if is_marker(ch) {
                    s.push_str("$?");
                } else {
                    s.push(ch);
                }
            }
        }
        if s.is_empty() {
            s.push('/');
        }
        s
    }

    fn push(&mut self, comp: &str) {
        match comp {
            "" | "." => {}
            ".." => {
                if self.comps.pop().is_some() {
                    return;
                }
                match self.base {
                    Base::Root => {}
                    Base::Home => {
                        // `~/..` is taken as `/home`, where most homes live.
                        self.base = Base::Root;
                        self.comps.push("home".to_string());
                    }
                    Base::Rel => self.up += 1,
                }
            }
            c => self.comps.push(c.to_string()),
        }
    }
}

/// Normalises `text` against the current directory (if known). `None` when
/// the text is empty or starts with an unknown value.
pub fn normalize(text: &str, cwd: Option<&NPath>) -> Option<NPath> {
    let first = text.chars().next()?;
    if is_marker(first) {
        return None;
    }
    let (mut p, rest) = if let Some(rest) = text.strip_prefix('/') {
        (NPath::root(), rest)
    } else if text == "~" || text.starts_with("~/") {
        (NPath::home(), &text[1..])
    } else {
        match cwd {
            Some(c) => (c.clone(), text),
            None => (
                NPath {
                    base: Base::Rel,
                    up: 0,
                    comps: Vec::new(),
                },
                text,
            ),
        }
    };
    for comp in rest.split('/') {
        p.push(comp);
    }
    Some(p)
}

/// Top-level directories of a Unix system.
pub const SYSTEM_DIRS: &[&str] = &[
    "bin",
    "boot",
    "dev",
    "etc",
    "home",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "media",
    "mnt",
    "opt",
    "proc",
    "root",
    "run",
    "sbin",
    "snap",
    "srv",
    "sys",
    "tmp",
    "usr",
    "var",
    "nix",
    "lost+found",
    "Applications",
    "Library",
    "System",
    "Users",
    "Volumes",
    "private",
    "cdrom",
];

/// Top-level directories whose direct subdirectories are system too.
pub const DEEP_DIRS: &[&str] = &[
    "bin", "boot", "etc", "lib", "lib32", "lib64", "libx32", "sbin", "usr", "sys", "proc",
    "System", "Library",
];

/// Subdirectories of `/var` that hold system state.
pub const VAR_DIRS: &[&str] = &[
    "lib", "log", "spool", "run", "db", "mail", "backups", "opt", "empty", "cache", "lock",
];

pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// A glob that matches almost any name: `*`, `.*`, `?*`, `[a-z]*`, `*.*`.
pub fn is_broad(s: &str) -> bool {
    if !s.contains('*') {
        return false;
    }
    let mut literal = 0;
    let mut in_class = false;
    for c in s.chars() {
        match c {
            '[' => in_class = true,
            ']' => in_class = false,
            '*' | '?' => {}
            _ if in_class => {}
            _ => literal += 1,
        }
    }
    literal <= 1
}

/// True when the glob `pat` (or plain name) may name one of `names`.
pub fn may_match_any(pat: &str, names: &[&str]) -> bool {
    if is_glob(pat) {
        if pat.len() > 256 {
            // Too long to be worth matching: assume the worst.
            return true;
        }
        names.iter().any(|n| crate::glob::matches(pat, n, false))
    } else {
        names.contains(&pat)
    }
}

#[cfg(test)]
mod tests {
    use super::{Base, NPath, normalize};

    fn d(s: &str, cwd: Option<&NPath>) -> String {
        normalize(s, cwd).map(|p| p.display()).unwrap_or_default()
    }

    #[test]
    fn spellings_of_root() {
        for s in [
            "/",
            "//",
            "/./",
            "/tmp/..",
            "/tmp/../",
            "/usr/local/../..",
            "/..",
        ] {
            assert_eq!(d(s, None), "/", "{s}");
        }
    }

    #[test]
    fn home_and_relative() {
        assert_eq!(
            normalize("~/..", None).map(|p| p.display()),
            Some("/home".to_string())
        );
        let p = normalize("../..", None).expect("path");
        assert_eq!((p.base, p.up), (Base::Rel, 2));
        let cwd = normalize("/etc", None);
        assert_eq!(d("nginx/../*", cwd.as_ref()), "/etc/*");
    }
}
