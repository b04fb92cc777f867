//! The per-deployment field mapping: the TOML model, validation against the live schema, and
//! the pure translation between SCIM resources, host rows and filters.

pub mod compile;
pub mod compiled;
pub mod convert;
pub mod draft;
pub mod grants;
pub mod host;
pub mod model;
pub mod predicate;
pub mod transform;
pub mod value;

pub use compile::{compile, load_file, Compiled, Problem, UserMapping};
pub use convert::WriteMode;
pub use host::{ColumnKind, HostTable};
pub use predicate::{Pred, Target};
pub use value::HostValue;
