//! `DELETE /Users/{id}` in each of its `on_delete` forms.

use crate::mapping::compile::{Joined, UserMapping};
use crate::mapping::convert::{Assign, Row};
use crate::mapping::HostValue;

use super::link::{tombstone, unlink};
use super::read::fetch_user;
use super::write::update_host;
use super::{host_user_name, key_value};
use crate::store::rows::where_parent;
use crate::store::sql::Sql;
use crate::store::{Conn, Db, StoreError};

/// `DELETE` with `on_delete = "delete"`: removes the user's child and joined rows, its host
/// group memberships, the host row and the link.
pub async fn delete_row(db: &Db, m: &UserMapping, key: &str) -> Result<bool, StoreError> {
    let Some(kv) = key_value(m, key) else {
        return Ok(false);
    };
    let d = db.dialect;
    db.write(async |c| -> Result<_, StoreError> {
        let Some(current) = fetch_user(c, m, d, key, true, false).await? else {
            return Ok(false);
        };
        // The key as stored, whatever spelling the client sent (`007` for 7).
        let key = current.key.clone();
        let key = key.as_str();
        super::grants::unprotected(c, d, m, &current).await?;
        if current.link.as_ref().is_some_and(|l| l.deleted) {
            return Ok(false);
        }
        for child in &m.children {
            let mut q = Sql::new();
            q.raw("DELETE FROM ").ident(&child.table);
            where_parent(&mut q, &child.parent, kv.clone(), &child.conditions);
            c.exec(q).await?;
        }
        let parents = super::side_key::parents(c, m, d, key).await?;
        let rows: Vec<_> = (m.joined.iter().zip(parents))
            .filter(|(_, pv)| !pv.is_null())
            .collect();
        // Rows the user's row points at (a principal) go after it.
        let (after, before): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(j, _)| j.before_user);
        for (j, pv) in before {
            delete_rows_of(c, j, pv).await?;
        }
        crate::store::groups::remove_host_memberships(c, m, key).await?;
        let mut q = Sql::new();
        q.raw("DELETE FROM ")
            .ident(&m.table)
            .raw(" WHERE ")
            .ident(&m.key.name)
            .raw(" = ")
            .bind(kv.clone());
        let n = c.exec(q).await?;
        for (j, pv) in after {
            delete_rows_of(c, j, pv).await?;
        }
        if n > 0 {
            crate::store::audit::record(c, "User", key, None, "delete", &[]).await?;
        }
        unlink(c, m, key).await?;
        crate::store::groups::remove_user_everywhere(c, key).await?;
        super::grants::forget(c, m, key).await?;
        Ok(n > 0)
    })
    .await
}

/// Deletes the user's rows of joined table `j`, keyed by `pv`.
async fn delete_rows_of(c: &mut Conn, j: &Joined, pv: HostValue) -> Result<(), StoreError> {
    let mut q = Sql::new();
    q.raw("DELETE FROM ").ident(&j.table);
    where_parent(&mut q, &j.parent, pv, &j.conditions);
    c.exec(q).await?;
    Ok(())
}

/// `DELETE` with `on_delete = "soft_delete"`: writes the soft-delete values (the row leaves
/// the scope) and marks the user deleted over SCIM; the row and everything pointing at it
/// stay.
pub async fn soft_delete(db: &Db, m: &UserMapping, key: &str) -> Result<bool, StoreError> {
    let d = db.dialect;
    db.write(async |c| -> Result<_, StoreError> {
        let Some(current) = fetch_user(c, m, d, key, true, false).await? else {
            return Ok(false);
        };
        // The key as stored, whatever spelling the client sent (`007` for 7).
        let key = current.key.clone();
        let key = key.as_str();
        super::grants::unprotected(c, d, m, &current).await?;
        if current.link.as_ref().is_some_and(|l| l.deleted) {
            return Ok(false);
        }
        let row: Row = m
            .soft_delete
            .iter()
            .map(|(col, v)| (col.clone(), Assign::Value(v.clone())))
            .collect();
        update_host(c, m, key, &row).await?;
        let user_name = host_user_name(m, &current);
        crate::store::audit::record(c, "User", key, Some(&user_name), "soft_delete", &[]).await?;
        tombstone(c, m, &current, &user_name).await?;
        super::grants::sync(c, d, m, key).await?;
        Ok(true)
    })
    .await
}

/// `DELETE` with `on_delete = "ignore"`: the host row stays untouched; the user is deleted
/// over SCIM only.
pub async fn forget(db: &Db, m: &UserMapping, key: &str) -> Result<bool, StoreError> {
    db.write(async |c| -> Result<_, StoreError> {
        let Some(current) = fetch_user(c, m, db.dialect, key, true, false).await? else {
            return Ok(false);
        };
        // The key as stored, whatever spelling the client sent (`007` for 7).
        let key = current.key.clone();
        let key = key.as_str();
        super::grants::unprotected(c, db.dialect, m, &current).await?;
        if current.link.as_ref().is_some_and(|l| l.deleted) {
            return Ok(false);
        }
        let user_name = host_user_name(m, &current);
        tombstone(c, m, &current, &user_name).await?;
        super::grants::sync(c, db.dialect, m, key).await?;
        crate::store::audit::record(c, "User", key, Some(&user_name), "unlink", &[]).await?;
        Ok(true)
    })
    .await
}
