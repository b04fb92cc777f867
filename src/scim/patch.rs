//! PATCH (RFC 7644 §3.5.2) applied to a normalised resource.
//!
//! All operations of a request run against a copy; the first failure discards the copy, so a
//! request is applied completely or not at all. The dialects of real clients — capitalised
//! `op`s, no-path replaces with dotted or URN-qualified keys, Entra's member removal with a
//! value array, filtered paths that must create the value they target — are accepted here,
//! in one place, and the result is always a canonical resource.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::Filter;
use super::path::AttrPath;
use super::resource::{is_unassigned, normalize_value, ResourceType};
use super::schema::{AttrDef, AttrType, Mutability, PATCH_OP_SCHEMA};

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

impl PatchPath {
    /// # Errors
    /// `invalidPath` for a malformed path or value filter.
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        let text = text.trim();
        let Some(open) = text.find('[') else {
            return Ok(PatchPath {
                attr: AttrPath::parse(text)?,
                filter: None,
            });
        };
        let close = text.rfind(']').filter(|&c| c > open).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "\"{text}\": the value filter is not closed with ']'"
            ))
        })?;
        let mut attr = AttrPath::parse(&text[..open])?;
        if attr.sub.is_some() {
            return Err(ScimError::invalid_path(format!(
                "\"{text}\": a value filter must follow a multi-valued attribute"
            )));
        }
        let filter = Filter::parse(&text[open + 1..close])
            .map_err(|e| ScimError::invalid_path(format!("\"{text}\": {}", e.detail)))?;
        let rest = &text[close + 1..];
        if !rest.is_empty() {
            let sub = rest
                .strip_prefix('.')
                .filter(|s| super::path::valid_name(s))
                .ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "\"{text}\": only \".subAttribute\" may follow the value filter"
                    ))
                })?;
            attr.sub = Some(sub.to_string());
        }
        Ok(PatchPath {
            attr,
            filter: Some(filter),
        })
    }
}

/// Parses a PatchOp request body.
///
/// # Errors
/// `invalidSyntax` when the body is not a PatchOp message, `invalidPath` for a bad path.
pub fn parse_request(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a PatchOp JSON object"))?;
    if let Some(schemas) = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v)
    {
        let ok = schemas.as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "\"schemas\" of a PATCH body must contain \"{PATCH_OP_SCHEMA}\""
            )));
        }
    }
    let ops = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs an \"Operations\" array"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax(
            "\"Operations\" is empty: nothing to change",
        ));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            400,
            Some(super::error::ScimType::TooMany),
            format!("at most {MAX_OPERATIONS} operations per PATCH"),
        ));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let o = op.as_object().ok_or_else(|| {
                ScimError::invalid_syntax(format!("Operations[{i}] must be an object"))
            })?;
            let get = |name: &str| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            };
            let kind = match get("op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("add") => OpKind::Add,
                Some("replace") => OpKind::Replace,
                Some("remove") => OpKind::Remove,
                Some(other) => {
                    return Err(ScimError::invalid_syntax(format!(
                    "Operations[{i}]: \"{other}\" is not an operation; use add, replace or remove"
                )))
                }
                None => {
                    return Err(ScimError::invalid_syntax(format!(
                        "Operations[{i}] has no \"op\""
                    )))
                }
            };
            let path = match get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(PatchPath::parse(s)?),
                Some(_) => {
                    return Err(ScimError::invalid_path(format!(
                        "Operations[{i}]: \"path\" must be a string"
                    )))
                }
            };
            let value = get("value").cloned();
            if kind != OpKind::Remove && value.is_none() {
                return Err(ScimError::invalid_syntax(format!(
                    "Operations[{i}] ({kind:?}) needs a \"value\""
                )));
            }
            Ok(PatchOp {
                op: kind,
                path,
                value,
            })
        })
        .collect()
}

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
            Some(path) => apply_path(rt, &mut doc, op.op, path, op.value.as_ref())?,
            None => apply_no_path(rt, &mut doc, op)?,
        }
    }
    Ok(rt.canonicalize(doc))
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
        let is_urn = super::path::is_urn(key);
        if is_urn && rt.extension(key).is_some() {
            let Value::Object(ext_fields) = v else {
                return Err(ScimError::invalid_value(format!(
                    "\"{key}\" must be an object of extension attributes"
                )));
            };
            for (ek, ev) in ext_fields
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
            {
                let path = PatchPath {
                    attr: AttrPath::parse(&format!("{key}:{ek}"))?,
                    filter: None,
                };
                apply_path(rt, doc, op.op, &path, Some(ev))?;
            }
            continue;
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
        return match op {
            OpKind::Remove => {
                if let Some(root) = doc.as_object_mut() {
                    root.remove(&urn);
                }
                Ok(())
            }
            _ => {
                let Some(Value::Object(fields)) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "\"{urn}\" takes an object of extension attributes"
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
        };
    }
    let resolved = rt.resolve(&path.attr)?;
    let (def, sub) = (resolved.attr, resolved.sub);
    let shown = path.attr.to_string();
    if def.is_read_only() || sub.is_some_and(|s| s.is_read_only()) {
        return Err(ScimError::mutability(format!("\"{shown}\" is read-only")));
    }
    if def.mutability == Mutability::WriteOnly {
        return Err(ScimError::mutability(format!(
            "\"{shown}\" is not stored by this bridge (changePassword is not supported); turn off password sync in the identity provider"
        )));
    }
    let container = container_mut(doc, resolved.urn);
    match (&path.filter, sub) {
        (None, None) => apply_whole(container, def, op, value, &shown),
        (None, Some(sd)) => apply_sub(container, def, sd, op, value, &shown),
        (Some(f), _) => apply_filtered(rt, container, def, sub, f, op, value, path),
    }
}

fn container_mut<'a>(doc: &'a mut Value, urn: Option<&str>) -> &'a mut Map<String, Value> {
    let root = doc
        .as_object_mut()
        .expect("apply() makes the document an object");
    match urn {
        None => root,
        Some(u) => {
            let ext = root
                .entry(u.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            ext.as_object_mut().expect("just made an object")
        }
    }
}

fn normalized(def: &AttrDef, v: Option<&Value>, shown: &str) -> Result<Option<Value>, ScimError> {
    match v {
        None => Ok(None),
        Some(v) => normalize_value(def, v, shown),
    }
}

fn apply_whole(
    c: &mut Map<String, Value>,
    def: &AttrDef,
    op: OpKind,
    value: Option<&Value>,
    shown: &str,
) -> Result<(), ScimError> {
    let key = def.name;
    match op {
        OpKind::Remove => {
            if let (true, Some(v)) = (def.multi, value) {
                // Entra/JumpCloud: {"op":"Remove","path":"members","value":[{"value":"id"}]}.
                let targets = normalized(def, Some(v), shown)?.unwrap_or(Value::Array(vec![]));
                if let (Some(Value::Array(items)), Value::Array(t)) = (c.get_mut(key), targets) {
                    items.retain(|it| !t.iter().any(|x| same_value(it, x)));
                }
            } else {
                c.remove(key);
            }
        }
        OpKind::Add | OpKind::Replace => {
            let new = normalized(def, value, shown)?;
            match new {
                None => {
                    if op == OpKind::Replace {
                        c.remove(key);
                    }
                }
                Some(Value::Array(new_items)) if def.multi => {
                    if op == OpKind::Replace {
                        c.insert(key.to_string(), Value::Array(new_items));
                    } else {
                        let entry = c
                            .entry(key.to_string())
                            .or_insert_with(|| Value::Array(vec![]));
                        if let Value::Array(items) = entry {
                            let new_primary = new_items.iter().any(is_primary);
                            if new_primary {
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
        }
    }
    Ok(())
}

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
                items.iter_mut().for_each(|it| remove_field(it, sd.name))
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

#[allow(clippy::too_many_arguments)]
fn apply_filtered(
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
    let base = path.attr.with_sub(None);
    let case_exact = |p: &AttrPath| rt.case_exact(&base.with_sub(Some(&p.attr)));
    let key = def.name;
    // A single-valued complex attribute (Entra's `manager[value eq "x"]`) is a one-item list.
    let single = !def.multi;
    let mut items: Vec<Value> = match c.remove(key) {
        Some(Value::Array(a)) => a,
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    };
    let mut matched = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if filter
            .matches(it, &case_exact)
            .map_err(|e| ScimError::invalid_path(e.detail))?
        {
            matched.push(i);
        }
    }
    let result = (|| -> Result<(), ScimError> {
        match (op, sub) {
            (OpKind::Remove, None) => {
                for i in matched.iter().rev() {
                    items.remove(*i);
                }
            }
            (OpKind::Remove, Some(sd)) => matched
                .iter()
                .for_each(|&i| remove_field(&mut items[i], sd.name)),
            (_, Some(sd)) => {
                let v = normalized(sd, value, &path.attr.to_string())?;
                if matched.is_empty() {
                    // Entra PATCHes `emails[type eq "work"].value` before any email exists.
                    let mut fresh = equality_fields(filter).ok_or_else(|| {
                        ScimError::no_target(format!(
                            "no value of \"{shown}\" matches the filter \"{filter}\""
                        ))
                    })?;
                    // Found by the fuzzer: the filter may name fields the attribute does not
                    // have (`emails[$ref eq "x"]`); only real sub-attributes can be created.
                    let mut canonical = Map::new();
                    for (k, fv) in fresh {
                        let sub_def = def.sub_attr(&k).filter(|s| !s.is_read_only() && s.mutability != Mutability::Immutable).ok_or_else(|| {
                            ScimError::no_target(format!("no value of \"{shown}\" matches the filter \"{filter}\", and \"{k}\" cannot be set to create one"))
                        })?;
                        let fv = crate::scim::resource::coerce_simple(
                            sub_def.ty,
                            &fv,
                            &format!("{shown}.{}", sub_def.name),
                        )?;
                        canonical.insert(sub_def.name.to_string(), fv);
                    }
                    fresh = canonical;
                    if let Some(v) = v {
                        fresh.insert(sd.name.to_string(), v);
                    }
                    if fresh.get("primary") == Some(&Value::Bool(true)) {
                        items.iter_mut().for_each(clear_primary);
                    }
                    items.push(Value::Object(fresh));
                } else {
                    if sd.name == "primary" && v == Some(Value::Bool(true)) {
                        items.iter_mut().for_each(clear_primary);
                    }
                    for &i in &matched {
                        match &v {
                            Some(v) => set_field(&mut items[i], sd.name, v.clone()),
                            None => remove_field(&mut items[i], sd.name),
                        }
                    }
                }
            }
            (_, None) => {
                let v = normalized(def, value, &shown)?;
                let new_fields = match v {
                    Some(Value::Array(mut a)) if a.len() == 1 => a.remove(0),
                    Some(v @ Value::Object(_)) => v,
                    Some(_) => {
                        return Err(ScimError::invalid_value(format!(
                            "\"{shown}\" with a filter takes one object value"
                        )))
                    }
                    None => return Ok(()),
                };
                if matched.is_empty() {
                    return Err(ScimError::no_target(format!(
                        "no value of \"{shown}\" matches the filter \"{filter}\""
                    )));
                }
                for &i in &matched {
                    if let (Value::Object(existing), Value::Object(n)) =
                        (&mut items[i], &new_fields)
                    {
                        if op == OpKind::Replace {
                            *existing = n.clone();
                        } else {
                            existing.extend(n.clone());
                        }
                    }
                }
            }
        }
        Ok(())
    })();
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

/// For a filter made only of `eq` comparisons joined by `and`, the fields it pins down.
fn equality_fields(f: &Filter) -> Option<Map<String, Value>> {
    use super::filter::{CompValue, CompareOp};
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

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

fn clear_primary(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("primary");
    }
}

fn dedupe_primary(items: &mut [Value]) {
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

fn set_field(target: &mut Value, name: &str, v: Value) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(o) = target.as_object_mut() {
        o.insert(name.to_string(), v);
    }
}

fn remove_field(target: &mut Value, name: &str) {
    if let Some(o) = target.as_object_mut() {
        o.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    fn rt() -> ResourceType {
        ResourceType::user(&[])
    }
    fn user() -> Value {
        rt().normalize(&json!({"userName": "alice@example.com", "active": true,
            "name": {"givenName": "Alice", "familyName": "Anders"},
            "emails": [{"value": "alice@example.com", "type": "work", "primary": true}]}))
            .unwrap()
    }
    fn patch(body: Value) -> Result<Value, ScimError> {
        apply(&rt(), &user(), &parse_request(&body)?)
    }
    fn ops(list: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": list})
    }

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

    #[test]
    fn path_parsing() {
        let p = PatchPath::parse("members[value eq \"2819c223\"]").unwrap();
        assert_eq!(p.attr.attr, "members");
        assert!(p.filter.is_some());
        let p = PatchPath::parse("emails[type eq \"work\"].value").unwrap();
        assert_eq!(p.attr.sub.as_deref(), Some("value"));
        assert!(PatchPath::parse("emails[type eq \"work\"").is_err());
        assert!(PatchPath::parse("emails[type eq \"work\"]x").is_err());
        assert!(PatchPath::parse("emails[type eq]").is_err());
    }
}
