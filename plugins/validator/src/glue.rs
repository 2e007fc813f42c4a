//! The WebAssembly component boundary: configure once, validate once (the
//! host makes a fresh instance per call). Everything else is pure Rust.

use std::cell::RefCell;

use crate::policy::Policy;

wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
    world: "validator",
});

// `use types.{command-request, verdict}` in the world brings both in scope.
use Verdict as WitVerdict;

thread_local! {
    static POLICY: RefCell<Option<Policy>> = const { RefCell::new(None) };
}

struct Component;

impl Guest for Component {
    fn configure(config: String) -> Result<(), String> {
        let policy = crate::config::parse(&config)?;
        POLICY.with(|p| *p.borrow_mut() = Some(policy));
        Ok(())
    }

    fn validate(request: CommandRequest) -> WitVerdict {
        let verdict = POLICY.with(|p| {
            let p = p.borrow();
            match p.as_ref() {
                Some(policy) => crate::judge(policy, &request.command, request.node.as_deref()),
                None => crate::judge(
                    &Policy::default(),
                    &request.command,
                    request.node.as_deref(),
                ),
            }
        });
        match verdict {
            crate::Verdict::Allow => WitVerdict::Allow,
            crate::Verdict::Deny(r) => WitVerdict::Deny(r),
            crate::Verdict::Ask(r) => WitVerdict::Ask(r),
        }
    }
}

export!(Component);
