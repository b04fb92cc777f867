//! Value-filter paths: `emails[type eq "work"]`, `emails[type eq "work"].value`,
//! `manager[value eq "9"]`. The filter selects values of the current resource — the one the
//! service layer builds from the stored host row, so nothing is assumed to match — and the
//! operation applies to those.
//!
//! When the filter selects nothing (RFC 7644 §3.5.2 and Table 9, `noTarget`: "the specified
//! path did not yield an attribute or attribute value that could be operated on. This occurs
//! when the specified path value contains a filter that yields no match"):
//! - **`remove`** answers 400 `noTarget`, whatever the filter.
//! - **`replace`** answers 400 `noTarget` (§3.5.2.3: "If the target location is a multi-valued
//!   attribute for which a value selection filter ("valuePath") has been supplied and no
//!   record match was made, the service provider SHALL indicate failure by returning HTTP
//!   status code 400 and a "scimType" error code of "noTarget""), with one deliberate
//!   exception: a *slot selector* with a sub-attribute, `emails[type eq "work"].value`, creates
//!   `{"type": "work", "value": …}`. Microsoft Entra ID writes emails, phone numbers and
//!   addresses only in that form (its SCIM docs list `emails[type eq "work"].value`,
//!   `phoneNumbers[type eq "mobile"].value`, `addresses[type eq "work"].streetAddress`), also
//!   for a user who has no such value yet (ssoready/ssoready#249). A slot selector is a filter made
//!   only of `eq` comparisons on `type` or `primary` joined by `and`: it names a kind of value,
//!   not a value. A filter that tests `value` or anything else, such as
//!   `emails[value eq "x' OR 1=1 --"].value`, selects an existing value, and when there is none
//!   the request was aimed at something that is not there: 400 `noTarget`, nothing written.
//! - **`add`** follows §3.5.2.1, "if the target location does not exist, the attribute and value
//!   are added": when the filter is made only of `eq` comparisons on writable sub-attributes
//!   joined by `and`, it describes the value completely, and that value is added with the
//!   operation's value merged in — provided the result still matches the filter (adding
//!   `emails[value eq "a@x"].value` = `"b@x"` would create a value the path does not name, so
//!   it is `noTarget`). Any other filter is `noTarget`.
//! - A `null` value for `add`/`replace` writes nothing; it is not an error when a slot selector
//!   or an `add`-able filter selects nothing.

use serde_json::{Map, Value};

use super::apply::{clear_primary, dedupe_primary, normalized, remove_field, set_field};
use super::{OpKind, PatchPath};
use crate::scim::error::ScimError;
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::resource::{is_unassigned, ResourceType};
use crate::scim::schema::{AttrDef, AttrType, Mutability};
use crate::scim::types::{check_simple, kind_of, normalize_item};

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
    let base = path.attr.with_sub(None);
    let t = Target {
        rt,
        shown: base.to_string(),
        base,
        def,
        filter,
    };
    if def.ty != AttrType::Complex {
        return Err(ScimError::invalid_path(format!(
            "\"{}\" is not a complex attribute, so it takes no value filter",
            t.shown
        )));
    }
    // The new value is checked first: a value of the wrong type is wrong whatever it targets.
    let new = match (op, sub) {
        (OpKind::Remove, _) => None,
        (_, Some(sd)) => normalized(sd, value, &path.attr.to_string())?,
        (_, None) => t.element(value)?,
    };
    let key = def.name;
    // A single-valued complex attribute (Entra's `manager[value eq "x"]`) is a one-item list.
    let single = !def.multi;
    let mut items: Vec<Value> = match c.remove(key) {
        Some(Value::Array(a)) => a,
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    };
    let result = t.matching(&items).and_then(|matched| {
        if matched.is_empty() {
            return t.nothing_selected(&mut items, op, sub, new);
        }
        match (op, sub, new) {
            (OpKind::Remove, None, _) => {
                for i in matched.iter().rev() {
                    items.remove(*i);
                }
            }
            (OpKind::Remove, Some(sd), _) => matched
                .iter()
                .for_each(|&i| remove_field(&mut items[i], sd.name)),
            (_, Some(sd), v) => set_sub(&mut items, &matched, sd, v.as_ref()),
            (_, None, Some(Value::Object(n))) => {
                for &i in &matched {
                    if let Value::Object(existing) = &mut items[i] {
                        if op == OpKind::Replace {
                            *existing = n.clone();
                        } else {
                            existing.extend(n.clone());
                        }
                    }
                }
            }
            (_, None, _) => {}
        }
        Ok(())
    });
    put_back(c, key, items, single);
    result
}

/// Stores the values of a filtered attribute again: unassigned ones dropped, one primary, a
/// single-valued attribute as its one value.
fn put_back(c: &mut Map<String, Value>, key: &str, mut items: Vec<Value>, single: bool) {
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
}

/// What a filtered operation works on: the attribute and its filter.
struct Target<'a> {
    rt: &'a ResourceType,
    /// The attribute path without its sub-attribute.
    base: AttrPath,
    /// `base` as text, for messages.
    shown: String,
    def: &'a AttrDef,
    filter: &'a Filter,
}

impl Target<'_> {
    /// Whether the filter selects `v`; paths in the filter are relative to the value.
    fn selects(&self, v: &Value) -> Result<bool, ScimError> {
        let case_exact = |p: &AttrPath| self.rt.case_exact(&self.base.with_sub(Some(&p.attr)));
        self.filter
            .matches(v, &case_exact)
            .map_err(|e| ScimError::invalid_path(e.detail))
    }

    /// Indexes of the values the filter selects.
    fn matching(&self, items: &[Value]) -> Result<Vec<usize>, ScimError> {
        let mut matched = Vec::new();
        for (i, it) in items.iter().enumerate() {
            if self.selects(it)? {
                matched.push(i);
            }
        }
        Ok(matched)
    }

    fn no_target(&self, why: &str) -> ScimError {
        ScimError::no_target(format!(
            "no value of \"{}\" matches the filter \"{}\"{why}; nothing was changed",
            self.shown, self.filter
        ))
    }

    /// The value of `attr[filter]` (no sub-attribute): one value of the attribute (a
    /// one-item array is accepted too), checked like any value of the attribute.
    fn element(&self, value: Option<&Value>) -> Result<Option<Value>, ScimError> {
        match value {
            None => Ok(None),
            Some(Value::Array(a)) if a.len() == 1 => normalize_item(self.def, &a[0], &self.shown),
            Some(v @ Value::Array(_)) => Err(ScimError::invalid_value(format!(
                "\"{}\" with a filter takes one object value, got {}",
                self.shown,
                kind_of(v)
            ))),
            Some(v) => normalize_item(self.def, v, &self.shown),
        }
    }

    /// The filter selected nothing: create the value it describes, where the rules in the
    /// module documentation allow, or answer `noTarget`.
    fn nothing_selected(
        &self,
        items: &mut Vec<Value>,
        op: OpKind,
        sub: Option<&AttrDef>,
        new: Option<Value>,
    ) -> Result<(), ScimError> {
        let may_create = match (op, sub) {
            (OpKind::Remove, _) => false,
            // Entra's `emails[type eq "work"].value` on a user without a work email.
            (OpKind::Replace, Some(_)) => is_slot_selector(self.filter),
            (OpKind::Replace, None) => false,
            (OpKind::Add, _) => equality_fields(self.filter).is_some(),
        };
        if !may_create {
            return Err(self.no_target(""));
        }
        let Some(new) = new else {
            return Ok(()); // a null value: nothing to write, nothing to create
        };
        let mut fresh = self.described_value()?;
        match (sub, new) {
            (Some(sd), v) => {
                fresh.insert(sd.name.to_string(), v);
            }
            (None, Value::Object(fields)) => fresh.extend(fields),
            (None, _) => return Err(self.no_target("")),
        }
        let fresh = Value::Object(fresh);
        if !self.selects(&fresh)? {
            return Err(self.no_target(
                ", and the value this operation would create does not match it either",
            ));
        }
        if fresh.get("primary") == Some(&Value::Bool(true)) {
            items.iter_mut().for_each(clear_primary);
        }
        items.push(fresh);
        Ok(())
    }

    /// The sub-attributes the filter pins down, canonically named and typed.
    fn described_value(&self) -> Result<Map<String, Value>, ScimError> {
        let fields = equality_fields(self.filter).ok_or_else(|| self.no_target(""))?;
        // Found by the fuzzer: the filter may name fields the attribute does not have
        // (`emails[$ref eq "x"]`); only real, writable sub-attributes can be created.
        let mut canonical = Map::new();
        for (k, fv) in fields {
            let sub_def = self
                .def
                .sub_attr(&k)
                .filter(|s| !s.is_read_only() && s.mutability != Mutability::Immutable)
                .ok_or_else(|| {
                    self.no_target(&format!(", and \"{k}\" cannot be set to create one"))
                })?;
            let shown = format!("{}.{}", self.shown, sub_def.name);
            canonical.insert(
                sub_def.name.to_string(),
                check_simple(sub_def.ty, &fv, &shown)?,
            );
        }
        Ok(canonical)
    }
}

/// `add`/`replace` of `attr[filter].sub` on the selected values.
fn set_sub(items: &mut [Value], matched: &[usize], sd: &AttrDef, v: Option<&Value>) {
    if sd.name == "primary" && v == Some(&Value::Bool(true)) {
        items.iter_mut().for_each(clear_primary);
    }
    for &i in matched {
        match v {
            Some(v) => set_field(&mut items[i], sd.name, v.clone()),
            None => remove_field(&mut items[i], sd.name),
        }
    }
}

/// A filter made only of `eq` comparisons on `type` or `primary` joined by `and`: it names a
/// kind of value ("the work email"), not a value.
fn is_slot_selector(f: &Filter) -> bool {
    match f {
        Filter::Compare(p, CompareOp::Eq, v) => {
            p.urn.is_none()
                && p.sub.is_none()
                && *v != CompValue::Null
                && (p.attr.eq_ignore_ascii_case("type") || p.attr.eq_ignore_ascii_case("primary"))
        }
        Filter::And(a, b) => is_slot_selector(a) && is_slot_selector(b),
        _ => false,
    }
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

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn on(user: &Value, list: Value) -> Result<Value, ScimError> {
        apply(&rt(), user, &parse_request(&ops(list))?)
    }
    fn no_target(r: Result<Value, ScimError>) -> ScimError {
        let e = r.unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::NoTarget), "{e:?}");
        e
    }
    fn bare() -> Value {
        rt().normalize(&json!({"userName": "x"})).unwrap()
    }

    #[test]
    fn replace_with_a_value_filter_that_selects_nothing_is_no_target() {
        let e = no_target(patch(ops(json!([{"op": "replace",
            "path": "emails[value eq \"x' OR 1=1 --\"].value", "value": "evil@example.com"}]))));
        assert!(e.detail.contains("emails"), "{}", e.detail);
        assert!(e.detail.contains("x' OR 1=1 --"), "{}", e.detail);
        for path in [
            "emails[value eq \"nobody@example.com\"]",
            "emails[type eq \"work\" and value eq \"nobody@example.com\"].value",
            "emails[type sw \"h\"].value",
            "emails[not (type eq \"work\")].value",
            "emails[type eq \"other\" or type eq \"home\"].display",
            "emails[display pr].value",
        ] {
            let v = if path.ends_with(']') {
                json!({"value": "v@x"})
            } else {
                json!("v@x")
            };
            no_target(patch(ops(
                json!([{"op": "replace", "path": path, "value": v}]),
            )));
        }
        // The value is matched against what the resource holds, case-insensitively for
        // emails.value (caseExact false), never assumed.
        let out = patch(ops(json!([{"op": "replace",
            "path": "emails[value eq \"ALICE@example.com\"].value", "value": "new@example.com"}])))
        .unwrap();
        assert_eq!(
            out["emails"],
            json!([{"value": "new@example.com", "type": "work", "primary": true}])
        );
    }

    #[test]
    fn remove_with_a_filter_that_selects_nothing_is_no_target() {
        for path in [
            "emails[type eq \"home\"]",
            "emails[value eq \"nobody@example.com\"]",
            "emails[type eq \"home\"].value",
            "phoneNumbers[type eq \"mobile\"]",
        ] {
            no_target(patch(ops(json!([{"op": "remove", "path": path}]))));
        }
        let u = rt()
            .normalize(&json!({"userName": "x", ENT: {"manager": "9"}}))
            .unwrap();
        no_target(on(
            &u,
            json!([{"op": "remove", "path": format!("{ENT}:manager[value eq \"8\"]")}]),
        ));
        no_target(on(
            &bare(),
            json!([{"op": "remove", "path": format!("{ENT}:manager[value eq \"9\"]")}]),
        ));
        // A filter that selects removes what it selects, and only that.
        let two = rt()
            .normalize(&json!({"userName": "x", "emails": [{"value": "a", "type": "work"}, {"value": "b", "type": "home"}]}))
            .unwrap();
        let out = on(
            &two,
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{"value": "a", "type": "work"}]));
        let out = on(
            &two,
            json!([{"op": "remove", "path": "emails[value eq \"a\"].type"}]),
        )
        .unwrap();
        assert_eq!(
            out["emails"],
            json!([{"value": "a"}, {"value": "b", "type": "home"}])
        );
    }

    #[test]
    fn entra_slot_selectors_create_on_replace() {
        let out = on(&bare(), json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@x"},
            {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
            {"op": "Replace", "path": "ims[primary eq true].value", "value": "im"},
            {"op": "Replace", "path": "roles[type eq \"x\" and primary eq true].value", "value": "r"}]))
        .unwrap();
        assert_eq!(out["emails"], json!([{"type": "work", "value": "w@x"}]));
        assert_eq!(
            out["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1 555"}])
        );
        assert_eq!(
            out["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main St"}])
        );
        assert_eq!(out["ims"], json!([{"primary": true, "value": "im"}]));
        assert_eq!(
            out["roles"],
            json!([{"type": "x", "primary": true, "value": "r"}])
        );
        // Once the slot exists the same operation updates it in place.
        let again = on(
            &out,
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w2@x"}]),
        )
        .unwrap();
        assert_eq!(again["emails"], json!([{"type": "work", "value": "w2@x"}]));
        // A null value creates nothing and is not an error.
        let out = on(
            &bare(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": null}]),
        )
        .unwrap();
        assert!(out.get("emails").is_none(), "{out}");
        // Not a slot creation: a value that would not match its own filter, a whole value
        // (Entra always names the sub-attribute), a sub-attribute of the slot filter itself.
        no_target(on(
            &bare(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].type", "value": "home"}]),
        ));
        no_target(on(
            &bare(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@x"}}]),
        ));
        no_target(on(
            &bare(),
            json!([{"op": "replace", "path": "emails[type eq null].value", "value": "w@x"}]),
        ));
    }

    #[test]
    fn add_creates_only_the_value_its_filter_describes() {
        let out = patch(ops(
            json!([{"op": "add", "path": "emails[value eq \"b@x\"].type", "value": "home"}]),
        ))
        .unwrap();
        assert_eq!(out["emails"][1], json!({"value": "b@x", "type": "home"}));
        let out = patch(ops(json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"value": "h@x", "primary": true}}]))).unwrap();
        assert_eq!(
            out["emails"],
            json!([{"value": "alice@example.com", "type": "work"}, {"type": "home", "value": "h@x", "primary": true}]),
            "the new primary takes the flag"
        );
        // The value would not match its own path, or the filter does not describe a value.
        let e = no_target(patch(ops(
            json!([{"op": "add", "path": "emails[value eq \"a@x\"].value", "value": "b@x"}]),
        )));
        assert!(e.detail.contains("would create"), "{}", e.detail);
        no_target(patch(ops(
            json!([{"op": "add", "path": "emails[value co \"zzz\"].type", "value": "home"}]),
        )));
        no_target(patch(ops(
            json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"type": "work", "value": "h@x"}}]),
        )));
        // A selected value is updated, not duplicated.
        let out = patch(ops(
            json!([{"op": "add", "path": "emails[type eq \"work\"].display", "value": "Work"}]),
        ))
        .unwrap();
        assert_eq!(
            out["emails"],
            json!([{"value": "alice@example.com", "type": "work", "primary": true, "display": "Work"}])
        );
    }

    #[test]
    fn filtered_values_are_type_checked_before_anything_else() {
        for (path, value, needle) in [
            (
                "emails[type eq \"work\"].value",
                json!(5),
                "\"emails.value\" must be a string, got a number",
            ),
            (
                "emails[type eq \"home\"].value",
                json!(["h@x"]),
                "\"emails.value\" must be a string, got an array",
            ),
            (
                "emails[type eq \"work\"].primary",
                json!("yes"),
                "\"emails.primary\" must be a boolean",
            ),
            (
                "emails[type eq \"work\"]",
                json!("w@x"),
                "\"emails\" must be an object, got a string",
            ),
            (
                "emails[type eq \"work\"]",
                json!({"value": 5}),
                "\"emails.value\" must be a string",
            ),
            (
                "emails[type eq \"work\"]",
                json!([{"value": "a"}, {"value": "b"}]),
                "takes one object value",
            ),
            (
                "emails[value eq \"nobody\"].value",
                json!(5),
                "must be a string",
            ),
        ] {
            let e = patch(ops(
                json!([{"op": "replace", "path": path, "value": value}]),
            ))
            .unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{path}: {e:?}");
            assert!(e.detail.contains(needle), "{path}: {}", e.detail);
        }
        // A filter literal of the wrong type cannot create a value.
        let e = on(
            &bare(),
            json!([{"op": "replace", "path": "emails[type eq 5].value", "value": "w@x"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{e:?}");
    }
}
