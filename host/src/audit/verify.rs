//! Checking an audit log: every line's hash, sequence and chain link.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::canonical::{GENESIS, line_hash};

/// What is wrong with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Not a JSON object, or a required key is missing.
    Unparsable,
    /// The content does not match its hash: the line was edited.
    Edited,
    /// The sequence jumps: a line was deleted or lines were reordered.
    Missing,
    /// The line does not link to the one before it.
    BrokenChain,
    /// The file ends in the middle of a line.
    Truncated,
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// 1-based line number in the file.
    pub line: u64,
    pub kind: ProblemKind,
    pub message: String,
}

/// The verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyReport {
    pub path: PathBuf,
    pub ok: bool,
    /// Lines that verified before the first problem (all of them when ok).
    pub lines_verified: u64,
    /// `seq` and `hash` of the last good line: compare with a copy kept
    /// elsewhere to notice lines cut from the end, which no chain can show.
    pub last_seq: u64,
    pub last_hash: String,
    pub problem: Option<Problem>,
}

/// Verifies the whole file. An `Err` means the file could not be read; a
/// damaged file is an `Ok` report with `ok: false` and the first problem.
pub fn verify(path: impl AsRef<Path>) -> anyhow::Result<VerifyReport> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read audit log {}", path.display()))?;
    Ok(verify_bytes(path, &bytes))
}

fn verify_bytes(path: &Path, bytes: &[u8]) -> VerifyReport {
    let mut report = VerifyReport {
        path: path.to_path_buf(),
        ok: true,
        lines_verified: 0,
        last_seq: 0,
        last_hash: GENESIS.to_string(),
        problem: None,
    };
    let complete = bytes.last().is_none_or(|b| *b == b'\n');
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let count = lines.len();
    for (i, raw) in lines.into_iter().enumerate() {
        let n = i as u64 + 1;
        let fail = |kind, message: String| Problem {
            line: n,
            kind,
            message,
        };
        if i + 1 == count && !complete {
            report.problem = Some(fail(
                ProblemKind::Truncated,
                format!("line {n} is incomplete: the file was truncated or a write was cut off"),
            ));
            break;
        }
        match check_line(raw, report.last_seq, &report.last_hash) {
            Ok((seq, hash)) => {
                report.last_seq = seq;
                report.last_hash = hash;
                report.lines_verified = n;
            }
            Err((kind, why)) => {
                report.problem = Some(fail(kind, format!("line {n}: {why}")));
                break;
            }
        }
    }
    report.ok = report.problem.is_none();
    report
}

fn check_line(
    raw: &[u8],
    last_seq: u64,
    last_hash: &str,
) -> Result<(u64, String), (ProblemKind, String)> {
    let v: Value = serde_json::from_slice(raw)
        .map_err(|e| (ProblemKind::Unparsable, format!("not JSON ({e})")))?;
    let obj = v
        .as_object()
        .ok_or((ProblemKind::Unparsable, "not a JSON object".to_string()))?;
    let seq = obj
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or((ProblemKind::Unparsable, "no numeric `seq`".to_string()))?;
    let stored = obj
        .get("hash")
        .and_then(Value::as_str)
        .ok_or((ProblemKind::Unparsable, "no `hash`".to_string()))?;
    let prev = obj
        .get("prev")
        .and_then(Value::as_str)
        .ok_or((ProblemKind::Unparsable, "no `prev`".to_string()))?;
    if line_hash(obj) != stored {
        return Err((
            ProblemKind::Edited,
            "content does not match its hash: the line was edited".to_string(),
        ));
    }
    if seq != last_seq + 1 {
        return Err((
            ProblemKind::Missing,
            format!(
                "seq is {seq} where {} was expected: lines were deleted or reordered",
                last_seq + 1
            ),
        ));
    }
    if prev != last_hash {
        return Err((
            ProblemKind::BrokenChain,
            "`prev` does not match the previous line's hash: the chain is broken".to_string(),
        ));
    }
    Ok((seq, stored.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::AuditLog;
    use super::*;
    use crate::config::AuditSync;
    use serde_json::json;

    fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("audit.jsonl");
        let log = AuditLog::open(&path, AuditSync::Always).unwrap();
        for i in 0..n {
            log.record("request", json!({"i": i, "command": "echo hi"}))
                .unwrap();
        }
        (dir, path)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn write(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn intact_log_verifies() {
        let (_d, path) = log_with(5);
        let r = verify(&path).unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(r.lines_verified, 5);
        assert_eq!(r.last_seq, 5);
    }

    #[test]
    fn empty_log_verifies() {
        let (_d, path) = log_with(0);
        assert!(verify(&path).unwrap().ok);
    }

    #[test]
    fn edited_line_is_found() {
        let (_d, path) = log_with(4);
        let mut l = lines(&path);
        l[2] = l[2].replace("echo hi", "echo ho");
        write(&path, &l);
        let p = verify(&path).unwrap().problem.unwrap();
        assert_eq!((p.line, p.kind), (3, ProblemKind::Edited));
    }

    #[test]
    fn deleted_line_is_found() {
        let (_d, path) = log_with(4);
        let mut l = lines(&path);
        l.remove(1);
        write(&path, &l);
        let p = verify(&path).unwrap().problem.unwrap();
        assert_eq!((p.line, p.kind), (2, ProblemKind::Missing));
    }

    #[test]
    fn deleted_first_line_is_found() {
        let (_d, path) = log_with(3);
        let mut l = lines(&path);
        l.remove(0);
        write(&path, &l);
        let p = verify(&path).unwrap().problem.unwrap();
        assert_eq!((p.line, p.kind), (1, ProblemKind::Missing));
    }

    #[test]
    fn reordered_lines_are_found() {
        let (_d, path) = log_with(4);
        let mut l = lines(&path);
        l.swap(1, 2);
        write(&path, &l);
        let p = verify(&path).unwrap().problem.unwrap();
        assert_eq!((p.line, p.kind), (2, ProblemKind::Missing));
    }

    #[test]
    fn truncated_file_is_found() {
        let (_d, path) = log_with(3);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let p = verify(&path).unwrap().problem.unwrap();
        assert_eq!((p.line, p.kind), (3, ProblemKind::Truncated));
    }

    #[test]
    fn relinked_forgery_is_found() {
        // Someone rewrites a line *and* recomputes its hash: the next line's
        // `prev` no longer matches.
        let (_d, path) = log_with(3);
        let mut l = lines(&path);
        let mut v: serde_json::Map<String, Value> = serde_json::from_str(&l[1]).unwrap();
        v.insert("kind".into(), json!("forged"));
        let h = line_hash(&v);
        v.insert("hash".into(), json!(h));
        l[1] = super::super::canonical_json(&Value::Object(v));
        write(&path, &l);
        let p = verify(&path).unwrap().problem.unwrap();
        assert_eq!((p.line, p.kind), (3, ProblemKind::BrokenChain));
    }

    #[test]
    fn garbage_line_is_found() {
        let (_d, path) = log_with(2);
        let mut l = lines(&path);
        l.insert(1, "not json".into());
        write(&path, &l);
        let p = verify(&path).unwrap().problem.unwrap();
        assert_eq!((p.line, p.kind), (2, ProblemKind::Unparsable));
    }

    #[test]
    fn reopening_continues_the_chain_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, path) = log_with(2);
        let log = AuditLog::open(&path, AuditSync::Always).unwrap();
        assert_eq!(log.record("result", json!({})).unwrap(), 3);
        let r = verify(&path).unwrap();
        assert!(r.ok && r.last_seq == 3, "{r:?}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dmode & 0o777, 0o700);
    }

    #[test]
    fn appending_after_damage_is_refused() {
        let (_d, path) = log_with(2);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let log = AuditLog::open(&path, AuditSync::Always).unwrap();
        let e = log.record("x", json!({})).unwrap_err();
        assert!(format!("{e:#}").contains("incomplete"), "{e:#}");
    }

    #[test]
    fn concurrent_writers_keep_one_chain() {
        let (_d, path) = log_with(0);
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // Separate opens behave like separate processes (each its
                    // own open file description, so flock really excludes).
                    let log = AuditLog::open(&path, AuditSync::Always).unwrap();
                    for i in 0..25 {
                        log.record("t", json!({"t": t, "i": i})).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let r = verify(&path).unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(r.last_seq, 100);
    }
}
