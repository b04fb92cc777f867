//! Creating and modifying users: the host row, its related rows, the link and the audit entry
//! in one transaction — writing only what changes.

use serde_json::Value;

use crate::mapping::compile::{PrimaryMark, UserMapping};
use crate::mapping::convert::{Assign, Row, RowPlan};
use crate::mapping::model::When;
use crate::mapping::HostValue;
use crate::store::dialect::Dialect;

use super::actions::run_actions;
use super::link::{claims, link_new_row, link_origin, link_sql, tombstone, unlink};
use super::lookup::resolve_lookups;
use super::read::{attach_groups, fetch_host, fetch_user, groups_fold, record_then_fetch};
use super::related::{
    delete_joined, insert_joined, plan_children, pointer_value, run_children, update_joined,
    ChildOps, Primary,
};
use super::side_key;
use super::{
    key_value, live, CreateConflict, Created, HostUser, Planned, Stored, ORIGIN_DELETED,
    ORIGIN_IMPORT,
};
use crate::store::rows::{insert_returning_key, insert_values, set_list};
use crate::store::sql::Sql;
use crate::store::{Conn, Db, StoreError};

pub(super) async fn update_host(
    c: &mut Conn,
    m: &UserMapping,
    key: &str,
    row: &Row,
) -> Result<(), StoreError> {
    if row.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new();
    q.raw("UPDATE ").ident(&m.table).raw(" SET ");
    set_list(&mut q, row);
    q.raw(" WHERE ")
        .ident(&m.key.name)
        .raw(" = ")
        .bind(key_value(m, key).ok_or(StoreError::NotFound)?);
    c.exec(q).await?;
    Ok(())
}

/// The assignments of `row` (table `at`) that would change what is stored.
fn changed_only(m: &UserMapping, stored: &Stored, at: usize, row: &Row) -> Row {
    row.iter()
        .filter(|(col, a)| match (a, stored.get(m, at, col)) {
            (_, None) => true,
            (Assign::Value(v), Some(s)) => !v.same_as_stored(s),
            (Assign::Bits { mask, on }, Some(s)) => ((s.as_int().unwrap_or(0) & mask) != 0) != *on,
            (Assign::Lookup { .. } | Assign::Json { .. }, Some(_)) => true,
        })
        .cloned()
        .collect()
}

/// The SCIM attributes behind columns of table `at`, as the audit trail names them.
fn attributes_of(m: &UserMapping, at: usize, columns: &Row, out: &mut Vec<String>) {
    for (col, _) in columns {
        for r in m.rules.iter().filter(|r| r.at == at && &r.column == col) {
            for t in r.attrs() {
                let name = match &t.path.urn {
                    Some(urn) => format!("{urn}:{}", t.path.attr),
                    None => t.path.attr.clone(),
                };
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
}

/// The joined rows a write inserts (`missing`) and deletes (`dropped`), by index. A joined
/// row the user lacks is created when the write has something to put in it — never as a side
/// effect (a role row inserted for an agent by a no-op PATCH); a row created only with the
/// user (`on = "insert"`) never is.
fn joined_presence(
    m: &UserMapping,
    stored: &Stored,
    tables: &[Row],
    plan: &RowPlan,
) -> (Vec<usize>, Vec<usize>) {
    let missing = (0..m.joined.len())
        .filter(|i| !stored.joined.get(*i).copied().unwrap_or(true))
        .filter(|i| !tables[i + 1].is_empty() && m.joined[*i].on != When::Insert)
        .collect();
    let dropped = (0..m.joined.len())
        .filter(|i| plan.joined_delete.get(*i) == Some(&true))
        .filter(|i| stored.joined.get(*i).copied().unwrap_or(false))
        .collect();
    (missing, dropped)
}

/// Writes the user's row (`tables[0]`) and its joined rows: inserts the `missing`, deletes
/// the `dropped`, updates the others. Rows keyed by a user column (the login) follow it when
/// it changes; a missing row the user's row points at (`before_user`) is inserted and the
/// user's row pointed at it.
async fn write_user_rows(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
    plan: &RowPlan,
    tables: &[Row],
    (missing, dropped): (&[usize], &[usize]),
) -> Result<(), StoreError> {
    let mut parents = side_key::parents(c, m, d, key).await?;
    update_host(c, m, key, &tables[0]).await?;
    if side_key::moves(m, &tables[0]) {
        let before = std::mem::replace(&mut parents, side_key::parents(c, m, d, key).await?);
        side_key::follow(c, m, &before, &parents).await?;
    }
    for i in 0..parents.len() {
        let row = side_key::with_keys(m, i, plan.joined_insert[i].as_ref(), &parents);
        let pv = &parents[i];
        if missing.contains(&i) && m.joined[i].before_user {
            let (col, k) = side_key::insert_first(c, d, m, i, row.as_ref()).await?;
            parents[i] = k.clone();
            update_host(c, m, key, &vec![(col, Assign::Value(k))]).await?;
        } else if pv.is_null() {
            // No row can be keyed by a NULL (`check` warns about a nullable `user_column`).
        } else if missing.contains(&i) {
            insert_joined(c, m, i, pv, row.as_ref()).await?;
        } else if dropped.contains(&i) {
            delete_joined(c, m, i, pv).await?;
        } else {
            update_joined(c, m, i, pv, &tables[i + 1]).await?;
        }
    }
    Ok(())
}

/// Writes `plan` into the stored user `current`: the columns whose value differs from what
/// is stored, the joined rows that are missing or change, the child rows that change, and
/// the bookkeeping columns (`updated_at`) when anything else changed. Nothing at all when
/// nothing differs. Returns whether anything was written, and the attributes whose host data
/// changed.
async fn apply(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    current: &HostUser,
    plan: &mut RowPlan,
) -> Result<(bool, Vec<String>), StoreError> {
    let key = current.key.as_str();
    let kv = key_value(m, key).ok_or(StoreError::NotFound)?;
    let stored = current
        .stored
        .as_ref()
        .ok_or_else(|| StoreError::Other("a write needs the row as stored".into()))?;
    resolve_lookups(c, m, d, plan)
        .await?
        .map_err(StoreError::Invalid)?;
    super::json::fold_plan(m, plan, Some(stored))?;
    let mut tables: Vec<Row> = plan
        .tables
        .iter()
        .enumerate()
        .map(|(at, row)| changed_only(m, stored, at, row))
        .collect();
    let mut attrs = Vec::new();
    for (at, row) in tables.iter().enumerate() {
        attributes_of(m, at, row, &mut attrs);
    }
    let (missing, dropped) = joined_presence(m, stored, &tables, plan);
    for i in &dropped {
        let columns: Row = (m.rules.iter().filter(|r| r.at == i + 1))
            .map(|r| (r.column.clone(), Assign::Value(HostValue::Null(r.kind))))
            .collect();
        attributes_of(m, i + 1, &columns, &mut attrs);
    }
    let mut children: Vec<(usize, ChildOps)> = Vec::new();
    let mut pointers: Vec<(String, HostValue)> = Vec::new();
    for (ci, (child, items)) in m.children.iter().zip(&plan.children).enumerate() {
        let Some(items) = items else { continue };
        let pointer = match &child.primary {
            PrimaryMark::Pointer { column, .. } => stored.get(m, 0, column),
            _ => None,
        };
        let pointer_set = pointer.is_some_and(|p| {
            !p.is_null() && p.as_int() != Some(0) && p.display_text().is_some_and(|t| !t.is_empty())
        });
        let ops = plan_children(c, d, child, &kv, items, plan.merge_children, pointer_set).await?;
        let moves_pointer = match (&child.primary, &ops.primary()) {
            (PrimaryMark::Pointer { kind, .. }, Some(p)) => {
                matches!(p, Primary::Inserted(_)) || pointer_value(*kind, p, pointer)?.is_some()
            }
            _ => false,
        };
        if ops.writes_rows() || moves_pointer {
            attrs.push(child.attr.clone());
            children.push((ci, ops));
        }
    }
    if tables.iter().all(Vec::is_empty)
        && missing.is_empty()
        && dropped.is_empty()
        && children.is_empty()
    {
        return Ok((false, attrs));
    }
    for (at, row) in plan.bookkeeping.iter().enumerate() {
        if at == 0 || !tables[at].is_empty() {
            let extra = changed_only(m, stored, at, row);
            tables[at].extend(extra);
        }
    }
    write_user_rows(c, m, d, key, plan, &tables, (&missing, &dropped)).await?;
    for (ci, ops) in children {
        let child = &m.children[ci];
        let primary = run_children(c, d, child, &kv, ops).await?;
        if let PrimaryMark::Pointer { column, kind } = &child.primary {
            if let Some(v) = pointer_value(*kind, &primary, stored.get(m, 0, column))? {
                pointers.push((column.clone(), v));
            }
        }
    }
    let pointers: Row = pointers
        .into_iter()
        .map(|(c, v)| (c, Assign::Value(v)))
        .collect();
    update_host(c, m, key, &pointers).await?;
    Ok((true, attrs))
}

/// Inserts a new user's row, its joined rows and its child rows.
async fn insert_new(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    plan: &mut RowPlan,
) -> Result<String, StoreError> {
    resolve_lookups(c, m, d, plan)
        .await?
        .map_err(StoreError::Invalid)?;
    super::json::fold_plan(m, plan, None)?;
    // Rows the user's row points at first: their new keys go into it.
    let mut main = insert_values(plan.main());
    let mut learned: Vec<HostValue> = (m.joined.iter())
        .map(|j| HostValue::Null(j.user_column_kind))
        .collect();
    for (i, j) in m.joined.iter().enumerate().filter(|(_, j)| j.before_user) {
        let row = side_key::with_keys(m, i, plan.joined_insert[i].as_ref(), &learned);
        if row.is_some() || !j.skip_if_absent {
            let (col, k) = side_key::insert_first(c, d, m, i, row.as_ref()).await?;
            learned[i] = k.clone();
            main.push((col, k));
        }
    }
    let key = insert_returning_key(c, d, &m.table, &m.key, main).await?;
    let kv = key_value(m, &key).ok_or(StoreError::NotFound)?;
    side_key::own_key(c, m, 0, (&m.table, &m.key.name), &kv).await?;
    let parents = side_key::parents(c, m, d, &key).await?;
    for (i, pv) in parents.iter().enumerate() {
        let row = side_key::with_keys(m, i, plan.joined_insert[i].as_ref(), &parents);
        let first = m.joined[i].before_user;
        if !first && !pv.is_null() && (row.is_some() || !m.joined[i].skip_if_absent) {
            insert_joined(c, m, i, pv, row.as_ref()).await?;
        }
    }
    let mut pointers: Row = Vec::new();
    for (child, items) in m.children.iter().zip(&plan.children) {
        let Some(items) = items else { continue };
        let primary = run_children(c, d, child, &kv, ChildOps::for_new_user(items)).await?;
        if let PrimaryMark::Pointer { column, kind } = &child.primary {
            // The insert wrote the placeholder; the real key replaces it.
            if let Some(v) = pointer_value(*kind, &primary, None)? {
                pointers.push((column.clone(), Assign::Value(v)));
            }
        }
    }
    update_host(c, m, &key, &pointers).await?;
    Ok(key)
}

/// The link row's statement when what it records changed (else nothing to write).
fn link_if_changed(
    m: &UserMapping,
    key: &str,
    p: &Planned,
    current: Option<&super::Link>,
) -> Result<Option<Sql>, StoreError> {
    let same = current.is_some_and(|l| {
        l.user_name == p.user_name && l.external_id == p.external_id && l.resource == p.resource
    });
    (!same)
        .then(|| link_sql(m, key, p, current.is_some(), "scim"))
        .transpose()
}

/// The audit entry's attributes: those whose host data changed, the attributes kept only in
/// the bridge (no column maps them) whose value changed, and `externalId`.
fn audit_attributes(
    m: &UserMapping,
    host: Vec<String>,
    old: Option<&super::Link>,
    p: &Planned,
) -> Vec<String> {
    let mut out = host;
    let empty = Value::Object(Default::default());
    let mapped = |name: &str| {
        m.rules.iter().any(|r| {
            r.attrs().iter().any(|t| match &t.path.urn {
                Some(urn) => name == format!("{urn}:{}", t.path.attr),
                None => name == t.path.attr,
            })
        }) || m.children.iter().any(|c| c.attr == name)
    };
    let old_resource = old.map_or(&empty, |l| &l.resource);
    for a in crate::store::audit::changed_attributes(Some(old_resource), &p.resource) {
        if !mapped(&a) && !out.contains(&a) {
            out.push(a);
        }
    }
    if old.and_then(|l| l.external_id.clone()) != p.external_id {
        out.push("externalId".into());
    }
    out
}

/// Whether a user deleted over SCIM still has its row in scope — after bringing a
/// soft-deleted row back into scope when the scope says how (every `soft_delete` column has a
/// single value in `scope`, e.g. `is_deleted = 0`).
async fn restore_deleted(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
) -> Result<bool, StoreError> {
    if fetch_host(c, m, d, key, false).await?.is_some() {
        return Ok(true);
    }
    let restore: Option<Row> = m
        .soft_delete
        .iter()
        .map(|(col, _)| {
            m.scope
                .iter()
                .find(|s| s.column == col && !s.negate && s.values.len() == 1)
                .map(|s| (col.clone(), Assign::Value(s.values[0].clone())))
        })
        .collect();
    match restore {
        Some(row) if !row.is_empty() => {
            update_host(c, m, key, &row).await?;
            Ok(fetch_host(c, m, d, key, false).await?.is_some())
        }
        _ => Ok(false),
    }
}

/// Creates a user: adopts a matching unowned host row, or inserts a new one, and links it.
/// `insert` is written into a new row; an adopted row gets what `adopt` plans from the row
/// as stored (see [`crate::mapping::convert::Change::Adopt`]).
///
/// # Errors
/// Whatever `adopt` returns, or the store's error converted into `E`.
pub async fn create<E: From<StoreError>>(
    db: &Db,
    m: &UserMapping,
    mut insert: RowPlan,
    adopt: impl FnOnce(&HostUser) -> Result<RowPlan, E>,
    p: &Planned,
) -> Result<Result<Created, CreateConflict>, E> {
    let d = db.dialect;
    db.write(async |c| -> Result<_, E> {
        let super::link::Claims { owner, matches } = claims(c, m, d, &p.user_name).await?;
        let owner = match owner {
            Some((owner, origin))
                if origin == ORIGIN_DELETED && !restore_deleted(c, m, d, &owner).await? =>
            {
                // The row is gone: the identity provider's create makes a new user.
                unlink(c, m, &owner).await?;
                None
            }
            other => other,
        };
        let target = match owner {
            // Pre-linked by import, or deleted over SCIM with the row kept: adopted again.
            Some((owner, origin)) if origin == ORIGIN_IMPORT || origin == ORIGIN_DELETED => {
                Some(owner)
            }
            Some((owner, _)) => return Ok(Err(CreateConflict::Taken(owner))),
            None => match matches.as_slice() {
                [] => None,
                [one] if m.adopt => {
                    let origin = link_origin(c, m, one).await?;
                    if origin
                        .as_deref()
                        .is_some_and(|o| o != ORIGIN_IMPORT && o != ORIGIN_DELETED)
                    {
                        return Ok(Err(CreateConflict::Taken(one.clone())));
                    }
                    Some(one.clone())
                }
                [one] => return Ok(Err(CreateConflict::ExistsUnadopted(one.clone()))),
                many => return Ok(Err(CreateConflict::Ambiguous(many.to_vec()))),
            },
        };
        let (key, adopted, attrs, mut records) = match target {
            None => {
                let key = insert_new(c, m, d, &mut insert).await?;
                let mut attrs = crate::store::audit::changed_attributes(None, &p.resource);
                if p.external_id.is_some() {
                    attrs.push("externalId".into());
                }
                let records = link_new_row(c, d, m, &key, p).await?;
                (key, false, attrs, records)
            }
            Some(key) => {
                let current = fetch_user(c, m, d, &key, true, false)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                if let Some(p) = current.protected.and_then(|i| m.protect.get(i)) {
                    return Ok(Err(CreateConflict::Protected(key, p.reason.clone())));
                }
                let mut plan = adopt(&current)?;
                let (_, host) = apply(c, m, d, &current, &mut plan).await?;
                let attrs = audit_attributes(m, host, current.link.as_ref(), p);
                let records = vec![link_sql(m, &key, p, current.link.is_some(), "scim")?];
                (key, true, attrs, records)
            }
        };
        records.push(crate::store::audit::record_sql(
            "User",
            &key,
            Some(&p.user_name),
            if adopted { "adopt" } else { "create" },
            &attrs,
        ));
        // The link leads `records` on PostgreSQL (a MySQL create may have written it already).
        let link_first = d == Dialect::Postgres;
        let mut user = record_then_fetch(c, m, d, &key, adopted, records, link_first)
            .await?
            .ok_or_else(|| {
                StoreError::Other("created row not found (is it outside users.scope?)".into())
            })?;
        if !adopted {
            // Inserted now: in no group (its key's stale memberships were forgotten above).
            user.groups = Some(Vec::new());
        }
        Ok(Ok(Created { user, adopted }))
    })
    .await
}

/// Reads the current user and writes what `plan` derives from it, in one transaction with
/// the host row locked, so concurrent PATCHes apply in some serial order. Only what changes
/// is written; a request that changes nothing writes nothing at all (no audit entry, no
/// timestamp) and answers the user as stored.
///
/// # Errors
/// Whatever `plan` returns, or the store's error converted into `E`.
///
/// `delete` (a DELETE that deactivates): the user is then deleted as far as SCIM is concerned
/// — every later operation on its id answers 404 — while the application keeps the row.
pub async fn modify<E: From<StoreError>>(
    db: &Db,
    m: &UserMapping,
    key: &str,
    op: &str,
    delete: bool,
    plan: impl FnOnce(&HostUser) -> Result<Planned, E>,
) -> Result<HostUser, E> {
    let d = db.dialect;
    db.write(async |c| -> Result<HostUser, E> {
        // The groups come along where that costs no statement: a write that changes nothing
        // answers from this read.
        let current = fetch_user(c, m, d, key, true, groups_fold(d, true))
            .await?
            .ok_or(StoreError::NotFound)?;
        super::grants::unprotected(c, d, m, &current).await?;
        let current = live(current)?;
        // From here on the key as stored (`7`, not the `007` a client may have sent): links,
        // grants and audit entries are keyed by it.
        let key = current.key.clone();
        let key = key.as_str();
        let mut p = plan(&current)?;
        let (mut host_changed, host) = apply(c, m, d, &current, &mut p.row).await?;
        if let Some(change) = p.state {
            let acted = run_actions(c, m, d, key, m.actions(change)).await?;
            if acted && !host_changed {
                // The actions are the change: the bookkeeping columns follow it.
                if let Some(b) = p.row.bookkeeping.first() {
                    update_host(c, m, key, b).await?;
                }
            }
            host_changed |= acted;
        }
        if delete {
            tombstone(c, m, &current, &p.user_name).await?;
            super::grants::sync(c, d, m, key).await?;
            let attrs = audit_attributes(m, host, current.link.as_ref(), &p);
            crate::store::audit::record(c, "User", key, Some(&p.user_name), op, &attrs).await?;
            return Ok(current);
        }
        let mut records: Vec<Sql> = link_if_changed(m, key, &p, current.link.as_ref())?
            .into_iter()
            .collect();
        let linked = !records.is_empty();
        if !m.grants.is_empty() {
            // Grants follow the state the link records: it is written first.
            c.exec_all(std::mem::take(&mut records)).await?;
            super::grants::sync(c, d, m, key).await?;
        }
        let attrs = audit_attributes(m, host, current.link.as_ref(), &p);
        if !attrs.is_empty() {
            records.push(crate::store::audit::record_sql(
                "User",
                key,
                Some(&p.user_name),
                op,
                &attrs,
            ));
        }
        let mut user = if !host_changed && !linked {
            c.exec_all(records).await?;
            HostUser {
                stored: None,
                ..current
            }
        } else {
            // The link, when it changed and grants did not write it already, leads `records`.
            let link_first = linked && m.grants.is_empty();
            // A user's write changes no membership: the groups the locked read brought along
            // are still the user's; where it could not (MySQL), the re-read brings them.
            let groups = current.groups.is_none() && groups_fold(d, false);
            let mut user = record_then_fetch(c, m, d, key, groups, records, link_first)
                .await?
                .ok_or(StoreError::NotFound)?;
            if current.groups.is_some() {
                user.groups = current.groups;
            }
            user
        };
        if user.groups.is_none() {
            // The answer's groups, on this connection (not another checkout).
            attach_groups(c, std::slice::from_mut(&mut user)).await?;
        }
        Ok(user)
    })
    .await
}
