//! The remote side of a run: quoting, the wrapper that makes the remote
//! process group known, and the start marker it prints.
//!
//! sshd hands the remote string to the user's login shell (`$SHELL -c`), and
//! runs each session in a new session and process group (`setsid()` in
//! `session.c`), so the login shell's pid is the pgid of everything the
//! command starts. The wrapper
//!
//! ```text
//! exec /bin/sh -c 'echo "@@CEXEC-START:<nonce>:$$" >&2; exec "${SHELL:-/bin/sh}" -c "$1"' cexec '<command>'
//! ```
//!
//! keeps that pid (every step `exec`s), prints it once on stderr before the
//! command runs, and then lets the user's login shell parse the command, so
//! its quoting, semantics and exit status are untouched. The marker line is
//! stripped from stderr; seeing it means "the command started", which is
//! what makes retries safe. On timeout or cancel, [`kill_script`] stops that
//! group through a second ssh session over the same ControlMaster.

/// Start of the marker line; the nonce follows.
pub const MARKER_PREFIX: &str = "@@CEXEC-START:";

/// Quotes `s` as one word for POSIX shells (sh, dash, bash, zsh, ksh) and
/// fish alike: single quotes for most text, `"'"` for a single quote and
/// `"\\"` for a backslash (fish treats `\\` inside single quotes specially).
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,@%+".contains(&b))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    let mut open = false;
    for c in s.chars() {
        match c {
            '\'' | '\\' => {
                if open {
                    out.push('\'');
                    open = false;
                }
                out.push_str(if c == '\'' { "\"'\"" } else { "\"\\\\\"" });
            }
            c => {
                if !open {
                    out.push('\'');
                    open = true;
                }
                out.push(c);
            }
        }
    }
    if open {
        out.push('\'');
    }
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

/// The remote string for `command`, announcing its pgid with `nonce`.
pub fn wrap(command: &str, nonce: &str) -> String {
    let script =
        format!("echo \"{MARKER_PREFIX}{nonce}:$$\" >&2; exec \"${{SHELL:-/bin/sh}}\" -c \"$1\"");
    format!(
        "exec /bin/sh -c {} cexec {}",
        quote(&script),
        quote(command)
    )
}

/// The remote string that stops process group `pgid`: TERM, up to 2 s of
/// grace, then KILL. Refuses pgids that would mean "every process".
pub fn kill_script(pgid: i64) -> Option<String> {
    if pgid <= 1 {
        return None;
    }
    // `kill -SIG -PGID` rather than `kill -s SIG -- -PGID`: dash rejects `--`.
    let script = format!(
        "kill -TERM -{p} 2>/dev/null || kill -TERM {p} 2>/dev/null || exit 0; i=0; \
         while [ $i -lt 20 ]; do kill -0 -{p} 2>/dev/null || exit 0; sleep 0.1; i=$((i+1)); done; \
         kill -KILL -{p} 2>/dev/null || kill -KILL {p} 2>/dev/null; exit 0",
        p = pgid
    );
    Some(format!("exec /bin/sh -c {}", quote(&script)))
}

/// Strips the start marker from a stderr stream and reports the pgid.
///
/// Only the first line carrying this run's nonce counts: the wrapper prints
/// it before the command runs, so the command cannot forge an earlier one.
/// Everything before the marker (login-shell noise, or ssh's own complaints
/// when the connection fails) is held back until the marker shows up, so a
/// failed attempt that is retried streams nothing.
#[derive(Debug)]
pub struct MarkerFilter {
    prefix: Vec<u8>,
    pending: Vec<u8>,
    done: bool,
}

/// Give up looking for the marker after this much stderr.
const MARKER_SEARCH_LIMIT: usize = 64 * 1024;

impl MarkerFilter {
    pub fn new(nonce: &str) -> Self {
        Self {
            prefix: format!("{MARKER_PREFIX}{nonce}:").into_bytes(),
            pending: Vec::new(),
            done: false,
        }
    }

    /// Feeds a chunk; returns the bytes to pass on and, once, the pgid
    /// (0 when the marker's number is garbled: still "started").
    pub fn feed(&mut self, data: &[u8]) -> (Vec<u8>, Option<i64>) {
        if self.done {
            return (data.to_vec(), None);
        }
        self.pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let line = &self.pending[start..start + nl];
            if let Some(rest) = line.strip_prefix(self.prefix.as_slice()) {
                let pgid = std::str::from_utf8(rest)
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .unwrap_or(0);
                let mut out = self.pending[..start].to_vec();
                out.extend_from_slice(&self.pending[start + nl + 1..]);
                self.pending.clear();
                self.done = true;
                return (out, Some(pgid));
            }
            start += nl + 1;
        }
        if self.pending.len() > MARKER_SEARCH_LIMIT {
            self.done = true;
            return (std::mem::take(&mut self.pending), None);
        }
        (Vec::new(), None)
    }

    /// True once the marker was found (or the search given up).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// End of stream: whatever was held back.
    pub fn finish(&mut self) -> Vec<u8> {
        self.done = true;
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sh_echo(shell: &str, word: &str) -> String {
        let out = Command::new(shell)
            .arg("-c")
            .arg(format!("printf %s {word}"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn quoting_round_trips_through_real_shells() {
        let cases = [
            "plain",
            "",
            "two words",
            "it's",
            "back\\slash \\\\ \\'",
            "$HOME `id` $(id) \"q\" ; & | > < * ? [a] ~ #",
            "new\nline\ttab",
            "ünïcødé ✓",
        ];
        for shell in ["sh", "bash", "dash", "zsh", "fish"] {
            if Command::new(shell).arg("-c").arg("true").status().is_err() {
                continue;
            }
            for case in cases {
                assert_eq!(sh_echo(shell, &quote(case)), case, "{shell}: {case:?}");
            }
        }
    }

    #[test]
    fn wrapper_preserves_command_exit_code_and_prints_marker() {
        let wrapped = wrap("echo out; echo err >&2; exit 7", "n1");
        let out = Command::new("sh")
            .arg("-c")
            .arg(&wrapped)
            .env("SHELL", "/bin/sh")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(out.stdout, b"out\n");
        let mut f = MarkerFilter::new("n1");
        let (passed, pgid) = f.feed(&out.stderr);
        assert_eq!(passed, b"err\n");
        assert!(pgid.unwrap() > 1);
    }

    #[test]
    fn marker_filter_handles_split_chunks_and_noise_before() {
        let mut f = MarkerFilter::new("abc");
        let (a, p) = f.feed(b"motd line\n@@CEXEC-STA");
        assert_eq!((a.as_slice(), p), (b"".as_slice(), None));
        let (b, p) = f.feed(b"RT:abc:4242\nreal err");
        assert_eq!(
            (b.as_slice(), p),
            (b"motd line\nreal err".as_slice(), Some(4242))
        );
        let (c, p) = f.feed(b"@@CEXEC-START:abc:1\n");
        assert_eq!(
            (c.as_slice(), p),
            (b"@@CEXEC-START:abc:1\n".as_slice(), None)
        );
    }

    #[test]
    fn marker_with_other_nonce_is_not_taken() {
        let mut f = MarkerFilter::new("good");
        let (a, p) = f.feed(b"@@CEXEC-START:bad:1\n");
        assert_eq!(p, None);
        assert!(a.is_empty());
        assert_eq!(f.finish(), b"@@CEXEC-START:bad:1\n");
    }

    #[test]
    fn kill_script_refuses_init_and_everything() {
        assert!(kill_script(1).is_none());
        assert!(kill_script(0).is_none());
        assert!(kill_script(-5).is_none());
        assert!(kill_script(1234).unwrap().contains("-1234"));
    }
}
