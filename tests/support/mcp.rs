//! Shared pieces of the MCP end-to-end tests: a private home for each
//! server (config, audit log, plugin cache, XDG dirs), the real binary
//! spawned over stdio, rmcp's client with a scriptable elicitation answer,
//! and process checks through /proc.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, Implementation, JsonObject, ProgressNotificationParam,
};
use rmcp::service::{NotificationContext, RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceError, ServiceExt};
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_cluster-exec");

/// Prints a test's duration on drop (collected into the report).
pub struct Timer(pub &'static str, pub Instant);
impl Drop for Timer {
    fn drop(&mut self) {
        eprintln!("TESTTIME {} {} ms", self.0, self.1.elapsed().as_millis());
    }
}
pub fn timer(name: &'static str) -> Timer {
    Timer(name, Instant::now())
}

/// A server's private world: everything it writes stays in `dir`.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub audit: PathBuf,
}

/// Two local nodes (the second claims macOS on arm64 with a gpu, so routing
/// by requirements has a visible effect), plus `extra` TOML (more validators,
/// ssh nodes).
pub fn home(extra: &str) -> Home {
    home_with("", extra)
}

/// [`home`] with `plugins` added to the `[plugins]` table (`deadline_ms =
/// ...`).
pub fn home_with(plugins: &str, extra: &str) -> Home {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let config = dir.path().join("config.toml");
    let text = format!(
        r#"[audit]
path = "{audit}"

[plugins]
cache_dir = "{cache}"
{plugins}

[[node]]
id = "local"
transport = "local"
os = "linux"
arch = "x86_64"
aliases = ["here"]
max_tasks = 64

[[node]]
id = "box2"
transport = "local"
os = "macos"
arch = "arm64"
capabilities = ["gpu"]
aliases = ["mac"]
max_tasks = 64

{extra}
"#,
        audit = audit.display(),
        cache = dir.path().join("cache").display(),
    );
    std::fs::write(&config, text).unwrap();
    Home { dir, config, audit }
}

/// TOML adding the builtin validator and the `probe` fixture, which answers
/// `ask` for every command except `true`.
pub fn ask_validators() -> String {
    let probe = super::plugins::fixture("probe");
    format!(
        "[[plugins.validators]]\nplugin = \"builtin:validator\"\n\n[[plugins.validators]]\nplugin = \"{}\"\n",
        probe.display()
    )
}

impl Home {
    /// `cluster-exec serve --config ...` with HOME and XDG dirs inside `dir`.
    pub fn command(&self) -> tokio::process::Command {
        serve_command(&self.config, self.dir.path())
    }

    pub fn isolate(&self, cmd: &mut tokio::process::Command) {
        isolate(cmd, self.dir.path());
    }

    /// Every audit line, parsed.
    pub fn audit_lines(&self) -> Vec<Value> {
        audit_lines(&self.audit)
    }

    /// Audit lines of `kind`.
    pub fn audit_of(&self, kind: &str) -> Vec<Value> {
        audit_of(&self.audit, kind)
    }

    /// `cluster-exec audit verify FILE` passes.
    pub fn assert_audit_verifies(&self) {
        assert_audit_verifies(&self.audit);
    }
}

/// `cluster-exec serve --config CONFIG`, isolated in `dir`.
pub fn serve_command(config: &Path, dir: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("serve").arg("--config").arg(config);
    isolate(&mut cmd, dir);
    cmd
}

/// HOME and the XDG dirs inside `d`, so caches and state stay there.
pub fn isolate(cmd: &mut tokio::process::Command, d: &Path) {
    cmd.env("HOME", d)
        .env("XDG_CONFIG_HOME", d.join("xdg-config"))
        .env("XDG_CACHE_HOME", d.join("xdg-cache"))
        .env("XDG_STATE_HOME", d.join("xdg-state"))
        .env("XDG_DATA_HOME", d.join("xdg-data"))
        .env("XDG_RUNTIME_DIR", d.join("run"))
        .env_remove("CLUSTER_CONFIG")
        .env("CLUSTER_EXEC_LOG", "warn");
}

/// Every line of the audit log at `path`, parsed.
pub fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Audit lines of `kind`.
pub fn audit_of(path: &Path, kind: &str) -> Vec<Value> {
    audit_lines(path)
        .into_iter()
        .filter(|l| l["kind"] == kind)
        .collect()
}

/// `cluster-exec audit verify FILE` passes.
pub fn assert_audit_verifies(path: &Path) {
    let out = std::process::Command::new(BIN)
        .args(["audit", "verify"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "audit verify failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How the test client answers `elicitation/create`; `None` declares no
/// elicitation capability.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    Confirm(bool),
    Decline,
    Cancel,
}

#[derive(Clone, Default)]
pub struct TestClient {
    pub reply: Option<Reply>,
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    pub elicitations: Arc<Mutex<Vec<String>>>,
}

impl TestClient {
    pub fn replying(reply: Reply) -> Self {
        Self {
            reply: Some(reply),
            ..Self::default()
        }
    }
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        let caps = if self.reply.is_some() {
            ClientCapabilities::builder().enable_elicitation().build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(caps, Implementation::new("e2e-client", "0.0.1"))
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } = request
        else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let schema = serde_json::to_value(&requested_schema).unwrap();
        assert_eq!(
            schema["properties"]["confirm"]["type"], "boolean",
            "{schema}"
        );
        self.elicitations.lock().unwrap().push(message);
        Ok(match self.reply {
            Some(Reply::Confirm(b)) => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({ "confirm": b }))
            }
            Some(Reply::Decline) | None => ElicitResult::new(ElicitationAction::Decline),
            Some(Reply::Cancel) => ElicitResult::new(ElicitationAction::Cancel),
        })
    }
}

pub type Client = RunningService<RoleClient, TestClient>;

/// Spawns the server for `home` and initializes a session.
pub async fn start(home: &Home, client: TestClient) -> Client {
    start_command(home.command(), client).await
}

/// Spawns `cmd` (a `serve` command) and initializes a session.
pub async fn start_command(cmd: tokio::process::Command, client: TestClient) -> Client {
    let (transport, _stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn cluster-exec serve");
    client.serve(transport).await.expect("initialize")
}

pub fn args(v: Value) -> JsonObject {
    v.as_object().expect("arguments are an object").clone()
}

pub async fn call(client: &Client, name: &str, a: Value) -> Result<CallToolResult, ServiceError> {
    client
        .call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(args(a)))
        .await
}

pub fn structured(r: &CallToolResult) -> &Value {
    r.structured_content
        .as_ref()
        .unwrap_or_else(|| panic!("no structuredContent in {r:?}"))
}

pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("mcp-{tag}-{}-{nanos}", std::process::id())
}

/// A command that records its shell's pid and a background `sleep 300`'s.
pub fn sleeper(pidfile: &Path, marker: &str) -> String {
    format!(
        "echo $$ > {p}; sleep 300 & echo $! >> {p}; wait # {marker}",
        p = pidfile.display()
    )
}

pub async fn wait_pids(pidfile: &Path) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(s) = std::fs::read_to_string(pidfile) {
            let pids: Vec<u32> = s.lines().filter_map(|l| l.trim().parse().ok()).collect();
            if pids.len() == 2 {
                return pids;
            }
        }
        assert!(
            Instant::now() < deadline,
            "pidfile {} never filled",
            pidfile.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Alive: /proc/PID exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            state != Some('Z') && state != Some('X')
        }
        Err(_) => false,
    }
}

/// Some live process's command line mentions `marker`.
pub fn marker_alive(marker: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_string_lossy().parse().ok()?;
            Some((pid, e.path()))
        })
        .any(|(pid, path)| {
            std::fs::read(path.join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(marker))
                .unwrap_or(false)
                && alive(pid)
        })
}

pub async fn assert_gone(pids: &[u32], marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) || marker_alive(marker) {
        assert!(
            Instant::now() < deadline,
            "processes {pids:?} / marker {marker} still alive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
