//! One function per SCIM operation: protocol parsing, mapping and storage tied together.
//! No HTTP here, and no SQL.

pub mod users;

use crate::mapping::UserMapping;
use crate::scim::ScimError;
use crate::store::{Db, StoreError};

/// Everything a request needs, shared by all requests.
pub struct App {
    pub db: Db,
    pub users: UserMapping,
}

/// The service layer's error: a protocol error for the client, or a storage failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
