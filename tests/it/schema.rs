//! The run report against its published JSON Schema (docs/run.schema.json): real documents of every shape validate, and the validator itself refuses what the schema forbids. The anomaly table's schema (docs/matrix.schema.json) borrows definitions from it; `matrix.rs` validates its documents with [`violations_of`].

use serde_json::{Value, json};

use crate::common::{DOUBLE_CHECK, run_json};

fn schema() -> Value {
    schema_file("run.schema.json")
}

/// A schema of docs/, parsed.
pub fn schema_file(name: &str) -> Value {
    let path = format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("the schema is JSON")
}

/// The part of JSON Schema the file uses: `type`, `const`, `enum`,
/// `properties`, `required`, `additionalProperties: false`, `items`,
/// `minimum`, `maximum`, `pattern` (only `^[...]+$`-like anchors, checked
/// by a small matcher) and `$ref`s to a definition of the same file or of
/// another file of docs/ (`run.schema.json#/$defs/host`). Returns every
/// violation.
fn validate(root: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let (file, local) = r.split_once('#').expect("refs to a definition");
        let name = local.strip_prefix("/$defs/").expect("refs to a definition");
        if file.is_empty() {
            return validate(root, &root["$defs"][name], value, at, errors);
        }
        let other = schema_file(file);
        return validate(&other, &other["$defs"][name], value, at, errors);
    }
    let mut fail = |what: String| errors.push(format!("{at}: {what}"));
    if let Some(c) = schema.get("const")
        && c != value
    {
        fail(format!("{value} is not {c}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        fail(format!("{value} is not one of {options:?}"));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema"),
        };
        let is = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            other => panic!("unknown type {other}"),
        };
        if !types.iter().any(|t| is(t)) {
            fail(format!("{value} is not of type {types:?}"));
        }
    }
    if let Some(n) = value.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            fail(format!("{n} is below the minimum"));
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            fail(format!("{n} is above the maximum"));
        }
    }
    if let (Some(p), Some(s)) = (
        schema.get("pattern").and_then(Value::as_str),
        value.as_str(),
    ) && !matches_pattern(p, s)
    {
        fail(format!("{s:?} does not match {p}"));
    }
    validate_children(root, schema, value, at, errors);
}

/// `properties`, `required`, `additionalProperties` and `items`.
fn validate_children(
    root: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !object.contains_key(key.as_str().unwrap()) {
                errors.push(format!("{at}: missing {key}"));
            }
        }
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => validate(root, s, v, &format!("{at}.{key}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: {key} is not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            validate(root, items, v, &format!("{at}[{i}]"), errors);
        }
    }
}

/// The two patterns the schema uses: `^[0-9]+$` and `^[DWT][0-9]+$`.
fn matches_pattern(pattern: &str, s: &str) -> bool {
    match pattern {
        "^[0-9]+$" => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
        "^[DWT][0-9]+$" => {
            s.len() > 1
                && s.starts_with(['D', 'W', 'T'])
                && s[1..].bytes().all(|b| b.is_ascii_digit())
        }
        other => panic!("the test's matcher does not know {other}"),
    }
}

fn violations(doc: &Value) -> Vec<String> {
    violations_of("run.schema.json", doc)
}

/// Every way `doc` breaks the schema `file` of docs/.
pub fn violations_of(file: &str, doc: &Value) -> Vec<String> {
    let schema = schema_file(file);
    let mut errors = Vec::new();
    validate(&schema, &schema, doc, "$", &mut errors);
    errors
}

/// A command line's words (none of them has a space inside).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn real_reports_of_every_shape_validate() {
    let scheduled = "--scenario overdraft --no-lock --lock --trace -n 1 --window 0 --schedule";
    let docs = [
        // Every mode, traced: events, lost updates, the identity.
        run_json(&words(
            "--no-lock --lock=all --trace -n 2 --ops 3 --window 0",
        )),
        // A forced schedule in the parameters, and the overdraft's trace.
        run_json(&[words(scheduled), vec![DOUBLE_CHECK]].concat()),
        // A dead lock holder and failed trials: cause, killed_worker, null statistics.
        run_json(&words(
            "--lock=spin --lock=mutex --kill-holder 1 --timeout 300ms -n 1 --window 1ms --ops 3",
        )),
        // The write skew: each trial's balances and constraint, every memory mode.
        run_json(&words("--scenario write-skew --no-lock --lock=all -n 1")),
        // Traced transfers: accounts, credits, lock steps, a deadlock's stuck steps.
        run_json(&words(
            "--scenario transfer --accounts 2 --transferers 2 --ops 1 --collide --no-lock \
             --lock=mutex-unordered --lock=mutex --trace -n 1",
        )),
    ];
    for doc in &docs {
        let errors = violations(doc);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The shapes the schema describes did occur.
    assert!(docs[1]["parameters"]["schedule"].is_string());
    assert_eq!(docs[2]["modes"][0]["trials"][0]["status"], "failed");
    assert!(docs[2]["modes"][0]["summary"]["min"].is_null());
    assert!(docs[3]["modes"][1]["trials"][0]["constraint_broken"].is_boolean());
    let transfer = &docs[4]["modes"];
    assert!(transfer[0]["trials"][0]["trace"]["events"][0]["account"].is_u64());
    assert!(transfer[1]["trials"][0]["trace"]["stuck_steps"][0]["step"].is_string());
    assert!(transfer[2]["trials"][0]["trace"]["lock_steps"][0]["account"].is_u64());
}

#[test]
fn the_schema_names_the_current_schema_version() {
    for file in ["run.schema.json", "matrix.schema.json"] {
        assert_eq!(
            schema_file(file)["properties"]["schema_version"]["const"],
            json!(bankrace::report::json::SCHEMA_VERSION),
            "{file}"
        );
    }
}

/// A scenario, mode or verdict added to the vocabulary must be added to
/// the schemas too, or real documents would stop validating.
#[test]
fn the_schemas_name_every_scenario_mode_and_verdict() {
    use bankrace::vocab::{Mode, Scenario, Verdict};
    let enumed = |v: &Value| -> Vec<Value> { v["enum"].as_array().unwrap().clone() };
    let run = schema();
    let matrix = schema_file("matrix.schema.json");
    let params = &run["$defs"]["parameters"]["properties"];
    for s in Scenario::ALL {
        assert!(
            enumed(&params["scenario"]).contains(&json!(s.name())),
            "{}",
            s.name()
        );
        let row = &matrix["$defs"]["scenario"]["properties"]["scenario"];
        assert!(enumed(row).contains(&json!(s.name())), "{}", s.name());
    }
    for m in Mode::ALL {
        assert!(
            enumed(&params["modes"]["items"]).contains(&json!(m.id())),
            "{m}"
        );
        let cell = &matrix["$defs"]["cell"]["properties"]["mode"];
        assert!(enumed(cell).contains(&json!(m.id())), "{m}");
        let lock = &run["$defs"]["mode"]["properties"]["lock"];
        assert!(enumed(lock).contains(&json!(m.strategy())), "{m}");
    }
    let verdicts = enumed(&matrix["$defs"]["cell"]["properties"]["verdict"]);
    for v in Verdict::ALL {
        assert!(verdicts.contains(&json!(v.name())), "{v}");
    }
}

#[test]
fn the_validator_refuses_what_the_schema_forbids() {
    let mut doc = run_json(&["--no-lock", "-n", "1", "--ops", "1", "--window", "0"]);
    assert!(violations(&doc).is_empty());
    doc["surprise"] = json!(1);
    doc["modes"][0]["trials"][0]["status"] = json!("maybe");
    doc["modes"][0]["trials"][0]["worker_seeds"][0] = json!("12a");
    doc["host"].as_object_mut().unwrap().remove("cpus");
    doc["parameters"]["trials"] = json!(0);
    doc["schema_version"] = json!(0);
    let errors = violations(&doc).join("\n");
    let version = format!("0 is not {}", bankrace::report::json::SCHEMA_VERSION);
    for needle in [
        "surprise is not in the schema",
        "\"maybe\" is not one of",
        "does not match",
        "missing \"cpus\"",
        "below the minimum",
        &version,
    ] {
        assert!(errors.contains(needle), "{needle} not in {errors}");
    }
}
