//! Strict attribute types: every value a client sends is checked against its attribute's
//! schema type (RFC 7643 §2.3) and plurality (§2.4) before anything else sees it. A JSON type
//! that is not the attribute's answers 400 `invalidValue` with a detail naming the attribute,
//! e.g. `"userName" must be a string, got a number`.
//!
//! | schema type | accepted JSON |
//! |---|---|
//! | string, reference, binary | a string (no NUL character) |
//! | dateTime | a string holding an xsd:dateTime, e.g. `2008-01-23T04:56:22Z` |
//! | boolean | `true`/`false`, or the string `"true"`/`"false"` in any case (see below) |
//! | integer | a JSON number without a fraction |
//! | decimal | a JSON number |
//! | complex | an object of the attribute's sub-attributes, each checked the same way |
//! | multi-valued | an array whose items each have the attribute's type |
//!
//! Nothing is coerced: `"userName": 12345` is refused, not stored as `"12345"`, and
//! `"emails": "a@b.example"` is refused, not read as `[{"value": "a@b.example"}]`. A value the
//! client did not send as text could otherwise reach the host row in a spelling nobody chose
//! (`1e3` for `1000`), and a mistyped attribute in an identity provider's mapping would pass
//! silently instead of being reported where the administrator can fix it.
//!
//! The leniencies kept are the ones real identity providers depend on:
//! - **Booleans as strings.** Microsoft Entra ID's default PATCH dialect deactivates with
//!   `"value": "False"` (Entra docs, "Known issues and resolutions with SCIM 2.0 protocol
//!   compliance"), and OneLogin templates render `"active": "{$user.active}"` as `"true"`. Boolean-typed attributes therefore also take the strings `"true"` and `"false"`
//!   case-insensitively; they are stored as JSON booleans. No other string is a boolean.
//! - **`null` means unassigned** (RFC 7643 §2.5, RFC 7644 §3.5.1), for any attribute,
//!   sub-attribute or item: Okta and Entra send `null` for absent values, Entra sends
//!   `"$ref": null`, OneLogin templates send `"id": null`. A `null` is dropped, never
//!   type-checked.
//! - **Read-only and write-only attributes are ignored unchecked** (`id`, `meta`, `groups`,
//!   `members.display`, `password`): Okta's PUT echoes them back and the bridge never stores
//!   them, so their shape cannot matter.
//! - **A bare id for `manager`.** A single-valued complex attribute with a `value`
//!   sub-attribute (the enterprise `manager`) also takes a string, read as `{"value": …}`:
//!   Entra and OneLogin set the manager with a bare id string. A number is still refused.
//! - **A single object for a multi-valued attribute** is refused in a resource (a POST or PUT
//!   body, or the attributes of a PATCH operation without `path`): RFC 7643 §2.4 represents
//!   multi-valued attributes as arrays, Okta's FAQ says they "must be arrays even with one
//!   value", and no client in the notes sends anything else. It is accepted as the `value` of
//!   a PATCH operation whose `path` names the multi-valued attribute, where RFC 7644 §3.5.2.1
//!   describes the value as "a JSON object containing the sub-attributes of the complex
//!   attribute specified in the operation's path"; the PATCH engine wraps it (see
//!   `patch/apply.rs`).

use serde_json::{Map, Value};

use super::error::ScimError;
use super::schema::{AttrDef, AttrType, Mutability};

/// RFC 7644 §3.5.1: null and the empty array mean "unassigned".
pub fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Whether the bridge ignores this attribute in what clients send (never stored).
fn ignored(def: &AttrDef) -> bool {
    matches!(def.mutability, Mutability::ReadOnly | Mutability::WriteOnly)
}

/// Checks and normalises one attribute value of a resource; `Ok(None)` means "drop it"
/// (unassigned, read-only, or a password the bridge never keeps). `shown` names the attribute
/// in messages.
///
/// # Errors
/// `invalidValue` naming the attribute when the value does not have the attribute's type;
/// `invalidSyntax` for an unknown sub-attribute.
pub fn normalize_value(def: &AttrDef, v: &Value, shown: &str) -> Result<Option<Value>, ScimError> {
    if ignored(def) || v.is_null() {
        return Ok(None);
    }
    if !def.multi {
        return normalize_item(def, v, shown);
    }
    let Value::Array(items) = v else {
        return Err(ScimError::invalid_value(format!(
            "\"{shown}\" is multi-valued and must be an array, got {}",
            kind_of(v)
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    let mut seen_primary = false;
    for item in items {
        if def.ty == AttrType::Complex && !matches!(item, Value::Object(_) | Value::Null) {
            return Err(ScimError::invalid_value(format!(
                "\"{shown}\" must be an array of objects, got {} in it",
                kind_of(item)
            )));
        }
        if let Some(mut n) = normalize_item(def, item, shown)? {
            // RFC 7643 §2.4: "primary" true at most once; keep the first.
            if let Some(o) = n.as_object_mut() {
                if o.get("primary") == Some(&Value::Bool(true)) {
                    if seen_primary {
                        o.remove("primary");
                    }
                    seen_primary = true;
                }
            }
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Ok(if out.is_empty() {
        None
    } else {
        Some(Value::Array(out))
    })
}

/// Checks and normalises one value of `def` — the value of a single-valued attribute, or one
/// item of a multi-valued one; `Ok(None)` for `null` or an object with nothing left in it.
///
/// # Errors
/// As [`normalize_value`].
pub fn normalize_item(def: &AttrDef, v: &Value, shown: &str) -> Result<Option<Value>, ScimError> {
    if v.is_null() {
        return Ok(None);
    }
    if def.ty != AttrType::Complex {
        return check_simple(def.ty, v, shown).map(Some);
    }
    let bare_id;
    let obj = match v {
        Value::Object(o) => o,
        // Entra and OneLogin send `manager` as a bare id string.
        Value::String(_) if !def.multi && def.sub_attr("value").is_some() => {
            bare_id = Map::from_iter([("value".to_string(), v.clone())]);
            &bare_id
        }
        _ => {
            let also = if !def.multi && def.sub_attr("value").is_some() {
                " (or a string id)"
            } else {
                ""
            };
            return Err(ScimError::invalid_value(format!(
                "\"{shown}\" must be an object{also}, got {}",
                kind_of(v)
            )));
        }
    };
    let mut out = Map::new();
    for (k, sv) in obj {
        let Some(sd) = def.sub_attr(k) else {
            return Err(ScimError::invalid_syntax(format!(
                "\"{shown}\" has no sub-attribute \"{k}\""
            )));
        };
        if ignored(sd) {
            continue;
        }
        if let Some(n) = normalize_item(sd, sv, &format!("{shown}.{}", sd.name))? {
            out.insert(sd.name.to_string(), n);
        }
    }
    Ok(if out.is_empty() {
        None
    } else {
        Some(Value::Object(out))
    })
}

/// Checks a value of a simple (not complex) type; booleans may also be the strings
/// `"true"`/`"false"` in any case and come back as JSON booleans.
///
/// # Errors
/// `invalidValue` naming the attribute, the expected type and the JSON type that was sent.
pub fn check_simple(ty: AttrType, v: &Value, shown: &str) -> Result<Value, ScimError> {
    let bad = || {
        ScimError::invalid_value(format!(
            "\"{shown}\" must be {}, got {}",
            expected(ty),
            kind_of(v)
        ))
    };
    match (ty, v) {
        (AttrType::Boolean, Value::Bool(_)) => Ok(v.clone()),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Ok(Value::Bool(true))
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Ok(Value::Bool(false))
        }
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(v.clone()),
        (AttrType::Integer, Value::Number(n)) => Err(ScimError::invalid_value(format!(
            "\"{shown}\" must be an integer, got {n}"
        ))),
        (AttrType::Decimal, Value::Number(_)) => Ok(v.clone()),
        (
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
            Value::String(s),
        ) => {
            if s.contains('\0') {
                return Err(ScimError::invalid_value(format!(
                    "\"{shown}\" contains a NUL character"
                )));
            }
            if ty == AttrType::DateTime && !is_xsd_date_time(s) {
                return Err(ScimError::invalid_value(format!(
                    "\"{shown}\" must be {}, got a string that is not one",
                    expected(ty)
                )));
            }
            Ok(v.clone())
        }
        _ => Err(bad()),
    }
}

/// The expected JSON shape of a type, for messages.
fn expected(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "a string",
        AttrType::Boolean => "a boolean (true or false)",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a decimal number",
        AttrType::DateTime => "a dateTime string such as 2008-01-23T04:56:22Z",
        AttrType::Reference => "a reference (a URI string)",
        AttrType::Binary => "a binary value (a base64 string)",
        AttrType::Complex => "an object",
    }
}

/// The JSON type of a value, for messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RFC 7643 §2.3.5: an xsd:dateTime (XML Schema §3.3.7), `YYYY-MM-DDThh:mm:ss[.s+]` with an
/// optional `Z` or `±hh:mm` zone.
fn is_xsd_date_time(s: &str) -> bool {
    use chrono::{DateTime, NaiveDateTime};
    if s.as_bytes().get(10) != Some(&b'T') {
        return false;
    }
    DateTime::parse_from_rfc3339(s).is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    const fn def(name: &'static str, ty: AttrType) -> AttrDef {
        AttrDef {
            name,
            ty,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: crate::scim::schema::Returned::Default,
            unique: false,
            canonical: &[],
            sub: &[],
            description: "",
        }
    }

    #[allow(clippy::needless_pass_by_value, reason = "callers pass json! literals")]
    fn refused(ty: AttrType, v: Value) -> ScimError {
        let e = check_simple(ty, &v, "x").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{ty:?} {v}");
        assert!(e.detail.starts_with("\"x\" must be"), "{}", e.detail);
        e
    }

    #[test]
    fn strings_take_only_strings() {
        assert_eq!(
            check_simple(AttrType::String, &json!("12345"), "x").unwrap(),
            "12345"
        );
        let e = refused(AttrType::String, json!(12345));
        assert_eq!(e.detail, "\"x\" must be a string, got a number");
        refused(AttrType::String, json!(true));
        refused(AttrType::String, json!(["a"]));
        refused(AttrType::String, json!({"value": "a"}));
        refused(AttrType::Reference, json!(7));
        refused(AttrType::Binary, json!(7));
        assert!(check_simple(AttrType::String, &json!("a\u{0}b"), "x")
            .unwrap_err()
            .detail
            .contains("NUL"));
    }

    #[test]
    fn booleans_take_booleans_and_their_strings_only() {
        for (v, want) in [
            (json!(true), true),
            (json!(false), false),
            (json!("False"), false),
            (json!("TRUE"), true),
            (json!("true"), true),
        ] {
            assert_eq!(
                check_simple(AttrType::Boolean, &v, "active").unwrap(),
                json!(want)
            );
        }
        for v in [
            json!("yes"),
            json!("1"),
            json!(" true"),
            json!(1),
            json!(0),
            json!([true]),
            json!({}),
        ] {
            let e = refused(AttrType::Boolean, v);
            assert!(e.detail.contains("boolean"), "{}", e.detail);
        }
    }

    #[test]
    fn integers_and_decimals_take_numbers_only() {
        assert_eq!(
            check_simple(AttrType::Integer, &json!(-42), "x").unwrap(),
            json!(-42)
        );
        let e = refused(AttrType::Integer, json!(1.5));
        assert_eq!(e.detail, "\"x\" must be an integer, got 1.5");
        refused(AttrType::Integer, json!("42"));
        refused(AttrType::Integer, json!(true));
        assert_eq!(
            check_simple(AttrType::Decimal, &json!(1.5), "x").unwrap(),
            json!(1.5)
        );
        assert_eq!(
            check_simple(AttrType::Decimal, &json!(2), "x").unwrap(),
            json!(2)
        );
        refused(AttrType::Decimal, json!("1.5"));
        refused(AttrType::Decimal, json!(null));
    }

    #[test]
    fn date_times_are_xsd_date_time_strings() {
        for ok in [
            "2008-01-23T04:56:22Z",
            "2008-01-23T04:56:22.123+02:00",
            "2008-01-23T04:56:22",
        ] {
            assert!(
                check_simple(AttrType::DateTime, &json!(ok), "x").is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "yesterday",
            "2008-01-23",
            "2008-01-23 04:56:22Z",
            "2008-13-01T00:00:00Z",
        ] {
            let e = refused(AttrType::DateTime, json!(bad));
            assert!(e.detail.contains("dateTime"), "{bad}: {}", e.detail);
        }
        refused(AttrType::DateTime, json!(1_200_000_000));
    }

    const NAME_SUB: &[AttrDef] = &[def("givenName", AttrType::String)];
    const EMAIL_SUB: &[AttrDef] = &[
        def("value", AttrType::String),
        def("type", AttrType::String),
        def("primary", AttrType::Boolean),
    ];
    const NAME: AttrDef = {
        let mut a = def("name", AttrType::Complex);
        a.sub = NAME_SUB;
        a
    };
    const MANAGER: AttrDef = {
        let mut a = def("manager", AttrType::Complex);
        a.sub = EMAIL_SUB;
        a
    };
    const EMAILS: AttrDef = {
        let mut a = def("emails", AttrType::Complex);
        a.sub = EMAIL_SUB;
        a.multi = true;
        a
    };

    #[test]
    fn complex_values_are_objects_of_typed_sub_attributes() {
        let n = normalize_value(&NAME, &json!({"GIVENNAME": "Ada"}), "name").unwrap();
        assert_eq!(n, Some(json!({"givenName": "Ada"})));
        let e = normalize_value(&NAME, &json!("Ada"), "name").unwrap_err();
        assert_eq!(
            (e.scim_type, e.detail.as_str()),
            (
                Some(ScimType::InvalidValue),
                "\"name\" must be an object, got a string"
            )
        );
        let e = normalize_value(&NAME, &json!({"givenName": 7}), "name").unwrap_err();
        assert_eq!(
            e.detail,
            "\"name.givenName\" must be a string, got a number"
        );
        // The manager's bare id string is kept; a bare number is not.
        assert_eq!(
            normalize_value(&MANAGER, &json!("7"), "manager").unwrap(),
            Some(json!({"value": "7"}))
        );
        let e = normalize_value(&MANAGER, &json!(7), "manager").unwrap_err();
        assert_eq!(
            e.detail,
            "\"manager\" must be an object (or a string id), got a number"
        );
        assert!(normalize_value(&MANAGER, &json!("a\u{0}"), "manager").is_err());
    }

    #[test]
    fn multi_valued_attributes_are_arrays_of_their_type() {
        let e = normalize_value(&EMAILS, &json!("a@b.example"), "emails").unwrap_err();
        assert_eq!(
            (e.scim_type, e.detail.as_str()),
            (
                Some(ScimType::InvalidValue),
                "\"emails\" is multi-valued and must be an array, got a string"
            )
        );
        let e = normalize_value(&EMAILS, &json!({"value": "a@b"}), "emails").unwrap_err();
        assert!(
            e.detail.contains("must be an array, got an object"),
            "{}",
            e.detail
        );
        let e = normalize_value(&EMAILS, &json!(["a@b.example"]), "emails").unwrap_err();
        assert_eq!(
            e.detail,
            "\"emails\" must be an array of objects, got a string in it"
        );
        let e = normalize_value(
            &EMAILS,
            &json!([{"value": "a", "primary": "maybe"}]),
            "emails",
        )
        .unwrap_err();
        assert!(
            e.detail.starts_with("\"emails.primary\" must be a boolean"),
            "{}",
            e.detail
        );
        let e = normalize_value(&EMAILS, &json!([{"value": ["a"]}]), "emails").unwrap_err();
        assert_eq!(e.detail, "\"emails.value\" must be a string, got an array");
        // A multi-valued complex attribute never takes the manager's bare string.
        assert!(normalize_value(&EMAILS, &json!(["7"]), "emails").is_err());
        assert_eq!(
            normalize_value(
                &EMAILS,
                &json!([{"value": "a", "primary": "True"}, null]),
                "emails"
            )
            .unwrap(),
            Some(json!([{"value": "a", "primary": true}]))
        );
    }

    #[test]
    fn null_and_ignored_attributes_are_dropped_unchecked() {
        for d in [&NAME, &EMAILS, &MANAGER] {
            assert_eq!(normalize_value(d, &Value::Null, "x").unwrap(), None);
        }
        assert_eq!(
            normalize_value(&NAME, &json!({"givenName": null}), "name").unwrap(),
            None
        );
        let mut ro = def("id", AttrType::String);
        ro.mutability = Mutability::ReadOnly;
        assert_eq!(normalize_value(&ro, &json!(12), "id").unwrap(), None);
        let mut wo = def("password", AttrType::String);
        wo.mutability = Mutability::WriteOnly;
        assert_eq!(
            normalize_value(&wo, &json!(["x"]), "password").unwrap(),
            None
        );
    }
}
