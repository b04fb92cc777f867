//! Value transforms applied on the way to the host (and, where they can be, reversed on the way
//! back).

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    Trim,
    Lowercase,
    Uppercase,
    /// Boolean negation: `active` → `is_disabled`.
    Not,
    /// An empty string becomes NULL.
    NullIfEmpty,
    /// Text cut to at most this many characters (`truncate = N`, the rule's opt-in; without
    /// it a value longer than its column is refused with 400). Always applied last.
    Truncate(u32),
}

impl Transform {
    pub const NAMES: &'static str = "trim, lowercase, uppercase, not, null_if_empty";

    pub fn parse(name: &str) -> Option<Transform> {
        Some(match name {
            "trim" => Transform::Trim,
            "lowercase" => Transform::Lowercase,
            "uppercase" => Transform::Uppercase,
            "not" => Transform::Not,
            "null_if_empty" => Transform::NullIfEmpty,
            _ => return None,
        })
    }

    /// Whether a read can undo it exactly. Lossy ones (case, whitespace) are undone by
    /// preferring the value the IdP sent when it still maps to what the host holds.
    pub fn is_reversible(self) -> bool {
        matches!(self, Transform::Not | Transform::NullIfEmpty)
    }

    /// # Errors
    /// A message when the value has the wrong type (e.g. `not` on a string).
    pub fn apply(self, v: Value) -> Result<Value, String> {
        Ok(match (self, v) {
            (_, Value::Null) => Value::Null,
            (Transform::Trim, Value::String(s)) => Value::String(s.trim().to_string()),
            (Transform::Lowercase, Value::String(s)) => Value::String(s.to_lowercase()),
            (Transform::Uppercase, Value::String(s)) => Value::String(s.to_uppercase()),
            (Transform::NullIfEmpty, Value::String(s)) if s.is_empty() => Value::Null,
            (Transform::Truncate(n), Value::String(s)) => Value::String(truncated(s, n)),
            (Transform::Not, Value::Bool(b)) => Value::Bool(!b),
            (Transform::Not, other) => {
                return Err(format!("transform \"not\" needs a boolean, got {other}"))
            }
            (_, other) => other,
        })
    }

    /// The read direction: only `not` changes anything.
    pub fn reverse(self, v: Value) -> Value {
        match (self, v) {
            (Transform::Not, Value::Bool(b)) => Value::Bool(!b),
            (Transform::Not, Value::Number(n)) => Value::Bool(n.as_i64() == Some(0)),
            (_, other) => other,
        }
    }
}

/// `s` cut after `n` characters (not bytes: VARCHAR lengths on PostgreSQL and MySQL count
/// characters, and a cut inside a character would not be text).
fn truncated(mut s: String, n: u32) -> String {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if let Some((at, _)) = s.char_indices().nth(n) {
        s.truncate(at);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transforms() {
        assert_eq!(
            Transform::Trim.apply(json!("  A@B ")).unwrap(),
            json!("A@B")
        );
        assert_eq!(
            Transform::Lowercase.apply(json!("ÄB")).unwrap(),
            json!("äb")
        );
        assert_eq!(Transform::Not.apply(json!(true)).unwrap(), json!(false));
        assert!(Transform::Not.apply(json!("x")).is_err());
        assert_eq!(
            Transform::Truncate(3).apply(json!("Zoë Ångström")).unwrap(),
            json!("Zoë"),
            "characters, not bytes"
        );
        assert_eq!(
            Transform::Truncate(5).apply(json!("ab")).unwrap(),
            json!("ab")
        );
        assert_eq!(
            Transform::Truncate(2).apply(json!(12345)).unwrap(),
            json!(12345),
            "only text is cut"
        );
        assert_eq!(
            Transform::NullIfEmpty.apply(json!("")).unwrap(),
            json!(null)
        );
        assert_eq!(Transform::Not.reverse(json!(0)), json!(true));
        assert_eq!(Transform::parse("nope"), None);
    }
}
