//! Users in the host table and their links in `scim_users`, one transaction per operation.
//!
//! The host row is the truth for mapped attributes; the link row records that a SCIM identity
//! owns the host row, its `externalId`, and the IdP's last view of the user. The link's unique
//! `(host_table, user_name_hash)` is what makes `userName` unique across bridge replicas.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::mapping::compile::{PrimaryMark, UserMapping};
use crate::mapping::convert::{ChildRow, RowPlan};
use crate::mapping::{ColumnKind, HostValue};

use super::rows::key_of;
use super::StoreError;

mod actions;
mod collide;
mod delete;
pub(crate) mod grants;
mod json;
mod link;
mod lookup;
mod pages;
mod read;
mod related;
mod side_key;
mod write;

pub use collide::{match_collisions, Collision};
pub use delete::{delete_row, forget, soft_delete};
pub use link::{dangling_links, forget_links, prelink};
pub use pages::{count, keys_matching, list, page_after, protected, Page};
pub use read::get;
pub use write::{create, modify};

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
    /// Read for a write only: what the columns a write may set hold now.
    pub stored: Option<Stored>,
    /// Read for a write (and by `import`): the `users.protect` entry the row meets.
    pub protected: Option<usize>,
    /// The user's groups (id, displayName), when the read was asked for them: on the read's
    /// own connection, where a later query would check out another (on MySQL, a ping more).
    pub groups: Option<Vec<(String, String)>>,
}

/// The stored values a write compares its plan with, so that it writes only what changes.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// In the order of [`write_targets`]; lookup columns hold the key, flag columns the
    /// whole integer.
    pub values: Vec<HostValue>,
    /// Per joined table: whether the user has its row.
    pub joined: Vec<bool>,
}

/// The userName a host row holds (its userName column), for links made without a request.
pub(super) fn host_user_name(m: &UserMapping, u: &HostUser) -> String {
    if let Some(l) = &u.link {
        return l.user_name.clone();
    }
    let rule = m.user_name_rule();
    m.read_columns
        .iter()
        .position(|(at, c)| *at == rule.at && c == &rule.column)
        .and_then(|i| u.values.get(i))
        .and_then(super::super::mapping::value::HostValue::display_text)
        .unwrap_or_else(|| u.key.clone())
}

/// A user deleted over SCIM is gone for every operation on its id.
pub(super) fn live(u: HostUser) -> Result<HostUser, StoreError> {
    if u.link.as_ref().is_some_and(|l| l.deleted) {
        Err(StoreError::NotFound)
    } else {
        Ok(u)
    }
}

impl Stored {
    /// What column `column` of table `at` holds, if it is a write target.
    pub(super) fn get(&self, m: &UserMapping, at: usize, column: &str) -> Option<&HostValue> {
        write_targets(m)
            .iter()
            .position(|(a, c, _)| *a == at && *c == column)
            .and_then(|i| self.values.get(i))
    }
}

/// Every column a write may set, main and joined (table index, column, kind): the rules'
/// columns and the primary pointers of child tables.
pub(super) fn write_targets(m: &UserMapping) -> Vec<(usize, &str, ColumnKind)> {
    let mut out: Vec<(usize, &str, ColumnKind)> = Vec::new();
    for r in m.rules.iter().filter(|r| r.writes()) {
        if !out.iter().any(|(a, c, _)| *a == r.at && *c == r.column) {
            out.push((r.at, &r.column, r.column_kind()));
        }
    }
    for ch in &m.children {
        if let PrimaryMark::Pointer { column, kind } = &ch.primary {
            if !out.iter().any(|(a, c, _)| *a == 0 && c == column) {
                out.push((0, column, *kind));
            }
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct Link {
    pub user_name: String,
    pub external_id: Option<String>,
    pub resource: Value,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    /// The user was deleted over SCIM while the application keeps the row: to SCIM it does
    /// not exist (404) until the identity provider creates it again.
    pub deleted: bool,
}

/// Links of users deleted over SCIM whose rows the application keeps.
pub const ORIGIN_DELETED: &str = "deleted";

/// What a write puts in the host row and the link.
#[derive(Debug, Clone)]
pub struct Planned {
    pub row: RowPlan,
    pub user_name: String,
    pub external_id: Option<String>,
    pub resource: Value,
    /// The write changes the user's `active`: the mapping's actions for it run too.
    pub state: Option<crate::mapping::compile::StateChange>,
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
    crate::scim::Folded::new(user_name).digest()
}

pub(super) fn key_value(m: &UserMapping, key: &str) -> Option<HostValue> {
    key_of(m.key.kind, key)
}

/// The order of a list: a column of table `at` (0 main, n joined), compared case-insensitively
/// when `fold`; the key breaks ties.
#[derive(Debug, Clone, Copy)]
pub struct SortBy<'a> {
    pub at: usize,
    pub column: &'a str,
    pub order: crate::scim::query::SortOrder,
    pub fold: bool,
}

/// Where the previous page of the same query ended: its last key, and the total it counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub after_key: String,
    pub total: u64,
}

/// Links made by `scim-bridge import --apply`: the identity provider's first create adopts them.
pub const ORIGIN_IMPORT: &str = "import";

/// Why a create could not proceed.
#[derive(Debug)]
pub enum CreateConflict {
    /// A SCIM identity already owns this userName (the host key it owns).
    Taken(String),
    /// Several host rows match the userName; adopting one would be a guess.
    Ambiguous(Vec<String>),
    /// A host row matches but adoption is switched off.
    ExistsUnadopted(String),
    /// The matching row is one the mapping protects: (its key, who such rows are).
    Protected(String, String),
}

/// Columns of user `kv`'s row, as text, in the order given; `None` when the row is gone. The
/// one read the write paths share when they need what the row holds now (actions, grants,
/// rows keyed by a column other than the key).
pub(super) async fn user_columns(
    c: &mut super::Conn,
    d: super::dialect::Dialect,
    m: &UserMapping,
    kv: &HostValue,
    columns: &[&str],
) -> Result<Option<super::sql::TextRow>, StoreError> {
    let mut q = super::sql::Sql::new();
    q.raw("SELECT ");
    for (i, col) in columns.iter().enumerate() {
        if i > 0 {
            q.raw(", ");
        }
        super::dialect::cast_text(&mut q, d, None, col);
    }
    q.raw(" FROM ")
        .ident(&m.table)
        .raw(" WHERE ")
        .ident(&m.key.name)
        .raw(" = ")
        .bind(kv.clone());
    c.row(q).await
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
