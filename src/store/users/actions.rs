//! `[users.on_deactivate]` / `[users.on_reactivate]` carried out inside the write that
//! changes `active`: the user's columns the actions set (only those whose value differs) and
//! the rows of other tables keyed by the user that they delete.

use crate::mapping::compile::{Actions, UserMapping};
use crate::mapping::convert::{Assign, Row};
use crate::mapping::{ColumnKind, HostValue};
use crate::store::dialect::Dialect;
use crate::store::rows::where_parent;
use crate::store::sql::Sql;
use crate::store::{Conn, StoreError};

use super::key_value;
use super::write::update_host;

/// Runs `actions` for the user `key` (its row already locked by the write); whether any row
/// changed.
pub(super) async fn run_actions(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
    actions: &Actions,
) -> Result<bool, StoreError> {
    let kv = key_value(m, key).ok_or(StoreError::NotFound)?;
    let mut wrote = false;
    if !actions.set.is_empty() {
        let planned: Vec<(String, HostValue)> = actions.set.iter().collect();
        let stored = stored_values(c, m, d, &kv, &planned).await?;
        let row: Row = planned
            .into_iter()
            .zip(stored)
            .filter(|((_, v), s)| !v.same_as_stored(s))
            .map(|((col, v), _)| (col, Assign::Value(v)))
            .collect();
        wrote |= !row.is_empty();
        update_host(c, m, key, &row).await?;
    }
    for rows in &actions.delete {
        let mut q = Sql::new();
        q.raw("DELETE FROM ").ident(&rows.table);
        where_parent(&mut q, &rows.parent, kv.clone(), &rows.conditions);
        wrote |= c.exec(q).await? > 0;
    }
    Ok(wrote)
}

/// What the user's row holds in the columns `planned` sets, each parsed as its value's kind.
async fn stored_values(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    kv: &HostValue,
    planned: &[(String, HostValue)],
) -> Result<Vec<HostValue>, StoreError> {
    let columns: Vec<&str> = planned.iter().map(|(col, _)| col.as_str()).collect();
    let row = super::user_columns(c, d, m, kv, &columns)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(planned
        .iter()
        .enumerate()
        .map(|(i, (_, v))| HostValue::from_db_text(kind_of(v), row.get(i)))
        .collect())
}

/// The kind a value is compared as.
fn kind_of(v: &HostValue) -> ColumnKind {
    match v.plain() {
        HostValue::Null(k) => *k,
        HostValue::Int(_) => ColumnKind::Int,
        HostValue::Bool(_) => ColumnKind::Bool,
        HostValue::Timestamp(_) | HostValue::Date(_) => ColumnKind::Timestamp,
        _ => ColumnKind::Text,
    }
}
