//! Node status: reachable or not (and why), round-trip latency, cores, load,
//! memory in use and running tasks, from one probe command that works on
//! Linux and macOS. Parsing is separate from probing so it can be tested on
//! sample outputs of both.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plugin::types::NodeLoad;

/// The probe, run by `/bin/sh` whatever the login shell is.
pub const PROBE_SCRIPT: &str = "echo @@os; uname -s; \
if [ \"$(uname -s)\" = Darwin ]; then \
echo @@ncpu; sysctl -n hw.ncpu; echo @@loadavg; sysctl -n vm.loadavg; \
echo @@memsize; sysctl -n hw.memsize; echo @@vmstat; vm_stat; \
else \
echo @@ncpu; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN; \
echo @@loadavg; cat /proc/loadavg; echo @@meminfo; cat /proc/meminfo; \
fi";

/// One node's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeStatus {
    pub node: String,
    pub reachable: bool,
    /// Why it is not reachable (or why figures are missing).
    pub why: Option<String>,
    /// Wall time of the probe round trip.
    pub latency_ms: Option<u64>,
    /// `uname -s`: `Linux`, `Darwin`, ...
    pub kernel: Option<String>,
    pub cores: Option<u32>,
    /// One-minute load average.
    pub load_average: Option<f32>,
    pub memory_used_percent: Option<f32>,
    pub memory_total_bytes: Option<u64>,
    /// Commands this process is running there now.
    pub running_tasks: u32,
    /// Served from the short cache rather than probed now.
    pub cached: bool,
}

impl NodeStatus {
    /// The part a router plugin sees.
    pub fn to_load(&self) -> NodeLoad {
        NodeLoad {
            reachable: self.reachable,
            cores: self.cores,
            load_average: self.load_average,
            memory_used_percent: self.memory_used_percent,
            running_tasks: self.running_tasks,
        }
    }
}

/// Figures parsed from the probe's output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probe {
    pub kernel: Option<String>,
    pub cores: Option<u32>,
    pub load_average: Option<f32>,
    pub memory_used_percent: Option<f32>,
    pub memory_total_bytes: Option<u64>,
}

/// Parses the probe's stdout (either OS). Missing figures stay `None`.
pub fn parse_probe(text: &str) -> Probe {
    let mut sections: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            sections.push((name.trim(), Vec::new()));
        } else if let Some((_, lines)) = sections.last_mut() {
            lines.push(line);
        }
    }
    let get = |name: &str| {
        sections
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| l.as_slice())
    };
    let mut p = Probe {
        kernel: get("os")
            .and_then(|l| l.first())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        cores: get("ncpu")
            .and_then(|l| l.first())
            .and_then(|s| s.trim().parse().ok()),
        load_average: get("loadavg")
            .and_then(|l| l.first())
            .and_then(|s| parse_loadavg(s)),
        ..Probe::default()
    };
    if let Some(meminfo) = get("meminfo") {
        let (used, total) = parse_meminfo(meminfo);
        p.memory_used_percent = used;
        p.memory_total_bytes = total;
    }
    if let (Some(memsize), Some(vmstat)) = (get("memsize"), get("vmstat")) {
        let total = memsize.first().and_then(|s| s.trim().parse::<u64>().ok());
        p.memory_total_bytes = total;
        p.memory_used_percent = total.and_then(|t| parse_vm_stat(vmstat, t));
    }
    p
}

/// First number of `/proc/loadavg` (`0.52 0.58 0.59 1/389 12345`) or of
/// macOS `vm.loadavg` (`{ 1.52 1.68 1.73 }`).
pub fn parse_loadavg(line: &str) -> Option<f32> {
    line.split_whitespace()
        .find(|w| *w != "{")
        .and_then(|w| w.parse().ok())
}

/// `(used %, total bytes)` from `/proc/meminfo`: used = total - available.
pub fn parse_meminfo(lines: &[&str]) -> (Option<f32>, Option<u64>) {
    let kib = |key: &str| {
        lines.iter().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    let total = kib("MemTotal");
    let avail = kib("MemAvailable").or_else(|| {
        // Kernels before 3.14 have no MemAvailable.
        Some(kib("MemFree")? + kib("Buffers").unwrap_or(0) + kib("Cached").unwrap_or(0))
    });
    match (total, avail) {
        (Some(t), Some(a)) if t > 0 => (
            Some(((t.saturating_sub(a)) as f64 / t as f64 * 100.0) as f32),
            Some(t * 1024),
        ),
        (t, _) => (None, t.map(|t| t * 1024)),
    }
}

/// Used % from macOS `vm_stat`: (active + wired + compressed) pages times the
/// page size, over `hw.memsize`.
pub fn parse_vm_stat(lines: &[&str], memsize: u64) -> Option<f32> {
    let page = lines.first().and_then(|l| {
        let after = l.split("page size of").nth(1)?;
        after.split_whitespace().next()?.parse::<u64>().ok()
    })?;
    let pages = |key: &str| {
        lines.iter().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.trim().trim_end_matches('.').parse::<u64>().ok()
        })
    };
    let used = pages("Pages active")?
        + pages("Pages wired down")?
        + pages("Pages occupied by compressor").unwrap_or(0);
    if memsize == 0 {
        return None;
    }
    Some(((used * page) as f64 / memsize as f64 * 100.0).min(100.0) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "@@os\nLinux\n@@ncpu\n2\n@@loadavg\n0.52 0.58 0.59 1/389 12345\n@@meminfo\n\
MemTotal:        8000000 kB\nMemFree:          1000000 kB\nMemAvailable:    6000000 kB\nBuffers:  1 kB\n";

    const MACOS: &str = "@@os\nDarwin\n@@ncpu\n10\n@@loadavg\n{ 1.52 1.68 1.73 }\n@@memsize\n17179869184\n@@vmstat\n\
Mach Virtual Memory Statistics: (page size of 16384 bytes)\n\
Pages free:                               12345.\n\
Pages active:                            300000.\n\
Pages inactive:                          290000.\n\
Pages speculative:                         5000.\n\
Pages throttled:                              0.\n\
Pages wired down:                        150000.\n\
Pages purgeable:                           1000.\n\
\"Translation faults\":                 123456789.\n\
Pages copy-on-write:                    1234567.\n\
Pages occupied by compressor:            100000.\n";

    #[test]
    fn linux_probe_output_parses() {
        let p = parse_probe(LINUX);
        assert_eq!(p.kernel.as_deref(), Some("Linux"));
        assert_eq!(p.cores, Some(2));
        assert_eq!(p.load_average, Some(0.52));
        assert_eq!(p.memory_total_bytes, Some(8_000_000 * 1024));
        let used = p.memory_used_percent.unwrap();
        assert!((used - 25.0).abs() < 0.01, "{used}");
    }

    #[test]
    fn macos_probe_output_parses() {
        let p = parse_probe(MACOS);
        assert_eq!(p.kernel.as_deref(), Some("Darwin"));
        assert_eq!(p.cores, Some(10));
        assert_eq!(p.load_average, Some(1.52));
        assert_eq!(p.memory_total_bytes, Some(17_179_869_184));
        // (300000 + 150000 + 100000) * 16384 / 16 GiB = 52.45 %
        let used = p.memory_used_percent.unwrap();
        assert!((used - 52.45).abs() < 0.1, "{used}");
    }

    #[test]
    fn garbage_leaves_figures_empty() {
        let p = parse_probe("something else\n");
        assert_eq!(p, Probe::default());
    }

    #[test]
    fn probe_script_runs_here() {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(PROBE_SCRIPT)
            .output()
            .unwrap();
        let p = parse_probe(&String::from_utf8_lossy(&out.stdout));
        assert!(p.cores.unwrap() >= 1);
        assert!(p.load_average.is_some());
        assert!(p.memory_used_percent.is_some());
    }
}
