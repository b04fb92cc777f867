//! The words the draft recognises: column names per role, compared by [`norm`], and the
//! column-type tests the guesses share.

use crate::mapping::host::{ColumnKind, HostColumn};

/// Column names compared without case, `_`, `-` or spaces: `first_name`, `firstName`,
/// `First Name`.
pub(super) fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

pub(super) const LOGIN: &[&str] = &[
    "login",
    "username",
    "userlogin",
    "loginname",
    "accountname",
    "uid",
    "samaccountname",
];
pub(super) const EMAIL: &[&str] = &[
    "email",
    "emailaddress",
    "mail",
    "useremail",
    "primaryemail",
    "emailaddr",
];
pub(super) const FIRST: &[&str] = &["firstname", "givenname", "fname", "forename"];
pub(super) const LAST: &[&str] = &["lastname", "familyname", "surname", "lname", "sn"];
pub(super) const FULL: &[&str] = &["fullname", "name", "realname", "displayname", "commonname"];
pub(super) const PASSWORD: &[&str] = &[
    "password",
    "passwd",
    "passwordhash",
    "encryptedpassword",
    "hashedpassword",
    "passworddigest",
    "pwd",
    "pass",
];
pub(super) const ACTIVE: &[&str] = &[
    "active",
    "isactive",
    "enabled",
    "isenabled",
    "activated",
    "isactivated",
];
pub(super) const INACTIVE: &[&str] = &[
    "disabled",
    "isdisabled",
    "blocked",
    "isblocked",
    "suspended",
    "issuspended",
    "inactive",
    "isinactive",
    "banned",
    "isbanned",
];
pub(super) const STATUS: &[&str] = &["status", "state", "accountstatus", "userstatus"];
pub(super) const LOCKED: &[&str] = &["locked", "islocked"];
pub(super) const DELETED: &[&str] = &["deleted", "isdeleted", "trashed", "istrashed"];
pub(super) const DELETED_AT: &[&str] = &["deletedat", "deletedon", "deletiondate", "datedeleted"];
pub(super) const CREATED: &[&str] = &[
    "createdat",
    "created",
    "datecreation",
    "creationdate",
    "createdon",
    "insertedat",
    "datecreated",
    "createtime",
    "createdate",
];
pub(super) const UPDATED: &[&str] = &[
    "updatedat",
    "updated",
    "datemod",
    "modified",
    "modifiedat",
    "updatedon",
    "lastmodified",
    "datemodified",
    "updatetime",
    "changedat",
];
/// Columns naming who wrote a row (`created_by_id`): Zammad-style bookkeeping.
pub(super) const AUTHOR: &[&str] = &[
    "createdbyid",
    "updatedbyid",
    "createdby",
    "updatedby",
    "modifiedby",
    "modifiedbyid",
];

pub(super) fn is_in(c: &HostColumn, names: &[&str]) -> bool {
    names.contains(&norm(&c.name).as_str())
}

pub(super) fn is_text(c: &HostColumn) -> bool {
    c.kind == Some(ColumnKind::Text)
}

pub(super) fn is_time(c: &HostColumn) -> bool {
    matches!(
        c.kind,
        Some(ColumnKind::Timestamp | ColumnKind::TimestampTz)
    )
}
