//! `[[users.grants]]` applied: what membership of a pushed group gives a user, written and
//! taken back inside the transaction of the write that changed it (a membership change, a
//! rename or deletion of the group, a user deactivated, reactivated or deleted).
//!
//! Rules, in the order they are checked:
//! - a user *wants* a group's grant while it is a member of a pushed group of that name, is
//!   not deleted over SCIM, and the identity provider's last view of it is not `active = false`;
//! - a grant is *held* when the bridge wrote it (`scim_grants`). The bridge writes one only to
//!   a row it may change (never to a protected row) and only when the row lacks it; a user
//!   who already had the role from the application holds nothing, so leaving the group takes
//!   nothing away from it;
//! - taking a grant back writes `otherwise` only into columns that still hold the granted
//!   value, and deletes only the granted row: whatever the application changed meanwhile
//!   stays;
//! - a row protected only by what a held grant explains (see `mapping::grants`) stays
//!   writable by the bridge; anything else protecting it still refuses.
//!
//! Every write is change-only: a user whose grants already match writes nothing.

use std::collections::BTreeSet;

use crate::mapping::compile::{Grant, UserMapping};
use crate::mapping::grants::without_grants;
use crate::mapping::HostValue;
use crate::scim::Folded;
use crate::store::dialect::{Dialect, HOST_ALIAS};
use crate::store::predicate::{self, PredCtx};
use crate::store::rows::where_parent;
use crate::store::sql::Sql;
use crate::store::{Conn, StoreError};

use super::read::{fetch_host, where_key};
use super::{key_value, HostUser};

/// Refuses a write to a row the mapping protects — unless every protection it meets is
/// explained by a grant the bridge holds for it.
pub(crate) async fn unprotected(
    c: &mut Conn,
    d: Dialect,
    m: &UserMapping,
    u: &HostUser,
) -> Result<(), StoreError> {
    let Some(i) = u.protected else {
        return Ok(());
    };
    let refuse = |i: usize| {
        StoreError::Protected(
            m.protect
                .get(i)
                .map_or_else(String::new, |p| p.reason.clone()),
        )
    };
    if m.grants.is_empty() {
        return Err(refuse(i));
    }
    let held = held(c, m, &u.key).await?;
    let held: Vec<&Grant> = m
        .grants
        .iter()
        .filter(|g| held.contains(&digest(g)))
        .collect();
    if held.is_empty() {
        return Err(refuse(i));
    }
    let mut narrowed = m.clone();
    for p in &mut narrowed.protect {
        p.pred = without_grants(&p.pred, &held);
    }
    let kv = key_value(m, &u.key).ok_or(StoreError::NotFound)?;
    let mut q = Sql::new();
    q.raw("SELECT 1");
    predicate::protected_column(&mut q, &PredCtx::users(d, &narrowed), &narrowed);
    q.raw(" FROM ").ident(&m.table).raw(" ").ident(HOST_ALIAS);
    predicate::joins(&mut q, m);
    where_key(&mut q, m, d, kv);
    let still = c
        .row(q)
        .await?
        .and_then(|r| r.get(1).and_then(|s| s.parse::<usize>().ok()));
    match still {
        Some(i) => Err(refuse(i)),
        None => Ok(()),
    }
}

/// Brings the user's grants in line with its memberships and state: grants what it now
/// wants and lacks, takes back what the bridge granted and it no longer wants.
pub(crate) async fn sync(
    c: &mut Conn,
    d: Dialect,
    m: &UserMapping,
    key: &str,
) -> Result<(), StoreError> {
    if m.grants.is_empty() {
        return Ok(());
    }
    let wanted = wanted(c, m, key).await?;
    let held = held(c, m, key).await?;
    let groups: BTreeSet<&str> = m.grants.iter().map(|g| g.group.as_str()).collect();
    for group in groups {
        let digest = Folded::new(group).digest();
        let grants: Vec<&Grant> = m.grants.iter().filter(|g| g.group == group).collect();
        match (wanted.contains(group), held.contains(&digest)) {
            (true, false) => {
                if let Some(u) = fetch_host(c, m, d, key, true).await? {
                    if unprotected(c, d, m, &u).await.is_ok() && give(c, d, m, key, &grants).await?
                    {
                        record(c, m, key, &digest, true).await?;
                        audit(c, key, "grant", &grants).await?;
                    }
                }
            }
            (false, true) => {
                if take_back(c, d, m, key, &grants).await? {
                    audit(c, key, "revoke", &grants).await?;
                }
                record(c, m, key, &digest, false).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The folded names of the grant groups the user is a member of, none when it is deleted
/// over SCIM or was last sent `active = false`.
async fn wanted(c: &mut Conn, m: &UserMapping, key: &str) -> Result<BTreeSet<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT origin, resource FROM scim_users WHERE host_table = ")
        .text(&m.table)
        .raw(" AND host_key = ")
        .text(key);
    if let Some(r) = c.row(q).await? {
        let resource: serde_json::Value =
            serde_json::from_str(r.get(1).unwrap_or("{}")).unwrap_or_default();
        if r.get(0) == Some(super::ORIGIN_DELETED) || resource["active"] == false {
            return Ok(BTreeSet::new());
        }
    }
    let mut q = Sql::new();
    q.raw("SELECT g.display_name FROM scim_groups g JOIN scim_group_members gm ON gm.group_id = g.id WHERE gm.member_key = ")
        .text(key);
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(|n| Folded::new(n).as_str().to_string()))
        .filter(|n| m.grants.iter().any(|g| &g.group == n))
        .collect())
}

fn digest(g: &Grant) -> String {
    Folded::new(&g.group).digest()
}

/// Digests of the groups whose grants the bridge wrote for this user.
async fn held(c: &mut Conn, m: &UserMapping, key: &str) -> Result<BTreeSet<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT grant_group FROM scim_grants WHERE host_table = ")
        .text(&m.table)
        .raw(" AND host_key = ")
        .text(key);
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .collect())
}

async fn record(
    c: &mut Conn,
    m: &UserMapping,
    key: &str,
    digest: &str,
    held: bool,
) -> Result<(), StoreError> {
    let mut q = Sql::new();
    if held {
        q.raw("INSERT INTO scim_grants (host_table, host_key, grant_group) VALUES (")
            .text(&m.table)
            .raw(", ")
            .text(key)
            .raw(", ")
            .text(digest)
            .raw(")");
    } else {
        q.raw("DELETE FROM scim_grants WHERE host_table = ")
            .text(&m.table)
            .raw(" AND host_key = ")
            .text(key)
            .raw(" AND grant_group = ")
            .text(digest);
    }
    c.exec(q).await?;
    Ok(())
}

/// Forgets the grants of a user whose row is gone.
pub(crate) async fn forget(c: &mut Conn, m: &UserMapping, key: &str) -> Result<(), StoreError> {
    if m.grants.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new();
    q.raw("DELETE FROM scim_grants WHERE host_table = ")
        .text(&m.table)
        .raw(" AND host_key = ")
        .text(key);
    c.exec(q).await?;
    Ok(())
}

async fn audit(c: &mut Conn, key: &str, op: &str, grants: &[&Grant]) -> Result<(), StoreError> {
    let mut what: Vec<String> = Vec::new();
    for g in grants {
        what.extend(g.set.iter().map(|(col, _)| col.clone()));
        what.extend(g.row.iter().map(|r| r.table.clone()));
    }
    crate::store::audit::record(c, "User", key, None, op, &what).await
}

/// What one column of the user's row holds now, as text.
async fn current(
    c: &mut Conn,
    d: Dialect,
    m: &UserMapping,
    kv: &HostValue,
    column: &str,
) -> Result<Option<String>, StoreError> {
    let row = super::user_columns(c, d, m, kv, &[column]).await?;
    Ok(row.and_then(|r| r.get(0).map(str::to_string)))
}

fn holds(stored: Option<&str>, v: &HostValue) -> bool {
    match stored {
        None => v.is_null(),
        Some(s) => !v.is_null() && v.loosely_equals(&HostValue::Text(s.to_string())),
    }
}

/// Sets `column` to `v` on the user's row.
async fn set(
    c: &mut Conn,
    m: &UserMapping,
    kv: &HostValue,
    column: &str,
    v: &HostValue,
) -> Result<(), StoreError> {
    let mut q = Sql::new();
    q.raw("UPDATE ")
        .ident(&m.table)
        .raw(" SET ")
        .ident(column)
        .raw(" = ")
        .bind(v.clone())
        .raw(" WHERE ")
        .ident(&m.key.name)
        .raw(" = ")
        .bind(kv.clone());
    c.exec(q).await?;
    Ok(())
}

/// Writes what the grants give that the row lacks; whether anything was written.
async fn give(
    c: &mut Conn,
    d: Dialect,
    m: &UserMapping,
    key: &str,
    grants: &[&Grant],
) -> Result<bool, StoreError> {
    let kv = key_value(m, key).ok_or(StoreError::NotFound)?;
    let mut wrote = false;
    for g in grants {
        for (col, v) in &g.set {
            if !holds(current(c, d, m, &kv, col).await?.as_deref(), v) {
                set(c, m, &kv, col, v).await?;
                wrote = true;
            }
        }
        if let Some(r) = &g.row {
            let mut q = Sql::new();
            q.raw("SELECT 1 FROM ").ident(&r.table);
            where_parent(&mut q, &r.parent, kv.clone(), &r.values);
            if c.row(q).await?.is_none() {
                let mut q = Sql::new();
                q.raw("INSERT INTO ")
                    .ident(&r.table)
                    .raw(" (")
                    .ident(&r.parent);
                for (col, _) in &r.values {
                    q.raw(", ").ident(col);
                }
                q.raw(") VALUES (").bind(kv.clone());
                for (_, v) in &r.values {
                    q.raw(", ").bind(v.clone());
                }
                q.raw(")");
                c.exec(q).await?;
                wrote = true;
            }
        }
    }
    Ok(wrote)
}

/// Undoes what the grants gave, where it is still what they gave; whether anything was
/// written.
async fn take_back(
    c: &mut Conn,
    d: Dialect,
    m: &UserMapping,
    key: &str,
    grants: &[&Grant],
) -> Result<bool, StoreError> {
    let Some(kv) = key_value(m, key) else {
        return Ok(false);
    };
    let mut wrote = false;
    for g in grants {
        for (col, v) in &g.set {
            let Some((_, back)) = g.otherwise.iter().find(|(c, _)| c == col) else {
                continue;
            };
            if holds(current(c, d, m, &kv, col).await?.as_deref(), v) {
                set(c, m, &kv, col, back).await?;
                wrote = true;
            }
        }
        if let Some(r) = &g.row {
            let mut q = Sql::new();
            q.raw("DELETE FROM ").ident(&r.table);
            where_parent(&mut q, &r.parent, kv.clone(), &r.values);
            wrote |= c.exec(q).await? > 0;
        }
    }
    Ok(wrote)
}

/// Forgets what was granted under `key` before this row held it (a reused key, see
/// `fresh_link_sql`): a later revoke must not take back what this row never got.
pub(super) fn forget_sql(m: &UserMapping, key: &str) -> Sql {
    let mut q = Sql::new();
    q.raw("DELETE FROM scim_grants WHERE host_table = ")
        .text(&m.table)
        .raw(" AND host_key = ")
        .text(key);
    q
}
