//! Creating, modifying and deleting groups, each in one transaction.

use crate::mapping::compile::UserMapping;
use crate::mapping::convert::{Assign, Row};
use crate::mapping::model::OnDelete;

use super::granting::{members_before, resync};
use super::host::{host_group_create, host_key, typed, update_host_group};
use super::members::{apply_changes, remove_members};
use super::read::{fetch, members_of};
use super::{change_summary, ext, name_hash, now, GroupPlanned, GroupRefusal, GroupRow};
use crate::store::sql::Sql;
use crate::store::{Conn, Db, StoreError};

pub(super) async fn name_owner(
    c: &mut Conn,
    display_name: &str,
) -> Result<Option<String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT id FROM scim_groups WHERE display_name_hash = ")
        .text(&name_hash(display_name));
    Ok(c.row(q).await?.and_then(|r| r.get(0).map(str::to_string)))
}

/// A group write that did not go through: refused (the transaction rolls back, so nothing of
/// it stays), the caller's own error, or the store's.
enum Refused<E = StoreError> {
    Group(GroupRefusal),
    Caller(E),
}

impl<E: From<StoreError>> From<StoreError> for Refused<E> {
    fn from(e: StoreError) -> Self {
        Refused::Caller(e.into())
    }
}

impl<E> Refused<E> {
    /// Back to the public shape: a refusal is an `Ok(Err(…))`, everything else an error.
    fn split<T>(r: Result<T, Refused<E>>) -> Result<Result<T, GroupRefusal>, E> {
        match r {
            Ok(v) => Ok(Ok(v)),
            Err(Refused::Group(g)) => Ok(Err(g)),
            Err(Refused::Caller(e)) => Err(e),
        }
    }
}

pub async fn create(
    db: &Db,
    users: &UserMapping,
    id: &str,
    p: &GroupPlanned,
) -> Result<Result<GroupRow, GroupRefusal>, StoreError> {
    let d = db.dialect;
    let r = db.write(async |c| -> Result<_, Refused> {
        if let Some(owner) = name_owner(c, &p.display_name).await? {
            return Err(Refused::Group(GroupRefusal::NameTaken(owner)));
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
            return Err(Refused::Group(refusal));
        }
        resync(c, d, users, id, &[&p.display_name], Vec::new()).await?;
        crate::store::audit::record(c, "Group", id, Some(&p.display_name), "create", &change_summary(&p.changes, &["displayName"])).await?;
        let mut g = fetch(c, d, id, false).await?.ok_or_else(|| StoreError::Other("created group not found".into()))?;
        g.members = Some(members_of(c, users, id).await?);
        Ok(g)
    })
    .await;
    Refused::split(r)
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
    let r = db
        .write(async |c| -> Result<GroupRow, Refused<E>> {
            let current = fetch(c, d, id, true).await?.ok_or(StoreError::NotFound)?;
            let p = plan(&current).map_err(Refused::Caller)?;
            let names = [current.display_name.as_str(), p.display_name.as_str()];
            let before = members_before(c, users, id, &names).await?;
            let mut renamed: Vec<&str> = Vec::new();
            if p.display_name != current.display_name {
                renamed.push("displayName");
            }
            if p.external_id != current.external_id {
                renamed.push("externalId");
            }
            if name_hash(&p.display_name) != name_hash(&current.display_name) {
                if let Some(owner) = name_owner(c, &p.display_name).await? {
                    return Err(Refused::Group(GroupRefusal::NameTaken(owner)));
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
                    // Only members changed: the group's own row holds nothing new, and
                    // stamping its "now" columns would make a no-op PATCH write.
                    Some(_) if renamed.is_empty() => {}
                    Some(hk) => update_host_group(c, g, &hk, update).await?,
                    // Pushed before the mapping had [groups]: write the host group now.
                    None => host_group_create(c, d, g, id, &p).await?,
                }
            }
            if let Some(refusal) = apply_changes(c, users, d, id, &p.changes).await? {
                return Err(Refused::Group(refusal));
            }
            resync(c, d, users, id, &names, before).await?;
            crate::store::audit::record(
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
            Ok(g)
        })
        .await;
    Refused::split(r)
}

pub async fn delete(db: &Db, users: &UserMapping, id: &str) -> Result<bool, StoreError> {
    let d = db.dialect;
    db.write(async |c| -> Result<_, StoreError> {
        let name = fetch(c, d, id, true).await?.map(|g| g.display_name);
        let names: Vec<&str> = name.as_deref().into_iter().collect();
        let before = members_before(c, users, id, &names).await?;
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
        resync(c, d, users, id, &names, before).await?;
        if gone {
            crate::store::audit::record(c, "Group", id, None, "delete", &[]).await?;
        }
        Ok(gone)
    })
    .await
}
