//! The audit log: one JSON line per event (request, verdict, routing decision,
//! connection attempt, result), each chained to the previous line by SHA-256
//! so that an edited, deleted, reordered or truncated line is found by
//! [`verify`].
//!
//! Line format (keys sorted, compact JSON):
//! `{"data":{...},"hash":"<hex>","kind":"...","prev":"<hex>","seq":N,"ts":"..."}`
//! where `hash` is the SHA-256 of the canonical JSON of the line without its
//! `hash` key, `prev` is the previous line's `hash` (64 zeros for the first
//! line) and `seq` counts from 1.

mod canonical;
mod flusher;
mod verify;
mod writer;

pub use canonical::{GENESIS, canonical_json, line_hash};
pub use verify::{Problem, ProblemKind, VerifyReport, verify};
pub use writer::AuditLog;
