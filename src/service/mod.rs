//! One function per SCIM operation: protocol parsing, mapping and storage tied together.
//! No HTTP here, and no SQL.

pub(crate) mod groups;
pub(crate) mod import;
pub(crate) mod pager;
pub(crate) mod users;

use std::sync::Arc;

use crate::mapping::UserMapping;
use crate::scim::resource::ResourceType;
use crate::scim::ScimError;
use crate::store::{Db, StoreError};

/// Everything a request needs, shared by all requests.
pub struct App {
    /// Shared with the `App` a mapping reload makes: the pools outlive any one mapping.
    pub db: Arc<Db>,
    pub users: UserMapping,
    pub groups: ResourceType,
    pub pager: pager::Pager,
}

impl App {
    /// The same database with another user mapping, for a reload (SIGHUP). Paging starts
    /// afresh: a cursor remembers a position in an order the old mapping defined.
    #[must_use]
    pub fn with_users(&self, users: UserMapping) -> App {
        App {
            db: Arc::clone(&self.db),
            users,
            groups: self.groups.clone(),
            pager: pager::Pager::default(),
        }
    }
}

/// `If-Match` (RFC 7644 §3.14): the write proceeds only if the client saw the current version.
///
/// # Errors
/// 412 when the versions differ.
pub fn check_if_match(if_match: Option<&str>, current: &str) -> Result<(), ScimError> {
    match if_match {
        None => Ok(()),
        Some(m) if m.split(',').map(str::trim).any(|t| t == "*" || t == current) => Ok(()),
        Some(m) => Err(ScimError::new(
            412,
            None,
            format!("the resource has changed: If-Match {m} does not match the current version {current}; read it again"),
        )),
    }
}

/// The service layer's error: a protocol error for the client, or a storage failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
