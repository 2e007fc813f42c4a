//! The plugin sandbox against real hostile components: every failure denies
//! with a message naming the plugin and the cause, and the host goes on.

#[path = "support/plugins.rs"]
mod plugins;

use cluster_exec::plugin::cache::{CodeCache, Provenance};
use cluster_exec::plugin::router::{RouteError, Router};
use cluster_exec::plugin::sandbox::Limits;
use cluster_exec::plugin::set::Loader;
use cluster_exec::plugin::settings::{PluginSpec, PluginsConfig};
use cluster_exec::plugin::types::{CommandRequest, NodeInfo, NodeLoad, RouteRequest, Verdict};
use cluster_exec::plugin::validator::Validator;
use cluster_exec::plugin::{PluginSet, engine, source};
use plugins::fixture;

fn loader() -> Loader {
    Loader::new(None).unwrap()
}

fn validator(spec: &str, limits: Limits) -> Validator {
    let loader = loader();
    let loaded = loader.load(spec, None).unwrap();
    Validator::new(loader.engine(), loaded, &serde_json::json!({}), limits).unwrap()
}

fn request(command: &str) -> CommandRequest {
    CommandRequest {
        command: command.into(),
        ..Default::default()
    }
}

fn default_limits() -> Limits {
    Limits::new(100, 32)
}

fn deny_reason(v: Verdict) -> String {
    match v {
        Verdict::Deny(reason) => reason,
        other => panic!("expected a deny, got {other:?}"),
    }
}

/// After any failure, a good plugin on the same engine still answers.
fn host_still_serves() {
    let good = validator("builtin:validator", default_limits());
    assert_eq!(good.validate(&request("ls -la")), Verdict::Allow);
}

#[test]
fn endless_loop_is_denied_after_its_deadline() {
    let path = fixture("endless");
    let v = validator(path.to_str().unwrap(), default_limits());
    let reason = deny_reason(v.validate(&request("anything")));
    assert!(reason.contains(&path.display().to_string()), "{reason}");
    assert!(reason.contains("timed out after 100 ms"), "{reason}");
    host_still_serves();
}

#[test]
fn deadline_is_configurable() {
    let v = validator(fixture("endless").to_str().unwrap(), Limits::new(20, 32));
    let reason = deny_reason(v.validate(&request("anything")));
    assert!(reason.contains("timed out after 20 ms"), "{reason}");
}

#[test]
fn memory_bomb_is_denied_naming_the_cap() {
    let v = validator(fixture("membomb").to_str().unwrap(), default_limits());
    let reason = deny_reason(v.validate(&request("anything")));
    assert!(reason.contains("exceeded 32 MiB"), "{reason}");
    let small = validator(fixture("membomb").to_str().unwrap(), Limits::new(100, 8));
    let reason = deny_reason(small.validate(&request("anything")));
    assert!(reason.contains("exceeded 8 MiB"), "{reason}");
    host_still_serves();
}

#[test]
fn panic_is_denied_with_the_panic_message() {
    let v = validator(fixture("panic").to_str().unwrap(), default_limits());
    let reason = deny_reason(v.validate(&request("make it panic")));
    assert!(
        reason.contains("panicked: fixture panic on `make it panic`"),
        "{reason}"
    );
    // The same plugin keeps answering (and keeps denying) on later calls.
    let again = deny_reason(v.validate(&request("again")));
    assert!(
        again.contains("panicked: fixture panic on `again`"),
        "{again}"
    );
    host_still_serves();
}

#[test]
fn filesystem_import_is_refused_at_load_naming_file_and_import() {
    let path = fixture("fs");
    let err = loader()
        .load(path.to_str().unwrap(), None)
        .err()
        .expect("refused");
    let msg = format!("{err:#}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("wasi:filesystem/"), "{msg}");
    host_still_serves();
}

#[test]
fn a_router_used_as_validator_is_refused_naming_the_world() {
    let loader = loader();
    let loaded = loader.load("builtin:router", None).unwrap();
    let err = Validator::new(
        loader.engine(),
        loaded,
        &serde_json::json!({}),
        default_limits(),
    )
    .err()
    .expect("refused");
    assert!(format!("{err:#}").contains("implements the router world, but is used as a validator"));
    let loaded = loader.load("builtin:validator", None).unwrap();
    let err = Router::new(
        loader.engine(),
        loaded,
        &serde_json::json!({}),
        default_limits(),
    )
    .err()
    .expect("refused");
    assert!(
        format!("{err:#}").contains("implements the validator world, but is used as the router")
    );
}

#[test]
fn another_contract_version_is_refused_naming_both_versions() {
    let err = loader()
        .load(fixture("v02").to_str().unwrap(), None)
        .err()
        .expect("refused");
    let msg = format!("{err:#}");
    assert!(msg.contains("cluster-exec:plugin@0.2.0"), "{msg}");
    assert!(
        msg.contains("implements cluster-exec:plugin@0.1.0"),
        "{msg}"
    );
}

#[test]
fn truncated_and_foreign_files_get_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(fixture("counter")).unwrap();
    let truncated = dir.path().join("truncated.wasm");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let msg = format!(
        "{:#}",
        loader()
            .load(truncated.to_str().unwrap(), None)
            .err()
            .unwrap()
    );
    assert!(
        msg.contains("truncated.wasm is not a valid WebAssembly component"),
        "{msg}"
    );

    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let msg = format!(
        "{:#}",
        loader().load(core.to_str().unwrap(), None).err().unwrap()
    );
    assert!(
        msg.contains("is a core WebAssembly module, not a component"),
        "{msg}"
    );

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let msg = format!(
        "{:#}",
        loader().load(text.to_str().unwrap(), None).err().unwrap()
    );
    assert!(msg.contains("is not a WebAssembly file"), "{msg}");

    let missing = dir.path().join("missing.wasm");
    let msg = format!(
        "{:#}",
        loader()
            .load(missing.to_str().unwrap(), None)
            .err()
            .unwrap()
    );
    assert!(
        msg.contains("could not read plugin file") && msg.contains("missing.wasm"),
        "{msg}"
    );

    let msg = format!("{:#}", loader().load("builtin:nope", None).err().unwrap());
    assert!(msg.contains("builtin:validator, builtin:router"), "{msg}");
    host_still_serves();
}

#[test]
fn every_call_gets_a_fresh_instance() {
    let v = validator(fixture("counter").to_str().unwrap(), default_limits());
    for _ in 0..5 {
        assert_eq!(v.validate(&request("again")), Verdict::Allow);
    }
}

#[test]
fn plugins_see_no_environment_and_no_arguments() {
    // Secrets in the host's environment must not reach the plugin.
    // SAFETY: single assignment before any thread reads this variable.
    unsafe { std::env::set_var("CLUSTER_EXEC_TEST_SECRET", "hunter2") };
    let v = validator(fixture("probe").to_str().unwrap(), default_limits());
    match v.validate(&request("probe")) {
        // wasi-libc reports `/` as the directory when nothing is preopened.
        Verdict::Ask(reason) => assert_eq!(reason, "env=0 args=0 cwd=\"/\""),
        other => panic!("probe answered {other:?}"),
    }
}

#[test]
fn a_failing_router_is_an_error_never_a_pick() {
    let loader = loader();
    let loaded = loader
        .load(fixture("router-panic").to_str().unwrap(), None)
        .unwrap();
    let router = Router::new(
        loader.engine(),
        loaded,
        &serde_json::json!({}),
        default_limits(),
    )
    .unwrap();
    let request = RouteRequest {
        command: "make".into(),
        nodes: vec![NodeInfo {
            id: "a".into(),
            load: NodeLoad {
                reachable: true,
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    };
    match router.route(&request) {
        Err(RouteError::Failed { plugin, failure }) => {
            assert!(plugin.ends_with("router-panic.wasm"));
            assert!(
                failure.contains("panicked: router fixture panic"),
                "{failure}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_bad_plugin_configuration_stops_start_up_naming_plugin_and_key() {
    let mut config = PluginsConfig::default();
    config.router = PluginSpec {
        config: serde_json::json!({"avoid_locl": true}),
        ..PluginSpec::builtin("router")
    };
    let err = PluginSet::load(&config, None).err().expect("refused");
    let msg = format!("{err:#}");
    assert!(msg.contains("[plugins] router (builtin:router)"), "{msg}");
    assert!(
        msg.contains("rejected its configuration") && msg.contains("avoid_locl"),
        "{msg}"
    );
}

#[test]
fn compiled_components_are_cached_privately_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let cache = CodeCache::open(&cache_dir).unwrap();
    let engine = engine::shared().unwrap();
    let counter = fixture("counter");
    let source = source::resolve(counter.to_str().unwrap(), None).unwrap();
    let (_, first) = cache.load(&engine, &source).unwrap();
    let (_, second) = cache.load(&engine, &source).unwrap();
    assert_eq!((first, second), (Provenance::Compiled, Provenance::Cached));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&cache_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    for entry in std::fs::read_dir(&cache_dir).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A corrupt entry is rebuilt, not trusted.
    for entry in std::fs::read_dir(&cache_dir).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let (_, third) = cache.load(&engine, &source).unwrap();
    assert_eq!(third, Provenance::Compiled);
}

#[test]
fn limits_the_sandbox_cannot_honour_are_refused_at_start_up() {
    let config = PluginsConfig {
        memory_mib: 4096,
        ..PluginsConfig::default()
    };
    let msg = format!(
        "{:#}",
        PluginSet::load(&config, None).err().expect("refused")
    );
    assert!(
        msg.contains("memory_mib = 4096 is out of range; use 1 to 256"),
        "{msg}"
    );
    let mut config = PluginsConfig::default();
    config.validators[0].deadline_ms = Some(0);
    let msg = format!(
        "{:#}",
        PluginSet::load(&config, None).err().expect("refused")
    );
    assert!(
        msg.contains("validators[0]") && msg.contains("deadline_ms = 0"),
        "{msg}"
    );
}

#[test]
fn calls_beyond_the_instance_pool_wait_instead_of_failing() {
    let v = std::sync::Arc::new(validator("builtin:validator", Limits::new(5_000, 32)));
    let threads: Vec<_> = (0..3 * engine::POOL_INSTANCES)
        .map(|_| {
            let v = v.clone();
            std::thread::spawn(move || v.validate(&request("ls -la /tmp")))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), Verdict::Allow);
    }
}
