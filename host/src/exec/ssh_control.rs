//! ControlMaster sockets: a private folder, short socket paths, and slots.
//!
//! sshd allows `MaxSessions` (default 10) sessions on one connection. Each
//! target gets numbered control sockets ("slots"); a slot carries at most
//! [`SESSIONS_PER_SOCKET`] commands, which leaves room on the same
//! connection for the kill session of a timed-out command and a status
//! probe. A ninth concurrent command opens the next slot, i.e. a second
//! master connection.

use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

/// Commands per control socket.
pub const SESSIONS_PER_SOCKET: u32 = 8;

/// Creates `dir` (mode 0700) or checks that an existing one is ours and
/// private: a socket in a shared folder could be swapped by another user.
pub fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| {
                format!(
                    "cannot create the ssh control folder {}; set [ssh] control_dir to a \
                     writable place",
                    dir.display()
                )
            })?;
    }
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("cannot stat ssh control folder {}", dir.display()))?;
    if !meta.is_dir() {
        bail!(
            "ssh control folder {} is not a directory; remove it or set [ssh] control_dir",
            dir.display()
        );
    }
    if meta.uid() != crate::config::paths::current_uid() {
        bail!(
            "ssh control folder {} belongs to another user; set [ssh] control_dir to a folder \
             of your own",
            dir.display()
        );
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(
            || {
                format!(
                    "cannot make ssh control folder {} private (0700)",
                    dir.display()
                )
            },
        )?;
    }
    Ok(())
}

/// Slot bookkeeping for every target this process talks to.
#[derive(Debug)]
pub struct ControlSlots {
    dir: PathBuf,
    used: Arc<Mutex<HashMap<String, Vec<u32>>>>,
}

/// One session's claim on a slot; released on drop.
#[derive(Debug)]
pub struct SlotLease {
    used: Arc<Mutex<HashMap<String, Vec<u32>>>>,
    key: String,
    pub slot: usize,
    pub path: PathBuf,
}

impl Drop for SlotLease {
    fn drop(&mut self) {
        let mut map = match self.used.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if let Some(c) = map.get_mut(&self.key).and_then(|v| v.get_mut(self.slot)) {
            *c = c.saturating_sub(1);
        }
    }
}

impl ControlSlots {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            used: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A short key for a target: 10 hex chars of a hash of what identifies
    /// the connection (so two nodes, users or ports never share a socket).
    pub fn key(user: Option<&str>, host: &str, addr: &str, port: u16) -> String {
        let mut h = Sha256::new();
        h.update(user.unwrap_or("").as_bytes());
        h.update([0]);
        h.update(host.as_bytes());
        h.update([0]);
        h.update(addr.as_bytes());
        h.update([0]);
        h.update(port.to_be_bytes());
        hex::encode(&h.finalize()[..5])
    }

    /// The socket path of `slot` for `key`: `<dir>/<key>-<slot>`.
    pub fn path(&self, key: &str, slot: usize) -> PathBuf {
        self.dir.join(format!("{key}-{slot}"))
    }

    /// Claims the first slot with room, opening a new one when all are full.
    pub fn acquire(&self, key: &str) -> SlotLease {
        let mut map = match self.used.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let counts = map.entry(key.to_string()).or_default();
        let slot = match counts.iter().position(|c| *c < SESSIONS_PER_SOCKET) {
            Some(i) => i,
            None => {
                counts.push(0);
                counts.len() - 1
            }
        };
        counts[slot] += 1;
        SlotLease {
            used: self.used.clone(),
            key: key.to_string(),
            slot,
            path: self.path(key, slot),
        }
    }

    /// Every socket path this process may have opened.
    pub fn known_paths(&self) -> Vec<PathBuf> {
        let map = match self.used.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.iter()
            .flat_map(|(k, v)| (0..v.len()).map(move |i| (k.clone(), i)))
            .map(|(k, i)| self.path(&k, i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fill_up_to_eight_then_open_another() {
        let c = ControlSlots::new(PathBuf::from("/tmp/x"));
        let leases: Vec<_> = (0..20).map(|_| c.acquire("k")).collect();
        let per: Vec<usize> = leases.iter().map(|l| l.slot).collect();
        assert_eq!(per.iter().filter(|s| **s == 0).count(), 8);
        assert_eq!(per.iter().filter(|s| **s == 1).count(), 8);
        assert_eq!(per.iter().filter(|s| **s == 2).count(), 4);
        drop(leases);
        assert_eq!(c.acquire("k").slot, 0);
    }

    #[test]
    fn socket_paths_stay_short() {
        let c = ControlSlots::new(PathBuf::from("/tmp/cluster-exec-4294967295"));
        let key = ControlSlots::key(
            Some("someone"),
            "a-very-long-host-name.example.org",
            "2001:db8::1",
            2222,
        );
        let p = c.path(&key, 12);
        assert!(p.as_os_str().len() < 60, "{}", p.display());
    }

    #[test]
    fn control_dir_is_made_private() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("ctl");
        prepare_dir(&d).unwrap();
        let mode = std::fs::metadata(&d).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare_dir(&d).unwrap();
        let mode = std::fs::metadata(&d).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
