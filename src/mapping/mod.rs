//! The per-deployment field mapping: the TOML model, validation against the live schema, and
//! the pure translation between SCIM resources, host rows and filters.

pub mod compile;
pub(crate) mod compiled;
pub mod convert;
pub(crate) mod draft;
pub(crate) mod grants;
pub mod host;
pub(crate) mod model;
pub(crate) mod predicate;
pub(crate) mod transform;
pub(crate) mod value;

pub use compile::{compile, load_file, Compiled, Problem, UserMapping};
pub use convert::WriteMode;
pub use host::{ColumnKind, HostTable};
pub use predicate::{Pred, Target};
pub use value::HostValue;
