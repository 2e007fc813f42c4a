//! What a file is before anything of it runs: a component or not, which world
//! and contract version it implements, and whether every import it asks for
//! is on the allow-list.

use std::fmt;

use anyhow::{Result, bail};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::bindings::{CONTRACT_VERSION, PACKAGE};

/// Import namespaces a plugin may ask for. The WASI ones are backed by an
/// empty context (no environment, arguments or stdin; clocks and randomness
/// only), so they grant nothing; Rust's standard library imports them even
/// when a plugin uses none. Files, sockets, HTTP and anything else are refused.
pub const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "cluster-exec:plugin/",
];

/// The two plugin worlds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum World {
    Validator,
    Router,
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Validator => "validator",
            Self::Router => "router",
        })
    }
}

/// A component's outline, as `plugin check` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outline {
    pub world: World,
    pub version: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Refuses what is not a component before handing it to the compiler, which
/// would otherwise answer with a parser error that does not say what to do.
pub fn check_header(name: &str, bytes: &[u8]) -> Result<()> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        bail!(
            "plugin {name} is not a WebAssembly file (no `\\0asm` header); build it with \
             `cargo build --release --target wasm32-wasip2`"
        );
    }
    // Bytes 4..8: version and layer. A core module is version 1, layer 0.
    if bytes[4..8] == [1, 0, 0, 0] {
        bail!(
            "plugin {name} is a core WebAssembly module, not a component; build it for the \
             `wasm32-wasip2` target (or wrap it with `wasm-tools component new`)"
        );
    }
    if bytes[6..8] != [1, 0] {
        bail!("plugin {name} is not a WebAssembly component (unknown layer in its header)");
    }
    Ok(())
}

/// Reads imports and exports, decides the world, and refuses any import
/// outside [`ALLOWED_IMPORTS`] or from another contract version.
pub fn outline(name: &str, engine: &Engine, component: &Component) -> Result<Outline> {
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();

    for import in &imports {
        if let Some(rest) = import.strip_prefix(&format!("{PACKAGE}/")) {
            let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("none");
            if version != CONTRACT_VERSION {
                bail!(
                    "plugin {name} was built against {PACKAGE}@{version}, but this host \
                     implements {PACKAGE}@{CONTRACT_VERSION}; rebuild it against \
                     wit/since_v{CONTRACT_VERSION}"
                );
            }
        }
        if !ALLOWED_IMPORTS.iter().any(|p| import.starts_with(p)) {
            bail!(
                "plugin {name} imports `{import}`, which plugins may not use (allowed: {}); \
                 remove the code that needs it (file, network and HTTP access are never granted)",
                ALLOWED_IMPORTS.join(", ")
            );
        }
    }

    let has = |f: &str| exports.iter().any(|e| e == f);
    let world = match (has("validate"), has("route")) {
        (true, false) => World::Validator,
        (false, true) => World::Router,
        _ => bail!(
            "plugin {name} does not implement a {PACKAGE}@{CONTRACT_VERSION} world: a validator \
             exports `configure` and `validate`, a router `configure` and `route` (it exports: {})",
            if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            }
        ),
    };
    Ok(Outline {
        world,
        version: CONTRACT_VERSION.to_string(),
        imports,
        exports,
    })
}
