//! What each program writes to its stdout, for the next stage of a pipe.
//!
//! `echo` and `printf` of literals give visible text (a shell reading it is
//! judged on it); downloaders and decoders give bytes nobody has seen, and
//! filters keep that taint (`curl URL | grep x | sh`). Files a downloader
//! writes are remembered, so running them later is seen too.

use crate::args;
use crate::expand::Arg;
use crate::walk::{Feed, Walker};

/// Programs that fetch bytes from the network.
const DOWNLOADERS: &[&str] = &[
    "curl",
    "wget",
    "fetch",
    "aria2c",
    "http",
    "https",
    "xh",
    "lwp-request",
    "GET",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "wget2",
    "tftp",
];

/// Decoders whose output is code nobody has seen.
fn is_decoder(name: &str, a: &[Arg]) -> bool {
    let o = || args::parse(a, "", &[], false);
    match name {
        "base64" | "base32" | "basenc" | "gbase64" => {
            o().short('d') || o().short('D') || o().long("decode")
        }
        "xxd" => o().short('r') || o().long("revert"),
        "uudecode" | "zcat" | "bzcat" | "xzcat" | "zstdcat" | "gunzip" | "bunzip2" | "unxz"
        | "lzcat" | "unzstd" | "brotli" => true,
        "gzip" | "bzip2" | "xz" | "zstd" | "lz4" => o().short('d') || o().long("decompress"),
        "openssl" => o().short('d') || o().long("d"),
        "rev" => true,
        _ => false,
    }
}

/// Decodes `echo -e` / `printf` backslash escapes.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('x') => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match it.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            it.next();
                            n += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('?'));
            }
            Some(d @ '0'..='7') => {
                let mut v = d.to_digit(8).unwrap_or(0);
                let mut n = if d == '0' { 0 } else { 1 };
                while n < 3 {
                    match it.peek().and_then(|d| d.to_digit(8)) {
                        Some(x) => {
                            v = v * 8 + x;
                            it.next();
                            n += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('?'));
            }
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// What `printf FORMAT ARGS` prints, approximately.
fn printf(fmt: &str, args: &[&str]) -> String {
    let fmt = unescape(fmt);
    let mut out = String::new();
    let mut k = 0;
    for _round in 0..16 {
        let mut it = fmt.chars().peekable();
        while let Some(c) = it.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            while it
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | '#' | '+' | ' '))
            {
                it.next();
            }
            match it.next() {
                Some('%') => out.push('%'),
                Some('b') => {
                    out.push_str(&unescape(args.get(k).copied().unwrap_or("")));
                    k += 1;
                }
                Some(_) => {
                    out.push_str(args.get(k).copied().unwrap_or(""));
                    k += 1;
                }
                None => out.push('%'),
            }
        }
        if k >= args.len() || k == 0 {
            break;
        }
    }
    out
}

/// What a program run with `a`, reading `feed`, writes to stdout.
pub fn output(w: &mut Walker, name: &str, a: &[Arg], feed: &Feed) -> Feed {
    let opts = || args::parse(a, "", &[], false);
    match name {
        "echo" => {
            let mut escapes = false;
            let mut rest = a;
            while let Some(first) = rest.first() {
                match first.text.as_str() {
                    "-e" | "-ne" | "-en" => escapes = true,
                    "-n" | "-E" | "-nE" | "-En" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            if rest.iter().all(|x| x.exact) {
                let t = rest
                    .iter()
                    .map(|x| x.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                Feed::Literal(if escapes { unescape(&t) } else { t })
            } else {
                Feed::Computed(rest.iter().map(Arg::display).collect::<Vec<_>>().join(" "))
            }
        }
        "printf" => {
            let rest = match a.first() {
                Some(f) if f.text == "--" => &a[1..],
                _ => a,
            };
            if rest.first().is_some_and(|f| f.text == "-v") {
                return Feed::None;
            }
            if rest.iter().all(|x| x.exact) && !rest.is_empty() {
                let args: Vec<&str> = rest[1..].iter().map(|x| x.text.as_str()).collect();
                Feed::Literal(printf(&rest[0].text, &args))
            } else {
                Feed::Computed(rest.iter().map(Arg::display).collect::<Vec<_>>().join(" "))
            }
        }
        "cat" | "tac" if opts().operands.iter().all(|x| x.text == "-") => feed.clone(),
        _ if DOWNLOADERS.contains(&name) => {
            record_downloads(w, name, a);
            Feed::Tainted(format!("{name} output"))
        }
        "tee" if opts().operands.iter().any(|x| x.procsub.is_some()) => {
            // `... | tee >(sh)`: tee copies its input into the script.
            for id in opts().operands.iter().filter_map(|x| x.procsub) {
                w.feed_procsub(id, feed);
            }
            passthrough(feed)
        }
        "tee" if matches!(feed, Feed::Tainted(_)) => {
            for f in &opts().operands {
                if w.downloads.len() < 64 {
                    w.downloads.push(f.text.clone());
                }
            }
            passthrough(feed)
        }
        _ if is_decoder(name, a) => Feed::Tainted(format!("{name} decoded output")),
        "cat" | "tac" | "head" | "tail" | "less" | "more" => {
            if let Some(d) = opts()
                .operands
                .iter()
                .find(|x| w.downloads.contains(&x.text))
            {
                Feed::Tainted(format!("file {} downloaded earlier", d.display()))
            } else {
                passthrough(feed)
            }
        }
        _ => passthrough(feed),
    }
}

/// Remembers the files a downloader writes, so running them later is
/// seen as running downloaded code.
fn record_downloads(w: &mut Walker, name: &str, a: &[Arg]) {
    // Short options that take a value, and the one naming the output file.
    let (short_val, long_val, out): (&str, &[&str], &[&str]) = match name {
        "wget" | "wget2" => (
            "OoaePTtwUdiQYlAR",
            &[
                "output-document",
                "output-file",
                "append-output",
                "execute",
                "tries",
                "timeout",
                "user",
                "password",
                "directory-prefix",
                "input-file",
            ],
            &["O", "output-document"],
        ),
        _ => (
            "odHXuAeTbrwmCEhFKUY",
            &[
                "output",
                "data",
                "header",
                "request",
                "user",
                "user-agent",
                "referer",
                "upload-file",
                "config",
            ],
            &["o", "output"],
        ),
    };
    let o = args::parse(a, short_val, long_val, false);
    let mut files: Vec<String> = Vec::new();
    for (n, v) in &o.values {
        if out.contains(&n.as_str()) && v.text != "-" {
            files.push(v.text.clone());
        }
    }
    for (n, v) in &o.inline_values {
        if out.contains(&n.as_str()) && v != "-" {
            files.push(v.clone());
        }
    }
    // Saved under the URL's own name (`wget URL`, `curl -O URL`).
    for u in &o.operands {
        if let Some(b) = u
            .text
            .split(['?', '#'])
            .next()
            .and_then(|t| t.rsplit('/').next())
            && !b.is_empty()
        {
            files.push(b.to_string());
        }
    }
    for f in files {
        if w.downloads.len() < 64 {
            w.downloads.push(f);
        }
    }
}

/// True when a program path names a file downloaded earlier.
pub fn is_downloaded(w: &Walker, prog: &str) -> bool {
    let base = prog.rsplit('/').next().unwrap_or(prog);
    w.downloads.iter().any(|d| {
        d == prog
            || (prog.starts_with("./") && d == base)
            || d.rsplit('/').next() == Some(base) && prog.contains('/')
    })
}

/// Filters keep the taint of what they read.
fn passthrough(feed: &Feed) -> Feed {
    match feed {
        Feed::Tainted(s) => Feed::Tainted(s.clone()),
        Feed::Computed(s) => Feed::Computed(s.clone()),
        _ => Feed::Opaque,
    }
}
