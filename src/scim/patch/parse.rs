//! Parsing a PatchOp request body (RFC 7644 §3.5.2) and its paths.

use serde_json::{Map, Value};

use super::{OpKind, PatchOp, PatchPath, MAX_OPERATIONS};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::Filter;
use crate::scim::path::{self, AttrPath};
use crate::scim::schema::PATCH_OP_SCHEMA;

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
                .filter(|s| path::valid_name(s))
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
    if let Some(schemas) = get_ci(obj, "schemas") {
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
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs an \"Operations\" array"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax(
            "\"Operations\" is empty: nothing to change",
        ));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            400,
            Some(ScimType::TooMany),
            format!("at most {MAX_OPERATIONS} operations per PATCH"),
        ));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_op(i, op))
        .collect()
}

/// A member of a JSON object by name, case-insensitively.
fn get_ci<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// One element of `Operations`; `i` is its index, for messages.
fn parse_op(i: usize, op: &Value) -> Result<PatchOp, ScimError> {
    let o = op
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax(format!("Operations[{i}] must be an object")))?;
    let kind = match get_ci(o, "op")
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
    let path = match get_ci(o, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(PatchPath::parse(s)?),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{i}]: \"path\" must be a string"
            )))
        }
    };
    let value = get_ci(o, "value").cloned();
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
