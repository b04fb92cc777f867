//! Joined rows (one per user) and child rows (one per value of a multi-valued attribute).

use crate::mapping::compile::{Child, PrimaryMark, UserMapping};
use crate::mapping::convert::{Assign, ChildItem, Row, RowPlan};
use crate::mapping::{ColumnKind, HostValue};
use crate::store::dialect::Dialect;

use super::key_value;
use super::write::update_host;
use crate::store::dialect::{self, cast_text};
use crate::store::rows::{insert_returning_key, insert_values, key_of, set_list, where_parent};
use crate::store::sql::Sql;
use crate::store::{Conn, StoreError};

/// Joined rows, child rows and the primary pointer, after the main row is written.
pub(super) async fn write_related(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
    plan: &RowPlan,
) -> Result<(), StoreError> {
    let kv = key_value(m, key).ok_or(StoreError::NotFound)?;
    for (i, j) in m.joined.iter().enumerate() {
        let mut q = Sql::new();
        q.raw("SELECT CAST(COUNT(*) AS ")
            .raw(dialect::text_type(d))
            .raw(") FROM ")
            .ident(&j.table);
        where_parent(&mut q, &j.parent, kv.clone(), &j.conditions);
        let exists = c
            .row(q)
            .await?
            .and_then(|r| r.get(0).and_then(|s| s.parse::<i64>().ok()))
            .unwrap_or(0)
            > 0;
        if exists {
            let row = &plan.tables[i + 1];
            if row.is_empty() {
                continue;
            }
            let mut q = Sql::new();
            q.raw("UPDATE ").ident(&j.table).raw(" SET ");
            set_list(&mut q, row);
            where_parent(&mut q, &j.parent, kv.clone(), &j.conditions);
            c.exec(q).await?;
        } else {
            let mut cols = vec![(j.parent.clone(), kv.clone())];
            cols.extend(j.conditions.iter().cloned());
            if let Some(row) = &plan.joined_insert[i] {
                cols.extend(insert_values(row));
            }
            let mut q = Sql::new();
            q.raw("INSERT INTO ")
                .ident(&j.table)
                .raw(" (")
                .ident_list(cols.iter().map(|(c, _)| c.as_str()))
                .raw(") VALUES (");
            for (n, (_, v)) in cols.iter().enumerate() {
                if n > 0 {
                    q.raw(", ");
                }
                q.bind(v.clone());
            }
            q.raw(")");
            c.exec(q).await?;
        }
    }
    for (child, items) in m.children.iter().zip(&plan.children) {
        if let Some(items) = items {
            sync_children(c, m, d, child, key, &kv, items).await?;
        }
    }
    Ok(())
}

/// Makes the user's rows in `child` hold exactly `items`: rows whose value matches are
/// updated in place (their keys, which tickets may reference, survive), new values inserted,
/// the rest deleted; then the primary is marked.
pub(super) async fn sync_children(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    child: &Child,
    key: &str,
    kv: &HostValue,
    items: &[ChildItem],
) -> Result<(), StoreError> {
    let value_col = &child.rules[child.value_rule].column;
    let mut q = Sql::new();
    q.raw("SELECT ");
    cast_text(&mut q, d, None, &child.key.name);
    q.raw(", ");
    cast_text(&mut q, d, None, value_col);
    q.raw(" FROM ").ident(&child.table);
    where_parent(&mut q, &child.parent, kv.clone(), &child.conditions);
    let rows: Vec<(String, crate::scim::Folded)> = c
        .rows(q)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.get(0).unwrap_or("").to_string(),
                crate::scim::Folded::new(r.get(1).unwrap_or("")),
            )
        })
        .collect();
    let child_key = |k: &str| key_of(child.key.kind, k).ok_or(StoreError::NotFound);
    let mut primary_key: Option<String> = None;
    let mut existing: Vec<(String, crate::scim::Folded)> = Vec::new();
    let mut doomed: Vec<String> = Vec::new();
    for (k, v) in rows {
        if items.iter().any(|i| i.value == v) && !existing.iter().any(|(_, x)| x == &v) {
            existing.push((k, v));
        } else {
            doomed.push(k);
        }
    }
    // Removals first, so a value moving between rows never trips a unique index.
    for k in &doomed {
        let mut q = Sql::new();
        q.raw("DELETE FROM ")
            .ident(&child.table)
            .raw(" WHERE ")
            .ident(&child.key.name)
            .raw(" = ")
            .bind(child_key(k)?);
        c.exec(q).await?;
    }
    for item in items {
        let row_key = match existing.iter().find(|(_, v)| v == &item.value) {
            Some((k, _)) => {
                let mut q = Sql::new();
                q.raw("UPDATE ").ident(&child.table).raw(" SET ");
                let row: Row = item
                    .row
                    .iter()
                    .map(|(c, v)| (c.clone(), Assign::Value(v.clone())))
                    .collect();
                set_list(&mut q, &row);
                q.raw(" WHERE ")
                    .ident(&child.key.name)
                    .raw(" = ")
                    .bind(child_key(k)?);
                c.exec(q).await?;
                k.clone()
            }
            None => {
                let mut cols = vec![(child.parent.clone(), kv.clone())];
                cols.extend(child.conditions.iter().cloned());
                cols.extend(item.row.iter().cloned());
                cols.extend(item.insert_only.iter().cloned());
                insert_returning_key(c, d, &child.table, &child.key, cols).await?
            }
        };
        if item.primary {
            primary_key = Some(row_key);
        }
    }
    if let PrimaryMark::Pointer { column, kind } = &child.primary {
        let v = match &primary_key {
            Some(k) => key_of(*kind, k).ok_or(StoreError::NotFound)?,
            // No value left: the application's "none" (osTicket: 0).
            None if *kind == ColumnKind::Int => HostValue::Int(0),
            None => HostValue::Null(*kind),
        };
        update_host(c, m, key, &vec![(column.clone(), Assign::Value(v))]).await?;
    }
    Ok(())
}
