//! Validation of a mapping file against the live host table, producing the compiled
//! [`UserMapping`] the server runs with.
//!
//! Every problem is collected (not just the first) so `scim-bridge check` can report them all
//! in one run, each naming the mapping key and saying how to fix it.

use std::path::Path;

use super::model::MappingFile;

mod actions;
mod extensions;
mod fallback;
mod grants;
mod groups;
mod json;
mod lookup;
mod problems;
mod protect;
#[cfg(test)]
mod reach_b_tests;
mod related;
mod rule;
mod scan;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_ext;
#[cfg(test)]
mod tests_fallback;
#[cfg(test)]
mod tests_lookup;
#[cfg(test)]
mod tests_truncate;
mod users;

pub use super::compiled::*;
pub use scan::{custom_schemas, engine_problems, tables_named};
pub use users::compile;
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read mapping file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("mapping file {path} is not valid: {message}")]
    Parse { path: String, message: String },
}

/// One finding of validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub error: bool,
    /// The mapping key it concerns, e.g. `users.columns.email`.
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            if self.error { "error" } else { "warning" },
            self.key,
            self.message
        )
    }
}

/// Reads and parses a mapping file.
///
/// # Errors
/// A message naming the file and, for TOML errors, the line and key.
pub fn load_file(path: &Path) -> Result<MappingFile, MappingError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
        path: shown.clone(),
        source,
    })?;
    parse_str(&text).map_err(|message| MappingError::Parse {
        path: shown,
        message,
    })
}

/// # Errors
/// The TOML error, which names the line and the offending key.
pub fn parse_str(text: &str) -> Result<MappingFile, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim().to_string())
}

pub struct Compiled {
    pub mapping: Option<UserMapping>,
    pub problems: Vec<Problem>,
}
