//! PATCH (RFC 7644 §3.5.2) applied to a normalised resource.
//!
//! All operations of a request run against a copy; the first failure discards the copy, so a
//! request is applied completely or not at all. The dialects of real clients — capitalised
//! `op`s, no-path replaces with dotted or URN-qualified keys, Entra's member removal with a
//! value array, filtered paths that must create the value they target — are accepted here,
//! in one place, and the result is always a canonical resource.
//!
//! The request is parsed in `parse.rs`; `apply.rs` runs plain and sub-attribute paths, and
//! `filtered.rs` the value-filter paths (`emails[type eq "work"].value`).

use serde_json::Value;

use super::filter::Filter;
use super::path::AttrPath;

mod apply;
mod filtered;
mod parse;

pub use apply::apply;
pub use parse::parse_request;

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

#[cfg(test)]
mod value_tests;

#[cfg(test)]
mod test_util {
    pub use super::{apply, parse_request};
    pub use crate::scim::error::ScimError;
    pub use crate::scim::resource::ResourceType;
    pub use crate::scim::schema::PATCH_OP_SCHEMA;
    use serde_json::json;
    pub use serde_json::Value;

    pub fn rt() -> ResourceType {
        ResourceType::user(&[])
    }
    pub fn user() -> Value {
        rt().normalize(&json!({"userName": "alice@example.com", "active": true,
            "name": {"givenName": "Alice", "familyName": "Anders"},
            "emails": [{"value": "alice@example.com", "type": "work", "primary": true}]}))
            .unwrap()
    }
    #[allow(clippy::needless_pass_by_value, reason = "callers pass json! literals")]
    pub fn patch(body: Value) -> Result<Value, ScimError> {
        apply(&rt(), &user(), &parse_request(&body)?)
    }
    #[allow(clippy::needless_pass_by_value, reason = "callers pass json! literals")]
    pub fn ops(list: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": list})
    }
}
