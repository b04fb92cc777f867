//! JSON object columns in a write (`json_path`): each column's keys become one value of the
//! whole object, merged into the object as stored — read in the write's own transaction with
//! the row locked, so a concurrent write cannot lose a key — and dropped when the object
//! would not change.

use crate::mapping::compile::UserMapping;
use crate::mapping::convert::{json, RowPlan};
use crate::store::StoreError;

use super::Stored;

/// Folds the JSON keys of every table of `plan`; `stored` is the row as stored (`None` for a
/// user being inserted). A joined row about to be inserted starts from an empty object.
///
/// # Errors
/// `Invalid` (400) when a column to merge into holds something other than a JSON object.
pub(super) fn fold_plan(
    m: &UserMapping,
    plan: &mut RowPlan,
    stored: Option<&Stored>,
) -> Result<(), StoreError> {
    for (at, row) in plan.tables.iter_mut().enumerate() {
        let get = |col: &str| stored.and_then(|s| s.get(m, at, col)).cloned();
        json::fold(m, at, row, &get).map_err(StoreError::Invalid)?;
    }
    for (i, row) in plan.joined_insert.iter_mut().enumerate() {
        if let Some(row) = row {
            json::fold(m, i + 1, row, &|_| None).map_err(StoreError::Invalid)?;
        }
    }
    Ok(())
}
