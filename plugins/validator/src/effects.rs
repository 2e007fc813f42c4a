//! What a command does to files, independent of how it was spelled.
//!
//! Each file-changing program is reduced to a list of effects on its path
//! arguments (delete, overwrite, append, modify in place, move away). The
//! categories then judge the effects, so `rm`, `shred`, `truncate`, `cp`,
//! `tee`, `dd of=` and `>` are all checked against the same path tables.

use crate::args::{self, Opts};
use crate::expand::Arg;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Delete {
        recursive: bool,
    },
    Overwrite,
    Append,
    /// Edited in place (`sed -i`).
    Modify,
    /// Moved elsewhere (`mv SRC ...`).
    MoveAway,
    /// Created or its times changed (`touch`): only matters for flag files
    /// such as `/etc/nologin`.
    Create,
}

impl Kind {
    /// Whether the old content of the target is lost.
    pub fn destroys(self) -> bool {
        !matches!(self, Kind::Append | Kind::Create)
    }

    pub fn verb(self) -> &'static str {
        match self {
            Kind::Delete { recursive: true } => "recursive delete of",
            Kind::Delete { recursive: false } => "delete of",
            Kind::Overwrite => "overwrite of",
            Kind::Append => "write to",
            Kind::Modify => "in-place edit of",
            Kind::MoveAway => "move of",
            Kind::Create => "creation of",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Effect {
    pub kind: Kind,
    pub arg: Arg,
}

fn push_all(out: &mut Vec<Effect>, kind: Kind, args: &[&Arg]) {
    out.extend(args.iter().map(|a| Effect {
        kind,
        arg: (*a).clone(),
    }));
}

/// The destination of `cp`/`mv`/`install`/`ln`: `-t DIR` or the last operand.
fn dest<'a>(o: &Opts<'a>) -> (Option<Arg>, Vec<&'a Arg>) {
    if let Some((_, t)) = o
        .values
        .iter()
        .find(|(n, _)| n == "t" || n == "target-directory")
    {
        return (Some((*t).clone()), o.operands.clone());
    }
    if let Some((_, v)) = o
        .inline_values
        .iter()
        .find(|(n, _)| n == "target-directory")
    {
        return (Some(Arg::lit(v)), o.operands.clone());
    }
    match o.operands.split_last() {
        Some((last, rest)) if !rest.is_empty() => (Some((*last).clone()), rest.to_vec()),
        _ => (None, Vec::new()),
    }
}

/// The file effects of running `name` with `args`. `recursive` is set when
/// the command is applied to whole trees by a wrapper (`find / -exec rm {}`).
pub fn of(name: &str, args: &[Arg], recursive: bool) -> Vec<Effect> {
    let mut out = Vec::new();
    match name {
        "rm" | "srm" | "wipe" => {
            let o = args::parse(args, "", &[], false);
            let rec = recursive || o.short('r') || o.short('R') || o.long("recursive");
            push_all(&mut out, Kind::Delete { recursive: rec }, &o.operands);
        }
        "touch" => {
            let o = args::parse(args, "dtr", &["date", "reference"], false);
            push_all(&mut out, Kind::Create, &o.operands);
        }
        "unlink" => {
            let o = args::parse(args, "", &[], false);
            push_all(&mut out, Kind::Delete { recursive: false }, &o.operands);
        }
        "shred" | "truncate" => {
            let o = args::parse(args, "nsr", &["iterations", "size", "reference"], false);
            push_all(&mut out, Kind::Overwrite, &o.operands);
            if recursive {
                // Applied to every file of a tree (`find / -exec shred {} +`).
                push_all(&mut out, Kind::Delete { recursive: true }, &o.operands);
            }
        }
        "tar" | "bsdtar" | "gtar" => {
            // `tar cf /dev/sda ...` writes the archive over a device.
            let o = args::parse(
                args,
                "fCbTXgIKLNV",
                &["file", "directory", "files-from", "exclude-from"],
                false,
            );
            let first_is_cluster = args
                .first()
                .is_some_and(|a| !a.text.starts_with('-') && a.text.contains('f'));
            let creates = o.short('c')
                || o.short('r')
                || o.short('u')
                || o.long("create")
                || args
                    .first()
                    .is_some_and(|a| !a.text.starts_with('-') && a.text.contains(['c', 'r', 'u']));
            if creates {
                let file = o
                    .values
                    .iter()
                    .find(|(n, _)| n == "f" || n == "file")
                    .map(|(_, v)| (*v).clone())
                    .or_else(|| {
                        o.inline_values
                            .iter()
                            .find(|(n, _)| n == "file" || n == "f")
                            .map(|(_, v)| Arg::lit(v))
                    })
                    .or_else(|| {
                        if first_is_cluster {
                            o.operands.get(1).map(|a| (*a).clone())
                        } else {
                            None
                        }
                    });
                if let Some(f) = file {
                    out.push(Effect {
                        kind: Kind::Overwrite,
                        arg: f,
                    });
                }
            }
        }
        "cp" | "install" => {
            let o = args::parse(
                args,
                "tSmogT",
                &["target-directory", "suffix", "mode", "owner", "group"],
                false,
            );
            if let (Some(d), _) = dest(&o) {
                out.push(Effect {
                    kind: Kind::Overwrite,
                    arg: d,
                });
            }
        }
        "mv" => {
            let o = args::parse(args, "tS", &["target-directory", "suffix"], false);
            let (d, sources) = dest(&o);
            push_all(&mut out, Kind::MoveAway, &sources);
            if let Some(d) = d {
                out.push(Effect {
                    kind: Kind::Overwrite,
                    arg: d,
                });
            }
        }
        "ln" => {
            let o = args::parse(args, "tS", &["target-directory", "suffix"], false);
            if (o.short('f') || o.long("force"))
                && let (Some(d), _) = dest(&o)
            {
                out.push(Effect {
                    kind: Kind::Overwrite,
                    arg: d,
                });
            }
        }
        "tee" => {
            let o = args::parse(args, "", &[], false);
            let kind = if o.short('a') || o.long("append") {
                Kind::Append
            } else {
                Kind::Overwrite
            };
            push_all(&mut out, kind, &o.operands);
        }
        "dd" => {
            for a in args {
                if let Some(rest) = a.text.strip_prefix("of=") {
                    let mut arg = a.clone();
                    arg.text = rest.to_string();
                    arg.alt = a
                        .alt
                        .as_ref()
                        .and_then(|s| s.strip_prefix("of="))
                        .map(str::to_string);
                    out.push(Effect {
                        kind: Kind::Overwrite,
                        arg,
                    });
                }
            }
        }
        "sed" | "gsed" => {
            let o = args::parse(args, "efl", &["expression", "file", "line-length"], false);
            let in_place = o.short('i')
                || o.long("in-place")
                || o.inline_values
                    .iter()
                    .any(|(n, _)| n == "i" || n == "in-place");
            if in_place {
                let script_given =
                    o.short('e') || o.short('f') || o.long("expression") || o.long("file");
                let files = if script_given {
                    &o.operands[..]
                } else {
                    o.operands.get(1..).unwrap_or(&[])
                };
                push_all(&mut out, Kind::Modify, files);
            }
        }
        "perl" => {
            let o = args::parse(args, "eEIMmx", &[], false);
            if o.short('i') || o.inline_values.iter().any(|(n, _)| n == "i") {
                let files = if o.short('e') || o.short('E') {
                    &o.operands[..]
                } else {
                    o.operands.get(1..).unwrap_or(&[])
                };
                push_all(&mut out, Kind::Modify, files);
            }
        }
        "rsync" => {
            let o = args::parse(
                args,
                "efT",
                &["rsh", "exclude", "include", "filter", "temp-dir"],
                false,
            );
            if (o.long_prefix("delete") || o.long("remove-source-files"))
                && let Some(d) = o.operands.last().filter(|_| o.operands.len() >= 2)
            {
                out.push(Effect {
                    kind: Kind::Delete { recursive: true },
                    arg: (*d).clone(),
                });
            }
        }
        _ => {}
    }
    out
}
