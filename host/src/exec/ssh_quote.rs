//! The remote side of a run: quoting, the wrapper that makes the remote
//! process group known, and the markers it prints.
//!
//! sshd hands the remote string to the user's login shell (`$SHELL -c`), and
//! runs each session in a new session and process group (`setsid()` in
//! `session.c`), so the login shell's pid is the pgid of everything the
//! command starts. There are two forms of wrapper.
//!
//! [`Wrapper::InLoginShell`], for a session on a warm master when the login
//! shell is POSIX (sh, bash, dash, zsh, ksh: `login_shell = "posix"`, the
//! default), runs in that shell itself:
//!
//! ```text
//! echo "@@CEXEC-START:<nonce>:$$" >&2; eval '<command>'
//! ```
//!
//! It prints the pgid on stderr before the command runs and lets the login
//! shell parse and run the command, as with a plain `ssh host COMMAND`. No
//! second shell (that cost 1.4 ms per command on the test bed), and nothing
//! after the command: the master's exit message carries the shell's status
//! exactly (128+N for a command killed by signal N), and anything printed
//! after the command would follow the command's own redirections
//! (`exec 2>&1` would put it into stdout).
//!
//! [`Wrapper::Portable`], for a child `ssh` (the command that opens a
//! connection) and for `login_shell = "other"` (fish, csh), keeps the pid
//! with `exec /bin/sh`, runs the command in a child `"$SHELL" -c "$1"` and
//! then prints an end marker with its status. A child `ssh` says 255 both for
//! a command that exited 255 and for a connection that died under it; the end
//! marker tells them apart, and turns a command killed by signal N into
//! 128+N as a shell would report it.
//!
//! Both markers are stripped from stderr. The start marker means "the
//! command started": without it, and without a status, a child `ssh`'s
//! failure counts as a connection that never carried the command, which is
//! what makes retries safe. On timeout or cancel, [`kill_script`] stops the
//! group through a second session over the same ControlMaster.

/// Start of the start marker line; the nonce follows.
pub const MARKER_PREFIX: &str = "@@CEXEC-START:";
/// Start of the end marker line; the nonce and the exit status follow.
pub const END_PREFIX: &str = "@@CEXEC-END:";

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

/// Which form of wrapper a session gets (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// In a POSIX login shell, on a session whose exit status is exact.
    InLoginShell,
    /// Under `/bin/sh`, with an end marker: any login shell, any session.
    Portable,
}

/// The remote string for `command`, announcing its pgid with `nonce`.
pub fn wrap(command: &str, nonce: &str, form: Wrapper) -> String {
    let start = format!("echo \"{MARKER_PREFIX}{nonce}:$$\" >&2");
    match form {
        Wrapper::InLoginShell => format!("{start}; eval {}", quote(command)),
        Wrapper::Portable => {
            let script = format!(
                "{start}; \"${{SHELL:-/bin/sh}}\" -c \"$1\"; s=$?; echo >&2; \
                 echo \"{END_PREFIX}{nonce}:$s\" >&2; exit \"$s\""
            );
            format!(
                "exec /bin/sh -c {} cexec {}",
                quote(&script),
                quote(command)
            )
        }
    }
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

/// Strips the start and end markers from a stderr stream, reporting the
/// pgid and the exit status.
///
/// Only the first line carrying this run's nonce counts as the start: the
/// wrapper prints it before the command runs, so the command cannot forge an
/// earlier one. Everything before it (login-shell noise, or ssh's own
/// complaints when the connection fails) is held back until it shows up, so
/// a failed attempt that is retried streams nothing. After the start, a tail
/// that could be the beginning of the end marker is held back until more
/// output proves otherwise; the end marker counts only at the very end.
#[derive(Debug)]
pub struct MarkerFilter {
    start: Vec<u8>,
    /// `\n@@CEXEC-END:<nonce>:`
    end: Vec<u8>,
    pending: Vec<u8>,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Searching,
    Streaming,
    GaveUp,
}

/// Give up looking for the start marker after this much stderr.
const MARKER_SEARCH_LIMIT: usize = 64 * 1024;

impl MarkerFilter {
    pub fn new(nonce: &str) -> Self {
        Self {
            start: format!("{MARKER_PREFIX}{nonce}:").into_bytes(),
            end: format!("\n{END_PREFIX}{nonce}:").into_bytes(),
            pending: Vec::new(),
            state: State::Searching,
        }
    }

    /// Feeds a chunk; returns the bytes to pass on and, once, the pgid
    /// (0 when the marker's number is garbled: still "started").
    pub fn feed(&mut self, data: &[u8]) -> (Vec<u8>, Option<i64>) {
        match self.state {
            State::GaveUp => (data.to_vec(), None),
            State::Streaming => {
                self.pending.extend_from_slice(data);
                (self.release(), None)
            }
            State::Searching => {
                self.pending.extend_from_slice(data);
                let mut at = 0;
                while let Some(nl) = self.pending[at..].iter().position(|b| *b == b'\n') {
                    let line = &self.pending[at..at + nl];
                    if let Some(rest) = line.strip_prefix(self.start.as_slice()) {
                        let pgid = std::str::from_utf8(rest)
                            .ok()
                            .and_then(|s| s.trim().parse::<i64>().ok())
                            .unwrap_or(0);
                        let mut out = self.pending[..at].to_vec();
                        self.pending.drain(..at + nl + 1);
                        self.state = State::Streaming;
                        out.extend(self.release());
                        return (out, Some(pgid));
                    }
                    at += nl + 1;
                }
                if self.pending.len() > MARKER_SEARCH_LIMIT {
                    self.state = State::GaveUp;
                    return (std::mem::take(&mut self.pending), None);
                }
                (Vec::new(), None)
            }
        }
    }

    /// Passes on everything but a tail that may be the start of the end
    /// marker.
    fn release(&mut self) -> Vec<u8> {
        let keep_from = self.end_candidate().unwrap_or(self.pending.len());
        let rest = self.pending.split_off(keep_from);
        std::mem::replace(&mut self.pending, rest)
    }

    /// Where a possible end marker begins in `pending`.
    fn end_candidate(&self) -> Option<usize> {
        let window = self.end.len() + 8;
        let from = self.pending.len().saturating_sub(window);
        (from..self.pending.len())
            .filter(|i| self.pending[*i] == b'\n')
            .find(|i| self.could_be_end(&self.pending[*i..]))
    }

    /// `tail` is a prefix of `\n@@CEXEC-END:<nonce>:<digits>\n`.
    fn could_be_end(&self, tail: &[u8]) -> bool {
        if tail.len() <= self.end.len() {
            return self.end.starts_with(tail);
        }
        let Some(rest) = tail.strip_prefix(self.end.as_slice()) else {
            return false;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        digits <= 3 && (rest.len() == digits || (rest.len() == digits + 1 && rest[digits] == b'\n'))
    }

    /// True once the start marker was seen.
    pub fn started(&self) -> bool {
        self.state == State::Streaming
    }

    /// End of stream: whatever was held back, and the exit status if the
    /// end marker closed the stream.
    pub fn finish(&mut self) -> (Vec<u8>, Option<i32>) {
        let held = std::mem::take(&mut self.pending);
        if self.state == State::Streaming
            && held.ends_with(b"\n")
            && let Some(rest) = held.strip_prefix(self.end.as_slice())
            && let Ok(text) = std::str::from_utf8(&rest[..rest.len() - 1])
            && let Ok(status) = text.parse::<i32>()
        {
            self.state = State::GaveUp;
            return (Vec::new(), Some(status));
        }
        self.state = State::GaveUp;
        (held, None)
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

    type Wrapped = (Option<i32>, Vec<u8>, Vec<u8>, Option<i64>, Option<i32>);

    /// Every wrapper form with each login shell that can take it.
    fn forms() -> Vec<(Wrapper, &'static str)> {
        let mut v = vec![(Wrapper::Portable, "sh"), (Wrapper::Portable, "bash")];
        for shell in ["sh", "dash", "bash", "zsh", "ksh"] {
            if Command::new(shell).arg("-c").arg("true").status().is_ok() {
                v.push((Wrapper::InLoginShell, shell));
            }
        }
        v
    }

    /// Exit code, stdout, filtered stderr, pgid and end status of `cmd`
    /// wrapped in `form` and run by login shell `login`, as sshd would.
    fn through_wrapper(cmd: &str, form: Wrapper, login: &str) -> Wrapped {
        let out = Command::new("setsid")
            .arg(login)
            .arg("-c")
            .arg(wrap(cmd, "n1", form))
            .env("SHELL", format!("/bin/{login}"))
            .output()
            .unwrap();
        let mut f = MarkerFilter::new("n1");
        let (mut passed, pgid) = f.feed(&out.stderr);
        let (tail, end) = f.finish();
        passed.extend(tail);
        (out.status.code(), out.stdout, passed, pgid, end)
    }

    /// The end marker's status: only the portable form prints one.
    fn expected_end(form: Wrapper, status: i32) -> Option<i32> {
        (form == Wrapper::Portable).then_some(status)
    }

    #[test]
    fn wrapper_preserves_exit_code_and_streams_and_reports_its_markers() {
        for (form, login) in forms() {
            let (code, out, err, pgid, end) =
                through_wrapper("echo out; echo err >&2; exit 7", form, login);
            let at = format!("{form:?} wrapper in {login}");
            assert_eq!(code, Some(7), "{at}");
            assert_eq!(out, b"out\n", "{at}");
            assert_eq!(err, b"err\n", "{at}");
            assert!(pgid.unwrap() > 1, "{at}");
            assert_eq!(end, expected_end(form, 7), "{at}");
        }
    }

    #[test]
    fn wrapped_commands_mean_what_they_mean_to_the_login_shell() {
        let cmd = "x='it'\\''s'; printf '%s|%s|%s\\n' \"$x\" 'back\\slash' \"$((6 * 7))\"\nfalse || echo \"second line\"";
        for (form, login) in forms() {
            let (code, out, err, _, end) = through_wrapper(cmd, form, login);
            let at = format!("{form:?} wrapper in {login}");
            assert_eq!(
                String::from_utf8_lossy(&out),
                "it's|back\\slash|42\nsecond line\n",
                "{at}: {}",
                String::from_utf8_lossy(&err)
            );
            assert_eq!((code, end), (Some(0), expected_end(form, 0)), "{at}");
        }
    }

    #[test]
    fn the_commands_own_redirections_never_carry_a_marker() {
        for (form, login) in forms() {
            let (code, out, err, _, _) =
                through_wrapper("exec 2>&1; echo out; echo err >&2", form, login);
            let at = format!("{form:?} wrapper in {login}");
            assert_eq!(String::from_utf8_lossy(&out), "out\nerr\n", "{at}");
            assert_eq!((code, err.as_slice()), (Some(0), b"".as_slice()), "{at}");
        }
    }

    #[test]
    fn stderr_without_final_newline_is_kept_exactly() {
        for (form, login) in forms() {
            let (_, _, err, _, end) = through_wrapper("printf 'no newline' >&2", form, login);
            assert_eq!(err, b"no newline", "{form:?} in {login}");
            assert_eq!(end, expected_end(form, 0));
            let (_, _, err, _, _) = through_wrapper("printf 'two\\n\\n' >&2", form, login);
            assert_eq!(err, b"two\n\n", "{form:?} in {login}");
        }
    }

    #[test]
    fn a_signal_death_reports_128_plus_the_signal() {
        for (form, login) in forms() {
            let (code, _, _, _, end) = through_wrapper("sh -c 'kill -9 $$'", form, login);
            assert_eq!(
                (code, end),
                (Some(137), expected_end(form, 137)),
                "{form:?} in {login}"
            );
        }
    }

    #[test]
    fn end_marker_is_found_when_split_over_chunks() {
        let mut f = MarkerFilter::new("n");
        let (a, p) = f.feed(b"@@CEXEC-START:n:77\nerr");
        assert_eq!((a.as_slice(), p), (b"err".as_slice(), Some(77)));
        let mut got = Vec::new();
        for b in b"or\n\n@@CEXEC-END:n:3\n" {
            got.extend(f.feed(std::slice::from_ref(b)).0);
        }
        let (tail, end) = f.finish();
        got.extend(tail);
        assert_eq!((got.as_slice(), end), (b"or\n".as_slice(), Some(3)));
    }

    #[test]
    fn end_marker_in_the_middle_is_just_output() {
        let mut f = MarkerFilter::new("n");
        f.feed(b"@@CEXEC-START:n:77\n");
        let (a, _) = f.feed(b"x\n@@CEXEC-END:n:3\nmore\n");
        let (tail, end) = f.finish();
        assert_eq!(end, None);
        assert_eq!([a, tail].concat(), b"x\n@@CEXEC-END:n:3\nmore\n");
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
        // The final newline could begin an end marker: held until the end.
        assert_eq!((c.as_slice(), p), (b"@@CEXEC-START:abc:1".as_slice(), None));
        assert!(f.started());
        assert_eq!(f.finish(), (b"\n".to_vec(), None));
    }

    #[test]
    fn marker_with_other_nonce_is_not_taken() {
        let mut f = MarkerFilter::new("good");
        let (a, p) = f.feed(b"@@CEXEC-START:bad:1\n");
        assert_eq!(p, None);
        assert!(a.is_empty());
        assert_eq!(f.finish(), (b"@@CEXEC-START:bad:1\n".to_vec(), None));
    }

    #[test]
    fn kill_script_refuses_init_and_everything() {
        assert!(kill_script(1).is_none());
        assert!(kill_script(0).is_none());
        assert!(kill_script(-5).is_none());
        assert!(kill_script(1234).unwrap().contains("-1234"));
    }
}
