//! A real SSH test bed, no mocks: `n` network namespaces on this machine,
//! each joined to the root namespace by a veth pair (a /30 out of
//! 198.18.0.0/15, the benchmarking range) and running a real `sshd` as root
//! with generated host keys, authorising a generated client key.
//!
//! Network namespaces isolate only the network: the hosts share this
//! machine's file system and pid space, and commands run there as root. So
//! each sshd runs in its own private mount namespace in which every mount is
//! read-only except the bed's own directory (checked before sshd starts; the
//! bed refuses to start otherwise). A command that reaches a test host can
//! write only under [`TestBed::path`] — a denial test whose command slips
//! through damages the bed, not the machine. Put markers there, not in /tmp.
//!
//! Everything lives under a `TempDir`; `Drop` kills every process in the
//! namespaces and deletes them with their veths, also when the test panics.
//! Where namespaces cannot be made (not root, no `ip` or `sshd`), `start`
//! returns `None` after printing why — and panics under `CI=true`, where a
//! skipped SSH test would hide a regression.

use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use cluster_exec::config::{Config, Env};

const SSHD: &str = "/usr/sbin/sshd";

/// Run as sshd's parent inside `unshare --mount`: give the login user a
/// fresh home (`$3`, inside the bed) through a private copy of
/// /etc/passwd, so the machine's own dotfiles (a `.bashrc` that prints to
/// stderr, `~/.ssh/rc`) do not leak into the remote sessions the tests
/// inspect, as on a clean host; then make every mount read-only except the
/// bed directory (`$1`), prove the root is not writable, and become sshd
/// (`$2` = its config). Fails closed.
const JAIL: &str = r#"set -e
mount --make-rprivate /
mount --bind "$1" "$1"
mkdir -p "$3"
awk -F: -v OFS=: -v u="$(id -un)" -v h="$3" '$1 == u { $6 = h } { print }' \
  /etc/passwd > "$3.passwd"
mount --bind "$3.passwd" /etc/passwd
for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do
  case "$m" in /proc|/proc/*|/sys|/sys/*|"$1") continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
if touch /.cetb-write-probe 2>/dev/null; then
  rm -f /.cetb-write-probe
  echo "test bed: the root file system is still writable; refusing to start sshd" >&2
  exit 1
fi
exec /usr/sbin/sshd -D -e -f "$2"
"#;
const LOCK_FILE: &str = "/tmp/cluster-exec-testbed.lock";

/// Per-host description used in the generated inventory.
const PROFILES: &[(&str, &str, &str, &[&str])] = &[
    ("builder", "linux", "x86_64", &["docker", "rust"]),
    ("researcher", "linux", "aarch64", &["python"]),
    ("inference", "linux", "x86_64", &["gpu", "cuda"]),
    ("orchestrator", "macos", "aarch64", &["xcode"]),
];

/// One test host: a namespace with an sshd.
#[derive(Debug)]
pub struct Host {
    pub id: String,
    pub ns: String,
    pub veth_root: String,
    pub veth_ns: String,
    pub addr: Ipv4Addr,
    pub root_addr: Ipv4Addr,
    pub dir: PathBuf,
    sshd: Option<Child>,
}

/// The bed. Fields are public so tests can point at files.
#[derive(Debug)]
pub struct TestBed {
    pub hosts: Vec<Host>,
    /// The generated cluster-exec TOML config.
    pub config_path: PathBuf,
    /// The generated client `ssh_config` (passed as `-F`).
    pub ssh_config: PathBuf,
    pub identity: PathBuf,
    pub known_hosts: PathBuf,
    pub audit_path: PathBuf,
    pub tag: String,
    // Last, so the directory outlives the teardown that uses it.
    pub dir: tempfile::TempDir,
}

fn run(cmd: &str, args: &[&str]) -> Result<Output, String> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "`{cmd} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn must(cmd: &str, args: &[&str]) -> Output {
    run(cmd, args).unwrap_or_else(|e| panic!("test bed: {e}"))
}

/// Why SSH tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root (network namespaces need it)".into());
    }
    if !Path::new(SSHD).exists() {
        return Some(format!("{SSHD} is missing (install openssh-server)"));
    }
    for tool in ["ip", "ssh", "ssh-keygen", "unshare", "nsenter", "mount"] {
        if Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}

/// Skips (returns None) or, under CI, fails.
fn skip(reason: &str) -> Option<TestBed> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("SSH test bed unavailable under CI=true: {reason}");
    }
    eprintln!("SKIPPED: SSH test bed unavailable: {reason}");
    None
}

/// Holds an exclusive lock on [`LOCK_FILE`] while addresses are chosen, so
/// parallel tests (and parallel test binaries) never pick the same /30.
struct AllocLock(fs::File);

impl AllocLock {
    fn take() -> AllocLock {
        let f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(LOCK_FILE)
            .expect("open test bed lock file");
        // SAFETY: flock on an open descriptor.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        AllocLock(f)
    }
}

impl Drop for AllocLock {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Removes namespaces and veths left by test processes that died without
/// tearing down (their pid no longer exists).
fn reap_stale() {
    let Ok(out) = run("ip", &["netns", "list"]) else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix("ce") else {
            continue;
        };
        let Some(pid) = rest.split('x').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks for existence.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        if !alive {
            kill_ns_processes(name);
            let _ = run("ip", &["netns", "del", name]);
        }
    }
    if let Ok(out) = run("ip", &["-o", "link", "show"]) {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(name) = line.split(':').nth(1).map(|s| s.trim()) else {
                continue;
            };
            let name = name.split('@').next().unwrap_or(name);
            if let Some(rest) = name.strip_prefix("ce")
                && let Some(pid) = rest.split('x').next().and_then(|p| p.parse::<i32>().ok())
                // SAFETY: existence check only.
                && unsafe { libc::kill(pid, 0) } != 0
            {
                let _ = run("ip", &["link", "del", name]);
            }
        }
    }
}

fn kill_ns_processes(ns: &str) {
    if let Ok(out) = run("ip", &["netns", "pids", ns]) {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: signalling a process inside our own test namespace.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// Free /30 blocks in 198.18.0.0/15, judged from the addresses in use.
fn free_blocks(n: usize) -> Vec<u32> {
    let out = must("ip", &["-4", "-o", "addr", "show"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let used: std::collections::HashSet<u32> = text
        .split_whitespace()
        .filter_map(|w| w.split('/').next()?.parse::<Ipv4Addr>().ok())
        .map(u32::from)
        .filter(|a| (base..base + (1 << 17)).contains(a))
        .map(|a| (a - base) / 4)
        .collect();
    // Start from a pid-dependent offset so concurrent binaries rarely even
    // need to look twice.
    let start = (std::process::id() % 1024) * 8;
    (0..(1u32 << 15))
        .map(|i| (start + i) % (1 << 15))
        .filter(|b| *b != 0 && !used.contains(b))
        .take(n)
        .collect()
}

impl TestBed {
    /// Starts `n` hosts (`h0`..), or returns `None` when this machine cannot.
    pub fn start(n: usize) -> Option<TestBed> {
        assert!((1..=20).contains(&n));
        if let Some(reason) = unavailable() {
            return skip(&reason);
        }
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "ce{}x{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let dir = tempfile::Builder::new()
            .prefix("cetb")
            .tempdir()
            .expect("temp dir");
        let d = dir.path().to_path_buf();
        // sshd needs its privilege separation directory.
        let _ = fs::create_dir_all("/run/sshd");

        let identity = d.join("id_ed25519");
        keygen(&identity);
        let authorized = d.join("authorized_keys");
        fs::copy(d.join("id_ed25519.pub"), &authorized).expect("authorized_keys");
        let known_hosts = d.join("known_hosts");
        let ssh_config = d.join("ssh_config");
        fs::write(
            &ssh_config,
            format!(
                "# Generated by the cluster-exec test bed; never ~/.ssh.\nHost *\n  User root\n  \
                 IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
                 GlobalKnownHostsFile /dev/null\n  BatchMode yes\n",
                identity.display(),
                known_hosts.display()
            ),
        )
        .expect("ssh_config");

        let mut bed = TestBed {
            hosts: Vec::new(),
            config_path: d.join("cluster.toml"),
            ssh_config,
            identity,
            known_hosts,
            audit_path: d.join("audit").join("audit.jsonl"),
            tag: tag.clone(),
            dir,
        };
        {
            let _lock = AllocLock::take();
            reap_stale();
            let blocks = free_blocks(n);
            assert_eq!(blocks.len(), n, "no free address blocks in 198.18.0.0/15");
            for (i, block) in blocks.into_iter().enumerate() {
                let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + block * 4;
                let host = Host {
                    id: format!("h{i}"),
                    ns: format!("{tag}h{i}"),
                    veth_root: format!("{tag}r{i}"),
                    veth_ns: format!("{tag}n{i}"),
                    root_addr: Ipv4Addr::from(base + 1),
                    addr: Ipv4Addr::from(base + 2),
                    dir: d.join(format!("h{i}")),
                    sshd: None,
                };
                // Push first so Drop cleans up a half-made host too.
                bed.hosts.push(host);
                if let Err(e) = bed.make_host(i, &authorized) {
                    drop(bed);
                    return skip(&format!("cannot create network namespaces: {e}"));
                }
            }
        }
        for i in 0..n {
            bed.start_sshd(i);
        }
        bed.write_config();
        Some(bed)
    }

    fn make_host(&mut self, i: usize, authorized: &Path) -> Result<(), String> {
        let h = &self.hosts[i];
        fs::create_dir_all(&h.dir).map_err(|e| e.to_string())?;
        let (ns, vr, vn) = (h.ns.clone(), h.veth_root.clone(), h.veth_ns.clone());
        let root_cidr = format!("{}/30", h.root_addr);
        let ns_cidr = format!("{}/30", h.addr);
        run("ip", &["netns", "add", &ns])?;
        run(
            "ip",
            &["link", "add", &vr, "type", "veth", "peer", "name", &vn],
        )?;
        run("ip", &["link", "set", &vn, "netns", &ns])?;
        run("ip", &["addr", "add", &root_cidr, "dev", &vr])?;
        run("ip", &["link", "set", &vr, "up"])?;
        run("ip", &["-n", &ns, "addr", "add", &ns_cidr, "dev", &vn])?;
        run("ip", &["-n", &ns, "link", "set", &vn, "up"])?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        keygen(&h.dir.join("ssh_host_ed25519_key"));
        fs::write(
            h.dir.join("sshd_config"),
            format!(
                "ListenAddress {addr}:22\nHostKey {dir}/ssh_host_ed25519_key\nPidFile \
                 {dir}/sshd.pid\nAuthorizedKeysFile {auth}\nStrictModes no\nPermitRootLogin \
                 prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication \
                 no\nPubkeyAuthentication yes\nUsePAM no\nUseDNS no\nMaxSessions 10\n\
                 MaxStartups 200\nPrintMotd no\nX11Forwarding no\nLogLevel ERROR\n",
                addr = h.addr,
                dir = h.dir.display(),
                auth = authorized.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    fn write_config(&self) {
        let d = self.dir.path();
        let mut t = format!(
            "# Generated by the cluster-exec test bed.\n[ssh]\nuser = \"root\"\n\
             identity_file = \"{id}\"\nknown_hosts_file = \"{kh}\"\nconfig_file = \"{cfg}\"\n\
             control_dir = \"{ctl}\"\nconnect_timeout_secs = 3\ncommand_timeout_secs = 30\n\
             retries = 1\ncontrol_persist_secs = 20\nkeepalive_interval_secs = 1\n\n\
             [audit]\npath = \"{audit}\"\n",
            id = self.identity.display(),
            kh = self.known_hosts.display(),
            cfg = self.ssh_config.display(),
            ctl = d.join("ctl").display(),
            audit = self.audit_path.display(),
        );
        for (i, h) in self.hosts.iter().enumerate() {
            let (alias, os, arch, caps) = PROFILES[i % PROFILES.len()];
            let alias = if i < PROFILES.len() {
                alias.to_string()
            } else {
                format!("{alias}{i}")
            };
            t.push_str(&format!(
                "\n[[node]]\nid = \"{id}\"\nhost = \"{addr}\"\naliases = [\"{alias}\"]\n\
                 os = \"{os}\"\narch = \"{arch}\"\ncapabilities = [{caps}]\npriority = {prio}\n\
                 max_tasks = 32\n",
                id = h.id,
                addr = h.addr,
                caps = caps
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                prio = i,
            ));
        }
        fs::write(&self.config_path, t).expect("write cluster config");
    }

    /// The generated configuration, loaded with an empty environment.
    pub fn config(&self) -> Config {
        Config::load_with_env(Some(&self.config_path), &Env::default())
            .expect("test bed config loads")
    }

    /// Runs `argv` inside host `i` — its network and mount namespaces, as
    /// its sshd sees the world — to prove things from the host's side.
    pub fn exec_in(&self, i: usize, argv: &[&str]) -> Output {
        let h = &self.hosts[i];
        let mut cmd = match h.sshd.as_ref().map(Child::id) {
            Some(pid) => {
                let mut c = Command::new("nsenter");
                c.args(["-t", &pid.to_string(), "-m", "-n", "--"]);
                c
            }
            None => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &h.ns]);
                c
            }
        };
        cmd.args(argv)
            .stdin(Stdio::null())
            .output()
            .expect("enter the test host")
    }

    /// Processes in host `i`'s network namespace whose full command line
    /// matches the regex `pattern` (`pgrep -f`). Namespaces here share the
    /// pid space, so matches are filtered to the namespace's own pids: the
    /// local `ssh` client carrying the same text does not count.
    pub fn pgrep(&self, i: usize, pattern: &str) -> Vec<String> {
        let ns_pids: std::collections::HashSet<String> =
            run("ip", &["netns", "pids", &self.hosts[i].ns])
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .split_whitespace()
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
        let out = Command::new("pgrep")
            .args(["-a", "-f", pattern])
            .stdin(Stdio::null())
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|pid| ns_pids.contains(pid))
            })
            .map(String::from)
            .collect()
    }

    /// Starts (or restarts) host `i`'s sshd and waits until it listens.
    pub fn start_sshd(&mut self, i: usize) {
        let h = &mut self.hosts[i];
        let log = fs::File::create(h.dir.join("sshd.log")).expect("sshd log");
        // `ip netns exec`, `unshare` (without --fork) and `sh` all exec, so
        // the child's pid is sshd's, which `exec_in` enters.
        let bed_dir = h
            .dir
            .parent()
            .expect("host dirs live in the bed dir")
            .to_path_buf();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &h.ns,
                "unshare",
                "--mount",
                "--propagation",
                "private",
            ])
            .args(["sh", "-c", JAIL, "cetb-jail"])
            .arg(&bed_dir)
            .arg(h.dir.join("sshd_config"))
            .arg(h.dir.join("home"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn sshd");
        h.sshd = Some(child);
        let sa = SocketAddr::from((h.addr, 22));
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Some(Ok(Some(status))) = h.sshd.as_mut().map(Child::try_wait) {
                let log = fs::read_to_string(h.dir.join("sshd.log")).unwrap_or_default();
                panic!("sshd on {} exited ({status}) before listening: {log}", h.id);
            }
            if TcpStream::connect_timeout(&sa, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        let log = fs::read_to_string(h.dir.join("sshd.log")).unwrap_or_default();
        panic!("sshd on {} did not start listening: {log}", h.id);
    }

    /// Stops host `i`'s sshd and every session it serves: the host becomes
    /// unreachable (connection refused).
    pub fn stop_sshd(&mut self, i: usize) {
        let h = &mut self.hosts[i];
        kill_ns_processes(&h.ns);
        if let Some(mut c) = h.sshd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Cuts host `i`'s link: packets are silently lost until restored.
    pub fn cut_link(&self, i: usize) {
        let h = &self.hosts[i];
        must("ip", &["-n", &h.ns, "link", "set", &h.veth_ns, "down"]);
    }

    /// Restores a cut link.
    pub fn restore_link(&self, i: usize) {
        let h = &self.hosts[i];
        must("ip", &["-n", &h.ns, "link", "set", &h.veth_ns, "up"]);
    }

    /// Gives host `i` a new host key and restarts its sshd (existing
    /// connections die with it).
    pub fn regenerate_host_key(&mut self, i: usize) {
        self.stop_sshd(i);
        let key = self.hosts[i].dir.join("ssh_host_ed25519_key");
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        keygen(&key);
        self.start_sshd(i);
    }

    /// A file inside the bed's temp dir (shared by all namespaces: they
    /// share the file system).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Appends a line to the bed's notes (debugging aid).
    pub fn note(&self, line: &str) {
        if let Ok(mut f) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("notes.txt"))
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

impl Drop for TestBed {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            kill_ns_processes(&h.ns);
            if let Some(mut c) = h.sshd.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
            let _ = run("ip", &["netns", "del", &h.ns]);
            let _ = run("ip", &["link", "del", &h.veth_root]);
        }
    }
}

fn keygen(path: &Path) {
    must(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "cluster-exec-testbed",
            "-f",
            path.to_str().expect("utf-8 temp path"),
        ],
    );
}
