//! The stable names of what the validator looks for.

/// A category of danger. Names are kebab-case and stable: they start every
/// reason and are the keys of the `categories` configuration table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    RecursiveDelete,
    BlockDevices,
    ForkBomb,
    Permissions,
    SystemHalt,
    CriticalFiles,
    RemoteAccess,
    HiddenExecution,
    ParseErrors,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::RecursiveDelete,
        Category::BlockDevices,
        Category::ForkBomb,
        Category::Permissions,
        Category::SystemHalt,
        Category::CriticalFiles,
        Category::RemoteAccess,
        Category::HiddenExecution,
        Category::ParseErrors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::RecursiveDelete => "recursive-delete",
            Category::BlockDevices => "block-devices",
            Category::ForkBomb => "fork-bomb",
            Category::Permissions => "permissions",
            Category::SystemHalt => "system-halt",
            Category::CriticalFiles => "critical-files",
            Category::RemoteAccess => "remote-access",
            Category::HiddenExecution => "hidden-execution",
            Category::ParseErrors => "parse-errors",
        }
    }

    /// Accepts `system-halt` and `system_halt`.
    pub fn from_name(s: &str) -> Option<Category> {
        let s = s.replace('_', "-");
        Category::ALL.into_iter().find(|c| c.name() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What the policy does with a finding of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Deny,
    Ask,
    Off,
}

/// Where a finding came from: built in, or a configured rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Builtin(Category),
    /// A `deny` or `ask` rule, by its location (`deny[2]`).
    Rule {
        location: String,
        ask: bool,
    },
}

/// The command a finding was made on, for matching allow rules.
#[derive(Debug, Clone, Default)]
pub struct CmdCtx {
    pub program: String,
    pub args: Vec<crate::expand::Arg>,
}

/// One thing found wrong with a command.
#[derive(Debug, Clone)]
pub struct Finding {
    pub source: Source,
    /// What was found, e.g. `rm -r of /`.
    pub what: String,
    /// The command it was found in, as written.
    pub fragment: String,
    pub ctx: Option<CmdCtx>,
}

impl Finding {
    /// `<category>: <what> (<fragment>)`
    pub fn reason(&self) -> String {
        let head = match &self.source {
            Source::Builtin(c) => c.name().to_string(),
            Source::Rule { location, .. } => format!("custom-rule {location}"),
        };
        if self.fragment.is_empty() {
            format!("{head}: {}", self.what)
        } else {
            format!("{head}: {} ({})", self.what, self.fragment)
        }
    }
}
