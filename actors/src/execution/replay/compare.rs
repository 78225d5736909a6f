//! Field-by-field comparison of a recorded event with the replayed one.
//!
//! Both are turned into their JSON form (the one `tradpal journal dump` prints), so a
//! difference is reported with the field's name and both values as a reader sees them.

use serde_json::Value;
use tradpal_messages::{Event, OrderId};

/// The first field where two values differ: (path, recorded, replayed). Object keys are
/// walked in sorted order (serde_json's map), so the answer is deterministic.
pub fn first_field_difference(recorded: &Value, replayed: &Value, path: &str) -> Option<(String, Value, Value)> {
    match (recorded, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                first_field_difference(a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), &sub)
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| first_field_difference(x, y, &format!("{path}[{i}]")))
        }
        (a, b) if a == b => None,
        (a, b) => Some((if path.is_empty() { "event".into() } else { path.to_string() }, a.clone(), b.clone())),
    }
}

/// The JSON form of an event (`{"type": ..., fields}`).
pub fn to_json(event: &Event) -> Value {
    serde_json::to_value(event).unwrap_or_else(|e| Value::String(format!("unserializable event: {e}")))
}

/// The first difference between a recorded and a replayed event: `type` when they are
/// different kinds of event.
pub fn event_difference(recorded: &Event, replayed: &Event) -> Option<(String, Value, Value)> {
    if recorded == replayed {
        return None;
    }
    let (a, b) = (to_json(recorded), to_json(replayed));
    if recorded.kind() != replayed.kind() {
        return Some(("type".into(), a, b));
    }
    // Equal JSON but unequal events cannot happen for these types; keep a fallback.
    Some(first_field_difference(&a, &b, "").unwrap_or(("event".into(), a, b)))
}

/// The order an execution event is about, if any.
pub fn order_of(event: &Event) -> Option<OrderId> {
    match event {
        Event::OrderSubmitted(e) => Some(e.order_id),
        Event::OrderAccepted(e) => Some(e.order_id),
        Event::OrderRejected(e) => Some(e.order_id),
        Event::OrderFilled(e) => Some(e.order_id),
        Event::OrderTriggered(e) => Some(e.order_id),
        Event::OrderCancelRequested(e) => Some(e.order_id),
        Event::OrderCanceled(e) => Some(e.order_id),
        Event::OrderExpired(e) => Some(e.order_id),
        Event::OrderReleased(e) => Some(e.order_id),
        _ => None,
    }
}

/// The market-data record a matching event names as its cause (0: none, e.g. a request
/// or the clock decided it).
pub fn cause_of(event: &Event) -> u64 {
    match event {
        Event::OrderFilled(e) => e.cause_sequence,
        Event::OrderTriggered(e) => e.cause_sequence,
        Event::OrderCanceled(e) => e.cause_sequence,
        Event::OrderExpired(e) => e.cause_sequence,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_differing_field_is_named_with_its_path() {
        let a = json!({"a": 1, "b": {"x": "1.5", "y": 2}, "c": [1, 2]});
        let b = json!({"a": 1, "b": {"x": "1.6", "y": 3}, "c": [1, 2]});
        assert_eq!(first_field_difference(&a, &b, ""), Some(("b.x".into(), json!("1.5"), json!("1.6"))));
        assert_eq!(first_field_difference(&a, &a, ""), None);
        let c = json!({"a": 1, "b": {"x": "1.5", "y": 2}, "c": [1, 3]});
        assert_eq!(first_field_difference(&a, &c, ""), Some(("c[1]".into(), json!(2), json!(3))));
    }
}
