//! Value-filter paths: `emails[type eq "work"]`, `emails[type eq "work"].value`,
//! `manager[value eq "9"]`. The filter selects values of the current resource; the operation
//! applies to those.

use serde_json::{Map, Value};

use super::apply::{clear_primary, dedupe_primary, normalized, remove_field, set_field};
use super::{OpKind, PatchPath};
use crate::scim::error::ScimError;
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::resource::{coerce_simple, is_unassigned, ResourceType};
use crate::scim::schema::{AttrDef, AttrType, Mutability};

/// Applies one operation whose path carries a value filter.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_filtered(
    rt: &ResourceType,
    c: &mut Map<String, Value>,
    def: &AttrDef,
    sub: Option<&AttrDef>,
    filter: &Filter,
    op: OpKind,
    value: Option<&Value>,
    path: &PatchPath,
) -> Result<(), ScimError> {
    let shown = path.attr.with_sub(None).to_string();
    if def.ty != AttrType::Complex {
        return Err(ScimError::invalid_path(format!(
            "\"{shown}\" is not a complex attribute, so it takes no value filter"
        )));
    }
    let key = def.name;
    // A single-valued complex attribute (Entra's `manager[value eq "x"]`) is a one-item list.
    let single = !def.multi;
    let mut items: Vec<Value> = match c.remove(key) {
        Some(Value::Array(a)) => a,
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    };
    let result = matching(rt, &items, filter, &path.attr).and_then(|matched| {
        let t = Target {
            def,
            filter,
            shown: &shown,
            matched: &matched,
        };
        match (op, sub) {
            (OpKind::Remove, None) => {
                for i in matched.iter().rev() {
                    items.remove(*i);
                }
                Ok(())
            }
            (OpKind::Remove, Some(sd)) => {
                matched
                    .iter()
                    .for_each(|&i| remove_field(&mut items[i], sd.name));
                Ok(())
            }
            (_, Some(sd)) => {
                let v = normalized(sd, value, &path.attr.to_string())?;
                set_sub(&t, &mut items, sd, v)
            }
            (_, None) => merge_values(&t, &mut items, op, value),
        }
    });
    items.retain(|it| !is_unassigned(it));
    dedupe_primary(&mut items);
    if !items.is_empty() {
        let v = if single {
            items.swap_remove(0)
        } else {
            Value::Array(items)
        };
        c.insert(key.to_string(), v);
    }
    result
}

/// What a filtered operation works on: the attribute, its filter and the selected values.
struct Target<'a> {
    def: &'a AttrDef,
    filter: &'a Filter,
    /// The attribute path without its sub-attribute, for messages.
    shown: &'a str,
    /// Indexes of the values the filter selects.
    matched: &'a [usize],
}

/// Indexes of the values `filter` selects; paths in the filter are relative to a value.
fn matching(
    rt: &ResourceType,
    items: &[Value],
    filter: &Filter,
    attr: &AttrPath,
) -> Result<Vec<usize>, ScimError> {
    let base = attr.with_sub(None);
    let case_exact = |p: &AttrPath| rt.case_exact(&base.with_sub(Some(&p.attr)));
    let mut matched = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if filter
            .matches(it, &case_exact)
            .map_err(|e| ScimError::invalid_path(e.detail))?
        {
            matched.push(i);
        }
    }
    Ok(matched)
}

/// `add`/`replace` of `attr[filter].sub`: sets `sub` in every selected value, or creates the
/// value the filter describes when none is selected.
fn set_sub(
    t: &Target<'_>,
    items: &mut Vec<Value>,
    sd: &AttrDef,
    v: Option<Value>,
) -> Result<(), ScimError> {
    if t.matched.is_empty() {
        // Entra PATCHes `emails[type eq "work"].value` before any email exists.
        let mut fresh = created_value(t)?;
        if let Some(v) = v {
            fresh.insert(sd.name.to_string(), v);
        }
        if fresh.get("primary") == Some(&Value::Bool(true)) {
            items.iter_mut().for_each(clear_primary);
        }
        items.push(Value::Object(fresh));
        return Ok(());
    }
    if sd.name == "primary" && v == Some(Value::Bool(true)) {
        items.iter_mut().for_each(clear_primary);
    }
    for &i in t.matched {
        match &v {
            Some(v) => set_field(&mut items[i], sd.name, v.clone()),
            None => remove_field(&mut items[i], sd.name),
        }
    }
    Ok(())
}

/// The sub-attributes of a value the filter pins down, canonically named and typed.
fn created_value(t: &Target<'_>) -> Result<Map<String, Value>, ScimError> {
    let (shown, filter) = (t.shown, t.filter);
    let fresh = equality_fields(filter).ok_or_else(|| {
        ScimError::no_target(format!(
            "no value of \"{shown}\" matches the filter \"{filter}\""
        ))
    })?;
    // Found by the fuzzer: the filter may name fields the attribute does not have
    // (`emails[$ref eq "x"]`); only real sub-attributes can be created.
    let mut canonical = Map::new();
    for (k, fv) in fresh {
        let sub_def = t
            .def
            .sub_attr(&k)
            .filter(|s| !s.is_read_only() && s.mutability != Mutability::Immutable)
            .ok_or_else(|| {
                ScimError::no_target(format!("no value of \"{shown}\" matches the filter \"{filter}\", and \"{k}\" cannot be set to create one"))
            })?;
        let fv = coerce_simple(sub_def.ty, &fv, &format!("{shown}.{}", sub_def.name))?;
        canonical.insert(sub_def.name.to_string(), fv);
    }
    Ok(canonical)
}

/// `add`/`replace` of `attr[filter]` with an object value: merged into (add) or replacing
/// (replace) every selected value.
fn merge_values(
    t: &Target<'_>,
    items: &mut [Value],
    op: OpKind,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let shown = t.shown;
    let new_fields = match normalized(t.def, value, shown)? {
        Some(Value::Array(mut a)) if a.len() == 1 => a.remove(0),
        Some(v @ Value::Object(_)) => v,
        Some(_) => {
            return Err(ScimError::invalid_value(format!(
                "\"{shown}\" with a filter takes one object value"
            )))
        }
        None => return Ok(()),
    };
    if t.matched.is_empty() {
        return Err(ScimError::no_target(format!(
            "no value of \"{shown}\" matches the filter \"{}\"",
            t.filter
        )));
    }
    for &i in t.matched {
        if let (Value::Object(existing), Value::Object(n)) = (&mut items[i], &new_fields) {
            if op == OpKind::Replace {
                *existing = n.clone();
            } else {
                existing.extend(n.clone());
            }
        }
    }
    Ok(())
}

/// For a filter made only of `eq` comparisons joined by `and`, the fields it pins down.
fn equality_fields(f: &Filter) -> Option<Map<String, Value>> {
    match f {
        Filter::Compare(p, CompareOp::Eq, v) if p.sub.is_none() && p.urn.is_none() => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Num(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            Some(Map::from_iter([(p.attr.clone(), v)]))
        }
        Filter::And(a, b) => {
            let mut m = equality_fields(a)?;
            m.extend(equality_fields(b)?);
            Some(m)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    #[test]
    fn filtered_paths_update_and_create() {
        let out = patch(ops(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]))).unwrap();
        assert_eq!(out["emails"][0]["value"], "new@example.com");
        assert_eq!(out["emails"][0]["primary"], true);
        let out = patch(ops(json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}]))).unwrap();
        assert_eq!(
            out["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1 555"}])
        );
        let e = patch(ops(
            json!([{"op": "replace", "path": "emails[value co \"zzz\"].value", "value": "y"}]),
        ))
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
        let out = patch(ops(
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        ))
        .unwrap();
        assert!(out.get("emails").is_none());
    }

    #[test]
    fn filters_naming_unknown_fields_do_not_create_values() {
        // Found by the fuzzer: this created an email with a "$ref" field.
        let e = patch(ops(
            json!([{"op": "replace", "path": "emails[$ref eq \"work\"].value", "value": "x@y"}]),
        ))
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
        let out = patch(ops(
            json!([{"op": "replace", "path": "emails[TYPE eq \"home\"].value", "value": "h@y"}]),
        ))
        .unwrap();
        assert_eq!(
            out["emails"][1],
            json!({"type": "home", "value": "h@y"}),
            "field names are canonicalised"
        );
    }

    #[test]
    fn manager_filter_remove_on_single_valued_complex() {
        let u = rt().normalize(&json!({"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "9"}})).unwrap();
        let body = ops(
            json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"9\"]"}]),
        );
        let out = apply(&rt(), &u, &parse_request(&body).unwrap()).unwrap();
        assert!(
            out.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
                .is_none(),
            "{out}"
        );
    }
}
