//! Times judging of generated inputs: `cargo run --release --example bench`.
use std::time::Instant;

use cluster_exec_validator::policy::Policy;

fn time(p: &Policy, name: &str, text: &str, reps: u32) {
    let t = Instant::now();
    let mut v = None;
    for _ in 0..reps {
        v = Some(cluster_exec_validator::judge_with_stats(p, text, None));
    }
    let per = t.elapsed().as_secs_f64() / f64::from(reps);
    let (verdict, stats) =
        v.unwrap_or((cluster_exec_validator::Verdict::Allow, Default::default()));
    let shown = match verdict {
        cluster_exec_validator::Verdict::Allow => "allow".to_string(),
        cluster_exec_validator::Verdict::Deny(r) | cluster_exec_validator::Verdict::Ask(r) => {
            r.chars().take(60).collect()
        }
    };
    println!(
        "{name:<22} {:>8} B  {:>10.1} µs  {:>9} steps  {shown}",
        text.len(),
        per * 1e6,
        stats.steps
    );
}

fn main() {
    let mut big = Policy::default();
    big.limits.max_bytes = 2 << 20;
    let d = Policy::default();
    let cmd100 = "cd /srv/app && sudo -u deploy git pull --rebase && make -j8 build 2>&1 | tee -a /tmp/build.log";
    time(&d, "100-byte command", cmd100, 20000);
    time(&d, "rm -rf /", "sudo /bin/rm -rf /*", 20000);
    time(&d, "config+100B", cmd100, 1);
    let t = Instant::now();
    for _ in 0..20000 {
        let p = cluster_exec_validator::config::parse("{\"categories\":{\"system-halt\":\"ask\"},\"deny\":[{\"program\":\"terraform\",\"args\":[\"destroy\"]}]}").unwrap_or_default();
        let _ = cluster_exec_validator::judge(&p, cmd100, None);
    }
    println!(
        "configure+validate 100B: {:.1} µs",
        t.elapsed().as_secs_f64() / 20000.0 * 1e6
    );
    for n in [1usize << 14, 1 << 16, 1 << 18, 1 << 20] {
        time(&big, "pipes", &("a|".repeat(n / 2) + "a"), 1);
        time(
            &big,
            "valid",
            &"sudo rm -rf \"$HOME/build\"/{a,b} && echo \"$(date)\" | tee -a log >/dev/null; "
                .repeat(n / 80),
            1,
        );
        time(&big, "quotes", &"'a'\"b\"".repeat(n / 6), 1);
        time(&big, "nested shells", &"bash -c \"".repeat(n / 9), 1);
    }
    time(&d, "1 MiB default policy", &"a".repeat(1 << 20), 1);
}
