//! Reading the `[config]` section (handed over as JSON text).
//!
//! Every key is checked by hand rather than by derive so that an error names
//! the exact location (`deny[2].args[0]: ...`). Unknown keys and categories
//! are errors: a typo must never silently weaken the policy.

use serde_json::{Map, Value};

use crate::category::{Category, Mode};
use crate::glob;
use crate::policy::{HARD_MAX_BYTES, Policy, Rule};

const TOP_KEYS: &str = "categories, deny, ask, allow, max_command_bytes";

/// Builds the policy from the configuration text ("" or "{}" for defaults).
pub fn parse(text: &str) -> Result<Policy, String> {
    let mut policy = Policy::default();
    let text = text.trim();
    if text.is_empty() {
        return Ok(policy);
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("config: not valid JSON: {e}"))?;
    let Value::Object(obj) = v else {
        return Err("config: must be a table".to_string());
    };
    for (k, val) in &obj {
        match k.as_str() {
            "categories" => categories(&mut policy, val)?,
            "deny" => policy.deny = rules("deny", val)?,
            "ask" => policy.ask = rules("ask", val)?,
            "allow" => policy.allow = rules("allow", val)?,
            "max_command_bytes" => {
                let n = val
                    .as_u64()
                    .filter(|n| (1..=HARD_MAX_BYTES as u64).contains(n))
                    .ok_or_else(|| {
                        format!("max_command_bytes: must be an integer from 1 to {HARD_MAX_BYTES}")
                    })?;
                policy.limits.max_bytes = n as usize;
            }
            other => {
                return Err(format!(
                    "{other}: unknown key (expected one of: {TOP_KEYS})"
                ));
            }
        }
    }
    Ok(policy)
}

fn category_names() -> String {
    Category::ALL
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn categories(policy: &mut Policy, val: &Value) -> Result<(), String> {
    let Value::Object(map) = val else {
        return Err(
            "categories: must be a table of category = \"deny\" | \"ask\" | \"off\"".to_string(),
        );
    };
    for (name, mode) in map {
        let loc = format!("categories.{name}");
        let cat = Category::from_name(name).ok_or_else(|| {
            format!(
                "{loc}: unknown category (expected one of: {})",
                category_names()
            )
        })?;
        let mode = match mode.as_str() {
            Some("deny") => Mode::Deny,
            Some("ask") => Mode::Ask,
            Some("off") => Mode::Off,
            _ => return Err(format!("{loc}: must be \"deny\", \"ask\" or \"off\"")),
        };
        if cat == Category::ParseErrors && mode == Mode::Off {
            return Err(format!(
                "{loc}: cannot be turned off (what cannot be parsed cannot be judged)"
            ));
        }
        policy.modes[cat.index()] = mode;
    }
    Ok(())
}

fn rules(kind: &str, val: &Value) -> Result<Vec<Rule>, String> {
    let Value::Array(list) = val else {
        return Err(format!(
            "{kind}: must be an array of tables ([[config.{kind}]])"
        ));
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| rule(kind, i, v))
        .collect()
}

/// An array of patterns, each expanded into its `{a,b}` alternatives.
fn pattern_list(loc: &str, v: &Value) -> Result<Vec<Vec<String>>, String> {
    let Value::Array(items) = v else {
        return Err(format!("{loc}: must be an array of strings"));
    };
    if items.is_empty() {
        return Err(format!("{loc}: must not be empty"));
    }
    items
        .iter()
        .enumerate()
        .map(|(j, x)| {
            let s = x
                .as_str()
                .ok_or_else(|| format!("{loc}[{j}]: must be a string"))?;
            glob::alternatives(s).map_err(|e| format!("{loc}[{j}]: {e}"))
        })
        .collect()
}

fn rule(kind: &str, i: usize, v: &Value) -> Result<Rule, String> {
    let location = format!("{kind}[{i}]");
    let Value::Object(obj) = v else {
        return Err(format!("{location}: must be a table"));
    };
    let mut r = Rule {
        location: location.clone(),
        ..Rule::default()
    };
    check_keys(&location, kind, obj)?;
    for (k, val) in obj {
        let loc = format!("{location}.{k}");
        match k.as_str() {
            "program" => {
                let s = val
                    .as_str()
                    .ok_or_else(|| format!("{loc}: must be a string"))?;
                if s.contains('/') {
                    return Err(format!(
                        "{loc}: give the program name without a directory (rules see /usr/bin/rm as rm)"
                    ));
                }
                r.program = glob::alternatives(s).map_err(|e| format!("{loc}: {e}"))?;
            }
            "args" => r.args = pattern_list(&loc, val)?,
            "paths" => {
                r.paths = pattern_list(&loc, val)?.into_iter().flatten().collect();
                for (j, p) in r.paths.iter().enumerate() {
                    if !(p.starts_with('/') || p.starts_with('~')) {
                        return Err(format!(
                            "{loc}[{j}]: must be an absolute path or start with ~"
                        ));
                    }
                }
            }
            "nodes" => r.nodes = pattern_list(&loc, val)?.into_iter().flatten().collect(),
            "reason" => {
                let s = val
                    .as_str()
                    .ok_or_else(|| format!("{loc}: must be a string"))?;
                if s.trim().is_empty() {
                    return Err(format!("{loc}: must not be empty"));
                }
                r.reason = Some(s.to_string());
            }
            "categories" => {
                let Value::Array(items) = val else {
                    return Err(format!("{loc}: must be an array of category names"));
                };
                for (j, x) in items.iter().enumerate() {
                    let name = x
                        .as_str()
                        .ok_or_else(|| format!("{loc}[{j}]: must be a string"))?;
                    let c = Category::from_name(name).ok_or_else(|| {
                        format!(
                            "{loc}[{j}]: unknown category `{name}` (expected one of: {})",
                            category_names()
                        )
                    })?;
                    if c == Category::ParseErrors {
                        return Err(format!("{loc}[{j}]: parse-errors cannot be allowed"));
                    }
                    r.categories.push(c);
                }
            }
            _ => {}
        }
    }
    if r.program.is_empty() && r.args.is_empty() && r.paths.is_empty() {
        return Err(format!(
            "{location}: needs at least one of program, args, paths"
        ));
    }
    Ok(r)
}

fn check_keys(location: &str, kind: &str, obj: &Map<String, Value>) -> Result<(), String> {
    let allowed: &[&str] = if kind == "allow" {
        &["program", "args", "paths", "nodes", "reason", "categories"]
    } else {
        &["program", "args", "paths", "nodes", "reason"]
    };
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            let extra = if k == "categories" {
                " (only allow rules take categories)".to_string()
            } else {
                format!(" (expected one of: {})", allowed.join(", "))
            };
            return Err(format!("{location}.{k}: unknown key{extra}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn empty_is_default() {
        assert!(parse("").is_ok());
        assert!(parse("{}").is_ok());
    }

    #[test]
    fn errors_name_the_location() {
        let e = parse(
            r#"{"deny":[{"program":"a"},{"program":"b"},{"program":"c","args":["x","[bad"]}]}"#,
        )
        .unwrap_err();
        assert!(e.starts_with("deny[2].args[1]:"), "{e}");
        let e = parse(r#"{"categories":{"nope":"deny"}}"#).unwrap_err();
        assert!(e.starts_with("categories.nope:"), "{e}");
        let e = parse(r#"{"allow":[{"program":"a","colour":"red"}]}"#).unwrap_err();
        assert!(e.starts_with("allow[0].colour:"), "{e}");
        let e = parse(r#"{"categories":{"parse_errors":"off"}}"#).unwrap_err();
        assert!(e.contains("cannot be turned off"), "{e}");
        let e = parse(r#"{"deny":[{"reason":"x"}]}"#).unwrap_err();
        assert!(e.starts_with("deny[0]:"), "{e}");
        let e = parse(r#"{"frobnicate":1}"#).unwrap_err();
        assert!(e.starts_with("frobnicate:"), "{e}");
    }
}
