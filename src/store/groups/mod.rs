//! Groups and memberships in the bridge's own tables (`scim_groups`, `scim_group_members`).
//!
//! Membership changes are applied as set operations in SQL — never by loading the member
//! list — so a 1,000-member PATCH on a 50,000-member group costs the rows it touches.

use chrono::{NaiveDateTime, Utc};
use serde_json::Value;

use crate::mapping::convert::Row;
use crate::mapping::{ColumnKind, HostValue};

mod granting;
mod host;
mod members;
mod read;
mod write;

pub use host::remove_host_memberships;
pub(crate) use members::forget_member_sql;
pub use members::remove_user_everywhere;
pub(crate) use read::memberships_on;
pub use read::{get, list, members_after, memberships};
pub use write::{create, delete, modify};

/// Rows per multi-row INSERT/DELETE: far below every backend's bind-parameter limit.
pub(super) const CHUNK: usize = 400;

/// What a group filter or sort can name. The columns of `scim_groups` behind them are the
/// store's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupField {
    DisplayName,
    ExternalId,
    Id,
}

impl GroupField {
    fn column(self) -> &'static str {
        match self {
            GroupField::DisplayName => "display_name",
            GroupField::ExternalId => "external_id",
            GroupField::Id => "id",
        }
    }

    /// The predicate target a filter on this field compares.
    pub fn target(self) -> crate::mapping::Target {
        match self {
            GroupField::Id => crate::mapping::Target::Key,
            f => crate::mapping::Target::Column(f.column().into()),
        }
    }
}

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
pub(super) fn change_summary(changes: &[MemberChange], attrs: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = attrs.iter().map(std::string::ToString::to_string).collect();
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
    crate::scim::Folded::new(display_name).digest()
}

pub(super) fn now() -> HostValue {
    HostValue::Timestamp(Utc::now().naive_utc())
}

pub(super) fn ext(p: &GroupPlanned) -> HostValue {
    p.external_id
        .clone()
        .map_or(HostValue::Null(ColumnKind::Text), HostValue::Text)
}
