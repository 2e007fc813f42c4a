//! The configured policy: what each category does, the team's own rules,
//! and the bounds on input size and work.

use crate::category::{Category, Mode};

/// Bounds that keep judging fast on hostile input.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longer commands are denied unread.
    pub max_bytes: usize,
    /// Nesting of `$(...)`, groups, compound commands and nested shells.
    pub max_depth: usize,
    /// Nesting of shells inside shells (`bash -c "bash -c ..."`).
    pub max_shell_depth: usize,
    /// Work steps; set per command from its length.
    pub max_steps: u64,
}

/// Commands longer than this are refused by default.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;
/// No configuration may raise the size bound above this.
pub const HARD_MAX_BYTES: usize = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_depth: 40,
            max_shell_depth: 6,
            max_steps: u64::MAX,
        }
    }
}

/// A configured rule, matched against the program really run and its
/// expanded arguments (not against the raw text).
#[derive(Debug, Clone, Default)]
pub struct Rule {
    /// Where it was configured, e.g. `deny[2]`: quoted in reasons.
    pub location: String,
    /// Globs on the program's name (`terraform`, `{mysql,psql}`), after
    /// `{a,b}` expansion: any may match; empty means any program.
    pub program: Vec<String>,
    /// Each entry (a glob and its `{a,b}` alternatives) must match at least
    /// one argument.
    pub args: Vec<Vec<String>>,
    /// At least one path argument must match one of these path globs
    /// (`*` stays within a component, `**` crosses them).
    pub paths: Vec<String>,
    /// Only on these nodes (globs); an unknown node matches deny rules only.
    pub nodes: Vec<String>,
    pub reason: Option<String>,
    /// Allow rules only: built-in categories this rule may override.
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub modes: [Mode; Category::ALL.len()],
    pub deny: Vec<Rule>,
    pub ask: Vec<Rule>,
    pub allow: Vec<Rule>,
    pub limits: Limits,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            modes: [Mode::Deny; Category::ALL.len()],
            deny: Vec::new(),
            ask: Vec::new(),
            allow: Vec::new(),
            limits: Limits::default(),
        }
    }
}

impl Policy {
    pub fn mode(&self, c: Category) -> Mode {
        self.modes[c.index()]
    }
}
