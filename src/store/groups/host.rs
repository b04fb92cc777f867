//! Host group rows and host membership rows, for mappings with a `[groups]` section.

use serde_json::Value;

use crate::mapping::compile::{GroupMapping, UserMapping};
use crate::mapping::convert::{row_for, Row};
use crate::mapping::WriteMode;
use crate::mapping::{ColumnKind, HostValue};
use crate::store::dialect::Dialect;

use super::{GroupPlanned, CHUNK};
use crate::store::dialect::{self, HOST_ALIAS};
use crate::store::predicate::{self, PredCtx};
use crate::store::rows::{insert_returning_key, key_of, set_list};
use crate::store::sql::Sql;
use crate::store::{Conn, StoreError};

pub(super) async fn host_key(c: &mut Conn, id: &str) -> Result<Option<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT host_key FROM scim_groups WHERE id = ")
        .text(id);
    Ok(c.row(q).await?.and_then(|r| r.get(0).map(str::to_string)))
}

pub(super) fn typed(kind: ColumnKind, key: &str) -> Result<HostValue, StoreError> {
    key_of(kind, key).ok_or_else(|| StoreError::Other(format!("key {key:?} is not an integer")))
}

/// The constant columns of a membership row.
pub(super) fn member_constants(g: &GroupMapping) -> Result<Vec<(String, HostValue)>, StoreError> {
    Ok(row_for(&g.members.rules, &Value::Null, WriteMode::Insert)
        .map_err(|e| StoreError::Other(e.detail))?
        .into_iter()
        .map(|(c, a)| (c, a.insert_value()))
        .collect())
}

/// ` AND <const column> = ? …`: what makes a membership row the bridge's (timestamps aside).
pub(super) fn member_identity(q: &mut Sql, g: &GroupMapping) {
    for r in &g.members.rules {
        if let crate::mapping::compile::Source::Const(v) = &r.source {
            q.raw(" AND ").ident(&r.column).raw(" = ").bind(v.clone());
        }
    }
}

/// Inserts the membership rows the host lacks.
pub(super) async fn host_add(
    c: &mut Conn,
    d: Dialect,
    g: &GroupMapping,
    hk: &str,
    users: &[String],
) -> Result<(), StoreError> {
    let m = &g.members;
    let gk = typed(m.group_kind, hk)?;
    let consts = member_constants(g)?;
    for chunk in users.chunks(CHUNK) {
        let mut q = Sql::new();
        q.raw("SELECT ");
        dialect::cast_text(&mut q, d, None, &m.user);
        q.raw(" FROM ")
            .ident(&m.table)
            .raw(" WHERE ")
            .ident(&m.group)
            .raw(" = ")
            .bind(gk.clone());
        member_identity(&mut q, g);
        q.raw(" AND ").ident(&m.user).raw(" IN (");
        for (i, u) in chunk.iter().enumerate() {
            if i > 0 {
                q.raw(", ");
            }
            q.bind(typed(m.user_kind, u)?);
        }
        q.raw(")");
        let present: Vec<String> = c
            .rows(q)
            .await?
            .into_iter()
            .filter_map(|r| r.get(0).map(str::to_string))
            .collect();
        let missing: Vec<&String> = chunk.iter().filter(|u| !present.contains(u)).collect();
        if missing.is_empty() {
            continue;
        }
        let mut q = Sql::new();
        q.raw("INSERT INTO ")
            .ident(&m.table)
            .raw(" (")
            .ident(&m.group)
            .raw(", ")
            .ident(&m.user);
        for (col, _) in &consts {
            q.raw(", ").ident(col);
        }
        q.raw(") VALUES ");
        for (i, u) in missing.iter().enumerate() {
            if i > 0 {
                q.raw(", ");
            }
            q.raw("(")
                .bind(gk.clone())
                .raw(", ")
                .bind(typed(m.user_kind, u)?);
            for (_, v) in &consts {
                q.raw(", ").bind(v.clone());
            }
            q.raw(")");
        }
        c.exec(q).await?;
    }
    Ok(())
}

/// Deletes exactly the bridge's membership rows of these users in this group.
pub(super) async fn host_remove(
    c: &mut Conn,
    g: &GroupMapping,
    hk: &str,
    users: &[String],
) -> Result<(), StoreError> {
    let m = &g.members;
    let gk = typed(m.group_kind, hk)?;
    for chunk in users.chunks(CHUNK) {
        let mut q = Sql::new();
        q.raw("DELETE FROM ")
            .ident(&m.table)
            .raw(" WHERE ")
            .ident(&m.group)
            .raw(" = ")
            .bind(gk.clone());
        member_identity(&mut q, g);
        q.raw(" AND ").ident(&m.user).raw(" IN (");
        for (i, u) in chunk.iter().enumerate() {
            if i > 0 {
                q.raw(", ");
            }
            q.bind(typed(m.user_kind, u)?);
        }
        q.raw(")");
        c.exec(q).await?;
    }
    Ok(())
}

/// Writes the host group row for a new bridge group: links an existing host group with the
/// same name (`groups.match`) that no other pushed group holds, or inserts one.
pub(super) async fn host_group_create(
    c: &mut Conn,
    d: Dialect,
    g: &GroupMapping,
    id: &str,
    p: &GroupPlanned,
) -> Result<(), StoreError> {
    let Some((insert, update)) = &p.host_rows else {
        return Ok(());
    };
    let mut existing = None;
    if let Some(col) = &g.match_column {
        let mut q = Sql::new();
        q.raw("SELECT ");
        dialect::cast_text(&mut q, d, Some(HOST_ALIAS), &g.key.name);
        q.raw(" FROM ")
            .ident(&g.table)
            .raw(" ")
            .ident(HOST_ALIAS)
            .raw(" WHERE ");
        dialect::ci_equals(&mut q, d, HOST_ALIAS, col, p.display_name.trim());
        // Only the group rows (`groups.scope`): a user with that surname is not the group.
        if let Some(scope) = crate::mapping::Pred::conditions(&g.scope) {
            let ctx = PredCtx {
                dialect: d,
                host_table: &g.table,
                key: &g.key.name,
                key_kind: g.key.kind,
                users: None,
            };
            q.raw(" AND ");
            predicate::render(&mut q, &ctx, &scope);
        }
        q.raw(" ORDER BY ")
            .ident(HOST_ALIAS)
            .raw(".")
            .ident(&g.key.name)
            .raw(" LIMIT 2");
        let found: Vec<String> = c
            .rows(q)
            .await?
            .into_iter()
            .filter_map(|r| r.get(0).map(str::to_string))
            .collect();
        if let [one] = found.as_slice() {
            let mut q = Sql::new();
            q.raw("SELECT id FROM scim_groups WHERE host_key = ")
                .text(one);
            if c.row(q).await?.is_none() {
                existing = Some(one.clone());
            }
        }
    }
    let hk = match existing {
        Some(k) => {
            update_host_group(c, g, &k, update).await?;
            k
        }
        None => {
            let mut cols: Vec<(String, HostValue)> = insert
                .iter()
                .map(|(c, a)| (c.clone(), a.insert_value()))
                .collect();
            // A new group row is in the groups' scope: its single values are written.
            for s in g.scope.iter().filter(|s| !s.negate) {
                if let ([v], false) = (
                    s.values.as_slice(),
                    cols.iter().any(|(c, _)| c == &s.column),
                ) {
                    cols.push((s.column.clone(), v.clone()));
                }
            }
            insert_returning_key(c, d, &g.table, &g.key, cols).await?
        }
    };
    let mut q = Sql::new();
    q.raw("UPDATE scim_groups SET host_key = ")
        .text(&hk)
        .raw(" WHERE id = ")
        .text(id);
    c.exec(q).await?;
    Ok(())
}

pub(super) async fn update_host_group(
    c: &mut Conn,
    g: &GroupMapping,
    hk: &str,
    row: &Row,
) -> Result<(), StoreError> {
    if row.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new();
    q.raw("UPDATE ").ident(&g.table).raw(" SET ");
    set_list(&mut q, row);
    q.raw(" WHERE ")
        .ident(&g.key.name)
        .raw(" = ")
        .bind(typed(g.key.kind, hk)?);
    c.exec(q).await?;
    Ok(())
}

/// A hard-deleted user's membership rows in host groups (they would point at nothing).
pub async fn remove_host_memberships(
    c: &mut Conn,
    users: &UserMapping,
    user_key: &str,
) -> Result<(), StoreError> {
    let Some(g) = &users.host_groups else {
        return Ok(());
    };
    let mut q = Sql::new();
    q.raw("DELETE FROM ")
        .ident(&g.members.table)
        .raw(" WHERE ")
        .ident(&g.members.user)
        .raw(" = ")
        .bind(typed(g.members.user_kind, user_key)?);
    c.exec(q).await?;
    Ok(())
}
