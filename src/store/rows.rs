//! Statements shared by every table the bridge writes: typed keys, `SET` lists, inserts that
//! return the new key, and the `WHERE parent = ?` of joined and child rows.

use crate::mapping::convert::{Assign, Row};
use crate::mapping::{ColumnKind, HostValue};
use crate::store::dialect::Dialect;

use super::dialect::cast_text;
use super::sql::Sql;
use super::{Conn, StoreError};

pub(super) fn key_of(kind: ColumnKind, key: &str) -> Option<HostValue> {
    match kind {
        ColumnKind::Int => key.trim().parse().ok().map(HostValue::Int),
        _ => Some(HostValue::Text(key.to_string())),
    }
}

/// `SET a = ?, flags = (COALESCE(flags, 0) | ?)`: values bound, bits changed in place.
pub(super) fn set_list(q: &mut Sql, row: &Row) {
    for (i, (col, a)) in row.iter().enumerate() {
        if i > 0 {
            q.raw(", ");
        }
        q.ident(col).raw(" = ");
        match a {
            Assign::Value(v) => {
                q.bind(v.clone());
            }
            Assign::Bits { mask, on: true } => {
                q.raw("(COALESCE(")
                    .ident(col)
                    .raw(", 0) | ")
                    .int(*mask)
                    .raw(")");
            }
            // JSON keys are folded into a Value before any statement (see convert::json).
            Assign::Lookup { .. } | Assign::Json { .. } => {
                q.bind(a.insert_value());
            }
            Assign::Bits { mask, on: false } => {
                q.raw("(COALESCE(")
                    .ident(col)
                    .raw(", 0) & ")
                    .int(!*mask)
                    .raw(")");
            }
        }
    }
}

/// Inserts a row and returns its key: generated here (`uuid`), or by the database.
pub(super) async fn insert_returning_key(
    c: &mut Conn,
    d: Dialect,
    table: &str,
    key: &crate::mapping::compile::KeyColumn,
    mut cols: Vec<(String, HostValue)>,
) -> Result<String, StoreError> {
    let generated_key = match key.generate {
        Some(crate::mapping::model::KeyGenerate::Uuid) => {
            let k = super::new_uuid();
            cols.retain(|(c, _)| c != &key.name);
            cols.push((key.name.clone(), HostValue::Text(k.clone())));
            Some(k)
        }
        None => None,
    };
    let mut q = Sql::new();
    q.raw("INSERT INTO ")
        .ident(table)
        .raw(" (")
        .ident_list(cols.iter().map(|(c, _)| c.as_str()))
        .raw(") VALUES (");
    for (i, (_, v)) in cols.iter().enumerate() {
        if i > 0 {
            q.raw(", ");
        }
        q.bind(v.clone());
    }
    q.raw(")");
    if let Some(k) = generated_key {
        c.exec(q).await?;
        return Ok(k);
    }
    match d {
        Dialect::Mysql => {
            c.exec(q).await?;
            let mut k = Sql::new();
            k.raw("SELECT CAST(LAST_INSERT_ID() AS CHAR)");
            c.row(k)
                .await?
                .and_then(|r| r.get(0).map(str::to_string))
                .ok_or_else(|| StoreError::Other("no LAST_INSERT_ID after insert".into()))
        }
        _ => {
            q.raw(" RETURNING ");
            cast_text(&mut q, d, None, &key.name);
            c.row(q)
                .await?
                .and_then(|r| r.get(0).map(str::to_string))
                .ok_or_else(|| StoreError::Other("insert returned no key".into()))
        }
    }
}

pub(super) fn insert_values(row: &Row) -> Vec<(String, HostValue)> {
    row.iter()
        .map(|(c, a)| (c.clone(), a.insert_value()))
        .collect()
}

/// ` WHERE parent = ? AND <conditions>`
pub(super) fn where_parent(
    q: &mut Sql,
    parent: &str,
    key: HostValue,
    conditions: &[(String, HostValue)],
) {
    q.raw(" WHERE ").ident(parent).raw(" = ").bind(key);
    for (c, v) in conditions {
        q.raw(" AND ").ident(c).raw(" = ").bind(v.clone());
    }
}
