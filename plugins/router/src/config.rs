//! The router's `[config]` section.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// More words that mark a command as heavy (kept off the local node).
    pub extra_heavy: Vec<String>,
    /// More programs that count as simple (may run locally).
    pub extra_simple: Vec<String>,
    /// Never place anything on the local node, even simple commands.
    pub avoid_local: bool,
}

/// Parses the JSON the host hands over; empty text means defaults.
pub fn parse(text: &str) -> Result<Config, String> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    serde_json::from_str(text).map_err(|e| format!("router config: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = super::parse(r#"{"avoid_locl": true}"#).unwrap_err();
        assert!(err.contains("avoid_locl"), "{err}");
    }
}
