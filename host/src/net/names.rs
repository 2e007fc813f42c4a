//! Strict character sets for node ids, aliases, host names and user names.
//!
//! These strings end up as arguments of `ssh`; anything that could be read as
//! an option (a leading `-`), a shell word separator or a control character is
//! refused when the configuration loads, long before a command runs.

use std::net::IpAddr;

/// Why a name was refused, said in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{value}` is not allowed: {why}")]
pub struct NameError {
    pub what: &'static str,
    pub value: String,
    pub why: String,
}

fn refuse(what: &'static str, value: &str, why: impl Into<String>) -> NameError {
    NameError {
        what,
        value: value.escape_debug().to_string(),
        why: why.into(),
    }
}

/// Letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most
/// `max` bytes. Shared by node ids and aliases.
fn check_word(what: &'static str, value: &str, max: usize) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(refuse(what, value, "it is empty"));
    }
    if value.len() > max {
        return Err(refuse(
            what,
            value,
            format!("it is longer than {max} bytes"),
        ));
    }
    let first = value.as_bytes()[0];
    if !first.is_ascii_alphanumeric() {
        return Err(refuse(
            what,
            value,
            "it must start with a letter or a digit",
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(refuse(
            what,
            value,
            format!("character {bad:?} is outside [A-Za-z0-9_.-]"),
        ));
    }
    Ok(())
}

/// A node id: `[A-Za-z0-9][A-Za-z0-9_.-]{0,62}`.
pub fn check_node_id(id: &str) -> Result<(), NameError> {
    check_word("node id", id, 63)
}

/// An alias (role) such as `builder`: same set as node ids.
pub fn check_alias(alias: &str) -> Result<(), NameError> {
    check_word("alias", alias, 63)
}

/// A remote user name: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}`.
pub fn check_user(user: &str) -> Result<(), NameError> {
    const WHAT: &str = "user name";
    if user.is_empty() {
        return Err(refuse(WHAT, user, "it is empty"));
    }
    if user.len() > 32 {
        return Err(refuse(WHAT, user, "it is longer than 32 bytes"));
    }
    let first = user.as_bytes()[0];
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return Err(refuse(
            WHAT,
            user,
            "it must start with a letter, a digit or `_`",
        ));
    }
    if let Some(bad) = user
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(refuse(
            WHAT,
            user,
            format!("character {bad:?} is outside [A-Za-z0-9_.-]"),
        ));
    }
    Ok(())
}

/// A host: an IPv4 or IPv6 literal, or a DNS name made of labels of
/// `[A-Za-z0-9-]` (not starting or ending with `-`) joined by dots.
pub fn check_host(host: &str) -> Result<(), NameError> {
    const WHAT: &str = "host";
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if host.is_empty() {
        return Err(refuse(WHAT, host, "it is empty"));
    }
    if host.len() > 253 {
        return Err(refuse(WHAT, host, "it is longer than 253 bytes"));
    }
    if host.starts_with('-') {
        return Err(refuse(
            WHAT,
            host,
            "it starts with `-` and would be read as an ssh option",
        ));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    for label in name.split('.') {
        if label.is_empty() {
            return Err(refuse(WHAT, host, "it has an empty label (`..`)"));
        }
        if label.len() > 63 {
            return Err(refuse(WHAT, host, "a label is longer than 63 bytes"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(refuse(
                WHAT,
                host,
                format!("character {bad:?} is not allowed in a host name"),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(refuse(WHAT, host, "a label starts or ends with `-`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_refuse_shell_and_option_syntax() {
        assert!(check_node_id("h0").is_ok());
        assert!(check_node_id("gpu-box.2_a").is_ok());
        for bad in [
            "",
            "builder; rm -rf /",
            "-x",
            ".x",
            "a b",
            "a$b",
            "é",
            "a\nb",
        ] {
            assert!(check_node_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn hosts_refuse_options_and_odd_characters() {
        for good in [
            "example.org",
            "h0",
            "198.18.0.2",
            "::1",
            "fe80::1",
            "a-b.c.",
        ] {
            assert!(check_host(good).is_ok(), "{good:?} refused");
        }
        for bad in [
            "-oProxyCommand=touch /tmp/x",
            "a..b",
            "a b",
            "a;b",
            "-a.b",
            "a-.b",
            "",
            "user@host",
            "[::1]",
        ] {
            assert!(check_host(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn users_are_plain_words() {
        assert!(check_user("root").is_ok());
        assert!(check_user("_svc.x-1").is_ok());
        for bad in ["", "-l", "a b", "a@b", "root;id"] {
            assert!(check_user(bad).is_err(), "{bad:?} accepted");
        }
    }
}
