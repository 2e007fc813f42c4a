//! The audit log through its public API: records chain, reopen continues,
//! and tampering is found.

use cluster_exec::audit::{AuditLog, ProblemKind, verify};
use cluster_exec::config::AuditSync;
use serde_json::json;

#[test]
fn records_from_two_handles_form_one_verifiable_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("audit.jsonl");
    let a = AuditLog::open(&path, AuditSync::Always).unwrap();
    let b = AuditLog::open(&path, AuditSync::Always).unwrap();
    a.record("request", json!({"command": "uname -a", "node": "h0"}))
        .unwrap();
    b.record("verdict", json!({"decision": "allow"})).unwrap();
    a.record("result", json!({"exit_code": 0})).unwrap();
    let r = verify(&path).unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.last_seq, 3);
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["kind"], "request");
    assert_eq!(first["data"]["node"], "h0");
    assert_eq!(first["prev"].as_str().unwrap().len(), 64);
}

#[test]
fn an_edited_line_is_reported_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, AuditSync::Always).unwrap();
    for i in 0..3 {
        log.record("result", json!({"exit_code": i})).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"exit_code\":1", "\"exit_code\":0", 1),
    )
    .unwrap();
    let r = verify(&path).unwrap();
    let p = r.problem.unwrap();
    assert_eq!((p.line, p.kind), (2, ProblemKind::Edited));
    assert_eq!(r.lines_verified, 1);
}

#[test]
fn background_sync_writes_every_line_at_once_and_flushes_off_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = std::sync::Arc::new(AuditLog::open(&path, AuditSync::Background).unwrap());
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.record_durable("result", json!({"thread": t, "i": i}))
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    // Written before `record` returned: all there, chained, without waiting
    // for the flushing thread.
    let r = verify(&path).unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.last_seq, 100);
    // And the thread does flush.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while log.background_flushes() == Some(0) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(log.background_flushes().unwrap() >= 1, "no flush happened");
    let always = AuditLog::open(&path, AuditSync::Always).unwrap();
    assert_eq!(always.background_flushes(), None);
}
