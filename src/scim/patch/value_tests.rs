//! PATCH values are type-checked like resource values (`scim/types.rs`): with a path, without
//! one, and a single object as one value of a multi-valued path.

use super::test_util::*;
use crate::scim::error::ScimType;
use serde_json::json;

#[allow(clippy::needless_pass_by_value, reason = "callers pass json! literals")]
fn invalid(body: Value, needle: &str) {
    let e = patch(body.clone()).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{body}: {e:?}");
    assert!(e.detail.contains(needle), "{body}: {}", e.detail);
}

#[test]
fn path_values_are_type_checked() {
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for (path, value, needle) in [
        (
            "userName",
            json!(12345),
            "\"userName\" must be a string, got a number",
        ),
        ("active", json!("maybe"), "\"active\" must be a boolean"),
        ("active", json!(0), "\"active\" must be a boolean"),
        (
            "emails",
            json!("a@b.example"),
            "\"emails\" is multi-valued and must be an array, got a string",
        ),
        (
            "emails",
            json!(["a@b.example"]),
            "\"emails\" must be an array of objects, got a string in it",
        ),
        (
            "name",
            json!("Ada"),
            "\"name\" must be an object, got a string",
        ),
        (
            "name.givenName",
            json!(7),
            "\"name.givenName\" must be a string, got a number",
        ),
        (
            "emails.value",
            json!(true),
            "\"emails.value\" must be a string, got a boolean",
        ),
        (
            &format!("{ent}:employeeNumber"),
            json!(701),
            "employeeNumber\" must be a string, got a number",
        ),
        (
            &format!("{ent}:manager"),
            json!(9),
            "manager\" must be an object (or a string id), got a number",
        ),
        (
            ent,
            json!({"department": ["Ops"]}),
            "department\" must be a string, got an array",
        ),
    ] {
        for op in ["add", "replace"] {
            invalid(
                ops(json!([{"op": op, "path": path, "value": value}])),
                needle,
            );
        }
    }
    // Entra's string booleans and bare manager id are kept.
    let out = patch(ops(json!([
        {"op": "replace", "path": "active", "value": "FALSE"},
        {"op": "add", "path": format!("{ent}:manager"), "value": "9"}])))
    .unwrap();
    assert_eq!(out["active"], false);
    assert_eq!(out[ent]["manager"], json!({"value": "9"}));
}

#[test]
fn no_path_values_are_type_checked() {
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for (value, needle) in [
        (
            json!({"userName": 12345}),
            "\"userName\" must be a string, got a number",
        ),
        (json!({"active": "yes"}), "\"active\" must be a boolean"),
        (
            json!({"emails": "a@b.example"}),
            "\"emails\" is multi-valued and must be an array",
        ),
        // A resource-shaped value keeps RFC 7643's arrays: no single object.
        (
            json!({"emails": {"value": "a@b.example"}}),
            "\"emails\" is multi-valued and must be an array, got an object",
        ),
        (
            json!({"name.givenName": 7}),
            "\"name.givenName\" must be a string",
        ),
        (
            json!({"name": {"familyName": false}}),
            "\"name.familyName\" must be a string, got a boolean",
        ),
        (
            json!({ent: {"employeeNumber": 701}}),
            "employeeNumber\" must be a string, got a number",
        ),
        (
            json!({format!("{ent}:costCenter"): 5}),
            "costCenter\" must be a string, got a number",
        ),
        (
            json!({ent: "Ops"}),
            "must be an object of extension attributes",
        ),
    ] {
        invalid(
            ops(json!([{"op": "replace", "value": value.clone()}])),
            needle,
        );
        invalid(ops(json!([{"op": "add", "value": value}])), needle);
    }
    // Nulls mean "unassigned"; read-only echoes are skipped unchecked.
    let out = patch(ops(
        json!([{"op": "replace", "value": {"title": null, "id": 5, "meta": 1, "active": "false"}}]),
    ))
    .unwrap();
    assert_eq!(out["active"], false);
}

#[test]
fn a_single_object_is_one_value_of_a_multi_valued_path() {
    // RFC 7644 §3.5.2.1: the value "may be a JSON object containing the sub-attributes of
    // the complex attribute specified in the operation's path".
    let out = patch(ops(
        json!([{"op": "add", "path": "emails", "value": {"value": "b@x", "type": "home"}}]),
    ))
    .unwrap();
    assert_eq!(out["emails"][1], json!({"value": "b@x", "type": "home"}));
    let out = patch(ops(
        json!([{"op": "replace", "path": "emails", "value": {"value": "b@x"}}]),
    ))
    .unwrap();
    assert_eq!(out["emails"], json!([{"value": "b@x"}]));
    let out = patch(ops(
        json!([{"op": "remove", "path": "emails", "value": {"value": "alice@example.com"}}]),
    ))
    .unwrap();
    assert!(out.get("emails").is_none(), "{out}");
    invalid(
        ops(json!([{"op": "add", "path": "emails", "value": {"value": 5}}])),
        "\"emails.value\" must be a string",
    );
}
