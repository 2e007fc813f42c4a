//! Runs every case of `cases/*.toml` against the pure policy, natively, so
//! the same cases the host's `plugin test` runs are checked by `cargo test`.

use std::path::Path;

use cluster_exec_validator::{Verdict, config, judge};

struct Outcome {
    file: String,
    total: usize,
    failures: Vec<String>,
}

fn run_file(path: &Path) -> Outcome {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(path).expect("read cases file");
    let doc: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: bad TOML: {e}"));
    assert_eq!(
        doc.get("plugin").and_then(|v| v.as_str()),
        Some("builtin:validator"),
        "{file}: plugin line"
    );
    let cfg = match doc.get("config") {
        Some(c) => serde_json::to_string(c).expect("config to JSON"),
        None => String::new(),
    };
    let policy = config::parse(&cfg).unwrap_or_else(|e| panic!("{file}: config rejected: {e}"));
    let cases = doc
        .get("case")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let command = case
            .get("command")
            .and_then(|v| v.as_str())
            .expect("command");
        let name = case.get("name").and_then(|v| v.as_str()).unwrap_or(command);
        let expect = case.get("expect").and_then(|v| v.as_str()).expect("expect");
        let node = case.get("node").and_then(|v| v.as_str());
        let verdict = judge(&policy, command, node);
        let (got, reason) = match &verdict {
            Verdict::Allow => ("allow", ""),
            Verdict::Deny(r) => ("deny", r.as_str()),
            Verdict::Ask(r) => ("ask", r.as_str()),
        };
        if got != expect {
            failures.push(format!(
                "{file} case {i} `{name}`: expected {expect}, got {got} {reason:?}"
            ));
            continue;
        }
        if let Some(re) = case.get("reason").and_then(|v| v.as_str()) {
            let re =
                regex::Regex::new(re).unwrap_or_else(|e| panic!("{file} case {i}: bad regex: {e}"));
            if !re.is_match(reason) {
                failures.push(format!(
                    "{file} case {i} `{name}`: reason {reason:?} does not match /{re}/"
                ));
            }
        }
    }
    Outcome {
        file,
        total: cases.len(),
        failures,
    }
}

#[test]
fn all_cases_pass_natively() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    let mut total = 0;
    for f in &files {
        let o = run_file(f);
        eprintln!(
            "{:<28} {:>4} cases, {:>4} passed",
            o.file,
            o.total,
            o.total - o.failures.len()
        );
        total += o.total;
        all.extend(o.failures);
    }
    eprintln!("total: {total} cases, {} failed", all.len());
    assert!(
        all.is_empty(),
        "{} failing cases:\n{}",
        all.len(),
        all.join("\n")
    );
}
