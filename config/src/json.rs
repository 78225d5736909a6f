//! Walking a JSON tree by hand for the config file: the object at a path with its unknown
//! keys reported ([`fields`]), and a value as a message shows it ([`shown`]). Used by the
//! file layer (`file.rs`) and by `trading_config`'s fields (`trading.rs`); a leaf of its
//! own so that those two depend on it rather than on each other.

use serde_json::{Map, Value};

use crate::error::{closest, Problem};

/// The object at `path`, after reporting each of its keys not in `known`; `None` (and a
/// problem) if `v` is not an object.
pub(crate) fn fields<'v>(v: &'v Value, path: &str, known: &[&str], problems: &mut Vec<Problem>) -> Option<&'v Map<String, Value>> {
    let Some(obj) = v.as_object() else {
        problems.push(Problem::invalid(path, shown(v), "a JSON object"));
        return None;
    };
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(unknown(&format!("{path}.{key}"), key, known));
    }
    Some(obj)
}

pub(crate) fn unknown(path: &str, key: &str, known: &[&str]) -> Problem {
    Problem::UnknownField {
        path: path.to_string(),
        known: known.iter().map(|k| k.to_string()).collect(),
        did_you_mean: closest(key, known).map(str::to_string),
    }
}

/// A JSON value as shown in a message: a string's own text, anything else as compact JSON,
/// cut at 80 characters so a misplaced array does not flood the log.
pub(crate) fn shown(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_cuts_long_values() {
        let long = Value::String("x".repeat(200));
        assert_eq!(shown(&long).chars().count(), 81);
        assert_eq!(shown(&serde_json::json!([1, 2])), "[1,2]");
    }
}
