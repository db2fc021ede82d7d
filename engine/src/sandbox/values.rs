//! Comparing record values: for sorting, and against query-string operands.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::time;

/// Orders two field values for sorting; a missing value sorts like null, first.
///
/// Values of one JSON type compare naturally, with strings that both read as ISO-8601
/// instants compared chronologically; different types order null, bool, number, string,
/// array, object.
pub(crate) fn compare(left: Option<&Value>, right: Option<&Value>) -> Ordering {
    let left = left.unwrap_or(&Value::Null);
    let right = right.unwrap_or(&Value::Null);
    match (left, right) {
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => number(a).total_cmp(&number(b)),
        (Value::String(a), Value::String(b)) => compare_text(a, b),
        _ => rank(left).cmp(&rank(right)),
    }
}

/// Orders a record value against a query operand, or `None` when they do not compare.
///
/// Strings compare as instants when both read as one, else as text; numbers compare with
/// operands that read as numbers. Null, missing and structured values never compare.
pub(crate) fn compare_to_operand(value: Option<&Value>, operand: &str) -> Option<Ordering> {
    match value? {
        Value::String(text) => Some(compare_text(text, operand)),
        Value::Number(n) => {
            let operand: f64 = operand.trim().parse().ok()?;
            Some(number(n).total_cmp(&operand))
        }
        _ => None,
    }
}

/// The text a value shows in a query string: strings as-is, numbers and booleans written
/// out, null as `null`; `None` for arrays and objects.
pub(crate) fn as_query_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(text) => Some(Cow::Borrowed(text)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Null => Some(Cow::Borrowed("null")),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn compare_text(left: &str, right: &str) -> Ordering {
    match (time::parse(left), time::parse(right)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => left.cmp(right),
    }
}

fn number(n: &serde_json::Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

fn rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_compare_as_instants() {
        let early = json!("2026-03-01T10:00:00+02:00");
        let late = json!("2026-03-01T09:00:00+00:00");
        assert_eq!(compare(Some(&early), Some(&late)), Ordering::Less);
        assert_eq!(
            compare_to_operand(Some(&late), "2026-03-01"),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn numbers_and_missing_values() {
        assert_eq!(
            compare_to_operand(Some(&json!(5)), "10"),
            Some(Ordering::Less)
        );
        assert_eq!(compare_to_operand(Some(&json!(5)), "ten"), None);
        assert_eq!(compare_to_operand(None, "10"), None);
        assert_eq!(compare(None, Some(&json!(1))), Ordering::Less);
        assert_eq!(as_query_text(&json!(false)).as_deref(), Some("false"));
    }
}
