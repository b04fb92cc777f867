//! Users in the host table and their links in `scim_users`, one transaction per operation.
//!
//! The host row is the truth for mapped attributes; the link row records that a SCIM identity
//! owns the host row, its `externalId`, and the IdP's last view of the user. The link's unique
//! `(host_table, user_name_hash)` is what makes `userName` unique across bridge replicas.

use chrono::{NaiveDateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::mapping::compile::{Child, MatchAt, PrimaryMark, UserMapping};
use crate::mapping::convert::{Assign, ChildItem, ChildRow, Row, RowPlan};
use crate::mapping::value::parse_timestamp;
use crate::mapping::{ColumnKind, Dialect, HostValue, Pred};
use crate::scim::query::SortOrder;

use super::dialect::{self, cast_text, scoped, PredCtx, HOST_ALIAS};
use super::sql::{Sql, TextRow};
use super::{Conn, Db, StoreError};

/// A user as stored: the host row's key and mapped values, and the link if a SCIM identity
/// owns it.
#[derive(Debug, Clone)]
pub struct HostUser {
    pub key: String,
    /// Values of `UserMapping::read_columns`, in order.
    pub values: Vec<HostValue>,
    /// Rows of each child table, in key order.
    pub children: Vec<Vec<ChildRow>>,
    pub link: Option<Link>,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub user_name: String,
    pub external_id: Option<String>,
    pub resource: Value,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
}

/// What a write puts in the host row and the link.
#[derive(Debug, Clone)]
pub struct Planned {
    pub row: RowPlan,
    pub user_name: String,
    pub external_id: Option<String>,
    pub resource: Value,
}

/// The result of a create.
#[derive(Debug)]
pub struct Created {
    pub user: HostUser,
    /// An existing host row was adopted instead of inserting a new one.
    pub adopted: bool,
}

/// The userName key the database keeps unique: trimmed, Unicode-lower-cased, hashed to a
/// fixed width so any length fits an index on every backend.
pub fn user_name_hash(user_name: &str) -> String {
    hex::encode(Sha256::digest(user_name.trim().to_lowercase().as_bytes()))
}

fn key_value(m: &UserMapping, key: &str) -> Option<HostValue> {
    key_of(m.key.kind, key)
}

pub(super) fn key_of(kind: ColumnKind, key: &str) -> Option<HostValue> {
    match kind {
        ColumnKind::Int => key.trim().parse().ok().map(HostValue::Int),
        _ => Some(HostValue::Text(key.to_string())),
    }
}

/// The alias of table `at` (0 main, n joined).
fn alias(m: &UserMapping, at: usize) -> &str {
    if at == 0 {
        HOST_ALIAS
    } else {
        &m.joined[at - 1].alias
    }
}

/// `SELECT CAST(h.key AS TEXT), CAST(x.c1 AS TEXT), … FROM host h LEFT JOIN …`
fn select_host(m: &UserMapping, d: Dialect) -> Sql {
    let mut q = Sql::new();
    q.raw("SELECT ");
    cast_text(&mut q, d, Some(HOST_ALIAS), &m.key.name);
    for (at, c) in &m.read_columns {
        q.raw(", ");
        let lookup = m
            .rules
            .iter()
            .find(|r| r.at == *at && &r.column == c)
            .and_then(|r| r.lookup.as_ref());
        match lookup {
            // The looked-up text, not the key: `(SELECT name FROM titles lk WHERE lk.id = h.title_id)`.
            Some(l) => {
                q.raw("(SELECT ");
                cast_text(&mut q, d, Some("lk"), &l.column);
                q.raw(" FROM ")
                    .ident(&l.table)
                    .raw(" lk WHERE lk.")
                    .ident(&l.key.name)
                    .raw(" = ")
                    .ident(alias(m, *at))
                    .raw(".")
                    .ident(c)
                    .raw(")");
            }
            None => cast_text(&mut q, d, Some(alias(m, *at)), c),
        }
    }
    q.raw(" FROM ").ident(&m.table).raw(" ").ident(HOST_ALIAS);
    dialect::joins(&mut q, m);
    q
}

/// ` WHERE h.key = ? AND <scope>`
fn where_key(q: &mut Sql, m: &UserMapping, d: Dialect, key: HostValue) {
    let pred = scoped(
        m,
        Some(&Pred::Cmp {
            target: crate::mapping::Target::Key,
            op: crate::scim::filter::CompareOp::Eq,
            value: key,
            fold_case: false,
        }),
    );
    q.raw(" WHERE ");
    dialect::render(
        q,
        &PredCtx::users(d, m),
        pred.as_ref().unwrap_or(&Pred::True),
    );
}

fn parse_host_row(m: &UserMapping, r: &TextRow) -> HostUser {
    let values = m
        .read_columns
        .iter()
        .enumerate()
        .map(|(i, (at, c))| {
            let kind = m
                .rules
                .iter()
                .find(|r| r.at == *at && &r.column == c)
                .map(|r| {
                    if r.lookup.is_some() {
                        ColumnKind::Text
                    } else {
                        r.kind
                    }
                })
                .or_else(|| {
                    m.children.iter().find_map(|ch| match &ch.primary {
                        PrimaryMark::Pointer { column, kind } if column == c => Some(*kind),
                        _ => None,
                    })
                })
                .unwrap_or(ColumnKind::Text);
            HostValue::from_db_text(kind, r.get(i + 1))
        })
        .collect();
    HostUser {
        key: r.get(0).unwrap_or("").to_string(),
        values,
        children: vec![Vec::new(); m.children.len()],
        link: None,
    }
}

async fn fetch_host(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
    lock: bool,
) -> Result<Option<HostUser>, StoreError> {
    let Some(kv) = key_value(m, key) else {
        return Ok(None);
    };
    let mut q = select_host(m, d);
    where_key(&mut q, m, d, kv);
    if lock {
        match d {
            // The outer join's nullable side cannot be locked; the user's row is enough.
            Dialect::Postgres => {
                q.raw(" FOR UPDATE OF ").ident(HOST_ALIAS);
            }
            Dialect::Mysql => {
                q.raw(" FOR UPDATE");
            }
            Dialect::Sqlite => {}
        }
    }
    let Some(mut u) = c.row(q).await?.map(|r| parse_host_row(m, &r)) else {
        return Ok(None);
    };
    fetch_children(c, m, d, std::slice::from_mut(&mut u)).await?;
    Ok(Some(u))
}

/// The child rows of `users`, one query per child table.
async fn fetch_children(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    users: &mut [HostUser],
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    for (ci, child) in m.children.iter().enumerate() {
        let mut q = Sql::new();
        q.raw("SELECT ");
        cast_text(&mut q, d, Some("c"), &child.parent);
        q.raw(", ");
        cast_text(&mut q, d, Some("c"), &child.key.name);
        for col in &child.read_columns {
            q.raw(", ");
            cast_text(&mut q, d, Some("c"), col);
        }
        q.raw(" FROM ")
            .ident(&child.table)
            .raw(" c WHERE c.")
            .ident(&child.parent)
            .raw(" IN (");
        for (i, u) in users.iter().enumerate() {
            if i > 0 {
                q.raw(", ");
            }
            q.bind(key_value(m, &u.key).unwrap_or(HostValue::Null(m.key.kind)));
        }
        q.raw(")");
        for (col, v) in &child.conditions {
            q.raw(" AND c.").ident(col).raw(" = ").bind(v.clone());
        }
        q.raw(" ORDER BY c.").ident(&child.key.name);
        let rows = c.rows(q).await?;
        let pointer = match &child.primary {
            PrimaryMark::Pointer { column, .. } => m
                .read_columns
                .iter()
                .position(|(at, c)| *at == 0 && c == column),
            _ => None,
        };
        for u in users.iter_mut() {
            let mut mine: Vec<ChildRow> = rows
                .iter()
                .filter(|r| r.get(0) == Some(u.key.as_str()))
                .map(|r| {
                    let values: Vec<HostValue> = child
                        .read_columns
                        .iter()
                        .enumerate()
                        .map(|(i, col)| {
                            let kind = child
                                .rules
                                .iter()
                                .find(|x| &x.column == col)
                                .map_or(ColumnKind::Text, |x| x.kind);
                            HostValue::from_db_text(kind, r.get(i + 2))
                        })
                        .collect();
                    ChildRow {
                        key: r.get(1).unwrap_or("").to_string(),
                        values,
                        primary: false,
                    }
                })
                .collect();
            // Rows come in key order as text; order them by key value.
            if child.key.kind == ColumnKind::Int {
                mine.sort_by_key(|r| r.key.parse::<i64>().unwrap_or(i64::MAX));
            }
            let primary = match &child.primary {
                PrimaryMark::Pointer { .. } => pointer.and_then(|p| {
                    let want = u.values[p].display_text();
                    mine.iter().position(|r| Some(&r.key) == want.as_ref())
                }),
                PrimaryMark::Flag { .. } => mine.iter().position(|r| {
                    r.values
                        .last()
                        .and_then(HostValue::as_int)
                        .is_some_and(|n| n != 0)
                }),
                PrimaryMark::First => None,
            };
            if let Some(first) = primary.or((!mine.is_empty()).then_some(0)) {
                mine[first].primary = true;
            }
            u.children[ci] = mine;
        }
    }
    Ok(())
}

async fn fetch_links(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    keys: &[String],
) -> Result<Vec<(String, Link)>, StoreError> {
    if keys.is_empty() {
        return Ok(vec![]);
    }
    // By key alone, the table checked here: with `host_table = ?` in the statement,
    // PostgreSQL's planner, before the table is first analysed, scanned every link through
    // any index holding host_table (15-36 ms per page of 100); by key, the primary key is
    // the only index that fits.
    let mut q = Sql::new();
    q.raw("SELECT host_key, user_name, external_id, resource, ");
    cast_text(&mut q, d, None, "created_at");
    q.raw(", ");
    cast_text(&mut q, d, None, "updated_at");
    q.raw(", host_table FROM scim_users WHERE host_key IN (");
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            q.raw(", ");
        }
        q.text(k);
    }
    q.raw(")");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter(|r| r.get(6) == Some(m.table.as_str()))
        .map(|r| {
            let link = Link {
                user_name: r.get(1).unwrap_or("").to_string(),
                external_id: r.get(2).map(str::to_string),
                resource: r
                    .get(3)
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or(Value::Null),
                created_at: r.get(4).and_then(parse_timestamp),
                updated_at: r.get(5).and_then(parse_timestamp),
            };
            (r.get(0).unwrap_or("").to_string(), link)
        })
        .collect())
}

/// Children and links for a page of users.
async fn complete(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    users: &mut [HostUser],
) -> Result<(), StoreError> {
    fetch_children(c, m, d, users).await?;
    let keys: Vec<String> = users.iter().map(|u| u.key.clone()).collect();
    for (k, l) in fetch_links(c, m, d, &keys).await? {
        if let Some(u) = users.iter_mut().find(|u| u.key == k) {
            u.link = Some(l);
        }
    }
    Ok(())
}

async fn with_link(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    mut u: HostUser,
) -> Result<HostUser, StoreError> {
    u.link = fetch_links(c, m, d, std::slice::from_ref(&u.key))
        .await?
        .into_iter()
        .next()
        .map(|(_, l)| l);
    Ok(u)
}

/// One user by SCIM id (the host key).
pub async fn get(db: &Db, m: &UserMapping, key: &str) -> Result<Option<HostUser>, StoreError> {
    let mut c = db.reader().await?;
    match fetch_host(&mut c, m, db.dialect, key, false).await? {
        None => Ok(None),
        Some(u) => Ok(Some(with_link(&mut c, m, db.dialect, u).await?)),
    }
}

/// A page of users matching `pred`, ordered by key, with the total count — from one
/// consistent snapshot.
pub async fn list(
    db: &Db,
    m: &UserMapping,
    pred: Option<&Pred>,
    sort: Option<(&str, &str, SortOrder, bool)>,
    start_index: u64,
    count: u64,
    resume: Option<&Resume>,
) -> Result<(u64, Vec<HostUser>), StoreError> {
    let ctx = PredCtx::users(db.dialect, m);
    let pred = scoped(m, pred);
    let pred = pred.as_ref();
    let mut tx = db.begin_read().await?;
    let r = async {
        let known_total = resume.map(|r| r.total);
        if count == 0 || known_total.is_some_and(|t| start_index > t) {
            let total = match known_total {
                Some(t) => t,
                None => count_rows(tx.conn(), &ctx, pred).await?,
            };
            return Ok((total, vec![]));
        }
        let mut q = select_host(m, db.dialect);
        dialect::where_clause(&mut q, &ctx, pred);
        let after = resume
            .filter(|_| sort.is_none())
            .and_then(|r| key_value(m, &r.after_key));
        if let Some(k) = &after {
            q.raw(if pred.is_some() { " AND " } else { " WHERE " });
            q.ident(HOST_ALIAS)
                .raw(".")
                .ident(&m.key.name)
                .raw(" > ")
                .bind(k.clone());
        }
        q.raw(" ORDER BY ");
        if let Some((alias, col, order, fold)) = sort {
            // NULLs sort as the database does; the key keeps the order total and stable.
            dialect::order_by(&mut q, db.dialect, alias, col, fold);
            q.raw(if order == SortOrder::Descending {
                " DESC, "
            } else {
                " ASC, "
            });
        }
        q.ident(HOST_ALIAS)
            .raw(".")
            .ident(&m.key.name)
            .raw(" LIMIT ")
            .int(count as i64);
        if after.is_none() {
            q.raw(" OFFSET ").int(start_index as i64 - 1);
        }
        let mut users: Vec<HostUser> = tx
            .conn()
            .rows(q)
            .await?
            .iter()
            .map(|r| parse_host_row(m, r))
            .collect();
        // A short page that is not past the end tells the total without counting — the
        // common `userName eq` lookup then costs one query less.
        let total = match known_total {
            Some(t) => t,
            None if (users.len() as u64) < count && (!users.is_empty() || start_index == 1) => {
                start_index - 1 + users.len() as u64
            }
            None => count_rows(tx.conn(), &ctx, pred).await?,
        };
        complete(tx.conn(), m, db.dialect, &mut users).await?;
        Ok((total, users))
    }
    .await;
    tx.finish(r).await
}

async fn count_rows(
    c: &mut Conn,
    ctx: &PredCtx<'_>,
    pred: Option<&Pred>,
) -> Result<u64, StoreError> {
    Ok(c.row(dialect::count_sql(ctx, pred))
        .await?
        .and_then(|r| r.get(0).and_then(|s| s.parse().ok()))
        .unwrap_or(0))
}

/// Where the previous page of the same query ended: its last key, and the total it counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub after_key: String,
    pub total: u64,
}

/// Host rows in scope whose match columns equal `user_name` case-insensitively (at most 3).
async fn find_matches(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    user_name: &str,
) -> Result<Vec<String>, StoreError> {
    // One indexed lookup per column, UNIONed: an OR across columns lets some planners
    // (SQLite 3.53, measured) fall back to a full table scan.
    let ctx = PredCtx::users(d, m);
    let scope = scoped(m, None);
    let mut q = Sql::new();
    q.raw("SELECT k FROM (");
    for (i, mc) in m.match_columns.iter().enumerate() {
        if i > 0 {
            q.raw(" UNION ");
        }
        q.raw("SELECT ");
        cast_text(&mut q, d, Some(HOST_ALIAS), &m.key.name);
        q.raw(" AS k FROM ")
            .ident(&m.table)
            .raw(" ")
            .ident(HOST_ALIAS);
        match mc.at {
            MatchAt::Table(at) => {
                dialect::joins(&mut q, m);
                q.raw(" WHERE ");
                dialect::ci_equals(&mut q, d, alias(m, at), &mc.column, user_name.trim());
            }
            MatchAt::Child(ci) => {
                let child = &m.children[ci];
                q.raw(" WHERE ")
                    .ident(HOST_ALIAS)
                    .raw(".")
                    .ident(&m.key.name)
                    .raw(" IN (SELECT c.")
                    .ident(&child.parent)
                    .raw(" FROM ")
                    .ident(&child.table)
                    .raw(" c WHERE ");
                dialect::ci_equals(&mut q, d, "c", &mc.column, user_name.trim());
                q.raw(")");
            }
        }
        if let Some(s) = &scope {
            q.raw(" AND ");
            dialect::render(&mut q, &ctx, s);
        }
    }
    q.raw(") matches ORDER BY k LIMIT 3");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .collect())
}

/// The host key and origin of the link holding this userName.
async fn link_owner(
    c: &mut Conn,
    m: &UserMapping,
    hash: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT host_key, origin FROM scim_users WHERE host_table = ")
        .text(&m.table)
        .raw(" AND user_name_hash = ")
        .text(hash);
    Ok(c.row(q).await?.map(|r| {
        (
            r.get(0).unwrap_or("").to_string(),
            r.get(1).unwrap_or("scim").to_string(),
        )
    }))
}

/// The origin of the link on a host row, if it has one.
async fn link_origin(
    c: &mut Conn,
    m: &UserMapping,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT origin FROM scim_users WHERE host_table = ")
        .text(&m.table)
        .raw(" AND host_key = ")
        .text(key);
    Ok(c.row(q)
        .await?
        .map(|r| r.get(0).unwrap_or("scim").to_string()))
}

/// Links made by `scim-bridge import --apply`: the identity provider's first create adopts them.
pub const ORIGIN_IMPORT: &str = "import";

/// `SET a = ?, flags = (COALESCE(flags, 0) | ?)`: values bound, bits changed in place.
pub(super) fn set_list(q: &mut Sql, row: &Row) {
    for (i, (col, a)) in row.iter().enumerate() {
        if i > 0 {
            q.raw(", ");
        }
        q.ident(col).raw(" = ");
        match a {
            Assign::Value(v) => {
                q.bind(v.clone());
            }
            Assign::Bits { mask, on: true } => {
                q.raw("(COALESCE(")
                    .ident(col)
                    .raw(", 0) | ")
                    .int(*mask)
                    .raw(")");
            }
            Assign::Lookup(_) => {
                q.bind(a.insert_value());
            }
            Assign::Bits { mask, on: false } => {
                q.raw("(COALESCE(")
                    .ident(col)
                    .raw(", 0) & ")
                    .int(!*mask)
                    .raw(")");
            }
        }
    }
}

async fn update_host(
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

/// Inserts a row and returns its key: generated here (`uuid`), or by the database.
pub(super) async fn insert_returning_key(
    c: &mut Conn,
    d: Dialect,
    table: &str,
    key: &crate::mapping::compile::KeyColumn,
    mut cols: Vec<(String, HostValue)>,
) -> Result<String, StoreError> {
    let generated_key = match key.generate {
        Some(crate::mapping::model::KeyGenerate::Uuid) => {
            let k = super::new_uuid();
            cols.retain(|(c, _)| c != &key.name);
            cols.push((key.name.clone(), HostValue::Text(k.clone())));
            Some(k)
        }
        None => None,
    };
    let mut q = Sql::new();
    q.raw("INSERT INTO ")
        .ident(table)
        .raw(" (")
        .ident_list(cols.iter().map(|(c, _)| c.as_str()))
        .raw(") VALUES (");
    for (i, (_, v)) in cols.iter().enumerate() {
        if i > 0 {
            q.raw(", ");
        }
        q.bind(v.clone());
    }
    q.raw(")");
    if let Some(k) = generated_key {
        c.exec(q).await?;
        return Ok(k);
    }
    match d {
        Dialect::Mysql => {
            c.exec(q).await?;
            let mut k = Sql::new();
            k.raw("SELECT CAST(LAST_INSERT_ID() AS CHAR)");
            c.row(k)
                .await?
                .and_then(|r| r.get(0).map(str::to_string))
                .ok_or_else(|| StoreError::Other("no LAST_INSERT_ID after insert".into()))
        }
        _ => {
            q.raw(" RETURNING ");
            cast_text(&mut q, d, None, &key.name);
            c.row(q)
                .await?
                .and_then(|r| r.get(0).map(str::to_string))
                .ok_or_else(|| StoreError::Other("insert returned no key".into()))
        }
    }
}

fn insert_values(row: &Row) -> Vec<(String, HostValue)> {
    row.iter()
        .map(|(c, a)| (c.clone(), a.insert_value()))
        .collect()
}

async fn insert_host(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    row: &Row,
) -> Result<String, StoreError> {
    insert_returning_key(c, d, &m.table, &m.key, insert_values(row)).await
}

/// ` WHERE parent = ? AND <conditions>`
fn where_parent(q: &mut Sql, parent: &str, key: HostValue, conditions: &[(String, HostValue)]) {
    q.raw(" WHERE ").ident(parent).raw(" = ").bind(key);
    for (c, v) in conditions {
        q.raw(" AND ").ident(c).raw(" = ").bind(v.clone());
    }
}

/// Replaces every lookup in `plan` by the key of the row holding its text, inserting that row
/// when the mapping allows (`create = true`); an unknown text is otherwise refused (the `Err`).
async fn resolve_lookups(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    plan: &mut RowPlan,
) -> Result<Result<(), String>, StoreError> {
    if !m.rules.iter().any(|r| r.lookup.is_some()) {
        return Ok(Ok(()));
    }
    let RowPlan {
        tables,
        joined_insert,
        ..
    } = plan;
    let mut rows: Vec<(usize, &mut Row)> = tables.iter_mut().enumerate().collect();
    for (i, r) in joined_insert.iter_mut().enumerate() {
        if let Some(r) = r {
            rows.push((i + 1, r));
        }
    }
    for (at, row) in rows {
        for (col, a) in row.iter_mut() {
            let Assign::Lookup(text) = a else { continue };
            let Some((rule, l)) = m
                .rules
                .iter()
                .filter(|r| r.at == at && &r.column == col)
                .find_map(|r| r.lookup.as_ref().map(|l| (r, l)))
            else {
                continue;
            };
            let mut q = Sql::new();
            q.raw("SELECT ");
            cast_text(&mut q, d, Some("lk"), &l.key.name);
            q.raw(" FROM ").ident(&l.table).raw(" lk WHERE ");
            dialect::ci_equals(&mut q, d, "lk", &l.column, text.trim());
            q.raw(" ORDER BY lk.").ident(&l.key.name).raw(" LIMIT 1");
            let key = match c.row(q).await?.and_then(|r| r.get(0).map(str::to_string)) {
                Some(k) => k,
                None if l.create => {
                    let value = HostValue::Text(text.trim().to_string());
                    insert_returning_key(c, d, &l.table, &l.key, vec![(l.column.clone(), value)])
                        .await?
                }
                None => {
                    return Ok(Err(format!(
                        "{:?} is not one of the application's values in {}.{}",
                        text.trim(),
                        l.table,
                        l.column
                    )))
                }
            };
            *a = Assign::Value(key_of(rule.kind, &key).ok_or(StoreError::NotFound)?);
        }
    }
    Ok(Ok(()))
}

/// Joined rows, child rows and the primary pointer, after the main row is written.
async fn write_related(
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
async fn sync_children(
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
    let rows: Vec<(String, String)> = c
        .rows(q)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.get(0).unwrap_or("").to_string(),
                r.get(1).unwrap_or("").trim().to_lowercase(),
            )
        })
        .collect();
    let child_key = |k: &str| key_of(child.key.kind, k).ok_or(StoreError::NotFound);
    let mut primary_key: Option<String> = None;
    let mut existing: Vec<(String, String)> = Vec::new();
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

async fn upsert_link(
    c: &mut Conn,
    m: &UserMapping,
    key: &str,
    p: &Planned,
    exists: bool,
    origin: &str,
) -> Result<(), StoreError> {
    let now = HostValue::Timestamp(Utc::now().naive_utc());
    let resource =
        serde_json::to_string(&p.resource).map_err(|e| StoreError::Other(e.to_string()))?;
    let ext = p
        .external_id
        .clone()
        .map_or(HostValue::Null(ColumnKind::Text), HostValue::Text);
    let mut q = Sql::new();
    if exists {
        q.raw("UPDATE scim_users SET user_name = ")
            .text(&p.user_name)
            .raw(", user_name_hash = ")
            .text(&user_name_hash(&p.user_name))
            .raw(", external_id = ")
            .bind(ext)
            .raw(", resource = ")
            .text(&resource)
            .raw(", updated_at = ")
            .bind(now)
            .raw(", origin = ")
            .text(origin)
            .raw(" WHERE host_table = ")
            .text(&m.table)
            .raw(" AND host_key = ")
            .text(key);
    } else {
        q.raw("INSERT INTO scim_users (host_table, host_key, user_name, user_name_hash, external_id, resource, created_at, updated_at, origin) VALUES (")
            .text(&m.table)
            .raw(", ")
            .text(key)
            .raw(", ")
            .text(&p.user_name)
            .raw(", ")
            .text(&user_name_hash(&p.user_name))
            .raw(", ")
            .bind(ext)
            .raw(", ")
            .text(&resource)
            .raw(", ")
            .bind(now.clone())
            .raw(", ")
            .bind(now)
            .raw(", ")
            .text(origin)
            .raw(")");
    }
    c.exec(q).await?;
    Ok(())
}

/// Why a create could not proceed.
#[derive(Debug)]
pub enum CreateConflict {
    /// A SCIM identity already owns this userName (the host key it owns).
    Taken(String),
    /// Several host rows match the userName; adopting one would be a guess.
    Ambiguous(Vec<String>),
    /// A host row matches but adoption is switched off.
    ExistsUnadopted(String),
}

/// Creates a user: adopts a matching unowned host row, or inserts a new one, and links it.
/// `insert` is written for a new row, `adopt` (no insert-only columns) into an adopted one.
pub async fn create(
    db: &Db,
    m: &UserMapping,
    mut insert: RowPlan,
    mut adopt: RowPlan,
    p: &Planned,
) -> Result<Result<Created, CreateConflict>, StoreError> {
    let d = db.dialect;
    let mut tx = db.begin_write().await?;
    let r = async {
        let c = tx.conn();
        resolve_lookups(c, m, d, &mut insert)
            .await?
            .map_err(StoreError::Invalid)?;
        resolve_lookups(c, m, d, &mut adopt)
            .await?
            .map_err(StoreError::Invalid)?;
        let (insert, adopt) = (&insert, &adopt);
        // (host key, whether it is adopted, whether a link row exists already)
        let (key, adopted, linked) = match link_owner(c, m, &user_name_hash(&p.user_name)).await? {
            Some((owner, origin)) if origin == ORIGIN_IMPORT => {
                update_host(c, m, &owner, adopt.main()).await?;
                write_related(c, m, d, &owner, adopt).await?;
                (owner, true, true)
            }
            Some((owner, _)) => return Ok(Err(CreateConflict::Taken(owner))),
            None => {
                let matches = find_matches(c, m, d, &p.user_name).await?;
                match matches.as_slice() {
                    [] => {
                        let key = insert_host(c, m, d, insert.main()).await?;
                        write_related(c, m, d, &key, insert).await?;
                        (key, false, false)
                    }
                    [one] if m.adopt => {
                        let origin = link_origin(c, m, one).await?;
                        if origin.as_deref().is_some_and(|o| o != ORIGIN_IMPORT) {
                            return Ok(Err(CreateConflict::Taken(one.clone())));
                        }
                        update_host(c, m, one, adopt.main()).await?;
                        write_related(c, m, d, one, adopt).await?;
                        (one.clone(), true, origin.is_some())
                    }
                    [one] => return Ok(Err(CreateConflict::ExistsUnadopted(one.clone()))),
                    many => return Ok(Err(CreateConflict::Ambiguous(many.to_vec()))),
                }
            }
        };
        upsert_link(c, m, &key, p, linked, "scim").await?;
        let mut attrs = super::audit::changed_attributes(None, &p.resource);
        if p.external_id.is_some() {
            attrs.push("externalId".into());
        }
        super::audit::record(
            c,
            "User",
            &key,
            Some(&p.user_name),
            if adopted { "adopt" } else { "create" },
            &attrs,
        )
        .await?;
        let user = fetch_host(c, m, d, &key, false).await?.ok_or_else(|| {
            StoreError::Other("created row not found (is it outside users.scope?)".into())
        })?;
        let user = with_link(c, m, d, user).await?;
        Ok(Ok(Created { user, adopted }))
    }
    .await;
    tx.finish(r).await
}

/// Reads the current user and writes what `plan` derives from it, in one transaction with
/// the host row locked, so concurrent PATCHes apply in some serial order.
///
/// # Errors
/// Whatever `plan` returns, or the store's error converted into `E`.
pub async fn modify<E: From<StoreError>>(
    db: &Db,
    m: &UserMapping,
    key: &str,
    op: &str,
    plan: impl FnOnce(&HostUser) -> Result<Planned, E>,
) -> Result<HostUser, E> {
    let d = db.dialect;
    let mut tx = db.begin_write().await?;
    let r: Result<HostUser, E> = async {
        let c = tx.conn();
        let current = fetch_host(c, m, d, key, true)
            .await?
            .ok_or(StoreError::NotFound)?;
        let current = with_link(c, m, d, current).await?;
        let mut p = plan(&current)?;
        resolve_lookups(c, m, d, &mut p.row)
            .await?
            .map_err(StoreError::Invalid)?;
        update_host(c, m, key, p.row.main()).await?;
        write_related(c, m, d, key, &p.row).await?;
        upsert_link(c, m, key, &p, current.link.is_some(), "scim").await?;
        let before = m.to_resource(
            &current.values,
            &current.children,
            current.link.as_ref().map(|l| &l.resource),
        );
        let mut attrs = super::audit::changed_attributes(Some(&before), &p.resource);
        if current.link.as_ref().and_then(|l| l.external_id.clone()) != p.external_id {
            attrs.push("externalId".into());
        }
        super::audit::record(c, "User", key, Some(&p.user_name), op, &attrs).await?;
        let user = fetch_host(c, m, d, key, false)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(with_link(c, m, d, user).await?)
    }
    .await;
    match r {
        Ok(u) => {
            tx.commit().await?;
            Ok(u)
        }
        Err(e) => {
            tx.rollback().await;
            Err(e)
        }
    }
}

/// `DELETE` with `on_delete = "delete"`: removes the user's child and joined rows, its host
/// group memberships, the host row and the link.
pub async fn delete_row(db: &Db, m: &UserMapping, key: &str) -> Result<bool, StoreError> {
    let Some(kv) = key_value(m, key) else {
        return Ok(false);
    };
    let d = db.dialect;
    let mut tx = db.begin_write().await?;
    let r = async {
        let c = tx.conn();
        if fetch_host(c, m, d, key, true).await?.is_none() {
            return Ok(false);
        }
        for child in &m.children {
            let mut q = Sql::new();
            q.raw("DELETE FROM ").ident(&child.table);
            where_parent(&mut q, &child.parent, kv.clone(), &child.conditions);
            c.exec(q).await?;
        }
        for j in &m.joined {
            let mut q = Sql::new();
            q.raw("DELETE FROM ").ident(&j.table);
            where_parent(&mut q, &j.parent, kv.clone(), &j.conditions);
            c.exec(q).await?;
        }
        super::groups::remove_host_memberships(c, m, key).await?;
        let mut q = Sql::new();
        q.raw("DELETE FROM ")
            .ident(&m.table)
            .raw(" WHERE ")
            .ident(&m.key.name)
            .raw(" = ")
            .bind(kv.clone());
        let n = c.exec(q).await?;
        if n > 0 {
            super::audit::record(c, "User", key, None, "delete", &[]).await?;
        }
        unlink(c, m, key).await?;
        super::groups::remove_user_everywhere(c, key).await?;
        Ok(n > 0)
    }
    .await;
    tx.finish(r).await
}

/// `DELETE` with `on_delete = "soft_delete"`: writes the soft-delete values (the row leaves
/// the scope) and forgets the link; the row and everything pointing at it stay.
pub async fn soft_delete(db: &Db, m: &UserMapping, key: &str) -> Result<bool, StoreError> {
    let d = db.dialect;
    let mut tx = db.begin_write().await?;
    let r = async {
        let c = tx.conn();
        if fetch_host(c, m, d, key, true).await?.is_none() {
            return Ok(false);
        }
        let row: Row = m
            .soft_delete
            .iter()
            .map(|(col, v)| (col.clone(), Assign::Value(v.clone())))
            .collect();
        update_host(c, m, key, &row).await?;
        super::audit::record(c, "User", key, None, "soft_delete", &[]).await?;
        unlink(c, m, key).await?;
        super::groups::remove_user_everywhere(c, key).await?;
        Ok(true)
    }
    .await;
    tx.finish(r).await
}

async fn unlink(c: &mut Conn, m: &UserMapping, key: &str) -> Result<(), StoreError> {
    let mut q = Sql::new();
    q.raw("DELETE FROM scim_users WHERE host_table = ")
        .text(&m.table)
        .raw(" AND host_key = ")
        .text(key);
    c.exec(q).await?;
    Ok(())
}

/// `DELETE` with `on_delete = "ignore"`: the host row stays; the bridge forgets its link.
pub async fn forget(db: &Db, m: &UserMapping, key: &str) -> Result<bool, StoreError> {
    let mut tx = db.begin_write().await?;
    let r = async {
        let c = tx.conn();
        let exists = fetch_host(c, m, db.dialect, key, true).await?.is_some();
        if exists {
            unlink(c, m, key).await?;
            super::audit::record(c, "User", key, None, "unlink", &[]).await?;
        }
        Ok(exists)
    }
    .await;
    tx.finish(r).await
}

/// Host rows after `after` in key order, with their links: the import's streaming read, one
/// index range per page however large the table.
pub async fn page_after(
    db: &Db,
    m: &UserMapping,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<HostUser>, StoreError> {
    let d = db.dialect;
    let mut c = db.reader().await?;
    let ctx = PredCtx::users(d, m);
    let after_pred = after.and_then(|a| key_value(m, a)).map(|k| Pred::Cmp {
        target: crate::mapping::Target::Key,
        op: crate::scim::filter::CompareOp::Gt,
        value: k,
        fold_case: false,
    });
    let pred = scoped(m, after_pred.as_ref());
    let mut q = select_host(m, d);
    if let Some(p) = &pred {
        q.raw(" WHERE ");
        dialect::render(&mut q, &ctx, p);
    }
    q.raw(" ORDER BY ")
        .ident(HOST_ALIAS)
        .raw(".")
        .ident(&m.key.name)
        .raw(" LIMIT ")
        .int(limit as i64);
    let mut users: Vec<HostUser> = c
        .rows(q)
        .await?
        .iter()
        .map(|r| parse_host_row(m, r))
        .collect();
    complete(&mut c, m, d, &mut users).await?;
    Ok(users)
}

/// Number of host rows.
pub async fn count(db: &Db, m: &UserMapping) -> Result<u64, StoreError> {
    let ctx = PredCtx::users(db.dialect, m);
    let mut c = db.reader().await?;
    count_rows(&mut c, &ctx, scoped(m, None).as_ref()).await
}

/// Values (trimmed, lower-cased) that more than one host row holds in its match columns: a
/// create with such a userName would be ambiguous.
pub async fn shared_match_values(
    db: &Db,
    m: &UserMapping,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let d = db.dialect;
    let mut c = db.reader().await?;
    let mut q = Sql::new();
    q.raw("SELECT v FROM (");
    let main_columns: Vec<&str> = m
        .match_columns
        .iter()
        .filter(|mc| mc.at == MatchAt::Table(0))
        .map(|mc| mc.column.as_str())
        .collect();
    if main_columns.is_empty() {
        return Ok(Default::default());
    }
    for (i, col) in main_columns.iter().enumerate() {
        if i > 0 {
            q.raw(" UNION ");
        }
        q.raw("SELECT ");
        cast_text(&mut q, d, Some(HOST_ALIAS), &m.key.name);
        q.raw(" AS k, lower(trim(")
            .ident(HOST_ALIAS)
            .raw(".")
            .ident(col)
            .raw(")) AS v FROM ")
            .ident(&m.table)
            .raw(" ")
            .ident(HOST_ALIAS);
    }
    q.raw(") x WHERE v IS NOT NULL AND v <> '' GROUP BY v HAVING COUNT(DISTINCT k) > 1");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .collect())
}

/// Pre-links host rows (`import --apply`). Returns how many links were made; a row whose
/// userName another link already holds is skipped, not overwritten.
pub async fn prelink(
    db: &Db,
    m: &UserMapping,
    rows: &[(String, Planned)],
) -> Result<usize, StoreError> {
    let mut made = 0;
    for (key, p) in rows {
        let mut tx = db.begin_write().await?;
        let r = async {
            let c = tx.conn();
            if link_origin(c, m, key).await?.is_some()
                || link_owner(c, m, &user_name_hash(&p.user_name))
                    .await?
                    .is_some()
            {
                return Ok(false);
            }
            upsert_link(c, m, key, p, false, ORIGIN_IMPORT).await?;
            Ok(true)
        }
        .await;
        if tx.finish(r).await? {
            made += 1;
        }
    }
    Ok(made)
}

/// Links whose host row no longer exists (deleted inside the application).
pub async fn dangling_links(db: &Db, m: &UserMapping) -> Result<Vec<(String, String)>, StoreError> {
    let mut c = db.reader().await?;
    let mut q = Sql::new();
    q.raw("SELECT l.host_key, l.user_name FROM scim_users l WHERE l.host_table = ")
        .text(&m.table);
    q.raw(" AND NOT EXISTS (SELECT 1 FROM ")
        .ident(&m.table)
        .raw(" ")
        .ident(HOST_ALIAS)
        .raw(" WHERE ")
        .ident(HOST_ALIAS)
        .raw(".")
        .ident(&m.key.name)
        .raw(" = ");
    if m.key.kind == ColumnKind::Int {
        q.raw("CAST(l.host_key AS ")
            .raw(dialect::int_cast_type(db.dialect))
            .raw(")");
    } else {
        q.raw("l.host_key");
    }
    q.raw(") ORDER BY l.host_key");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.get(0).unwrap_or("").to_string(),
                r.get(1).unwrap_or("").to_string(),
            )
        })
        .collect())
}

/// Removes links (`reconcile --fix`); host rows are not touched.
pub async fn forget_links(db: &Db, m: &UserMapping, keys: &[String]) -> Result<(), StoreError> {
    let mut tx = db.begin_write().await?;
    let r = async {
        for k in keys {
            unlink(tx.conn(), m, k).await?;
            super::groups::remove_user_everywhere(tx.conn(), k).await?;
        }
        Ok(())
    }
    .await;
    tx.finish(r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_key_is_case_and_space_insensitive() {
        assert_eq!(
            user_name_hash(" Alice@Example.COM "),
            user_name_hash("alice@example.com")
        );
        assert_ne!(
            user_name_hash("alice@example.com"),
            user_name_hash("alice@example.org")
        );
        assert_eq!(user_name_hash("ÄRGER@x"), user_name_hash("ärger@x"));
    }

    #[test]
    fn uuids_are_v4() {
        let u = crate::store::new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
