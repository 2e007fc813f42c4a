//! The original server's environment variables, which keep working and win
//! over the file. Lookups go through a plain map so tests never mutate the
//! process environment.

use std::collections::BTreeMap;

/// A snapshot of the environment variables that matter (`CLUSTER_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The `CLUSTER_*` variables of this process.
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars()
                .filter(|(k, _)| k.starts_with("CLUSTER_"))
                .collect(),
        }
    }

    /// An environment for tests: exactly these pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A number from `name`; an unparsable value is an error naming the
    /// variable, never silently ignored.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> anyhow::Result<Option<T>> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => raw.trim().parse::<T>().map(Some).map_err(|_| {
                anyhow::anyhow!(
                    "environment variable {name}={raw:?} is not a valid number; fix or unset it"
                )
            }),
        }
    }
}

/// `CLUSTER_<NODE>_<SUFFIX>` for a node id: upper-cased, `-` and `.` as `_`.
pub fn node_var(node_id: &str, suffix: &str) -> String {
    let id: String = node_id
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    format!("CLUSTER_{id}_{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_variables_are_upper_case_with_underscores() {
        assert_eq!(node_var("gpu-box", "HOST"), "CLUSTER_GPU_BOX_HOST");
        assert_eq!(node_var("h0", "IP"), "CLUSTER_H0_IP");
    }

    #[test]
    fn bad_numbers_are_errors_that_name_the_variable() {
        let env = Env::from_pairs([("CLUSTER_SSH_RETRIES", "many")]);
        let e = env.number::<u32>("CLUSTER_SSH_RETRIES").unwrap_err();
        assert!(e.to_string().contains("CLUSTER_SSH_RETRIES"));
    }
}
