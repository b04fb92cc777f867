//! Creating and modifying users: the host row, its related rows, the link and the audit entry
//! in one transaction.

use crate::mapping::compile::UserMapping;
use crate::mapping::convert::{Row, RowPlan};
use crate::store::dialect::Dialect;

use super::link::{find_matches, link_origin, link_owner, upsert_link};
use super::lookup::resolve_lookups;
use super::read::{fetch_host, with_link};
use super::related::write_related;
use super::{key_value, user_name_hash, CreateConflict, Created, HostUser, Planned, ORIGIN_IMPORT};
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

pub(super) async fn insert_host(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    row: &Row,
) -> Result<String, StoreError> {
    insert_returning_key(c, d, &m.table, &m.key, insert_values(row)).await
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
    db.write(async |c| -> Result<_, StoreError> {
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
        let mut attrs = crate::store::audit::changed_attributes(None, &p.resource);
        if p.external_id.is_some() {
            attrs.push("externalId".into());
        }
        crate::store::audit::record(
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
    })
    .await
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
    db.write(async |c| -> Result<HostUser, E> {
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
        let mut attrs = crate::store::audit::changed_attributes(Some(&before), &p.resource);
        if current.link.as_ref().and_then(|l| l.external_id.clone()) != p.external_id {
            attrs.push("externalId".into());
        }
        crate::store::audit::record(c, "User", key, Some(&p.user_name), op, &attrs).await?;
        let user = fetch_host(c, m, d, key, false)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(with_link(c, m, d, user).await?)
    })
    .await
}
