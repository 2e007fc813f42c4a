//! A loaded validator plugin. Every failure becomes a deny that says which
//! plugin failed and how: a validator never fails open.

use anyhow::Result;
use wasmtime::Engine;

use super::bindings::validator::ValidatorPre;
use super::inspect::World;
use super::load::{self, Loaded};
use super::sandbox::{self, Failure, Limits};
use super::types::{CommandRequest, Verdict};

/// Longest reason kept from a plugin, so one cannot flood logs and results.
pub const MAX_REASON: usize = 4096;

pub struct Validator {
    name: String,
    engine: Engine,
    pre: ValidatorPre<sandbox::CallState>,
    config: String,
    limits: Limits,
}

impl Validator {
    /// Links the component and has it check its configuration once, so a bad
    /// configuration stops start-up instead of denying every command later.
    pub fn new(
        engine: &Engine,
        loaded: Loaded,
        config: &serde_json::Value,
        limits: Limits,
    ) -> Result<Self> {
        let pre = load::link(
            engine,
            &loaded,
            World::Validator,
            "a validator",
            ValidatorPre::new,
        )?;
        let name = loaded.name;
        let validator = Self {
            name,
            engine: engine.clone(),
            pre,
            config: serde_json::to_string(config)?,
            limits,
        };
        if !crate::plugin::engine::check_configuration_at_load() {
            return Ok(validator);
        }
        validator
            .call(&CommandRequest {
                command: "true".into(),
                ..Default::default()
            })
            .map_err(|failure| match failure {
                Failure::Config(message) => {
                    anyhow::anyhow!(
                        "plugin {} rejected its configuration: {message}",
                        validator.name
                    )
                }
                other => anyhow::anyhow!(
                    "plugin {} failed while checking its configuration: {other}",
                    validator.name
                ),
            })?;
        Ok(validator)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Judges one command. Traps, panics, timeouts, memory exhaustion and
    /// configuration errors all deny, naming the plugin and the cause.
    pub fn validate(&self, request: &CommandRequest) -> Verdict {
        match self.call(request) {
            Ok(verdict) => bounded(verdict),
            Err(failure) => Verdict::Deny(format!("validator {} failed: {failure}", self.name)),
        }
    }

    fn call(&self, request: &CommandRequest) -> Result<Verdict, Failure> {
        let request = request.into();
        sandbox::run(&self.engine, &self.name, self.limits, |store| {
            let instance = self.pre.instantiate(&mut *store)?;
            if let Err(message) = instance.call_configure(&mut *store, &self.config)? {
                return Ok(Err(message));
            }
            Ok(Ok(instance.call_validate(&mut *store, &request)?.into()))
        })
    }
}

fn bounded(verdict: Verdict) -> Verdict {
    let cut = |r: String| -> String {
        if r.len() <= MAX_REASON {
            return r;
        }
        let mut end = MAX_REASON;
        while !r.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &r[..end])
    };
    match verdict {
        Verdict::Allow => Verdict::Allow,
        Verdict::Deny(r) => Verdict::Deny(cut(r)),
        Verdict::Ask(r) => Verdict::Ask(cut(r)),
    }
}
