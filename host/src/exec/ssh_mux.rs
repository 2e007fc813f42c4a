//! Sessions on a warm ControlMaster without an `ssh` process per command.
//!
//! An `ssh` given a ControlPath whose master is up does little more than
//! parse its configuration, connect to the socket, and speak the master's
//! multiplexing protocol (OpenSSH's `PROTOCOL.mux`, version 4, stable since
//! OpenSSH 5.5): it hands over its stdin, stdout and stderr and waits for the
//! exit message. On a loopback link that start-up is most of the command's
//! time (about 5 of 8 ms on the test bed). Speaking the protocol here skips
//! it. The connection, its hardened options, authentication and the host-key
//! check all belong to the master, which the system `ssh` started with the
//! same options ([`super::ssh_args`]); with no master up, the caller runs
//! `ssh`, which starts one.
//!
//! The master receives our pipe ends for stdout and stderr and `/dev/null`
//! for stdin, so output reaches us exactly as from a child `ssh`. As `ssh`
//! does, we read the control connection until the master closes it: the
//! exit message can come before the last output has been written to our
//! pipes, and a client that goes away makes the master close its session.
//! The session carries no environment from us (the master's own `SetEnv`
//! still applies).
//!
//! Hand-written rather than the `openssh-mux-client` crate: its `wait`
//! closes the control connection as soon as the exit message arrives, which
//! lost the last stderr of one run in about two hundred here.

use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use sendfd::SendWithFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::net::unix::pipe::Receiver;
use tokio::task::JoinHandle;

/// Message types and the protocol version, from `PROTOCOL.mux`.
const MUX_MSG_HELLO: u32 = 0x0000_0001;
const MUX_C_NEW_SESSION: u32 = 0x1000_0002;
const MUX_S_PERMISSION_DENIED: u32 = 0x8000_0002;
const MUX_S_FAILURE: u32 = 0x8000_0003;
const MUX_S_EXIT_MESSAGE: u32 = 0x8000_0004;
const MUX_S_SESSION_OPENED: u32 = 0x8000_0006;
const MUX_VERSION: u32 = 4;
/// No escape character (`EscapeChar none`).
const NO_ESCAPE: u32 = 0xffff_ffff;
/// The master's limit on one message (`CHANNEL_MUX_MAX_PACKET`); larger
/// answers are not the master talking either.
const MAX_MESSAGE: usize = 256 * 1024;

/// A session the master opened: its exit (the output pipes are handed out
/// with it, see [`Opened::Session`]).
pub struct MuxSession {
    /// Owns the control connection and reads it to the end (see
    /// [`exit_status`]); aborting it closes the connection.
    exit: Option<JoinHandle<Option<u32>>>,
    /// The status once the exit task is done.
    code: Option<i32>,
}

/// What asking the master for a session came to.
pub enum Opened {
    Session {
        session: MuxSession,
        stdout: Receiver,
        stderr: Receiver,
    },
    /// The master took nothing (it stopped taking requests, or the command
    /// is too long for its socket): run `ssh` instead.
    NoMaster(String),
    /// The master answered but refused the session, or the server refused
    /// it (its `MaxSessions`); nothing ran, so a retry is safe.
    Refused(String),
    /// The request went out but its answer was lost: the command may have
    /// started, so it must not be retried.
    Unknown(String),
}

impl MuxSession {
    /// Waits for the remote exit status; `None` when the master closed the
    /// session without one (the login shell died of a signal, or the
    /// connection broke). Cancel-safe.
    pub async fn wait(&mut self) -> Option<i32> {
        let Some(task) = self.exit.as_mut() else {
            return self.code;
        };
        let status = task.await.unwrap_or(None);
        self.exit = None;
        self.code = status.and_then(|c| i32::try_from(c).ok());
        self.code
    }

    /// Lets go of the session: closing the control connection tells the
    /// master this client is gone, and it closes the session.
    pub fn abandon(&mut self) {
        if let Some(task) = self.exit.take() {
            task.abort();
        }
    }
}

impl Drop for MuxSession {
    fn drop(&mut self) {
        self.abandon();
    }
}

/// A control connection whose master answered the hello.
pub struct MuxClient {
    stream: UnixStream,
}

/// Connects to the master on `control` and exchanges hellos within `limit`
/// (nothing is asked of the master yet, so giving up is always safe). An
/// error means no master answers: start one with `ssh`.
pub async fn connect(control: &Path, limit: Duration) -> Result<MuxClient, String> {
    match tokio::time::timeout(limit, hello(control)).await {
        Ok(Ok(stream)) => Ok(MuxClient { stream }),
        Ok(Err(e)) => Err(format!("control socket {}: {e}", control.display())),
        Err(_) => Err(format!(
            "control socket {}: no answer within {} ms",
            control.display(),
            limit.as_millis()
        )),
    }
}

impl MuxClient {
    /// Asks the master for a session running `remote` (the string a login
    /// shell gets, as `ssh host REMOTE` would send it). Once the request is
    /// sent, dropping this future leaves unknown whether the command started.
    pub async fn start(self, remote: &str) -> Opened {
        let MuxClient { mut stream } = self;
        let request = new_session(remote);
        if request.len() > MAX_MESSAGE {
            // The master refuses larger packets; `ssh` passes the command
            // as an argument instead.
            return Opened::NoMaster("the command is too long for the control socket".into());
        }
        let pipes = (|| -> io::Result<_> {
            let stdin = File::open("/dev/null")?;
            let (out_r, out_w) = io::pipe()?;
            let (err_r, err_w) = io::pipe()?;
            Ok((stdin, out_r, out_w, err_r, err_w))
        })();
        let (stdin, out_r, out_w, err_r, err_w) = match pipes {
            Ok(p) => p,
            Err(e) => return Opened::NoMaster(format!("cannot create pipes: {e}")),
        };
        let fds = [stdin.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
        // The master opens nothing before it has all three descriptors, so a
        // failure while sending means nothing can have started.
        let sent = async {
            stream.write_all(&request).await?;
            for fd in fds {
                send_fd(&stream, fd).await?;
            }
            io::Result::Ok(())
        };
        if let Err(e) = sent.await {
            return Opened::NoMaster(format!("the master stopped taking requests: {e}"));
        }
        let answer = read_message(&mut stream).await;
        // The master holds its own copies now; ours would keep the pipes
        // open after the session ends.
        drop((stdin, out_w, err_w));
        // From here on the master may have sent the command to the server
        // (it does so just before answering), so a lost answer is "unknown",
        // never "not started".
        let answer = match answer {
            Ok(m) => m,
            Err(e) => return Opened::Unknown(format!("no answer from the master: {e}")),
        };
        match kind(&answer) {
            Some(MUX_S_SESSION_OPENED) => {}
            Some(MUX_S_PERMISSION_DENIED | MUX_S_FAILURE) => {
                return Opened::Refused(reason(&answer));
            }
            other => {
                return Opened::Unknown(format!("unexpected answer {other:x?} from the master"));
            }
        }
        let watch = |r: io::PipeReader| Receiver::from_owned_fd(OwnedFd::from(r));
        let (stdout, stderr) = match (watch(out_r), watch(err_r)) {
            (Ok(o), Ok(e)) => (o, e),
            (Err(e), _) | (_, Err(e)) => {
                return Opened::Unknown(format!("cannot watch the session's output: {e}"));
            }
        };
        let exit = tokio::spawn(async move { exit_status(&mut stream).await });
        Opened::Session {
            session: MuxSession {
                exit: Some(exit),
                code: None,
            },
            stdout,
            stderr,
        }
    }
}

/// Connects and exchanges hellos.
async fn hello(control: &Path) -> io::Result<UnixStream> {
    let mut stream = UnixStream::connect(control).await?;
    let mut m = Vec::with_capacity(12);
    put_u32(&mut m, MUX_MSG_HELLO);
    put_u32(&mut m, MUX_VERSION);
    stream.write_all(&frame(m)).await?;
    let answer = read_message(&mut stream).await?;
    let version = answer
        .get(4..8)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    if kind(&answer) != Some(MUX_MSG_HELLO) || version != Some(MUX_VERSION) {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            "the master does not speak multiplexing protocol version 4",
        ));
    }
    Ok(stream)
}

/// `MUX_C_NEW_SESSION` without a tty, forwarding, escape character or
/// environment.
fn new_session(remote: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + remote.len());
    put_u32(&mut m, MUX_C_NEW_SESSION);
    put_u32(&mut m, 1); // request id
    put_string(&mut m, b""); // reserved
    for flag in [0u32; 4] {
        // tty, X11 forwarding, agent forwarding, subsystem
        put_u32(&mut m, flag);
    }
    put_u32(&mut m, NO_ESCAPE);
    put_string(&mut m, b""); // terminal type
    put_string(&mut m, remote.as_bytes());
    frame(m)
}

/// The session's exit status, once the master is done with the session:
/// it sends the exit message when the server reports the status, which may be
/// before the last output has reached our pipes, and closes the connection
/// once the session's channel is closed and drained. `None` when it closed
/// without an exit message.
async fn exit_status(stream: &mut UnixStream) -> Option<u32> {
    let mut status = None;
    while let Ok(m) = read_message(stream).await {
        if kind(&m) == Some(MUX_S_EXIT_MESSAGE)
            && let Some(b) = m.get(8..12)
        {
            status = Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        }
        // We never ask for a tty (no MUX_S_TTY_ALLOC_FAIL); nothing else is
        // sent on a session's connection.
    }
    status
}

/// One file descriptor, with the one byte `mm_receive_fd` expects.
async fn send_fd(stream: &UnixStream, fd: RawFd) -> io::Result<()> {
    loop {
        stream.writable().await?;
        match stream.send_with_fd(&[0], &[fd]) {
            Ok(1) => return Ok(()),
            Ok(_) => return Err(io::Error::new(ErrorKind::WriteZero, "fd not sent")),
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

async fn read_message(stream: &mut UnixStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(io::Error::new(ErrorKind::InvalidData, "oversized message"));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

fn kind(m: &[u8]) -> Option<u32> {
    m.get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The reason string of a refusal: type, request id, string.
fn reason(m: &[u8]) -> String {
    m.get(12..)
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "no reason given".into())
}

fn put_u32(m: &mut Vec<u8>, v: u32) {
    m.extend_from_slice(&v.to_be_bytes());
}

fn put_string(m: &mut Vec<u8>, s: &[u8]) {
    put_u32(m, u32::try_from(s.len()).unwrap_or(u32::MAX));
    m.extend_from_slice(s);
}

fn frame(body: Vec<u8>) -> Vec<u8> {
    let mut m = Vec::with_capacity(4 + body.len());
    put_string(&mut m, &body);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_session_is_framed_as_protocol_mux_says() {
        let m = new_session("true");
        let len = u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize;
        assert_eq!(len, m.len() - 4);
        assert_eq!(kind(&m[4..]), Some(MUX_C_NEW_SESSION));
        // type, id, reserved "", 4 flags, escape, term "", command.
        assert_eq!(len, 4 + 4 + 4 + 16 + 4 + 4 + 4 + 4);
        assert!(m.ends_with(b"\0\0\0\x04true"));
    }

    #[test]
    fn refusal_reasons_are_read_after_the_request_id() {
        let mut m = Vec::new();
        put_u32(&mut m, MUX_S_FAILURE);
        put_u32(&mut m, 1);
        put_string(&mut m, b"Session open refused by peer");
        assert_eq!(reason(&m), "Session open refused by peer");
    }
}
