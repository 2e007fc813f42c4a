//! Profiling aid: judges one ordinary 100-byte command many times.
fn main() {
    let cmd = "cd /srv/app && sudo -u deploy git pull --rebase && make -j8 build 2>&1 | tee -a /tmp/build.log";
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let t = std::time::Instant::now();
    for _ in 0..n {
        let p = cluster_exec_validator::config::parse("{}").unwrap_or_default();
        std::hint::black_box(cluster_exec_validator::judge(
            &p,
            std::hint::black_box(cmd),
            None,
        ));
    }
    println!(
        "{:.2} µs per configure+judge",
        t.elapsed().as_secs_f64() / f64::from(n) * 1e6
    );
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            cluster_exec_validator::parse::parse(std::hint::black_box(cmd), 0, 40).ok(),
        );
    }
    println!(
        "{:.2} µs per parse",
        t.elapsed().as_secs_f64() / f64::from(n) * 1e6
    );
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            cluster_exec_validator::config::parse(std::hint::black_box("{}")).ok(),
        );
    }
    println!(
        "{:.2} µs per configure",
        t.elapsed().as_secs_f64() / f64::from(n) * 1e6
    );
}
