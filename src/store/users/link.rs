//! Links between SCIM identities and host rows (`scim_users`): adoption matches, ownership,
//! the import's pre-links and reconciliation.

use chrono::Utc;

use crate::mapping::compile::{MatchAt, UserMapping};
use crate::mapping::{ColumnKind, HostValue};
use crate::store::dialect::Dialect;

use super::{user_name_hash, Planned, ORIGIN_DELETED, ORIGIN_IMPORT};
use crate::store::dialect::{self, cast_text, table_alias, HOST_ALIAS};
use crate::store::predicate::{self, scoped, PredCtx};
use crate::store::sql::Sql;
use crate::store::{Conn, Db, StoreError};

/// Who holds a userName a create asks for: the link that already holds it (host key,
/// origin), and the host rows in scope whose match columns equal it case-insensitively (at
/// most 3, in key order).
pub(super) struct Claims {
    pub owner: Option<(String, String)>,
    pub matches: Vec<String>,
}

/// [`Claims`] in one statement: the link lookup and the adoption match were two round trips
/// on every create (issue 18); the matches are wasted work only when a link holds the name.
pub(super) async fn claims(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    user_name: &str,
) -> Result<Claims, StoreError> {
    let mut q = Sql::new();
    // Both arms' text columns cast alike: MySQL refuses a UNION of two collations.
    q.raw("SELECT 'o', ");
    cast_text(&mut q, d, None, "host_key");
    q.raw(", ");
    cast_text(&mut q, d, None, "origin");
    q.raw(" FROM scim_users WHERE host_table = ")
        .text(&m.table)
        .raw(" AND user_name_hash = ")
        .text(&super::user_name_hash(user_name))
        .raw(" UNION ALL SELECT 'm', k, NULL FROM (");
    matches_sql(&mut q, m, d, user_name);
    q.raw(") mt");
    let mut out = Claims {
        owner: None,
        matches: Vec::new(),
    };
    for r in c.rows(q).await? {
        let key = r.get(1).unwrap_or("").to_string();
        if r.get(0) == Some("o") {
            out.owner = Some((key, r.get(2).unwrap_or("scim").to_string()));
        } else {
            out.matches.push(key);
        }
    }
    // The UNION ALL keeps each arm's rows but not their order.
    out.matches.sort();
    Ok(out)
}

/// `SELECT k FROM (…) matches ORDER BY k LIMIT 3`: host rows in scope whose match columns
/// equal `user_name` case-insensitively.
fn matches_sql(q: &mut Sql, m: &UserMapping, d: Dialect, user_name: &str) {
    // One indexed lookup per column, UNIONed: an OR across columns lets some planners
    // (SQLite 3.53, measured) fall back to a full table scan.
    let ctx = PredCtx::users(d, m);
    let scope = scoped(m, None);
    q.raw("SELECT k FROM (");
    for (i, mc) in m.match_columns.iter().enumerate() {
        if i > 0 {
            q.raw(" UNION ");
        }
        q.raw("SELECT ");
        cast_text(q, d, Some(HOST_ALIAS), &m.key.name);
        q.raw(" AS k FROM ")
            .ident(&m.table)
            .raw(" ")
            .ident(HOST_ALIAS);
        match mc.at {
            MatchAt::Table(at) => {
                predicate::joins(q, m);
                q.raw(" WHERE ");
                dialect::ci_equals(q, d, &table_alias(at), &mc.column, user_name.trim());
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
                dialect::ci_equals(q, d, "c", &mc.column, user_name.trim());
                q.raw(")");
            }
        }
        if let Some(s) = &scope {
            q.raw(" AND ");
            predicate::render(q, &ctx, s);
        }
    }
    q.raw(") matches ORDER BY k LIMIT 3");
}

/// The host key and origin of the link holding this userName.
pub(super) async fn link_owner(
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
pub(super) async fn link_origin(
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

pub(super) async fn upsert_link(
    c: &mut Conn,
    m: &UserMapping,
    key: &str,
    p: &Planned,
    exists: bool,
    origin: &str,
) -> Result<(), StoreError> {
    c.exec(link_sql(m, key, p, exists, origin)?).await?;
    Ok(())
}

/// The statement [`upsert_link`] sends, for writes that send it together with others.
pub(super) fn link_sql(
    m: &UserMapping,
    key: &str,
    p: &Planned,
    exists: bool,
    origin: &str,
) -> Result<Sql, StoreError> {
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
    Ok(q)
}

/// Links a row the create has just inserted; returns the statements still to send (with the
/// audit entry, see `Conn::exec_all`). Its key may have been a deleted row's (SQLite reuses the
/// largest rowid once it is deleted): a link left by that row is stale and gives way, by
/// `ON CONFLICT` on the link's key, and that row's memberships and grants are forgotten. A
/// conflict on the userName still fails: that is another user's.
pub(super) async fn link_new_row(
    c: &mut Conn,
    d: Dialect,
    m: &UserMapping,
    key: &str,
    p: &Planned,
) -> Result<Vec<Sql>, StoreError> {
    let mut records = Vec::new();
    let stale = if d == Dialect::Mysql {
        insert_fresh_link_mysql(c, m, key, p).await?
    } else {
        let mut insert = link_sql(m, key, p, false, "scim")?;
        insert.raw(
            " ON CONFLICT (host_table, host_key) DO UPDATE SET user_name = excluded.user_name, \
             user_name_hash = excluded.user_name_hash, external_id = excluded.external_id, \
             resource = excluded.resource, created_at = excluded.created_at, \
             updated_at = excluded.updated_at, origin = excluded.origin",
        );
        records.push(insert);
        true
    };
    if stale {
        records.push(crate::store::groups::forget_member_sql(key));
        if !m.grants.is_empty() {
            records.push(super::grants::forget_sql(m, key));
        }
    }
    Ok(records)
}

/// [`link_new_row`] on MySQL, which has no `ON CONFLICT` for one unique key of several: the
/// stale link is looked for only when the `INSERT` meets it (a failed statement leaves
/// MySQL's transaction open). Deleting it, or the key's memberships, up front cost statements
/// per create, and deleting a missing key takes a gap lock that deadlocked concurrent creates.
///
/// Returns whether a stale link was met (then the key's other leftovers are looked for too).
async fn insert_fresh_link_mysql(
    c: &mut Conn,
    m: &UserMapping,
    key: &str,
    p: &Planned,
) -> Result<bool, StoreError> {
    match c.exec(link_sql(m, key, p, false, "scim")?).await {
        Err(StoreError::Conflict(why)) => {
            if link_origin(c, m, key).await?.is_none() {
                return Err(StoreError::Conflict(why));
            }
            unlink(c, m, key).await?;
            upsert_link(c, m, key, p, false, "scim").await?;
            Ok(true)
        }
        other => other.map(|_| false),
    }
}

/// Marks the user as deleted over SCIM while the application keeps its row: every later
/// operation on its id answers 404 and reads leave it out, until the identity provider
/// creates the user again (which adopts the row). Its group memberships in the bridge go.
pub(super) async fn tombstone(
    c: &mut Conn,
    m: &UserMapping,
    current: &super::HostUser,
    user_name: &str,
) -> Result<(), StoreError> {
    match &current.link {
        Some(_) => {
            let mut q = Sql::new();
            q.raw("UPDATE scim_users SET origin = ")
                .text(ORIGIN_DELETED)
                .raw(", updated_at = ")
                .bind(HostValue::Timestamp(Utc::now().naive_utc()))
                .raw(" WHERE host_table = ")
                .text(&m.table)
                .raw(" AND host_key = ")
                .text(&current.key);
            c.exec(q).await?;
        }
        None => {
            let p = Planned {
                row: Default::default(),
                user_name: user_name.to_string(),
                external_id: None,
                resource: serde_json::json!({"userName": user_name}),
                state: None,
            };
            upsert_link(c, m, &current.key, &p, false, ORIGIN_DELETED).await?;
        }
    }
    crate::store::groups::remove_user_everywhere(c, &current.key).await
}

pub(super) async fn unlink(c: &mut Conn, m: &UserMapping, key: &str) -> Result<(), StoreError> {
    let mut q = Sql::new();
    q.raw("DELETE FROM scim_users WHERE host_table = ")
        .text(&m.table)
        .raw(" AND host_key = ")
        .text(key);
    c.exec(q).await?;
    Ok(())
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
        let linked = db
            .write(async |c| -> Result<_, StoreError> {
                if link_origin(c, m, key).await?.is_some()
                    || link_owner(c, m, &user_name_hash(&p.user_name))
                        .await?
                        .is_some()
                {
                    return Ok(false);
                }
                upsert_link(c, m, key, p, false, ORIGIN_IMPORT).await?;
                Ok(true)
            })
            .await?;
        if linked {
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
    db.write(async |c| -> Result<_, StoreError> {
        for k in keys {
            unlink(c, m, k).await?;
            crate::store::groups::remove_user_everywhere(c, k).await?;
        }
        Ok(())
    })
    .await
}
