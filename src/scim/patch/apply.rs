//! Applying parsed operations: no-path values, whole attributes, sub-attributes and whole
//! extensions. Value-filter paths are handed to `filtered.rs`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{filtered, OpKind, PatchOp, PatchPath};
use crate::scim::error::ScimError;
use crate::scim::path::{self, AttrPath};
use crate::scim::resource::{is_unassigned, normalize_value, ResourceType};
use crate::scim::schema::{AttrDef, AttrType, Mutability};

/// Applies the operations to a copy of `resource` and returns the canonical result.
///
/// # Errors
/// The first failing operation's error; `resource` is left untouched.
pub fn apply(rt: &ResourceType, resource: &Value, ops: &[PatchOp]) -> Result<Value, ScimError> {
    let mut doc = resource.clone();
    if !doc.is_object() {
        doc = Value::Object(Map::new());
    }
    for op in ops {
        match &op.path {
            Some(path) => {
                let value = path_value(rt, path, op.value.as_ref());
                apply_path(rt, &mut doc, op.op, path, value.as_deref())?;
            }
            None => apply_no_path(rt, &mut doc, op)?,
        }
    }
    Ok(rt.canonicalize(doc))
}

/// The value of an operation with a path. A single object for a path naming a whole
/// multi-valued complex attribute (`"path": "emails", "value": {"value": "a@b"}`) is one value
/// of it: RFC 7644 §3.5.2.1 describes the value as "a JSON object containing the
/// sub-attributes of the complex attribute specified in the operation's path". Everything
/// else is checked as sent (see `scim/types.rs`).
fn path_value<'v>(
    rt: &ResourceType,
    path: &PatchPath,
    value: Option<&'v Value>,
) -> Option<Cow<'v, Value>> {
    let v = value?;
    if let (None, Value::Object(_)) = (&path.filter, v) {
        if let Ok(r) = rt.resolve(&path.attr) {
            if r.sub.is_none() && r.attr.multi && r.attr.ty == AttrType::Complex {
                return Some(Cow::Owned(Value::Array(vec![v.clone()])));
            }
        }
    }
    Some(Cow::Borrowed(v))
}

fn apply_no_path(rt: &ResourceType, doc: &mut Value, op: &PatchOp) -> Result<(), ScimError> {
    if op.op == OpKind::Remove {
        return Err(ScimError::no_target(
            "a remove operation needs a \"path\" naming what to remove",
        ));
    }
    let Some(Value::Object(fields)) = &op.value else {
        return Err(ScimError::invalid_value(
            "an operation without \"path\" needs an object \"value\" of attributes",
        ));
    };
    for (key, v) in fields {
        if key.eq_ignore_ascii_case("schemas")
            || key.eq_ignore_ascii_case("id")
            || key.eq_ignore_ascii_case("meta")
        {
            // Okta re-sends `id` with every group rename; identity attributes cannot change.
            continue;
        }
        if path::is_urn(key) {
            // An extension's attributes under its URN (or a legacy alias of it).
            if let Some(ext) = rt.extension(key) {
                set_extension(rt, doc, op.op, &ext.id, v)?;
                continue;
            }
            // Core attributes under the core schema's URN (or a legacy alias of it).
            if rt.is_core_schema(key) && v.is_object() {
                let inner = PatchOp {
                    op: op.op,
                    path: None,
                    value: Some(v.clone()),
                };
                apply_no_path(rt, doc, &inner)?;
                continue;
            }
        }
        // Entra (aadOptscim062020) writes dotted and URN-qualified keys: "name.givenName".
        let path = PatchPath {
            attr: AttrPath::parse(key)?,
            filter: None,
        };
        let resolved = rt.resolve(&path.attr)?;
        if resolved.attr.is_read_only() {
            continue;
        }
        apply_path(rt, doc, op.op, &path, Some(v))?;
    }
    Ok(())
}

/// `add`/`replace` of a whole extension: each attribute of the object value in turn.
fn set_extension(
    rt: &ResourceType,
    doc: &mut Value,
    op: OpKind,
    urn: &str,
    value: &Value,
) -> Result<(), ScimError> {
    let Value::Object(fields) = value else {
        return Err(ScimError::invalid_value(format!(
            "\"{urn}\" must be an object of extension attributes"
        )));
    };
    for (k, v) in fields
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
    {
        let sub = PatchPath {
            attr: AttrPath::parse(&format!("{urn}:{k}"))?,
            filter: None,
        };
        apply_path(rt, doc, op, &sub, Some(v))?;
    }
    Ok(())
}

fn apply_path(
    rt: &ResourceType,
    doc: &mut Value,
    op: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    // A whole extension: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".
    if let (Some(ext), None) = (rt.extension(&path.attr.to_string()), &path.filter) {
        let urn = ext.id.clone();
        if op == OpKind::Remove {
            if let Some(root) = doc.as_object_mut() {
                root.remove(&urn);
            }
            return Ok(());
        }
        return set_extension(rt, doc, op, &urn, value.unwrap_or(&Value::Null));
    }
    let resolved = rt.resolve(&path.attr)?;
    let (def, sub) = (resolved.attr, resolved.sub);
    let shown = path.attr.to_string();
    if def.is_read_only() || sub.is_some_and(super::super::schema::AttrDef::is_read_only) {
        return Err(ScimError::mutability(format!("\"{shown}\" is read-only")));
    }
    if def.mutability == Mutability::WriteOnly {
        return Err(ScimError::mutability(format!(
            "\"{shown}\" is not stored by this bridge (changePassword is not supported); turn off password sync in the identity provider"
        )));
    }
    let container = container_mut(doc, resolved.urn)?;
    match (&path.filter, sub) {
        (None, None) => apply_whole(container, def, op, value, &shown),
        (None, Some(sd)) => apply_sub(container, def, sd, op, value, &shown),
        (Some(f), _) => filtered::apply_filtered(rt, container, def, sub, f, op, value, path),
    }
}

/// The object a path's attribute lives in: the resource, or its extension's object (made
/// when missing). `apply()` hands in an object, so the error is for a caller that does not.
fn container_mut<'a>(
    doc: &'a mut Value,
    urn: Option<&str>,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let not_object = || ScimError::invalid_value("the resource is not a JSON object");
    let root = doc.as_object_mut().ok_or_else(not_object)?;
    match urn {
        None => Ok(root),
        Some(u) => {
            let ext = root
                .entry(u.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            ext.as_object_mut().ok_or_else(not_object)
        }
    }
}

pub(super) fn normalized(
    def: &AttrDef,
    v: Option<&Value>,
    shown: &str,
) -> Result<Option<Value>, ScimError> {
    match v {
        None => Ok(None),
        Some(v) => normalize_value(def, v, shown),
    }
}

/// A path naming a whole attribute: `title`, `name`, `emails`.
fn apply_whole(
    c: &mut Map<String, Value>,
    def: &AttrDef,
    op: OpKind,
    value: Option<&Value>,
    shown: &str,
) -> Result<(), ScimError> {
    let key = def.name;
    if op == OpKind::Remove {
        if let (true, Some(v)) = (def.multi, value) {
            // Entra/JumpCloud: {"op":"Remove","path":"members","value":[{"value":"id"}]}.
            let targets = normalized(def, Some(v), shown)?.unwrap_or(Value::Array(vec![]));
            if let (Some(Value::Array(items)), Value::Array(t)) = (c.get_mut(key), targets) {
                items.retain(|it| !t.iter().any(|x| same_value(it, x)));
            }
        } else {
            c.remove(key);
        }
        return Ok(());
    }
    match normalized(def, value, shown)? {
        None => {
            if op == OpKind::Replace {
                c.remove(key);
            }
        }
        Some(Value::Array(new_items)) if def.multi => {
            if op == OpKind::Replace {
                c.insert(key.to_string(), Value::Array(new_items));
            } else {
                add_values(c, key, new_items);
            }
        }
        Some(Value::Object(new_fields)) if def.ty == AttrType::Complex => {
            // RFC 7644 §3.5.2.1/.3: sub-attributes not given are left unchanged.
            let entry = c
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(existing) = entry {
                existing.extend(new_fields);
            } else {
                *entry = Value::Object(new_fields);
            }
        }
        Some(v) => {
            c.insert(key.to_string(), v);
        }
    }
    Ok(())
}

/// `add` to a multi-valued attribute: new values are appended, a value equal to an existing
/// one replaces it, and a new primary takes the flag from the others.
fn add_values(c: &mut Map<String, Value>, key: &str, new_items: Vec<Value>) {
    let entry = c
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(vec![]));
    if let Value::Array(items) = entry {
        if new_items.iter().any(is_primary) {
            items.iter_mut().for_each(clear_primary);
        }
        for n in new_items {
            if let Some(pos) = items.iter().position(|it| same_value(it, &n)) {
                items[pos] = n;
            } else {
                items.push(n);
            }
        }
    }
}

/// A path naming a sub-attribute without a filter: `name.givenName`, `emails.value`.
fn apply_sub(
    c: &mut Map<String, Value>,
    def: &AttrDef,
    sd: &AttrDef,
    op: OpKind,
    value: Option<&Value>,
    shown: &str,
) -> Result<(), ScimError> {
    let new = normalized(sd, value, shown)?;
    let key = def.name;
    if def.multi {
        // `emails.value` without a filter addresses every value (RFC 7644 §3.5.2.3).
        let entry = c
            .entry(key.to_string())
            .or_insert_with(|| Value::Array(vec![]));
        let Value::Array(items) = entry else {
            return Ok(());
        };
        match (op, new) {
            (OpKind::Remove, _) | (_, None) => {
                items.iter_mut().for_each(|it| remove_field(it, sd.name));
            }
            (_, Some(v)) => {
                if items.is_empty() {
                    items.push(Value::Object(Map::from_iter([(sd.name.to_string(), v)])));
                } else {
                    items
                        .iter_mut()
                        .for_each(|it| set_field(it, sd.name, v.clone()));
                }
            }
        }
        items.retain(|it| !is_unassigned(it));
        return Ok(());
    }
    match (op, new) {
        (OpKind::Remove, _) | (_, None) => {
            if let Some(parent) = c.get_mut(key) {
                remove_field(parent, sd.name);
            }
        }
        (_, Some(v)) => {
            let parent = c
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            set_field(parent, sd.name, v);
        }
    }
    Ok(())
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

pub(super) fn clear_primary(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("primary");
    }
}

pub(super) fn dedupe_primary(items: &mut [Value]) {
    let mut seen = false;
    for it in items.iter_mut() {
        if is_primary(it) {
            if seen {
                clear_primary(it);
            }
            seen = true;
        }
    }
}

pub(super) fn set_field(target: &mut Value, name: &str, v: Value) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(o) = target.as_object_mut() {
        o.insert(name.to_string(), v);
    }
}

pub(super) fn remove_field(target: &mut Value, name: &str) {
    if let Some(o) = target.as_object_mut() {
        o.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    #[test]
    fn okta_deactivate_no_path_object() {
        let out = patch(ops(json!([{"op": "replace", "value": {"active": false}}]))).unwrap();
        assert_eq!(out["active"], false);
        assert_eq!(out["name"]["givenName"], "Alice");
    }

    #[test]
    fn entra_capitalised_ops_and_string_booleans() {
        let out = patch(ops(
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        ))
        .unwrap();
        assert_eq!(out["active"], false);
    }

    #[test]
    fn entra_dotted_and_urn_keys_in_no_path_replace() {
        let out = patch(ops(json!([{"op": "replace", "value": {
            "name.givenName": "Alicia",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701"}}])))
        .unwrap();
        assert_eq!(out["name"]["givenName"], "Alicia");
        assert_eq!(out["name"]["familyName"], "Anders");
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            "701"
        );
        assert!(out["schemas"].as_array().unwrap().len() == 2);
    }

    #[test]
    fn sub_attribute_paths() {
        let out = patch(ops(json!([
            {"op": "replace", "path": "name.givenName", "value": "Al"},
            {"op": "add", "path": "title", "value": "Boss"},
            {"op": "remove", "path": "name.familyName"}])))
        .unwrap();
        assert_eq!(out["name"], json!({"givenName": "Al"}));
        assert_eq!(out["title"], "Boss");
    }

    #[test]
    fn multi_valued_add_appends_and_moves_primary() {
        let out = patch(ops(
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@x", "primary": true}]}]),
        ))
        .unwrap();
        let emails = out["emails"].as_array().unwrap();
        assert_eq!(emails.len(), 2);
        assert!(emails[0].get("primary").is_none());
        assert_eq!(emails[1]["primary"], true);
    }

    #[test]
    fn remove_with_value_array_entra_style() {
        let u = rt()
            .normalize(&json!({"userName": "x", "emails": [{"value": "a"}, {"value": "b"}]}))
            .unwrap();
        let out = apply(
            &rt(),
            &u,
            &parse_request(&ops(
                json!([{"op": "Remove", "path": "emails", "value": [{"value": "a"}]}]),
            ))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{"value": "b"}]));
    }

    #[test]
    fn whole_extension_paths() {
        let u = rt().normalize(&json!({"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"}})).unwrap();
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let out = apply(
            &rt(),
            &u,
            &parse_request(&ops(json!([{"op": "remove", "path": urn}]))).unwrap(),
        )
        .unwrap();
        assert!(out.get(urn).is_none());
        let out = apply(
            &rt(),
            &u,
            &parse_request(&ops(
                json!([{"op": "replace", "path": urn, "value": {"division": "EU"}}]),
            ))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(out[urn], json!({"department": "Ops", "division": "EU"}));
    }

    /// OneLogin's legacy URNs as PATCH paths and as keys of a no-path value; the result
    /// carries the RFC URNs only.
    #[test]
    fn legacy_schema_urns_in_paths_and_no_path_values() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let out = patch(ops(json!([
            {"op": "replace", "path": "urn:scim:schemas:core:2.0:name.givenName", "value": "Ally"},
            {"op": "add", "path": "urn:scim:schemas:extension:enterprise:2.0:department", "value": "Ops"},
            {"op": "replace", "path": "urn:scim:schemas:extension:enterprise:1.0", "value": {"division": "EU"}},
            {"op": "replace", "value": {
                "urn:scim:schemas:core:2.0": {"active": "false", "title": "Boss"},
                "urn:scim:schemas:extension:enterprise:2.0": {"costCenter": "42"},
                "urn:scim:schemas:extension:enterprise:2.0:employeeNumber": "701"}}])))
        .unwrap();
        assert_eq!(out["name"]["givenName"], "Ally");
        assert_eq!(
            (out["active"].clone(), out["title"].clone()),
            (json!(false), json!("Boss"))
        );
        assert_eq!(
            out[ent],
            json!({"department": "Ops", "division": "EU", "costCenter": "42", "employeeNumber": "701"})
        );
        assert_eq!(
            out["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User", ent])
        );
        let text = out.to_string();
        assert!(!text.contains("urn:scim:"), "{text}");
        // Removing through the legacy path.
        let out = apply(
            &rt(),
            &out,
            &parse_request(&ops(json!([
                {"op": "remove", "path": "urn:scim:schemas:extension:enterprise:2.0:division"},
                {"op": "remove", "path": "urn:scim:schemas:core:1.0:title"}])))
            .unwrap(),
        )
        .unwrap();
        assert!(
            out[ent].get("division").is_none() && out.get("title").is_none(),
            "{out}"
        );
    }

    #[test]
    fn errors_are_specific_and_atomic() {
        let e = patch(ops(json!([{"op": "replace", "path": "id", "value": "9"}]))).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        let e = patch(ops(
            json!([{"op": "replace", "path": "meta.created", "value": "x"}]),
        ))
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        let e = patch(ops(
            json!([{"op": "replace", "path": "favouriteColour", "value": "x"}]),
        ))
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        let e = patch(ops(json!([{"op": "remove"}]))).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
        let e = patch(ops(json!([{"op": "move", "path": "title"}]))).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert!(patch(json!({"Operations": []})).is_err());
        assert!(patch(json!({"schemas": ["urn:wrong"], "Operations": [{"op": "add", "path": "title", "value": "x"}]})).is_err());
        let e = patch(ops(
            json!([{"op": "replace", "path": "password", "value": "x"}]),
        ))
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        // The first op is valid, the second is not: nothing is applied.
        let base = user();
        let parsed = parse_request(&ops(json!([
            {"op": "replace", "path": "title", "value": "T"},
            {"op": "replace", "path": "active", "value": "perhaps"}])))
        .unwrap();
        assert!(apply(&rt(), &base, &parsed).is_err());
        assert!(base.get("title").is_none());
    }
}
