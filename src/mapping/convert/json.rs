//! JSON object columns (`json_path`): a rule's value as one key of the object, both ways.
//! A write names keys ([`Assign::Json`]); [`fold`] turns the keys of one column into one
//! value of the whole object — the stored object with those keys set or removed, every other
//! key kept — or into nothing when the object would not change.

use serde_json::{Map, Value};

use super::{Assign, Row};
use crate::mapping::compile::{Rule, UserMapping};
use crate::mapping::value::HostValue;

/// The host value of `rule`'s key in the object `column` holds (`Null` when the key, or the
/// object, is absent or unreadable).
pub fn extract(rule: &Rule, column: &HostValue) -> HostValue {
    let Some(j) = &rule.json else {
        return column.clone();
    };
    let found = column
        .plain()
        .display_text()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|o| o.get(&j.key).cloned());
    match found {
        None | Some(Value::Null) => HostValue::Null(rule.kind),
        Some(Value::String(s)) => HostValue::Text(s),
        Some(Value::Bool(b)) => HostValue::Bool(b),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => HostValue::Int(i),
            None => HostValue::Text(n.to_string()),
        },
        Some(other) => HostValue::Text(other.to_string()),
    }
}

/// The JSON form of a value a rule wrote: `None` removes the key.
pub(super) fn key_value(h: &HostValue) -> Option<Value> {
    match h.plain() {
        HostValue::Null(_) => None,
        other => Some(other.to_json()),
    }
}

/// Replaces the [`Assign::Json`] entries of `row` (table `at`) by one assignment per column
/// of the whole object: `stored` gives the column's stored text (`None` for a row being
/// inserted). A column whose object would not change gets no assignment.
///
/// # Errors
/// A message naming the column when it holds something other than a JSON object: the bridge
/// does not overwrite what it cannot read.
pub fn fold(
    m: &UserMapping,
    at: usize,
    row: &mut Row,
    stored: &dyn Fn(&str) -> Option<HostValue>,
) -> Result<(), String> {
    let mut columns: Vec<String> = Vec::new();
    for (c, a) in row.iter() {
        if matches!(a, Assign::Json { .. }) && !columns.contains(c) {
            columns.push(c.clone());
        }
    }
    for column in columns {
        let before = match stored(&column).as_ref().map(HostValue::plain) {
            None | Some(HostValue::Null(_)) => None,
            Some(h) => Some(parse_object(
                &column,
                &h.display_text().unwrap_or_default(),
            )?),
        };
        let mut after = before.clone().unwrap_or_default();
        for (_, a) in row.iter().filter(|(c, _)| *c == column) {
            if let Assign::Json { key, value } = a {
                match value {
                    Some(v) => after.insert(key.clone(), v.clone()),
                    None => after.remove(key),
                };
            }
        }
        let unchanged = match &before {
            Some(b) => *b == after,
            None => after.is_empty(),
        };
        let pos = row.iter().position(|(c, _)| *c == column).unwrap_or(0);
        row.retain(|(c, a)| !(*c == column && matches!(a, Assign::Json { .. })));
        if unchanged {
            continue;
        }
        let cast = m
            .rules
            .iter()
            .find(|r| r.at == at && r.column == column)
            .and_then(|r| r.json.as_ref())
            .and_then(|j| j.cast.clone());
        let text = HostValue::Text(Value::Object(after).to_string());
        let v = match cast {
            Some(ty) => HostValue::Cast(Box::new(text), ty),
            None => text,
        };
        row.insert(pos.min(row.len()), (column, Assign::Value(v)));
    }
    Ok(())
}

fn parse_object(column: &str, text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(format!(
            "the application's column \"{column}\" holds something other than a JSON object; the bridge does not overwrite it (fix the row, or map the column without json_path)"
        )),
    }
}
