//! Plugin call and load costs. Run: `cargo bench -p cluster-exec --bench plugins`.
//!
//! - `validator_call/100_bytes`: one call of the default validator on a
//!   100-byte command, including the fresh instance every call gets.
//! - `router_call/5_nodes`: one routing decision over five nodes.
//! - `load_builtins/{cached,compiled}`: loading both built-in plugins from
//!   the on-disk cache against compiling them.

use std::hint::black_box;

use cluster_exec::plugin::cache::CodeCache;
use cluster_exec::plugin::engine;
use cluster_exec::plugin::load::load_source;
use cluster_exec::plugin::set::Loader;
use cluster_exec::plugin::settings::PluginsConfig;
use cluster_exec::plugin::source;
use cluster_exec::plugin::types::{CommandRequest, NodeInfo, NodeLoad, RouteRequest};
use criterion::{Criterion, criterion_group, criterion_main};

fn command_of_100_bytes() -> String {
    let mut c = String::from(
        "cd /srv/app && git pull --ff-only && cargo build --release --locked && ls -la target/release/",
    );
    while c.len() < 100 {
        c.push(' ');
    }
    c.truncate(100);
    c
}

fn calls(c: &mut Criterion) {
    let loader = Loader::new(Some(&tempfile::tempdir().unwrap().keep())).unwrap();
    let defaults = PluginsConfig::default();
    let validator = loader
        .validator(&defaults.validators[0], &defaults, None)
        .unwrap();
    let router = loader.router(&defaults.router, &defaults, None).unwrap();
    let request = CommandRequest {
        command: command_of_100_bytes(),
        ..Default::default()
    };
    c.bench_function("validator_call/100_bytes", |b| {
        b.iter(|| black_box(validator.validate(black_box(&request))))
    });
    let nodes = (0..5)
        .map(|i| NodeInfo {
            id: format!("n{i}"),
            os: "linux".into(),
            arch: "x86_64".into(),
            priority: i,
            max_tasks: 8,
            load: NodeLoad {
                reachable: true,
                cores: Some(8),
                load_average: Some(i as f32 / 2.0),
                ..Default::default()
            },
            ..Default::default()
        })
        .collect();
    let route = RouteRequest {
        command: "cargo build --release".into(),
        nodes,
        ..Default::default()
    };
    c.bench_function("router_call/5_nodes", |b| {
        b.iter(|| black_box(router.route(black_box(&route)).unwrap()))
    });
}

fn loading(c: &mut Criterion) {
    let engine = engine::shared().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = CodeCache::open(dir.path()).unwrap();
    let sources = [
        source::resolve("builtin:validator", None).unwrap(),
        source::resolve("builtin:router", None).unwrap(),
    ];
    for s in &sources {
        load_source(&engine, Some(&cache), s).unwrap();
    }
    let mut group = c.benchmark_group("load_builtins");
    group.sample_size(10);
    group.bench_function("cached", |b| {
        b.iter(|| {
            for s in &sources {
                black_box(load_source(&engine, Some(&cache), s).unwrap());
            }
        })
    });
    group.bench_function("compiled", |b| {
        b.iter(|| {
            for s in &sources {
                black_box(load_source(&engine, None, s).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, calls, loading);
criterion_main!(benches);
