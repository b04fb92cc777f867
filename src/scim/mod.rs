//! The SCIM 2.0 protocol, without I/O: resources and their schemas, filters, PATCH, lists,
//! discovery and errors. Everything here is a pure function of its inputs.

pub(crate) mod discovery;
pub(crate) mod error;
pub mod filter;
pub(crate) mod folded;
pub(crate) mod list;
pub mod patch;
pub(crate) mod path;
pub(crate) mod query;
pub mod resource;
pub(crate) mod schema;
pub(crate) mod types;

pub use error::{ScimError, ScimType};
pub use folded::Folded;
