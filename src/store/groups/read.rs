//! Reading groups and memberships from the bridge's tables.

use serde_json::Value;

use crate::mapping::compile::UserMapping;
use crate::mapping::value::parse_timestamp;
use crate::mapping::{ColumnKind, Pred};
use crate::scim::query::SortOrder;
use crate::store::dialect::Dialect;

use super::{GroupField, GroupRow, Member, CHUNK};
use crate::store::dialect::{self, cast_text, HOST_ALIAS};
use crate::store::predicate::{self, PredCtx};
use crate::store::sql::{Sql, TextRow};
use crate::store::{Conn, Db, StoreError};

pub(super) fn select_groups(d: Dialect) -> Sql {
    let mut q = Sql::new();
    q.raw("SELECT h.id, h.display_name, h.external_id, h.resource, ");
    cast_text(&mut q, d, Some(HOST_ALIAS), "created_at");
    q.raw(", ");
    cast_text(&mut q, d, Some(HOST_ALIAS), "updated_at");
    q.raw(" FROM scim_groups h");
    q
}

pub(super) fn parse_group(r: &TextRow) -> GroupRow {
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

pub(super) async fn fetch(
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

pub(super) async fn members_of(
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
    q.raw(" ORDER BY m.member_key");
    dialect::limit(&mut q, db.dialect, limit);
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
    sort: Option<(GroupField, SortOrder)>,
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
    db.read(async |c| -> Result<_, StoreError> {
        let cq = predicate::count_sql(&ctx, pred);
        let total: u64 = c
            .row(cq)
            .await?
            .and_then(|r| r.get(0).and_then(|s| s.parse().ok()))
            .unwrap_or(0);
        if count == 0 || start_index > total {
            return Ok((total, vec![]));
        }
        let mut q = select_groups(db.dialect);
        predicate::where_clause(&mut q, &ctx, pred);
        q.raw(" ORDER BY ");
        if let Some((field, order)) = sort {
            let fold = field == GroupField::DisplayName;
            dialect::order_by(&mut q, db.dialect, HOST_ALIAS, field.column(), fold);
            q.raw(if order == SortOrder::Descending {
                " DESC, "
            } else {
                " ASC, "
            });
        }
        q.raw("h.id");
        dialect::limit(&mut q, db.dialect, count);
        q.raw(" OFFSET ").count(start_index.saturating_sub(1));
        let mut groups: Vec<GroupRow> = c.rows(q).await?.iter().map(parse_group).collect();
        if with_members {
            for g in &mut groups {
                g.members = Some(members_of(c, users, &g.id).await?);
            }
        }
        Ok((total, groups))
    })
    .await
}

/// The groups each of `user_keys` belongs to: (user key, group id, group displayName).
pub async fn memberships(
    db: &Db,
    user_keys: &[String],
) -> Result<Vec<(String, String, String)>, StoreError> {
    if user_keys.is_empty() {
        return Ok(vec![]);
    }
    memberships_on(&mut db.reader().await?, user_keys).await
}

/// [`memberships`] on a connection the caller holds (inside its transaction, if any).
pub(crate) async fn memberships_on(
    c: &mut Conn,
    user_keys: &[String],
) -> Result<Vec<(String, String, String)>, StoreError> {
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
