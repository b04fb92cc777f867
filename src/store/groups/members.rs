//! Membership changes as set operations in SQL (never by loading the member list), in the
//! bridge's table and, when the mapping has host groups, in the host's.

use crate::mapping::compile::UserMapping;
use crate::mapping::{ColumnKind, HostValue};
use crate::store::dialect::Dialect;

use super::host::{host_add, host_key, host_remove};
use super::{GroupRefusal, MemberChange, CHUNK};
use crate::store::dialect::{cast_text, HOST_ALIAS};
use crate::store::sql::Sql;
use crate::store::{Conn, StoreError};

/// Which of `keys` are not users of the host table.
pub(super) async fn unknown_users(
    c: &mut Conn,
    users: &UserMapping,
    d: Dialect,
    keys: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut unknown = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let typed: Vec<(String, Option<HostValue>)> = chunk
            .iter()
            .map(|k| {
                let v = match users.key.kind {
                    ColumnKind::Int => k.trim().parse().ok().map(HostValue::Int),
                    _ => Some(HostValue::Text(k.clone())),
                };
                (k.clone(), v)
            })
            .collect();
        let valid: Vec<&HostValue> = typed.iter().filter_map(|(_, v)| v.as_ref()).collect();
        let mut found: Vec<String> = Vec::new();
        if !valid.is_empty() {
            let mut q = Sql::new();
            q.raw("SELECT ");
            cast_text(&mut q, d, Some(HOST_ALIAS), &users.key.name);
            q.raw(" FROM ")
                .ident(&users.table)
                .raw(" ")
                .ident(HOST_ALIAS)
                .raw(" WHERE ")
                .ident(HOST_ALIAS)
                .raw(".")
                .ident(&users.key.name)
                .raw(" IN (");
            for (i, v) in valid.iter().enumerate() {
                if i > 0 {
                    q.raw(", ");
                }
                q.bind((*v).clone());
            }
            // A user deleted over SCIM is not a user any more.
            q.raw(") AND ");
            crate::store::predicate::not_deleted(
                &mut q,
                &crate::store::predicate::PredCtx::users(d, users),
            );
            found = c
                .rows(q)
                .await?
                .into_iter()
                .filter_map(|r| r.get(0).map(str::to_string))
                .collect();
        }
        unknown.extend(
            typed
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| !found.contains(k)),
        );
    }
    Ok(unknown)
}

pub(super) async fn add_members(
    c: &mut Conn,
    d: Dialect,
    id: &str,
    keys: &[String],
) -> Result<(), StoreError> {
    for chunk in keys.chunks(CHUNK) {
        let mut q = Sql::new();
        // Adding a present member is a no-op, as RFC 7644 §3.5.2.1 asks.
        q.raw(if d == Dialect::Mysql {
            "INSERT IGNORE INTO"
        } else {
            "INSERT INTO"
        });
        q.raw(" scim_group_members (group_id, member_key) VALUES ");
        for (i, k) in chunk.iter().enumerate() {
            if i > 0 {
                q.raw(", ");
            }
            q.raw("(").text(id).raw(", ").text(k).raw(")");
        }
        if d != Dialect::Mysql {
            q.raw(" ON CONFLICT DO NOTHING");
        }
        c.exec(q).await?;
    }
    Ok(())
}

pub(super) async fn remove_members(
    c: &mut Conn,
    id: &str,
    keys: Option<&[String]>,
) -> Result<(), StoreError> {
    match keys {
        None => {
            let mut q = Sql::new();
            q.raw("DELETE FROM scim_group_members WHERE group_id = ")
                .text(id);
            c.exec(q).await?;
        }
        Some(keys) => {
            for chunk in keys.chunks(CHUNK) {
                let mut q = Sql::new();
                q.raw("DELETE FROM scim_group_members WHERE group_id = ")
                    .text(id)
                    .raw(" AND member_key IN (");
                for (i, k) in chunk.iter().enumerate() {
                    if i > 0 {
                        q.raw(", ");
                    }
                    q.text(k);
                }
                q.raw(")");
                c.exec(q).await?;
            }
        }
    }
    Ok(())
}

pub(super) async fn apply_changes(
    c: &mut Conn,
    users: &UserMapping,
    d: Dialect,
    id: &str,
    changes: &[MemberChange],
) -> Result<Option<GroupRefusal>, StoreError> {
    let mut to_check: Vec<String> = Vec::new();
    for ch in changes {
        if let MemberChange::Add(k) | MemberChange::ReplaceAll(k) = ch {
            to_check.extend(k.iter().cloned());
        }
    }
    to_check.sort();
    to_check.dedup();
    let unknown = unknown_users(c, users, d, &to_check).await?;
    if !unknown.is_empty() {
        return Ok(Some(GroupRefusal::UnknownMembers(unknown)));
    }
    if let Some(g) = &users.host_groups {
        if let Some(hk) = host_key(c, id).await? {
            for ch in changes {
                let (added, removed): (Vec<String>, Vec<String>) = match ch {
                    MemberChange::Add(k) => (k.clone(), vec![]),
                    MemberChange::Remove(k) => (vec![], k.clone()),
                    MemberChange::RemoveAll => (vec![], member_keys(c, id).await?),
                    MemberChange::ReplaceAll(k) => {
                        let now: Vec<String> = member_keys(c, id).await?;
                        (
                            k.clone(),
                            now.into_iter().filter(|x| !k.contains(x)).collect(),
                        )
                    }
                };
                host_remove(c, g, &hk, &removed).await?;
                host_add(c, d, g, &hk, &added).await?;
            }
        }
    }
    for ch in changes {
        match ch {
            MemberChange::Add(k) => add_members(c, d, id, k).await?,
            MemberChange::Remove(k) => remove_members(c, id, Some(k)).await?,
            MemberChange::RemoveAll => remove_members(c, id, None).await?,
            MemberChange::ReplaceAll(k) => {
                remove_members(c, id, None).await?;
                add_members(c, d, id, k).await?;
            }
        }
    }
    Ok(None)
}

/// The bridge's member keys of a group (only loaded when host memberships need the diff).
pub(super) async fn member_keys(c: &mut Conn, id: &str) -> Result<Vec<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT member_key FROM scim_group_members WHERE group_id = ")
        .text(id);
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .collect())
}

/// Forgets a deleted user's memberships.
pub async fn remove_user_everywhere(c: &mut Conn, user_key: &str) -> Result<(), StoreError> {
    c.exec(forget_member_sql(user_key)).await?;
    Ok(())
}

/// The statement [`remove_user_everywhere`] sends, for writes that send it with others.
pub(crate) fn forget_member_sql(user_key: &str) -> Sql {
    let mut q = Sql::new();
    q.raw("DELETE FROM scim_group_members WHERE member_key = ")
        .text(user_key);
    q
}
