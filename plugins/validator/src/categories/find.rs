//! `find`: `-delete` and `-exec` run on every file under the start points,
//! so without a filter they act on the whole tree, recursively.

use crate::category::Category;
use crate::effects::{Effect, Kind};
use crate::expand::Arg;
use crate::path::is_broad;
use crate::walk::{Feed, Walker};

/// Tests that narrow what `find` matches (a `*` pattern does not).
const FILTERS: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-newer",
    "-newermt",
    "-newerct",
    "-size",
    "-user",
    "-group",
    "-uid",
    "-gid",
    "-perm",
    "-inum",
    "-samefile",
    "-links",
    "-lname",
    "-ilname",
    "-nouser",
    "-nogroup",
    "-used",
];

/// Tests that take one value.
const WITH_VALUE: &[&str] = &[
    "-maxdepth",
    "-mindepth",
    "-type",
    "-xtype",
    "-fstype",
    "-printf",
    "-fprintf",
    "-fprint",
    "-fls",
];

pub fn check(w: &mut Walker, a: &[Arg], frag: &str) -> Feed {
    let mut i = 0;
    while i < a.len() && matches!(a[i].text.as_str(), "-H" | "-L" | "-P") {
        i += 1;
    }
    let mut starts: Vec<Arg> = Vec::new();
    while i < a.len()
        && !a[i].text.starts_with('-')
        && !matches!(a[i].text.as_str(), "(" | "!" | "\\(")
    {
        starts.push(a[i].clone());
        i += 1;
    }
    if starts.is_empty() {
        starts.push(Arg::lit("."));
    }
    let mut filtered = false;
    // With only `-name PATTERN` filters, `{}` stands for `START/PATTERN`.
    let mut name_pat: Option<String> = None;
    let mut other_filter = false;
    let mut delete = false;
    let mut execs: Vec<Vec<Arg>> = Vec::new();
    while i < a.len() {
        let t = a[i].text.as_str();
        i += 1;
        if FILTERS.contains(&t) {
            let v = a.get(i).map(|x| x.text.as_str()).unwrap_or("");
            if !(matches!(t, "-name" | "-iname" | "-path" | "-ipath" | "-wholename")
                && is_broad(v)
                && v.len() <= 3)
            {
                filtered = true;
                if matches!(t, "-name" | "-iname") && name_pat.is_none() && !v.contains('/') {
                    name_pat = Some(v.to_string());
                } else {
                    other_filter = true;
                }
            }
            i += 1;
        } else if WITH_VALUE.contains(&t) {
            i += 1;
        } else if t == "-delete" {
            delete = true;
        } else if matches!(t, "-exec" | "-execdir" | "-ok" | "-okdir") {
            let mut cmd = Vec::new();
            while i < a.len() && a[i].text != ";" && a[i].text != "+" {
                cmd.push(a[i].clone());
                i += 1;
            }
            i += 1;
            execs.push(cmd);
        }
    }
    // What `{}` (and `-delete`) stands for: the start itself when nothing
    // filters, `START/PATTERN` for a single `-name`, else nothing known.
    let target = |s: &Arg| -> Option<Arg> {
        if !filtered {
            return Some(s.clone());
        }
        match (&name_pat, other_filter) {
            (Some(p), false) => {
                let mut t = s.clone();
                t.text = format!("{}/{p}", s.text.trim_end_matches('/'));
                t.alt = None;
                Some(t)
            }
            _ => None,
        }
    };
    if delete {
        for s in &starts {
            if let Some(t) = target(s) {
                let kind = Kind::Delete {
                    recursive: !filtered,
                };
                w.check_effect(&Effect { kind, arg: t }, frag);
            }
        }
    }
    for cmd in execs {
        if cmd.is_empty() {
            w.find(Category::ParseErrors, "find -exec without a command", frag);
            continue;
        }
        for s in starts.iter().take(4) {
            let t = target(s);
            let run: Vec<Arg> = cmd
                .iter()
                .map(|x| match &t {
                    Some(t) if x.text.contains("{}") => {
                        let mut y = x.clone();
                        y.text = x.text.replace("{}", &t.text);
                        y.alt = t.alt.clone().filter(|_| x.text == "{}");
                        y.exact = x.exact && t.exact;
                        y
                    }
                    _ => x.clone(),
                })
                .collect();
            w.eval_argv(run, &Feed::None, frag, !filtered);
        }
    }
    if filtered {
        Feed::Opaque
    } else {
        Feed::Paths(
            starts
                .iter()
                .filter(|s| s.exact)
                .map(|s| s.text.clone())
                .collect(),
        )
    }
}
