//! Appending to the audit log, safely across threads and processes.
//!
//! The file is opened with `O_APPEND` (mode 0600, parent folder created 0700)
//! and every append takes an exclusive `flock` around "read the last line's
//! hash, write the next line", so two processes (the MCP server and a CLI)
//! never fork the chain. Reopening an existing file continues its chain.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Map, Value, json};

use super::canonical::{GENESIS, canonical_json, line_hash};
use super::flusher::Flusher;
use crate::config::AuditSync;

/// An open, append-only, hash-chained audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    /// `flock` excludes other processes; this excludes other threads, which
    /// share the same open file description and so the same lock.
    file: Mutex<File>,
    /// Set for `sync = "background"`: who flushes to disk.
    flusher: Option<Flusher>,
}

/// Releases the `flock` when dropped, on every path out of `record`.
struct FlockGuard<'a>(&'a File);

impl<'a> FlockGuard<'a> {
    fn lock(file: &'a File) -> std::io::Result<Self> {
        loop {
            // SAFETY: flock on a valid open descriptor owned by `file`.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(Self(file));
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl Drop for FlockGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking a held lock cannot fail meaningfully.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

impl AuditLog {
    /// Opens (creating if needed) the log at `path`; `sync` says when lines
    /// reach the disk.
    pub fn open(path: impl AsRef<Path>, sync: AuditSync) -> anyhow::Result<AuditLog> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .with_context(|| {
                    format!(
                        "cannot create audit log folder {}; set [audit] path to a writable place",
                        parent.display()
                    )
                })?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot open audit log {}; set [audit] path to a writable file",
                    path.display()
                )
            })?;
        let meta = file
            .metadata()
            .with_context(|| format!("cannot stat audit log {}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .with_context(|| {
                    format!(
                        "audit log {} is readable by others and cannot be made private; \
                         chmod 600 it",
                        path.display()
                    )
                })?;
        }
        let flusher = match sync {
            AuditSync::Always => None,
            AuditSync::Background => Some(
                file.try_clone()
                    .and_then(|f| Flusher::start(f, path.display().to_string()))
                    .with_context(|| {
                        format!("cannot start flushing audit log {}", path.display())
                    })?,
            ),
        };
        Ok(AuditLog {
            path,
            file: Mutex::new(file),
            flusher,
        })
    }

    /// Disk flushes the background thread has completed (`None` with
    /// `sync = "always"`, where every request flushes inline).
    pub fn background_flushes(&self) -> Option<u64> {
        self.flusher.as_ref().map(Flusher::flushes)
    }

    /// The file this log writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event. `fields` is stored under `data`. Returns the new
    /// line's sequence number. The line is written (other processes and a
    /// crash of this one see it); with `sync = "background"` the flushing
    /// thread takes it to disk, and with `"always"` a request's steps are
    /// made durable together by [`AuditLog::record_durable`] on its last
    /// line, which keeps one disk flush per command instead of five.
    pub fn record(&self, kind: &str, fields: Value) -> anyhow::Result<u64> {
        if let Some(why) = self.flusher.as_ref().and_then(Flusher::failure) {
            bail!(
                "audit log {} could not be flushed to disk ({why}); lines may be lost, so \
                 nothing more is recorded: check the disk, run `cluster-exec audit verify` and \
                 restart",
                self.path.display()
            );
        }
        let seq = self.append(kind, fields, false)?;
        if let Some(f) = &self.flusher {
            f.request();
        }
        Ok(seq)
    }

    /// Appends one event and flushes the file to disk, with every line
    /// written before it (`sync = "always"`), or asks the flushing thread
    /// to (`"background"`).
    pub fn record_durable(&self, kind: &str, fields: Value) -> anyhow::Result<u64> {
        match &self.flusher {
            Some(_) => self.record(kind, fields),
            None => self.append(kind, fields, true),
        }
    }

    fn append(&self, kind: &str, fields: Value, durable: bool) -> anyhow::Result<u64> {
        let file = self
            .file
            .lock()
            .map_err(|_| anyhow!("audit log {} lock poisoned", self.path.display()))?;
        let _flock = FlockGuard::lock(&file)
            .with_context(|| format!("cannot lock audit log {}", self.path.display()))?;
        let (last_seq, prev) = last_link(&file).with_context(|| {
            format!(
                "audit log {} cannot be continued; run `cluster-exec audit verify` and move the \
                 damaged file aside",
                self.path.display()
            )
        })?;
        let seq = last_seq + 1;
        let mut line = Map::new();
        line.insert("seq".into(), json!(seq));
        line.insert(
            "ts".into(),
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        line.insert("kind".into(), json!(kind));
        line.insert("data".into(), fields);
        line.insert("prev".into(), json!(prev));
        let hash = line_hash(&line);
        line.insert("hash".into(), json!(hash));
        let mut text = canonical_json(&Value::Object(line));
        text.push('\n');
        let mut writer: &File = &file;
        writer
            .write_all(text.as_bytes())
            .and_then(|()| if durable { writer.sync_data() } else { Ok(()) })
            .with_context(|| format!("cannot append to audit log {}", self.path.display()))?;
        Ok(seq)
    }
}

/// The `seq` and `hash` of the file's last line (0 and [`GENESIS`] when
/// empty). Refuses a file whose last line is incomplete or not a chain line:
/// appending after damage would hide it.
fn last_link(file: &File) -> anyhow::Result<(u64, String)> {
    let mut f: &File = file;
    let len = f.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok((0, GENESIS.to_string()));
    }
    // Read backwards in growing windows until the window holds a whole line.
    let mut window: u64 = 4096;
    loop {
        let start = len.saturating_sub(window);
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        f.take(len - start).read_to_end(&mut buf)?;
        if buf.last() != Some(&b'\n') {
            bail!("its last line is incomplete (no newline at the end)");
        }
        let body = &buf[..buf.len() - 1];
        match body.iter().rposition(|b| *b == b'\n') {
            Some(pos) => return parse_link(&body[pos + 1..]),
            None if start == 0 => return parse_link(body),
            None => window = window.saturating_mul(4),
        }
    }
}

fn parse_link(line: &[u8]) -> anyhow::Result<(u64, String)> {
    let v: Value = serde_json::from_slice(line).context("its last line is not JSON")?;
    let seq = v
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("its last line has no seq"))?;
    let hash = v
        .get("hash")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("its last line has no hash"))?;
    Ok((seq, hash.to_string()))
}
