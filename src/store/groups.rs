//! Groups and memberships in the bridge's own tables (`scim_groups`, `scim_group_members`).
//!
//! Membership changes are applied as set operations in SQL — never by loading the member
//! list — so a 1,000-member PATCH on a 50,000-member group costs the rows it touches.

use chrono::{NaiveDateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::mapping::compile::{GroupMapping, UserMapping};
use crate::mapping::convert::{row_for, Assign, Row};
use crate::mapping::model::OnDelete;
use crate::mapping::value::parse_timestamp;
use crate::mapping::WriteMode;
use crate::mapping::{ColumnKind, Dialect, HostValue, Pred};
use crate::scim::query::SortOrder;

use super::dialect::{self, cast_text, PredCtx, HOST_ALIAS};
use super::sql::{Sql, TextRow};
use super::{Conn, Db, StoreError};

/// Rows per multi-row INSERT/DELETE: far below every backend's bind-parameter limit.
const CHUNK: usize = 400;

#[derive(Debug, Clone)]
pub struct Member {
    pub key: String,
    /// The member's userName, when a SCIM identity owns the user.
    pub display: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GroupRow {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub resource: Value,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    /// `None` when members were not asked for.
    pub members: Option<Vec<Member>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    ReplaceAll(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct GroupPlanned {
    pub display_name: String,
    pub external_id: Option<String>,
    pub resource: Value,
    pub changes: Vec<MemberChange>,
    /// The host group row (insert, update), when the mapping writes host groups.
    pub host_rows: Option<(Row, Row)>,
}

/// Why a group write was refused.
#[derive(Debug)]
pub enum GroupRefusal {
    /// Another group has this displayName (its id).
    NameTaken(String),
    /// Member ids that are not users of the host table.
    UnknownMembers(Vec<String>),
}

/// What an audit entry says changed: the named attributes, and `members` with the number of
/// members added and removed.
fn change_summary(changes: &[MemberChange], attrs: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = attrs.iter().map(|a| a.to_string()).collect();
    let (mut added, mut removed, mut replaced) = (0usize, 0usize, false);
    for c in changes {
        match c {
            MemberChange::Add(k) => added += k.len(),
            MemberChange::Remove(k) => removed += k.len(),
            MemberChange::RemoveAll => replaced = true,
            MemberChange::ReplaceAll(k) => {
                replaced = true;
                added += k.len();
            }
        }
    }
    if replaced {
        out.push(format!("members(replaced with {added})"));
    } else if added + removed > 0 {
        out.push(format!("members(+{added} -{removed})"));
    }
    out
}

pub fn name_hash(display_name: &str) -> String {
    hex::encode(Sha256::digest(
        display_name.trim().to_lowercase().as_bytes(),
    ))
}

fn select_groups(d: Dialect) -> Sql {
    let mut q = Sql::new();
    q.raw("SELECT h.id, h.display_name, h.external_id, h.resource, ");
    cast_text(&mut q, d, Some(HOST_ALIAS), "created_at");
    q.raw(", ");
    cast_text(&mut q, d, Some(HOST_ALIAS), "updated_at");
    q.raw(" FROM scim_groups h");
    q
}

fn parse_group(r: &TextRow) -> GroupRow {
    GroupRow {
        id: r.get(0).unwrap_or("").to_string(),
        display_name: r.get(1).unwrap_or("").to_string(),
        external_id: r.get(2).map(str::to_string),
        resource: r
            .get(3)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null),
        created_at: r.get(4).and_then(parse_timestamp),
        updated_at: r.get(5).and_then(parse_timestamp),
        members: None,
    }
}

async fn fetch(
    c: &mut Conn,
    d: Dialect,
    id: &str,
    lock: bool,
) -> Result<Option<GroupRow>, StoreError> {
    let mut q = select_groups(d);
    q.raw(" WHERE h.id = ").text(id);
    if lock && d != Dialect::Sqlite {
        q.raw(" FOR UPDATE");
    }
    Ok(c.row(q).await?.map(|r| parse_group(&r)))
}

async fn members_of(
    c: &mut Conn,
    users: &UserMapping,
    id: &str,
) -> Result<Vec<Member>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT m.member_key, l.user_name FROM scim_group_members m LEFT JOIN scim_users l ON l.host_table = ")
        .text(&users.table)
        .raw(" AND l.host_key = m.member_key WHERE m.group_id = ")
        .text(id)
        .raw(" ORDER BY m.member_key");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| Member {
            key: r.get(0).unwrap_or("").to_string(),
            display: r.get(1).map(str::to_string),
        })
        .collect())
}

/// Which of `keys` are not users of the host table.
async fn unknown_users(
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
            cast_text(&mut q, d, None, &users.key.name);
            q.raw(" FROM ")
                .ident(&users.table)
                .raw(" WHERE ")
                .ident(&users.key.name)
                .raw(" IN (");
            for (i, v) in valid.iter().enumerate() {
                if i > 0 {
                    q.raw(", ");
                }
                q.bind((*v).clone());
            }
            q.raw(")");
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

async fn add_members(
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

async fn remove_members(c: &mut Conn, id: &str, keys: Option<&[String]>) -> Result<(), StoreError> {
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

async fn apply_changes(
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
async fn member_keys(c: &mut Conn, id: &str) -> Result<Vec<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT member_key FROM scim_group_members WHERE group_id = ")
        .text(id);
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .collect())
}

async fn host_key(c: &mut Conn, id: &str) -> Result<Option<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT host_key FROM scim_groups WHERE id = ")
        .text(id);
    Ok(c.row(q).await?.and_then(|r| r.get(0).map(str::to_string)))
}

fn typed(kind: ColumnKind, key: &str) -> Result<HostValue, StoreError> {
    super::users::key_of(kind, key)
        .ok_or_else(|| StoreError::Other(format!("key {key:?} is not an integer")))
}

/// The constant columns of a membership row.
fn member_constants(g: &GroupMapping) -> Result<Vec<(String, HostValue)>, StoreError> {
    Ok(row_for(&g.members.rules, &Value::Null, WriteMode::Insert)
        .map_err(|e| StoreError::Other(e.detail))?
        .into_iter()
        .map(|(c, a)| (c, a.insert_value()))
        .collect())
}

/// ` AND <const column> = ? …`: what makes a membership row the bridge's (timestamps aside).
fn member_identity(q: &mut Sql, g: &GroupMapping) {
    for r in &g.members.rules {
        if let crate::mapping::compile::Source::Const(v) = &r.source {
            q.raw(" AND ").ident(&r.column).raw(" = ").bind(v.clone());
        }
    }
}

/// Inserts the membership rows the host lacks.
async fn host_add(
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
async fn host_remove(
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
async fn host_group_create(
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
        dialect::cast_text(&mut q, d, Some("hg"), &g.key.name);
        q.raw(" FROM ").ident(&g.table).raw(" hg WHERE ");
        dialect::ci_equals(&mut q, d, "hg", col, p.display_name.trim());
        q.raw(" ORDER BY ")
            .ident("hg")
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
            let cols = insert
                .iter()
                .map(|(c, a)| (c.clone(), a.insert_value()))
                .collect();
            super::users::insert_returning_key(c, d, &g.table, &g.key, cols).await?
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

async fn update_host_group(
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
    super::users::set_list(&mut q, row);
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

async fn name_owner(c: &mut Conn, display_name: &str) -> Result<Option<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT id FROM scim_groups WHERE display_name_hash = ")
        .text(&name_hash(display_name));
    Ok(c.row(q).await?.and_then(|r| r.get(0).map(str::to_string)))
}

fn now() -> HostValue {
    HostValue::Timestamp(Utc::now().naive_utc())
}

fn ext(p: &GroupPlanned) -> HostValue {
    p.external_id
        .clone()
        .map_or(HostValue::Null(ColumnKind::Text), HostValue::Text)
}

pub async fn create(
    db: &Db,
    users: &UserMapping,
    id: &str,
    p: &GroupPlanned,
) -> Result<Result<GroupRow, GroupRefusal>, StoreError> {
    let d = db.dialect;
    let mut tx = db.begin_write().await?;
    let r = async {
        let c = tx.conn();
        if let Some(owner) = name_owner(c, &p.display_name).await? {
            return Ok(Err(GroupRefusal::NameTaken(owner)));
        }
        let resource = serde_json::to_string(&p.resource).map_err(|e| StoreError::Other(e.to_string()))?;
        let mut q = Sql::new();
        q.raw("INSERT INTO scim_groups (id, display_name, display_name_hash, external_id, resource, created_at, updated_at) VALUES (")
            .text(id)
            .raw(", ")
            .text(&p.display_name)
            .raw(", ")
            .text(&name_hash(&p.display_name))
            .raw(", ")
            .bind(ext(p))
            .raw(", ")
            .text(&resource)
            .raw(", ")
            .bind(now())
            .raw(", ")
            .bind(now())
            .raw(")");
        c.exec(q).await?;
        if let Some(g) = &users.host_groups {
            host_group_create(c, d, g, id, p).await?;
        }
        if let Some(refusal) = apply_changes(c, users, d, id, &p.changes).await? {
            return Ok(Err(refusal));
        }
        super::audit::record(c, "Group", id, Some(&p.display_name), "create", &change_summary(&p.changes, &["displayName"])).await?;
        let mut g = fetch(c, d, id, false).await?.ok_or_else(|| StoreError::Other("created group not found".into()))?;
        g.members = Some(members_of(c, users, id).await?);
        Ok(Ok(g))
    }
    .await;
    match r {
        Ok(Ok(g)) => {
            tx.commit().await?;
            Ok(Ok(g))
        }
        other => {
            tx.rollback().await;
            other
        }
    }
}

/// One page of a group's members in key order, after `after` (keyset paging: each page is an
/// index range scan, however deep into a large group).
pub async fn members_after(
    db: &Db,
    users: &UserMapping,
    id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Member>, StoreError> {
    let mut c = db.reader().await?;
    let mut q = Sql::new();
    q.raw("SELECT m.member_key, l.user_name FROM scim_group_members m LEFT JOIN scim_users l ON l.host_table = ")
        .text(&users.table)
        .raw(" AND l.host_key = m.member_key WHERE m.group_id = ")
        .text(id);
    if let Some(a) = after {
        q.raw(" AND m.member_key > ").text(a);
    }
    q.raw(" ORDER BY m.member_key LIMIT ").int(limit as i64);
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| Member {
            key: r.get(0).unwrap_or("").to_string(),
            display: r.get(1).map(str::to_string),
        })
        .collect())
}

pub async fn get(
    db: &Db,
    users: &UserMapping,
    id: &str,
    with_members: bool,
) -> Result<Option<GroupRow>, StoreError> {
    let mut c = db.reader().await?;
    let Some(mut g) = fetch(&mut c, db.dialect, id, false).await? else {
        return Ok(None);
    };
    if with_members {
        g.members = Some(members_of(&mut c, users, id).await?);
    }
    Ok(Some(g))
}

pub async fn list(
    db: &Db,
    users: &UserMapping,
    pred: Option<&Pred>,
    sort: Option<(&str, SortOrder)>,
    start_index: u64,
    count: u64,
    with_members: bool,
) -> Result<(u64, Vec<GroupRow>), StoreError> {
    let ctx = PredCtx {
        dialect: db.dialect,
        host_table: "scim_groups",
        key: "id",
        key_kind: ColumnKind::Text,
        users: None,
    };
    let mut tx = db.begin_read().await?;
    let r = async {
        let cq = dialect::count_sql(&ctx, pred);
        let total: u64 = tx
            .conn()
            .row(cq)
            .await?
            .and_then(|r| r.get(0).and_then(|s| s.parse().ok()))
            .unwrap_or(0);
        if count == 0 || start_index > total {
            return Ok((total, vec![]));
        }
        let mut q = select_groups(db.dialect);
        dialect::where_clause(&mut q, &ctx, pred);
        q.raw(" ORDER BY ");
        if let Some((col, order)) = sort {
            dialect::order_by(&mut q, db.dialect, HOST_ALIAS, col, col == "display_name");
            q.raw(if order == SortOrder::Descending {
                " DESC, "
            } else {
                " ASC, "
            });
        }
        q.raw("h.id LIMIT ")
            .int(count as i64)
            .raw(" OFFSET ")
            .int(start_index as i64 - 1);
        let mut groups: Vec<GroupRow> = tx.conn().rows(q).await?.iter().map(parse_group).collect();
        if with_members {
            for g in &mut groups {
                g.members = Some(members_of(tx.conn(), users, &g.id).await?);
            }
        }
        Ok((total, groups))
    }
    .await;
    tx.finish(r).await
}

/// Read-modify-write of one group, the row locked; `plan` sees the group without members.
pub async fn modify<E: From<StoreError>>(
    db: &Db,
    users: &UserMapping,
    id: &str,
    with_members: bool,
    plan: impl FnOnce(&GroupRow) -> Result<GroupPlanned, E>,
) -> Result<Result<GroupRow, GroupRefusal>, E> {
    let d = db.dialect;
    let mut tx = db.begin_write().await?;
    let r: Result<Result<GroupRow, GroupRefusal>, E> = async {
        let c = tx.conn();
        let current = fetch(c, d, id, true).await?.ok_or(StoreError::NotFound)?;
        let p = plan(&current)?;
        let mut renamed: Vec<&str> = Vec::new();
        if p.display_name != current.display_name {
            renamed.push("displayName");
        }
        if p.external_id != current.external_id {
            renamed.push("externalId");
        }
        if name_hash(&p.display_name) != name_hash(&current.display_name) {
            if let Some(owner) = name_owner(c, &p.display_name).await? {
                return Ok(Err(GroupRefusal::NameTaken(owner)));
            }
        }
        let resource =
            serde_json::to_string(&p.resource).map_err(|e| StoreError::Other(e.to_string()))?;
        let mut q = Sql::new();
        q.raw("UPDATE scim_groups SET display_name = ")
            .text(&p.display_name)
            .raw(", display_name_hash = ")
            .text(&name_hash(&p.display_name))
            .raw(", external_id = ")
            .bind(ext(&p))
            .raw(", resource = ")
            .text(&resource)
            .raw(", updated_at = ")
            .bind(now())
            .raw(" WHERE id = ")
            .text(id);
        c.exec(q).await?;
        if let (Some(g), Some((_, update))) = (&users.host_groups, &p.host_rows) {
            match host_key(c, id).await? {
                Some(hk) => update_host_group(c, g, &hk, update).await?,
                // Pushed before the mapping had [groups]: write the host group now.
                None => host_group_create(c, d, g, id, &p).await?,
            }
        }
        if let Some(refusal) = apply_changes(c, users, d, id, &p.changes).await? {
            return Ok(Err(refusal));
        }
        super::audit::record(
            c,
            "Group",
            id,
            Some(&p.display_name),
            "update",
            &change_summary(&p.changes, &renamed),
        )
        .await?;
        let mut g = fetch(c, d, id, false).await?.ok_or(StoreError::NotFound)?;
        if with_members {
            g.members = Some(members_of(c, users, id).await?);
        }
        Ok(Ok(g))
    }
    .await;
    match r {
        Ok(Ok(g)) => {
            tx.commit().await?;
            Ok(Ok(g))
        }
        other => {
            tx.rollback().await;
            other
        }
    }
}

pub async fn delete(db: &Db, users: &UserMapping, id: &str) -> Result<bool, StoreError> {
    let mut tx = db.begin_write().await?;
    let r = async {
        let c = tx.conn();
        if let (Some(g), Some(hk)) = (&users.host_groups, host_key(c, id).await?) {
            match g.on_delete {
                OnDelete::Delete => {
                    let gk = typed(g.members.group_kind, &hk)?;
                    let mut q = Sql::new();
                    q.raw("DELETE FROM ")
                        .ident(&g.members.table)
                        .raw(" WHERE ")
                        .ident(&g.members.group)
                        .raw(" = ")
                        .bind(gk);
                    c.exec(q).await?;
                    let mut q = Sql::new();
                    q.raw("DELETE FROM ")
                        .ident(&g.table)
                        .raw(" WHERE ")
                        .ident(&g.key.name)
                        .raw(" = ")
                        .bind(typed(g.key.kind, &hk)?);
                    c.exec(q).await?;
                }
                OnDelete::SoftDelete => {
                    let row: Row = g
                        .soft_delete
                        .iter()
                        .map(|(c, v)| (c.clone(), Assign::Value(v.clone())))
                        .collect();
                    update_host_group(c, g, &hk, &row).await?;
                }
                OnDelete::Ignore | OnDelete::Deactivate => {}
            }
        }
        remove_members(c, id, None).await?;
        let mut q = Sql::new();
        q.raw("DELETE FROM scim_groups WHERE id = ").text(id);
        let gone = c.exec(q).await? > 0;
        if gone {
            super::audit::record(c, "Group", id, None, "delete", &[]).await?;
        }
        Ok(gone)
    }
    .await;
    tx.finish(r).await
}

/// The groups each of `user_keys` belongs to: (user key, group id, group displayName).
pub async fn memberships(
    db: &Db,
    user_keys: &[String],
) -> Result<Vec<(String, String, String)>, StoreError> {
    if user_keys.is_empty() {
        return Ok(vec![]);
    }
    let mut c = db.reader().await?;
    let mut out = Vec::new();
    for chunk in user_keys.chunks(CHUNK) {
        let mut q = Sql::new();
        q.raw("SELECT m.member_key, g.id, g.display_name FROM scim_group_members m JOIN scim_groups g ON g.id = m.group_id WHERE m.member_key IN (");
        for (i, k) in chunk.iter().enumerate() {
            if i > 0 {
                q.raw(", ");
            }
            q.text(k);
        }
        q.raw(") ORDER BY g.display_name, g.id");
        out.extend(c.rows(q).await?.into_iter().map(|r| {
            (
                r.get(0).unwrap_or("").to_string(),
                r.get(1).unwrap_or("").to_string(),
                r.get(2).unwrap_or("").to_string(),
            )
        }));
    }
    Ok(out)
}

/// Forgets a deleted user's memberships.
pub async fn remove_user_everywhere(c: &mut Conn, user_key: &str) -> Result<(), StoreError> {
    let mut q = Sql::new();
    q.raw("DELETE FROM scim_group_members WHERE member_key = ")
        .text(user_key);
    c.exec(q).await?;
    Ok(())
}
