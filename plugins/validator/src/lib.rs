//! Interim default validator (replaced by the full shell-aware policy).
#[cfg(target_arch = "wasm32")]
mod glue {
    wit_bindgen::generate!({ path: "../../wit/since_v0.1.0", world: "validator" });
    struct V;
    impl Guest for V {
        fn configure(_config: String) -> Result<(), String> {
            Ok(())
        }
        fn validate(request: CommandRequest) -> Verdict {
            if request.command.contains("rm -rf /") {
                Verdict::Deny("recursive-delete: rm -rf /".into())
            } else {
                Verdict::Allow
            }
        }
    }
    export!(V);
}
