//! The JSON config file: reading it, parsing it strictly, and applying it as a layer.
//!
//! Shape (every part optional; the file may set any subset):
//!
//! ```json
//! {
//!   "trading_config": { "capital": 10000.0, "max_drawdown": 0.1, "symbols": ["BTC/USDT"], ... },
//!   "service": { "host": "0.0.0.0", "port": 8002, "log_level": "debug", "nats_url": null, ... }
//! }
//! ```
//!
//! `trading_config` is the spec's object. `service` mirrors the environment variables: its
//! keys are the `service.*` paths of [`crate::ENV_VARS`], its values the variable's text or
//! the natural JSON value (`8002`, `true`, `null` for an optional setting left unset), parsed
//! by the same code as the environment.
//!
//! Why the tree is walked by hand instead of `#[serde(deny_unknown_fields)]` structs: serde
//! stops at the first problem and reports it without the field path; walking a
//! `serde_json::Value` reports every unknown field and every bad value, each by path.
//! Duplicate keys are rejected while parsing (with line and column), because a JSON object
//! that names a field twice silently keeps only the last value.

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::Problem;
use crate::json::{fields, shown, unknown};
use crate::settings::{Origin, Settings};
use crate::trading;
use crate::vars::ENV_VARS;

/// Larger than any sane config file; stops `TRADPAL_CONFIG=/dev/zero` from eating memory.
const FILE_BYTES_MAX: u64 = 4 << 20;

/// Reads and parses the file at `path`; `named_by` says who chose it, for the messages.
pub(crate) fn read(path: &Path, named_by: &str) -> Result<Value, Problem> {
    let unreadable = |reason: String| Problem::FileUnreadable { path: path.to_path_buf(), named_by: named_by.to_string(), reason };
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Problem::FileMissing { path: path.to_path_buf(), named_by: named_by.to_string() },
        _ => unreadable(e.to_string()),
    })?;
    let mut text = String::new();
    file.take(FILE_BYTES_MAX + 1).read_to_string(&mut text).map_err(|e| unreadable(e.to_string()))?;
    if text.len() as u64 > FILE_BYTES_MAX {
        return Err(unreadable(format!("larger than {FILE_BYTES_MAX} bytes")));
    }
    parse_strict(&text).map_err(|e| Problem::FileMalformed {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        reason: strip_position(&e),
    })
}

/// serde_json appends " at line L column C" to its messages; the problem carries those as
/// fields, so the message should not repeat them.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Parses JSON text into a `Value`, rejecting duplicate object keys and trailing text.
pub(crate) fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let StrictValue(value) = StrictValue::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Applies a parsed file to `s`, reporting every problem.
pub(crate) fn apply(root: &Value, path: &Path, s: &mut Settings, problems: &mut Vec<Problem>) {
    let Some(obj) = root.as_object() else {
        problems.push(Problem::invalid(path.display().to_string(), shown(root), "a JSON object at the top level"));
        return;
    };
    for key in obj.keys().filter(|k| !["trading_config", "service"].contains(&k.as_str())) {
        problems.push(unknown(key, key, &["trading_config", "service"]));
    }
    if let Some(v) = obj.get("service") {
        apply_service(v, s, problems);
    }
    if let Some(v) = obj.get("trading_config") {
        apply_trading(v, s, problems);
    }
}

fn apply_service(v: &Value, s: &mut Settings, problems: &mut Vec<Problem>) {
    let known: Vec<&str> = ENV_VARS.iter().filter_map(|e| e.file_path?.strip_prefix("service.")).collect();
    let Some(obj) = fields(v, "service", &known, problems) else {
        return;
    };
    for (key, value) in obj {
        let path = format!("service.{key}");
        let Some(var) = ENV_VARS.iter().find(|e| e.file_path == Some(path.as_str())) else {
            continue;
        };
        let raw = match value {
            Value::String(text) => text.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            // null = "unset": fine for optional settings, whose parsers take "" as none.
            Value::Null if var.default.is_none() => String::new(),
            _ => {
                problems.push(Problem::invalid(path, shown(value), format!("a string, number or boolean, as for {}", var.name)));
                continue;
            }
        };
        s.apply_var(var, &raw, Origin::File(path), problems);
    }
}

fn apply_trading(v: &Value, s: &mut Settings, problems: &mut Vec<Problem>) {
    let Some(obj) = fields(v, "trading_config", trading::FIELDS, problems) else {
        return;
    };
    for (key, value) in obj {
        let path = format!("trading_config.{key}");
        if key == "max_drawdown" {
            // The same limit as MAX_DRAWDOWN, parsed by the same code; a JSON number only.
            match (value.as_f64(), ENV_VARS.iter().find(|e| e.name == "MAX_DRAWDOWN")) {
                (Some(_), Some(var)) => s.apply_var(var, &value.to_string(), Origin::File(path), problems),
                _ => problems.push(Problem::invalid(path, shown(value), "a number in (0, 1]")),
            }
        } else {
            trading::apply_field(key, value, &path, &mut s.trading, problems);
        }
    }
}

/// A `serde_json::Value` that fails to deserialize when an object repeats a key.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if obj.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let StrictValue(v) = map.next_value()?;
            obj.insert(key, v);
        }
        Ok(Value::Object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parse_rejects_duplicate_keys_with_position() {
        let e = parse_strict("{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!(e.line(), 3);
        assert!(e.to_string().contains("duplicate key `a`"), "{e}");
        assert!(parse_strict("{\"a\": {\"b\": 1, \"b\": 1}}").is_err());
    }

    #[test]
    fn strict_parse_keeps_values_and_rejects_trailing_text() {
        let v = parse_strict(r#"{"x": [1, -2, 0.5, "s", true, null, {}]}"#).unwrap();
        assert_eq!(v, serde_json::json!({"x": [1, -2, 0.5, "s", true, null, {}]}));
        assert!(parse_strict("{} {}").is_err());
        assert!(parse_strict("").is_err());
    }
}
