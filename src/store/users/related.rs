//! Joined rows (one per user) and child rows (one per value of a multi-valued attribute),
//! written only where they change.

use crate::mapping::compile::{Child, PrimaryMark, UserMapping};
use crate::mapping::convert::{Assign, ChildItem, Row};
use crate::mapping::{ColumnKind, HostValue};
use crate::scim::Folded;
use crate::store::dialect::{cast_text, Dialect};
use crate::store::rows::{insert_returning_key, insert_values, key_of, set_list, where_parent};
use crate::store::sql::Sql;
use crate::store::{Conn, StoreError};

/// Inserts joined row `i` for a user who has none: its parent key, its conditions and
/// everything an insert would write.
pub(super) async fn insert_joined(
    c: &mut Conn,
    m: &UserMapping,
    i: usize,
    kv: &HostValue,
    row: Option<&Row>,
) -> Result<(), StoreError> {
    let j = &m.joined[i];
    let mut cols = vec![(j.parent.clone(), kv.clone())];
    cols.extend(j.conditions.iter().cloned());
    if let Some(row) = row {
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
    Ok(())
}

/// Deletes the user's row of joined table `i` (a `skip_if_absent` row whose values the
/// identity provider removed).
pub(super) async fn delete_joined(
    c: &mut Conn,
    m: &UserMapping,
    i: usize,
    kv: &HostValue,
) -> Result<(), StoreError> {
    let j = &m.joined[i];
    let mut q = Sql::new();
    q.raw("DELETE FROM ").ident(&j.table);
    where_parent(&mut q, &j.parent, kv.clone(), &j.conditions);
    c.exec(q).await?;
    Ok(())
}

/// Updates the given columns of joined row `i`.
pub(super) async fn update_joined(
    c: &mut Conn,
    m: &UserMapping,
    i: usize,
    kv: &HostValue,
    row: &Row,
) -> Result<(), StoreError> {
    if row.is_empty() {
        return Ok(());
    }
    let j = &m.joined[i];
    let mut q = Sql::new();
    q.raw("UPDATE ").ident(&j.table).raw(" SET ");
    set_list(&mut q, row);
    where_parent(&mut q, &j.parent, kv.clone(), &j.conditions);
    c.exec(q).await?;
    Ok(())
}

/// Which row holds the primary value once the child rows are written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Primary {
    /// An existing row (its key).
    Existing(String),
    /// The `n`th row inserted.
    Inserted(usize),
    None,
    /// Adoption keeps the application's primary: the pointer is left alone.
    Kept,
}

/// What writing one child attribute does, worked out before anything is written.
#[derive(Debug, Default)]
pub(super) struct ChildOps {
    deletes: Vec<String>,
    /// (row key, the columns that change)
    updates: Vec<(String, Vec<(String, HostValue)>)>,
    inserts: Vec<Vec<(String, HostValue)>>,
    primary: Option<Primary>,
}

impl ChildOps {
    pub(super) fn writes_rows(&self) -> bool {
        !self.deletes.is_empty() || !self.updates.is_empty() || !self.inserts.is_empty()
    }

    pub(super) fn primary(&self) -> Option<&Primary> {
        self.primary.as_ref()
    }

    /// A new user's rows: every value inserted (its primary flag already set by the plan).
    pub(super) fn for_new_user(items: &[ChildItem]) -> ChildOps {
        let mut ops = ChildOps::default();
        for item in items {
            let mut row = item.row.clone();
            row.extend(item.bookkeeping.iter().cloned());
            row.extend(item.insert_only.iter().cloned());
            if item.primary {
                ops.primary = Some(Primary::Inserted(ops.inserts.len()));
            }
            ops.inserts.push(row);
        }
        ops
    }
}

/// A child row as stored: its key, its value folded for matching, and the columns a write
/// may set.
struct StoredChild {
    key: String,
    value: Folded,
    columns: Vec<(String, HostValue)>,
}

/// Reads the user's rows of `child` with every column a write may set.
async fn stored_children(
    c: &mut Conn,
    d: Dialect,
    child: &Child,
    kv: &HostValue,
) -> Result<Vec<StoredChild>, StoreError> {
    let mut cols: Vec<(&str, ColumnKind)> = Vec::new();
    for r in child.rules.iter().filter(|r| r.writes()) {
        if !cols.iter().any(|(c, _)| *c == r.column) {
            cols.push((&r.column, r.kind));
        }
    }
    if let PrimaryMark::Flag { column, on, .. } = &child.primary {
        let kind = match on {
            HostValue::Bool(_) => ColumnKind::Bool,
            _ => ColumnKind::Int,
        };
        if !cols.iter().any(|(c, _)| c == column) {
            cols.push((column, kind));
        }
    }
    let value_col = child.rules[child.value_rule].column.as_str();
    let value_at = cols.iter().position(|(c, _)| *c == value_col).unwrap_or(0);
    let mut q = Sql::new();
    q.raw("SELECT ");
    cast_text(&mut q, d, None, &child.key.name);
    for (col, _) in &cols {
        q.raw(", ");
        cast_text(&mut q, d, None, col);
    }
    q.raw(" FROM ").ident(&child.table);
    where_parent(&mut q, &child.parent, kv.clone(), &child.conditions);
    q.raw(" ORDER BY ").ident(&child.key.name);
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| {
            let columns: Vec<(String, HostValue)> = cols
                .iter()
                .enumerate()
                .map(|(i, (col, kind))| {
                    (
                        col.to_string(),
                        HostValue::from_db_text(*kind, r.get(i + 1)),
                    )
                })
                .collect();
            StoredChild {
                key: r.get(0).unwrap_or("").to_string(),
                value: Folded::new(r.get(value_at + 1).unwrap_or("")),
                columns,
            }
        })
        .collect())
}

/// Works out how to make the user's rows of `child` hold `items`: rows whose value matches
/// keep their key (tickets may reference it) and get only the columns that differ; new values
/// are inserted; the others deleted — or, when `merge` (adoption), kept, with the
/// application's primary left as it is.
///
/// `pointer_set`: for a pointer-marked child, whether the user's pointer holds a key now.
pub(super) async fn plan_children(
    c: &mut Conn,
    d: Dialect,
    child: &Child,
    kv: &HostValue,
    items: &[ChildItem],
    merge: bool,
    pointer_set: bool,
) -> Result<ChildOps, StoreError> {
    let stored = stored_children(c, d, child, kv).await?;
    let value_col = child.rules[child.value_rule].column.as_str();
    let flag = match &child.primary {
        PrimaryMark::Flag { column, on, off } => Some((column.as_str(), on, off)),
        _ => None,
    };
    let host_has_primary = match flag {
        Some((col, on, _)) => stored.iter().any(|s| {
            s.columns
                .iter()
                .any(|(c, v)| c == col && v.same_as_stored(on))
        }),
        None if matches!(child.primary, PrimaryMark::Pointer { .. }) => {
            pointer_set && !stored.is_empty()
        }
        None => !stored.is_empty(),
    };
    let mut ops = ChildOps::default();
    let mut kept: Vec<&str> = Vec::new();
    for item in items {
        // In a merge the host's primary stays: new rows are not primary, unless the user has
        // no primary value yet.
        let make_primary = item.primary && !(merge && host_has_primary);
        let mut wanted = item.row.clone();
        if let Some((col, on, off)) = flag {
            wanted.retain(|(c, _)| c != col);
            if !merge || !host_has_primary {
                let v = if make_primary { on } else { off };
                wanted.push((col.to_string(), v.clone()));
            }
        }
        match stored
            .iter()
            .find(|s| s.value == item.value && !kept.contains(&s.key.as_str()))
        {
            Some(s) => {
                kept.push(&s.key);
                let differs = |(col, v): &(String, HostValue)| {
                    !s.columns
                        .iter()
                        .any(|(c, sv)| c == col && v.same_as_stored(sv))
                };
                // The row was matched by its value as an identifier, so its value column keeps
                // the spelling it has (an address is the same address in any case).
                let mut changed: Vec<(String, HostValue)> = wanted
                    .into_iter()
                    .filter(|(col, _)| col != value_col)
                    .filter(|x| differs(x))
                    .collect();
                if !changed.is_empty() {
                    changed.extend(item.bookkeeping.iter().filter(|x| differs(x)).cloned());
                }
                if !changed.is_empty() {
                    ops.updates.push((s.key.clone(), changed));
                }
                if make_primary {
                    ops.primary = Some(Primary::Existing(s.key.clone()));
                }
            }
            None => {
                let mut row = wanted;
                row.extend(item.bookkeeping.iter().cloned());
                row.extend(item.insert_only.iter().cloned());
                if make_primary {
                    ops.primary = Some(Primary::Inserted(ops.inserts.len()));
                }
                ops.inserts.push(row);
            }
        }
    }
    if merge {
        if host_has_primary {
            ops.primary = Some(Primary::Kept);
        }
    } else {
        ops.deletes = stored
            .iter()
            .filter(|s| !kept.contains(&s.key.as_str()))
            .map(|s| s.key.clone())
            .collect();
    }
    if ops.primary.is_none() {
        ops.primary = Some(Primary::None);
    }
    Ok(ops)
}

/// Writes what [`plan_children`] worked out; returns the key of the primary row (`Kept`
/// when adoption leaves the application's primary alone).
pub(super) async fn run_children(
    c: &mut Conn,
    d: Dialect,
    child: &Child,
    kv: &HostValue,
    ops: ChildOps,
) -> Result<Primary, StoreError> {
    let child_key = |k: &str| key_of(child.key.kind, k).ok_or(StoreError::NotFound);
    // Removals first, so a value moving between rows never trips a unique index.
    for k in &ops.deletes {
        let mut q = Sql::new();
        q.raw("DELETE FROM ")
            .ident(&child.table)
            .raw(" WHERE ")
            .ident(&child.key.name)
            .raw(" = ")
            .bind(child_key(k)?);
        c.exec(q).await?;
    }
    for (k, cols) in &ops.updates {
        let row: Row = cols
            .iter()
            .map(|(c, v)| (c.clone(), Assign::Value(v.clone())))
            .collect();
        let mut q = Sql::new();
        q.raw("UPDATE ").ident(&child.table).raw(" SET ");
        set_list(&mut q, &row);
        q.raw(" WHERE ")
            .ident(&child.key.name)
            .raw(" = ")
            .bind(child_key(k)?);
        c.exec(q).await?;
    }
    let mut inserted = Vec::new();
    for row in ops.inserts {
        let mut cols = vec![(child.parent.clone(), kv.clone())];
        cols.extend(child.conditions.iter().cloned());
        cols.extend(row);
        inserted.push(insert_returning_key(c, d, &child.table, &child.key, cols).await?);
    }
    Ok(match ops.primary {
        Some(Primary::Inserted(n)) => inserted
            .get(n)
            .map_or(Primary::None, |k| Primary::Existing(k.clone())),
        Some(p) => p,
        None => Primary::None,
    })
}

/// The value a primary pointer column should hold, when it should change: `None` when it
/// already holds it, or adoption keeps the application's.
pub(super) fn pointer_value(
    kind: ColumnKind,
    primary: &Primary,
    stored: Option<&HostValue>,
) -> Result<Option<HostValue>, StoreError> {
    let want = match primary {
        Primary::Kept => return Ok(None),
        Primary::Existing(k) => key_of(kind, k).ok_or(StoreError::NotFound)?,
        Primary::Inserted(_) => return Ok(None),
        // No value left: the application's "none" (osTicket: 0).
        Primary::None if kind == ColumnKind::Int => HostValue::Int(0),
        Primary::None => HostValue::Null(kind),
    };
    Ok(match stored {
        Some(s) if want.same_as_stored(s) => None,
        _ => Some(want),
    })
}
