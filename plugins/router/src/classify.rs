//! What kind of work a command is, judged from the programs it runs.

use crate::config::Config;

/// The kind of a command, as far as placement cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reads a little and returns at once: fine on the local node.
    Simple,
    /// Builds, tests, compiles or runs containers: keep off the local node.
    Heavy(&'static str),
    /// Anything else: no preference for or against local.
    Other,
}

/// Each heavy category and the words that mark it.
pub const HEAVY: &[(&str, &[&str])] = &[
    (
        "build",
        &[
            "make",
            "cmake",
            "ninja",
            "bazel",
            "meson",
            "gradle",
            "mvn",
            "build",
            "msbuild",
            "xcodebuild",
        ],
    ),
    (
        "test",
        &[
            "test", "pytest", "ctest", "tox", "nox", "jest", "vitest", "nextest",
        ],
    ),
    (
        "container",
        &[
            "docker", "podman", "buildah", "kubectl", "helm", "nerdctl", "compose",
        ],
    ),
    (
        "compile",
        &[
            "gcc", "g++", "clang", "clang++", "rustc", "javac", "tsc", "compile", "cc", "go",
        ],
    ),
];

/// Programs that only read and return quickly.
pub const SIMPLE: &[&str] = &[
    "ls", "pwd", "cat", "echo", "whoami", "hostname", "date", "uname", "head", "tail", "wc", "df",
    "du", "which", "id", "uptime", "true", "false", "printf", "env", "stat", "file", "grep",
    "find", "ps", "free", "nproc",
];

/// Splits a command into its words, ignoring quoting details: placement only
/// needs a good guess, never a security decision (validators make those).
fn words(command: &str) -> impl Iterator<Item = &str> {
    command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`'))
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
        .filter(|w| !w.is_empty())
}

/// The program of each simple command: the first word after a separator.
fn programs(command: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for segment in command.split([';', '&', '|', '\n']) {
        if let Some(first) = words(segment).find(|w| !w.contains('=')) {
            out.push(first.rsplit('/').next().unwrap_or(first));
        }
    }
    out
}

/// Classifies a command; configured words extend the built-in lists.
pub fn classify(command: &str, config: &Config) -> Kind {
    for word in words(command) {
        let word = word.rsplit('/').next().unwrap_or(word);
        for (category, markers) in HEAVY {
            if markers.contains(&word) || config.extra_heavy.iter().any(|w| w == word) {
                // A configured word has no category of its own: call it build.
                return Kind::Heavy(category);
            }
        }
    }
    let programs = programs(command);
    let all_simple = !programs.is_empty()
        && programs
            .iter()
            .all(|p| SIMPLE.contains(p) || config.extra_simple.iter().any(|s| s == p));
    if all_simple {
        Kind::Simple
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(c: &str) -> Kind {
        classify(c, &Config::default())
    }

    #[test]
    fn build_and_container_commands_are_heavy() {
        assert_eq!(kind("cargo build --release"), Kind::Heavy("build"));
        assert_eq!(kind("cd src && make -j8"), Kind::Heavy("build"));
        assert_eq!(kind("docker ps"), Kind::Heavy("container"));
        assert_eq!(kind("pytest -x"), Kind::Heavy("test"));
        assert_eq!(kind("/usr/bin/gcc -O2 a.c"), Kind::Heavy("compile"));
    }

    #[test]
    fn reading_commands_are_simple_only_when_every_program_is() {
        assert_eq!(kind("ls -la /tmp"), Kind::Simple);
        assert_eq!(kind("cat /etc/os-release | head -3"), Kind::Simple);
        assert_eq!(kind("ls && python train.py"), Kind::Other);
        assert_eq!(kind(""), Kind::Other);
    }
}
