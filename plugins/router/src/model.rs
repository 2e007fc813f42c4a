//! Plain mirrors of the WIT records, so the policy compiles and tests natively.

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Load {
    pub reachable: bool,
    pub cores: Option<u32>,
    pub load_average: Option<f32>,
    pub running_tasks: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    pub id: String,
    pub os: String,
    pub arch: String,
    pub capabilities: Vec<String>,
    pub specialties: Vec<String>,
    pub priority: i32,
    pub max_tasks: u32,
    pub is_local: bool,
    pub load: Load,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requirements {
    pub os: Option<String>,
    pub arch: Option<String>,
    pub capabilities: Vec<String>,
}

/// Operating-system names as users write them, folded to one spelling.
pub fn normalize_os(os: &str) -> String {
    match os.trim().to_ascii_lowercase().as_str() {
        "darwin" | "macos" | "osx" | "mac" => "macos".to_string(),
        "win" | "windows" | "win32" => "windows".to_string(),
        other => other.to_string(),
    }
}

/// Architecture names as users write them, folded to one spelling.
pub fn normalize_arch(arch: &str) -> String {
    match arch.trim().to_ascii_lowercase().as_str() {
        "aarch64" | "arm64" => "arm64".to_string(),
        "amd64" | "x86_64" | "x64" | "x86-64" => "x86_64".to_string(),
        other => other.to_string(),
    }
}
