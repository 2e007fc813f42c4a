//! Property tests over the parser and policy: no panic on any input, bounded
//! work that grows linearly with the input, and invariants that generalise
//! the cases (a dangerous command stays denied inside any wrapper, quoted
//! text is only text).

use std::time::Instant;

use cluster_exec_validator::policy::{HARD_MAX_BYTES, Policy};
use cluster_exec_validator::{Verdict, judge, judge_with_stats};
use proptest::prelude::*;

/// 2000 cases per property, or `PROPTEST_CASES` for longer runs.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// A policy that reads inputs up to 2 MiB, for the growth tests.
fn big_policy() -> Policy {
    let mut p = Policy::default();
    p.limits.max_bytes = 2 * HARD_MAX_BYTES;
    p
}

/// Pieces of shell syntax, to build inputs the parser goes deep into.
const PIECES: &[&str] = &[
    "ls", " ", "-la", "/", "~", "rm", "-rf", "'", "\"", "`", "$", "(", ")", "{", "}", "[", "]",
    ";", "&", "|", "<", ">", "\n", "\\", "*", "?", ",", "..", "=", "$(", "${", "<<", "EOF", "<(",
    "#", "bash", "-c", "sudo", "env", "xargs", "find", "-exec", "eval", "echo", "if", "then", "fi",
    "for", "in", "do", "done", "case", "esac", "while", "function", "f()", "$'\\x72'", "{a,b}",
    "&&", "||", "!", "[[", "]]", "((", "))", "$((", "2>&1", "/dev/sda", "of=", "dd", "x",
];

fn shellish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..120).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_any_text(s in "\\PC{0,300}") {
        let _ = judge(&Policy::default(), &s, None);
    }

    #[test]
    fn never_panics_on_shell_syntax(s in shellish()) {
        let (_, stats) = judge_with_stats(&Policy::default(), &s, None);
        prop_assert!(stats.steps <= 64 * (s.len() as u64).max(1024) + 1_000_000 + 64);
    }

    #[test]
    fn quoted_text_is_only_text(s in "[^'\\x00\u{E000}-\u{F8FF}]{0,200}") {
        let cmd = format!("echo '{s}'");
        prop_assert_eq!(judge(&Policy::default(), &cmd, None), Verdict::Allow);
    }

    #[test]
    fn wrappers_keep_denials(
        d in prop::sample::select(vec![
            "rm -rf /", "rm -r -f /etc", "dd if=/dev/zero of=/dev/sda", "reboot", "chmod -R 777 /",
            "crontab -r", "systemctl stop sshd", "mkfs.ext4 /dev/sdb", "kill -9 -1", "rm -rf ~",
        ]),
        w in prop::sample::select(vec![
            "sudo {}", "sudo -u root {}", "env {}", "env -i A=1 {}", "nice -n 5 {}", "nohup {}",
            "timeout 10 {}", "stdbuf -oL {}", "command {}", "exec {}", "doas {}", "busybox {}",
            "bash -c '{}'", "sh -c \"{}\"", "eval '{}'", "ssh host '{}'", "su -c '{}'",
            "echo ok; {}", "true && {}", "false || {}", "({})", "{ {}; }", "echo $({})",
            "x=1 {}", "if true; then {}; fi", "echo '{}' | sh", "sh <<< '{}'", "time {}",
            "sudo sh -c 'nohup {}'", "watch {}",
        ]),
    ) {
        let cmd = w.replace("{}", d);
        prop_assert!(matches!(judge(&Policy::default(), &cmd, None), Verdict::Deny(_)), "{} was not denied", cmd);
    }
}

/// Deterministic pseudo-random shell-ish text of about `len` bytes.
fn random_text(len: usize, mut seed: u64) -> String {
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        s.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
    }
    s
}

/// Valid commands of about `len` bytes, so the whole input is walked.
fn valid_text(len: usize) -> String {
    let unit = "sudo rm -rf \"$HOME/build\"/{a,b} && echo \"$(date)\" | tee -a log >/dev/null; ";
    unit.repeat(len / unit.len() + 1)
}

/// Inputs built to hurt naive parsers: deep nesting, long brace lists,
/// many here-documents, quote storms, long globs.
fn hostile(len: usize) -> Vec<(&'static str, String)> {
    vec![
        ("open parens", "(".repeat(len)),
        ("open substitutions", "$(".repeat(len / 2)),
        ("open braces", "{".repeat(len)),
        ("brace lists", "{a,b}".repeat(len / 5)),
        ("quotes", "'a'\"b\"".repeat(len / 6)),
        ("backslashes", "\\".repeat(len)),
        ("globs", format!("rm -rf /{}", "*a".repeat(len / 2))),
        ("heredocs", "cat <<E\n".repeat(len / 8)),
        ("pipes", "a|".repeat(len / 2) + "a"),
        ("params", "${a:-".repeat(len / 5)),
        ("nested shells", "bash -c \"".repeat(len / 9)),
        ("random", random_text(len, 0x9E37_79B9_7F4A_7C15)),
        ("valid", valid_text(len)),
    ]
}

#[test]
fn work_grows_linearly_with_input() {
    let p = big_policy();
    for (name, _) in hostile(16) {
        let mut ratios = Vec::new();
        for size in [1 << 10, 1 << 13, 1 << 16, 1 << 20] {
            let text = hostile(size)
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t)
                .unwrap_or_default();
            let (_, stats) = judge_with_stats(&p, &text, None);
            let per_byte = stats.steps as f64 / text.len().max(1) as f64;
            ratios.push(per_byte);
            assert!(
                stats.steps <= 64 * text.len() as u64 + 1_000_000 + 64,
                "{name} at {} bytes took {} steps",
                text.len(),
                stats.steps
            );
        }
        let min = ratios.iter().cloned().fold(f64::MAX, f64::min).max(0.01);
        let max = ratios.iter().cloned().fold(0.0, f64::max);
        eprintln!("{name:<20} steps/byte at 1K..1M: {ratios:.2?}");
        // Per-byte work must not grow with size (loose: allows fixed costs
        // to dominate small inputs).
        assert!(
            ratios[3] <= ratios[0].max(1.0) * 2.0 + 1.0,
            "{name}: per-byte work grew from {min:.2} to {max:.2}"
        );
    }
}

#[test]
fn one_mebibyte_is_judged_quickly() {
    let p = big_policy();
    for (name, text) in hostile(1 << 20) {
        let t = Instant::now();
        let v = judge(&p, &text, None);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        eprintln!(
            "{name:<20} {} bytes: {ms:.1} ms -> {}",
            text.len(),
            match v {
                Verdict::Allow => "allow".to_string(),
                Verdict::Deny(r) | Verdict::Ask(r) => r.chars().take(70).collect(),
            }
        );
        // Debug builds are slow; release numbers are in POLICY.md.
        assert!(ms < 20_000.0, "{name} took {ms} ms");
    }
}

#[test]
fn oversized_commands_are_refused_unread() {
    let text = "a".repeat(HARD_MAX_BYTES);
    let t = Instant::now();
    let v = judge(&Policy::default(), &text, None);
    assert!(t.elapsed().as_millis() < 50);
    match v {
        Verdict::Deny(r) => assert!(r.starts_with("parse-errors: command too large"), "{r}"),
        other => panic!("{other:?}"),
    }
}
