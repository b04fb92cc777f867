//! The SCIM 2.0 protocol, without I/O: resources and their schemas, filters, PATCH, lists,
//! discovery and errors. Everything here is a pure function of its inputs.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod folded;
pub mod list;
pub mod patch;
pub mod path;
pub mod query;
pub mod resource;
pub mod schema;
pub mod types;

pub use error::{ScimError, ScimType};
pub use folded::Folded;
