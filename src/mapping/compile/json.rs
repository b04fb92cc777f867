//! `json_path`: one attribute kept under one key of a JSON object column (PostgreSQL
//! `json`/`jsonb`, MySQL `JSON`, MariaDB's `JSON` — a `LONGTEXT` — and SQLite text), several
//! attributes per column. The rule's `kind` becomes the value's kind inside the object, so
//! the usual encoding (maps, transforms, types) applies to the value; the store folds the
//! keys of one column into one write of the whole object (see `convert::json`).

use crate::mapping::compiled::{JsonKey, Rule};
use crate::mapping::host::{ColumnKind, HostColumn, Storage};
use crate::mapping::model::ColumnRule;
use crate::scim::schema::AttrType;

/// The JSON key a rule writes and the kind of its value, when it has `json_path`.
///
/// # Errors
/// Messages naming the fix: a column that cannot hold JSON, a rule that is not a plain
/// attribute, an attribute type JSON keys do not take here.
pub(super) fn json_key(
    col: &HostColumn,
    raw: &ColumnRule,
    attr_ty: Option<AttrType>,
) -> Result<Option<(JsonKey, ColumnKind)>, Vec<String>> {
    let Some(path) = &raw.json_path else {
        return Ok(None);
    };
    let mut errors = Vec::new();
    if path.trim().is_empty() {
        errors.push("json_path is empty; name the object's key, e.g. json_path = \"title\"".into());
    }
    let storage = col.storage();
    let cast = match (&storage, col.kind) {
        (Storage::Json { cast }, _) => cast.clone(),
        (Storage::Plain, Some(ColumnKind::Text)) => None,
        _ => {
            errors.push(format!(
                "column \"{}\" ({}) cannot hold a JSON object; json_path needs a json/jsonb/JSON column or a text column holding JSON",
                col.name, col.sql_type
            ));
            None
        }
    };
    if raw.attr.is_none() || raw.flag.is_some() || raw.lookup.is_some() {
        errors.push(
            "json_path keeps one attribute: use it with attr, without flag, lookup, template or value"
                .into(),
        );
    }
    let kind = match attr_ty {
        Some(AttrType::String | AttrType::Reference | AttrType::DateTime) => ColumnKind::Text,
        Some(AttrType::Boolean) => ColumnKind::Bool,
        Some(AttrType::Integer) => ColumnKind::Int,
        Some(other) => {
            errors.push(format!(
                "a {} attribute cannot be kept in a JSON key; map string, boolean, integer or dateTime attributes",
                other.as_str()
            ));
            ColumnKind::Text
        }
        None => ColumnKind::Text,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Some((
        JsonKey {
            key: path.clone(),
            cast,
        },
        kind,
    )))
}

/// Whether two rules of one table may share their column: both keep a JSON key, and not
/// the same one. `Err` says why not.
pub(super) fn may_share(a: &Rule, b: &Rule) -> Result<(), String> {
    match (&a.json, &b.json) {
        (Some(x), Some(y)) if x.key == y.key => Err(format!(
            "JSON key \"{}\" of column \"{}\" is mapped twice; give each attribute its own json_path",
            x.key, a.column
        )),
        (Some(_), Some(_)) => Ok(()),
        _ => Err(String::new()),
    }
}

/// The userName must be a column of its own: filters, adoption and the link's uniqueness
/// compare it in the database.
pub(super) fn check_user_name(rule: &Rule) -> Option<String> {
    rule.json.as_ref().map(|_| {
        "userName cannot be kept in a JSON key (filters and adoption compare it in a column); map it to a text column".to_string()
    })
}
