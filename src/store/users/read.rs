//! Reading users: the host row with its joined columns, child rows and link, one user or a
//! page, from one snapshot.

use serde_json::Value;

use crate::mapping::compile::{PrimaryMark, UserMapping};
use crate::mapping::convert::ChildRow;
use crate::mapping::value::parse_timestamp;
use crate::mapping::{ColumnKind, HostValue, Pred};
use crate::store::dialect::Dialect;

use super::{key_value, write_targets, HostUser, Link, Stored};
use crate::store::conn::{clause_name, with_clauses};
use crate::store::dialect::{cast_text, table_alias, HOST_ALIAS};
use crate::store::predicate::{self, scoped, PredCtx};
use crate::store::sql::{Sql, TextRow};
use crate::store::{Conn, Db, StoreError};

/// `SELECT CAST(h.key AS TEXT), CAST(x.c1 AS TEXT), … FROM host h LEFT JOIN …`; with
/// `stored`, the raw values of every write target and each joined row's parent column follow.
pub(super) fn select_host(m: &UserMapping, d: Dialect, stored: bool, protect: bool) -> Sql {
    select_host_with(m, d, stored, protect, Joins::default())
}

/// Whose link or groups a read brings along: the user whose key is bound (one user), or
/// each row's own (a page).
#[derive(Debug, Clone, Copy)]
pub(super) enum Of<'a> {
    Key(&'a str),
    Row,
    /// The link as clause `n` of the same statement wrote it (its `RETURNING *`).
    Written(usize),
}

/// What [`select_host_with`] reads besides the host row, in the same statement.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Joins<'a> {
    pub link: Option<Of<'a>>,
    pub groups: Option<Of<'a>>,
}

/// Whether a read can bring the user's groups along as one JSON column: not a locking read
/// on MySQL, where a subquery under `FOR UPDATE` would lock the memberships it reads.
pub(super) fn groups_fold(d: Dialect, lock: bool) -> bool {
    !(lock && d == Dialect::Mysql)
}

/// The key a link or membership is stored under: bound, or the row's own as text.
fn key_text(q: &mut Sql, m: &UserMapping, d: Dialect, of: Of<'_>) {
    match of {
        Of::Key(k) => {
            q.text(k);
        }
        // MySQL: in the bridge's tables' collation (`utf8mb4_bin`), so that the comparison
        // neither mixes collations nor gives up the index on the key it is compared with.
        Of::Row | Of::Written(_) if d == Dialect::Mysql => {
            q.raw("CAST(")
                .ident(HOST_ALIAS)
                .raw(".")
                .ident(&m.key.name)
                .raw(" AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin");
        }
        Of::Row | Of::Written(_) => cast_text(q, d, Some(HOST_ALIAS), &m.key.name),
    }
}

/// The user's groups as a JSON array of `[id, displayName]`, ordered as
/// `memberships_on` orders them (see [`groups_fold`]). MySQL 8's `JSON_ARRAYAGG` takes no
/// `ORDER BY`, so there the array is `GROUP_CONCAT`ed, which does (its length limit is
/// raised for the session when the connection is opened: `store::db`).
fn groups_column(q: &mut Sql, m: &UserMapping, d: Dialect, of: Of<'_>) {
    q.raw(match d {
        Dialect::Postgres => {
            ", (SELECT CAST(json_agg(json_build_array(sg.id, sg.display_name) ORDER BY sg.display_name, sg.id) AS TEXT)"
        }
        Dialect::Mysql => {
            ", (SELECT CONCAT('[', GROUP_CONCAT(JSON_ARRAY(sg.id, sg.display_name) ORDER BY sg.display_name, sg.id SEPARATOR ','), ']')"
        }
        Dialect::Sqlite => ", (SELECT json_group_array(json_array(sg.id, sg.display_name) ORDER BY sg.display_name, sg.id)",
    });
    q.raw(" FROM scim_group_members sgm JOIN scim_groups sg ON sg.id = sgm.group_id WHERE sgm.member_key = ");
    key_text(q, m, d, of);
    q.raw(")");
}

/// [`select_host`], with the link and the groups of the user (or of each row) joined in:
/// one statement where a read used to spend two or three. After the stored values come the
/// link's columns, then the groups, then the protect entry. A bound key keeps the link's
/// primary key usable; a page joins each row's key as text (on MySQL in the collation of the
/// bridge's tables).
pub(super) fn select_host_with(
    m: &UserMapping,
    d: Dialect,
    stored: bool,
    protect: bool,
    joins: Joins<'_>,
) -> Sql {
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
                    .ident(&table_alias(*at))
                    .raw(".")
                    .ident(c)
                    .raw(")");
            }
            None => cast_text(&mut q, d, Some(&table_alias(*at)), c),
        }
    }
    if stored {
        for (at, c, _) in write_targets(m) {
            q.raw(", ");
            cast_text(&mut q, d, Some(&table_alias(at)), c);
        }
        for (i, j) in m.joined.iter().enumerate() {
            q.raw(", ");
            cast_text(&mut q, d, Some(&table_alias(i + 1)), &j.parent);
        }
    }
    if joins.link.is_some() {
        q.raw(", sl.host_key, sl.user_name, sl.external_id, sl.resource, ");
        cast_text(&mut q, d, Some("sl"), "created_at");
        q.raw(", ");
        cast_text(&mut q, d, Some("sl"), "updated_at");
        q.raw(", sl.origin");
    }
    if let Some(of) = joins.groups {
        groups_column(&mut q, m, d, of);
    }
    if protect {
        predicate::protected_column(&mut q, &PredCtx::users(d, m), m);
    }
    q.raw(" FROM ").ident(&m.table).raw(" ").ident(HOST_ALIAS);
    predicate::joins(&mut q, m);
    match joins.link {
        Some(Of::Written(n)) => {
            q.owned(format!(" LEFT JOIN {} sl ON TRUE", clause_name(n)));
        }
        Some(Of::Row) if d == Dialect::Postgres => {
            // Each row's link by its primary key, one probe per row the page returns. As a
            // plain join, the plan PostgreSQL caches for the prepared page (not knowing where
            // the page starts) hash-joined every link: 300 ms a page of 100 among 100,000.
            // `LIMIT 1` keeps the subquery from being flattened back into such a join.
            q.raw(" LEFT JOIN LATERAL (SELECT * FROM scim_users WHERE host_key = ");
            key_text(&mut q, m, d, Of::Row);
            q.raw(" AND host_table = ")
                .text(&m.table)
                .raw(" LIMIT 1) sl ON TRUE");
        }
        Some(of) => {
            q.raw(" LEFT JOIN scim_users sl ON sl.host_key = ");
            key_text(&mut q, m, d, of);
            q.raw(" AND sl.host_table = ").text(&m.table);
        }
        None => {}
    }
    q
}

/// The groups [`groups_column`] read, from column `at`: none when the user is in none.
fn parse_groups(r: &TextRow, at: usize) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let Some(json) = r.get(at) else {
        return Vec::new();
    };
    let groups: Vec<Vec<Value>> = serde_json::from_str(json).unwrap_or_else(|e| {
        // The bridge's own SQL made this text: a failure here is a bug, not the user's data.
        tracing::error!(error = %e, "the groups column did not parse; answering without groups");
        Vec::new()
    });
    groups
        .iter()
        .filter_map(|g| Some((text(g.first()?), text(g.get(1)?))))
        .collect()
}

/// A row of [`select_host_with`] read with `joins`: the host user with its link and groups.
pub(super) fn parse_joined(
    m: &UserMapping,
    r: &TextRow,
    stored: bool,
    joins: Joins<'_>,
) -> HostUser {
    let mut u = parse_host_row(m, r);
    let mut at = link_offset(m, stored);
    if joins.link.is_some() {
        u.link = parse_link(r, at);
        at += 7;
    }
    if joins.groups.is_some() {
        u.groups = Some(parse_groups(r, at));
    }
    u
}

/// Where the link's columns start in a row of [`select_host_with`].
fn link_offset(m: &UserMapping, stored: bool) -> usize {
    let stored_len = if stored {
        write_targets(m).len() + m.joined.len()
    } else {
        0
    };
    1 + m.read_columns.len() + stored_len
}

/// The link in `r` from column `at` on (host key, userName, externalId, resource, created,
/// updated, origin), if the row has one.
fn parse_link(r: &TextRow, at: usize) -> Option<Link> {
    r.get(at)?;
    Some(Link {
        user_name: r.get(at + 1).unwrap_or("").to_string(),
        external_id: r.get(at + 2).map(str::to_string),
        resource: r
            .get(at + 3)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null),
        created_at: r.get(at + 4).and_then(parse_timestamp),
        updated_at: r.get(at + 5).and_then(parse_timestamp),
        deleted: r.get(at + 6) == Some(super::ORIGIN_DELETED),
    })
}

/// ` WHERE h.key = ? AND <scope>`
pub(super) fn where_key(q: &mut Sql, m: &UserMapping, d: Dialect, key: HostValue) {
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
    predicate::render(
        q,
        &PredCtx::users(d, m),
        pred.as_ref().unwrap_or(&Pred::True),
    );
}

/// The stored values [`select_host`] appended after the read columns.
fn parse_stored(m: &UserMapping, r: &TextRow) -> Stored {
    let start = 1 + m.read_columns.len();
    let targets = write_targets(m);
    let values = targets
        .iter()
        .enumerate()
        .map(|(i, (_, _, kind))| HostValue::from_db_text(*kind, r.get(start + i)))
        .collect();
    let joined = (0..m.joined.len())
        .map(|i| r.get(start + targets.len() + i).is_some())
        .collect();
    Stored { values, joined }
}

pub(super) fn parse_host_row(m: &UserMapping, r: &TextRow) -> HostUser {
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
                        r.column_kind()
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
        stored: None,
        protected: None,
        groups: None,
    }
}

/// The protect entry [`select_host`] appended last, when it was asked for.
pub(super) fn parse_protected(m: &UserMapping, r: &TextRow) -> Option<usize> {
    if m.protect.is_empty() {
        return None;
    }
    r.get(r.0.len() - 1).and_then(|s| s.parse().ok())
}

pub(super) async fn fetch_host(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
    lock: bool,
) -> Result<Option<HostUser>, StoreError> {
    let how = Fetch {
        lock,
        ..Fetch::default()
    };
    fetch(c, m, d, key, how).await
}

/// [`fetch_host`] with the user's link and, when `groups`, its groups — in the same
/// statement where the dialect allows.
pub(super) async fn fetch_user(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
    lock: bool,
    groups: bool,
) -> Result<Option<HostUser>, StoreError> {
    let how = Fetch {
        lock,
        link: true,
        groups,
        ..Fetch::default()
    };
    fetch(c, m, d, key, how).await
}

/// Writes `records` (statements that need nothing from each other, the link first when
/// `link_first`) and reads the user back as [`fetch_user`] does. On PostgreSQL that is one
/// statement: the records as data-modifying `WITH` clauses, the read as its `SELECT`. That
/// `SELECT` sees the transaction as it was before the statement — the host row as earlier
/// statements wrote it, but not the new link, which is therefore joined from what its own
/// clause returns. Its groups are read as before the records too: the records must not
/// change the user's memberships when `groups` is asked for.
pub(super) async fn record_then_fetch(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
    groups: bool,
    records: Vec<Sql>,
    link_first: bool,
) -> Result<Option<HostUser>, StoreError> {
    if d != Dialect::Postgres || records.is_empty() {
        c.exec_all(records).await?;
        return fetch_user(c, m, d, key, false, groups).await;
    }
    let how = Fetch {
        link: true,
        groups,
        records,
        link_first,
        ..Fetch::default()
    };
    fetch(c, m, d, key, how).await
}

/// How [`fetch`] reads: locked for a write (with the stored values and the protect entry),
/// with the link, with the groups, after `records` (PostgreSQL; see [`record_then_fetch`]).
#[derive(Default)]
struct Fetch {
    lock: bool,
    link: bool,
    groups: bool,
    records: Vec<Sql>,
    link_first: bool,
}

async fn fetch(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    key: &str,
    how: Fetch,
) -> Result<Option<HostUser>, StoreError> {
    let Fetch {
        lock,
        link,
        groups,
        records,
        link_first,
    } = how;
    let Some(kv) = key_value(m, key) else {
        c.exec_all(records).await?;
        return Ok(None);
    };
    // The link joins by the key as links store it (`7`, whatever `007` the client sent), and
    // not under MySQL's lock: `FOR UPDATE` there also locks the joined link, or the gap where
    // a missing one would go, which the same write then fills — concurrent adoptions deadlock.
    let canonical = match &kv {
        HostValue::Int(i) => i.to_string(),
        _ => key.to_string(),
    };
    let written = link_first && !records.is_empty();
    let joins = Joins {
        link: if written {
            Some(Of::Written(0))
        } else {
            (link && !(lock && d == Dialect::Mysql)).then_some(Of::Key(&canonical))
        },
        groups: (groups && groups_fold(d, lock)).then_some(Of::Key(&canonical)),
    };
    let mut q = with_clauses(records, written);
    q.append(select_host_with(m, d, lock, lock, joins));
    where_key(&mut q, m, d, kv);
    if lock {
        match d {
            // The outer join's nullable side cannot be locked; the user's row is enough (the
            // groups subquery locks nothing).
            Dialect::Postgres => {
                q.raw(" FOR UPDATE OF ").ident(HOST_ALIAS);
            }
            Dialect::Mysql => {
                q.raw(" FOR UPDATE");
            }
            Dialect::Sqlite => {}
        }
    }
    let Some(mut u) = c.row(q).await?.map(|r| {
        let mut u = parse_joined(m, &r, lock, joins);
        if lock {
            u.stored = Some(parse_stored(m, &r));
            u.protected = parse_protected(m, &r);
        }
        u
    }) else {
        return Ok(None);
    };
    // The key as the database spells it can still differ (a text key compared
    // case-insensitively): then, and under MySQL's lock, the link and groups are read by it.
    let respelled = u.key != canonical;
    if link && (joins.link.is_none() || respelled) {
        u.link = fetch_links(c, m, d, std::slice::from_ref(&u.key))
            .await?
            .into_iter()
            .next()
            .map(|(_, l)| l);
    }
    if groups && (joins.groups.is_none() || respelled) {
        attach_groups(c, std::slice::from_mut(&mut u)).await?;
    }
    fetch_children(c, m, d, std::slice::from_mut(&mut u)).await?;
    Ok(Some(u))
}

/// The child rows of `users`, one query per child table.
pub(super) async fn fetch_children(
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

pub(super) async fn fetch_links(
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
    q.raw(", origin, host_table FROM scim_users WHERE host_key IN (");
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
        .filter(|r| r.get(7) == Some(m.table.as_str()))
        .filter_map(|r| Some((r.get(0)?.to_string(), parse_link(&r, 0)?)))
        .collect())
}

/// Children and links for a page of users.
pub(super) async fn complete(
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

/// Sets `groups` of each user, on the caller's connection.
pub(super) async fn attach_groups(c: &mut Conn, users: &mut [HostUser]) -> Result<(), StoreError> {
    let keys: Vec<String> = users.iter().map(|u| u.key.clone()).collect();
    let mut all = if keys.is_empty() {
        vec![]
    } else {
        crate::store::groups::memberships_on(c, &keys).await?
    };
    for u in users.iter_mut() {
        let mine = all
            .extract_if(.., |(user, _, _)| *user == u.key)
            .map(|(_, id, name)| (id, name))
            .collect();
        u.groups = Some(mine);
    }
    Ok(())
}

/// One user by SCIM id (the host key), with its groups when `groups`.
pub async fn get(
    db: &Db,
    m: &UserMapping,
    key: &str,
    groups: bool,
) -> Result<Option<HostUser>, StoreError> {
    let mut c = db.reader().await?;
    let u = fetch_user(&mut c, m, db.dialect, key, false, groups).await?;
    // Deleted over SCIM: gone, though the application keeps the row.
    Ok(u.filter(|u| !u.link.as_ref().is_some_and(|l| l.deleted)))
}
