//! Joined tables keyed by a column of the user's row other than its key (`user_column`, e.g.
//! the login): the value each table's `parent` holds for a user, and keeping those rows in
//! step when that column changes — in the write's transaction, so a renamed user keeps its
//! rows.

use crate::mapping::compile::{KeyColumn, UserMapping};
use crate::mapping::convert::{Assign, Row};
use crate::mapping::HostValue;
use crate::store::dialect::Dialect;
use crate::store::rows::{insert_returning_key, insert_values, key_of, where_parent};
use crate::store::sql::Sql;
use crate::store::{Conn, StoreError};

use super::key_value;

/// Per joined table, the value its `parent` column holds for user `key`: the key itself, or
/// the user row's `user_column` (read, so it is what the row holds now).
pub(super) async fn parents(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
) -> Result<Vec<HostValue>, StoreError> {
    let kv = key_value(m, key).ok_or(StoreError::NotFound)?;
    let mut columns: Vec<&str> = Vec::new();
    for j in m.joined.iter().filter(|j| j.user_column != m.key.name) {
        if !columns.contains(&j.user_column.as_str()) {
            columns.push(&j.user_column);
        }
    }
    if columns.is_empty() {
        return Ok(vec![kv; m.joined.len()]);
    }
    let row = super::user_columns(c, d, m, &kv, &columns)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(m.joined
        .iter()
        .map(|j| match columns.iter().position(|c| *c == j.user_column) {
            None => kv.clone(),
            Some(i) => HostValue::from_db_text(j.user_column_kind, row.get(i)),
        })
        .collect())
}

/// Whether `row` (assignments to the user's row) writes a column some joined table is keyed
/// by: only then are the parents read again and the rows moved.
pub(super) fn moves(m: &UserMapping, row: &Row) -> bool {
    row.iter().any(|(col, _)| {
        m.joined
            .iter()
            .any(|j| &j.user_column == col && j.user_column != m.key.name)
    })
}

/// Moves the rows of joined tables keyed by a user column that changed from `before` to
/// `after` (as [`parents`] gave them): `UPDATE t SET parent = after WHERE parent = before`.
pub(super) async fn follow(
    c: &mut Conn,
    m: &UserMapping,
    before: &[HostValue],
    after: &[HostValue],
) -> Result<(), StoreError> {
    for ((j, old), new) in m.joined.iter().zip(before).zip(after) {
        if j.user_column == m.key.name || old.is_null() || new.same_as_stored(old) {
            continue;
        }
        let mut q = Sql::new();
        q.raw("UPDATE ")
            .ident(&j.table)
            .raw(" SET ")
            .ident(&j.parent)
            .raw(" = ")
            .bind(new.clone());
        where_parent(&mut q, &j.parent, old.clone(), &j.conditions);
        c.exec(q).await?;
    }
    Ok(())
}

/// Inserts the row of joined table `i` that the user's row points at (`before_user`, a
/// principal): its conditions and what an insert writes. Returns the user's column and the
/// row's new key, for the user's row.
pub(super) async fn insert_first(
    c: &mut Conn,
    d: Dialect,
    m: &UserMapping,
    i: usize,
    row: Option<&Row>,
) -> Result<(String, HostValue), StoreError> {
    let j = &m.joined[i];
    let mut cols = j.conditions.clone();
    if let Some(row) = row {
        cols.extend(insert_values(row));
    }
    let key = KeyColumn {
        name: j.parent.clone(),
        kind: j.user_column_kind,
        generated: true,
        generate: None,
    };
    let k = insert_returning_key(c, d, &j.table, &key, cols).await?;
    let v = key_of(j.user_column_kind, &k)
        .ok_or_else(|| StoreError::Other(format!("{}: key {k} is not a key", j.table)))?;
    own_key(c, m, i + 1, (&j.table, &j.parent), &v).await?;
    Ok((j.user_column.clone(), v))
}

/// Writes a just inserted row's key into its `{ own_key = true }` columns (table `at`: 0 the
/// user's, `n` joined `n - 1`), replacing the insert's placeholder.
pub(super) async fn own_key(
    c: &mut Conn,
    m: &UserMapping,
    at: usize,
    (table, key): (&str, &str),
    kv: &HostValue,
) -> Result<(), StoreError> {
    let columns: Vec<&str> = (m.rules.iter())
        .filter(|r| r.at == at && r.own_key)
        .map(|r| r.column.as_str())
        .collect();
    if columns.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new();
    q.raw("UPDATE ").ident(table).raw(" SET ");
    for (n, col) in columns.iter().enumerate() {
        if n > 0 {
            q.raw(", ");
        }
        q.ident(col).raw(" = ").bind(kv.clone());
    }
    q.raw(" WHERE ").ident(key).raw(" = ").bind(kv.clone());
    c.exec(q).await?;
    Ok(())
}

/// `row` (an insert of joined table `i`) with each `{ key_of = "…" }` column set to the key
/// of the user's row of that table, as `keys` (per joined table) holds it.
pub(super) fn with_keys(
    m: &UserMapping,
    i: usize,
    row: Option<&Row>,
    keys: &[HostValue],
) -> Option<Row> {
    let mut row = row?.clone();
    for r in m.rules.iter().filter(|r| r.at == i + 1) {
        let Some(table) = &r.key_of else { continue };
        let key = (m.joined.iter())
            .position(|j| j.before_user && &j.table == table)
            .and_then(|a| keys.get(a))
            .filter(|k| !k.is_null());
        if let (Some(k), Some(slot)) = (key, row.iter_mut().find(|(c, _)| c == &r.column)) {
            slot.1 = Assign::Value(k.clone());
        }
    }
    Some(row)
}
