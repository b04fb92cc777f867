//! The audit trail: one row per change, in the change's own transaction, so a rolled-back
//! request leaves no record and a committed one always has one.
//!
//! Who made the change (the token's name) travels as a task-local set by the HTTP layer for
//! the duration of a request; changes made outside a request are recorded as `cli`.

use chrono::{NaiveDateTime, Utc};
use serde_json::Value;

use crate::mapping::value::parse_timestamp;
use crate::mapping::{ColumnKind, HostValue};

use super::dialect;
use super::sql::Sql;
use super::{Conn, Db, StoreError};

tokio::task_local! {
    /// The name of the token the current request authenticated with.
    pub static ACTOR: std::cell::RefCell<String>;
}

/// Attribute values never written to the audit trail, whatever a client sends.
const SECRET_ATTRIBUTES: &[&str] = &["password"];

/// Top-level attributes (and extension attributes, as `urn:…:attr`) whose values differ.
pub fn changed_attributes(before: Option<&Value>, after: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Vec::new();
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if k == "schemas" || k == "meta" || SECRET_ATTRIBUTES.contains(&k.as_str()) {
            continue;
        }
        match (b.get(k), a.get(k)) {
            // An extension is named by its attributes, also when it appears or goes away.
            (x @ (Some(Value::Object(_)) | None), y @ (Some(Value::Object(_)) | None))
                if k.starts_with("urn:") =>
            {
                let empty = Value::Object(serde_json::Map::new());
                for sub in changed_attributes(x.or(Some(&empty)), y.unwrap_or(&empty)) {
                    out.push(format!("{k}:{sub}"));
                }
            }
            (x, y) if x != y => out.push(k.clone()),
            _ => {}
        }
    }
    out
}

/// Writes one audit row on the transaction's connection.
pub async fn record(
    c: &mut Conn,
    resource_type: &str,
    resource_id: &str,
    user_name: Option<&str>,
    operation: &str,
    attributes: &[String],
) -> Result<(), StoreError> {
    c.exec(record_sql(
        resource_type,
        resource_id,
        user_name,
        operation,
        attributes,
    ))
    .await?;
    Ok(())
}

/// The statement [`record`] sends, for writes that send it together with others.
pub fn record_sql(
    resource_type: &str,
    resource_id: &str,
    user_name: Option<&str>,
    operation: &str,
    attributes: &[String],
) -> Sql {
    let actor = ACTOR
        .try_with(|a| a.borrow().clone())
        .unwrap_or_else(|_| "cli".to_string());
    let mut q = Sql::new();
    q.raw("INSERT INTO scim_audit (at, token_name, resource_type, resource_id, user_name, operation, attributes) VALUES (")
        .bind(HostValue::Timestamp(Utc::now().naive_utc()))
        .raw(", ")
        .text(&actor)
        .raw(", ")
        .text(resource_type)
        .raw(", ")
        .text(resource_id)
        .raw(", ")
        .bind(user_name.map_or(HostValue::Null(ColumnKind::Text), |u| HostValue::Text(u.to_string())))
        .raw(", ")
        .text(operation)
        .raw(", ")
        .text(&attributes.join(","))
        .raw(")");
    q
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub at: Option<String>,
    pub token: String,
    pub resource_type: String,
    pub resource_id: String,
    pub user_name: Option<String>,
    pub operation: String,
    pub attributes: Vec<String>,
}

/// Filters for reading the trail.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub user_name: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub operation: Option<String>,
    pub limit: u64,
}

/// The newest entries first.
pub async fn read(db: &Db, f: &Query) -> Result<Vec<Entry>, StoreError> {
    let mut c = db.reader().await?;
    let mut q = Sql::new();
    q.raw("SELECT ");
    dialect::cast_text(&mut q, db.dialect, None, "at");
    q.raw(", token_name, resource_type, resource_id, user_name, operation, attributes FROM scim_audit WHERE 1=1");
    if let Some(u) = &f.user_name {
        q.raw(" AND lower(user_name) = lower(").text(u).raw(")");
    }
    if let Some(s) = f.since {
        q.raw(" AND at >= ").bind(HostValue::Timestamp(s));
    }
    if let Some(o) = &f.operation {
        q.raw(" AND operation = ").text(o);
    }
    q.raw(" ORDER BY id DESC");
    dialect::limit(&mut q, db.dialect, f.limit.max(1));
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| Entry {
            at: r.get(0).and_then(parse_timestamp).map(|t| {
                t.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
            token: r.get(1).unwrap_or("").to_string(),
            resource_type: r.get(2).unwrap_or("").to_string(),
            resource_id: r.get(3).unwrap_or("").to_string(),
            user_name: r.get(4).map(str::to_string),
            operation: r.get(5).unwrap_or("").to_string(),
            attributes: r
                .get(6)
                .filter(|s| !s.is_empty())
                .map(|s| s.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_name_attributes_never_secret_values() {
        let before = json!({"userName": "a", "active": true, "name": {"givenName": "A"}, "urn:x:ext": {"dept": "1", "cost": "2"}});
        let after = json!({"userName": "a", "active": false, "name": {"givenName": "B"}, "password": "x", "urn:x:ext": {"dept": "9", "cost": "2"}});
        assert_eq!(
            changed_attributes(Some(&before), &after),
            vec!["active", "name", "urn:x:ext:dept"]
        );
        assert_eq!(
            changed_attributes(None, &json!({"userName": "n", "schemas": []})),
            vec!["userName"]
        );
    }
}
