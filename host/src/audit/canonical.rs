//! Canonical JSON (sorted keys, no whitespace) and the line hash, shared by
//! the writer and the verifier so they can never disagree.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `prev` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Compact JSON with object keys sorted at every level, independent of how
/// `serde_json` was built (its `preserve_order` feature changes map order).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(child) = map.get(k) {
                    write(child, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Hex SHA-256 of the canonical form of `line` without its `hash` key.
pub fn line_hash(line: &serde_json::Map<String, Value>) -> String {
    let mut without = line.clone();
    without.remove("hash");
    let text = canonical_json(&Value::Object(without));
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [ {"z": 1, "y": 2} ], "c": "x"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}"#
        );
    }

    #[test]
    fn hash_ignores_the_hash_key() {
        let mut m = serde_json::Map::new();
        m.insert("seq".into(), json!(1));
        let h1 = line_hash(&m);
        m.insert("hash".into(), json!("whatever"));
        assert_eq!(h1, line_hash(&m));
        assert_eq!(h1.len(), 64);
    }
}
