//! SCIM resource ⇄ host row, both directions, pure.

use super::value::HostValue;

mod change;
mod encode;
mod fallback;
mod from_host;
mod joined;
pub mod json;
mod target;
mod to_host;

pub use change::{keep_unsent, overlay, shadow_after_patch, Change};
pub use to_host::{fresh_secret, row_for};

/// Whether a write inserts a new row or updates an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Insert,
    Update,
}

/// What a write does to one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Assign {
    Value(HostValue),
    /// Set or clear bits of an integer column, leaving the others as they are.
    Bits {
        mask: i64,
        on: bool,
    },
    /// The key of the lookup table's row holding `text`; the store resolves it, inserting
    /// a row when none holds it and the lookup may create one.
    Lookup {
        text: String,
        /// The other columns of that new row (`set`), made from the request; or why it
        /// cannot be made (a NOT NULL column whose attribute the request lacks) — an error
        /// only if a row has to be created.
        new_row: Result<Vec<(String, HostValue)>, String>,
    },
    /// One key of a JSON object column (`None` removes it); [`json::fold`] turns a column's
    /// keys into one [`Assign::Value`] before anything is written.
    Json {
        key: String,
        value: Option<serde_json::Value>,
    },
}

impl Assign {
    /// The value a freshly inserted row gets.
    pub fn insert_value(&self) -> HostValue {
        match self {
            Assign::Value(v) => v.clone(),
            Assign::Bits { mask, on } => HostValue::Int(if *on { *mask } else { 0 }),
            // Resolved by the store before any write; never bound unresolved.
            Assign::Lookup { .. } | Assign::Json { .. } => {
                HostValue::Null(crate::mapping::host::ColumnKind::Text)
            }
        }
    }
}

pub type Row = Vec<(String, Assign)>;

/// One value of a multi-valued attribute as a child row.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildItem {
    /// Columns written on insert and update.
    pub row: Vec<(String, HostValue)>,
    /// Columns written only when the row is inserted (`on = "insert"`).
    pub insert_only: Vec<(String, HostValue)>,
    /// Constants and timestamps with `on = "always"`: written into an existing row only when
    /// the row changes otherwise.
    pub bookkeeping: Vec<(String, HostValue)>,
    pub primary: bool,
    /// The `value`, folded, to match it with an existing row.
    pub value: crate::scim::Folded,
}

/// Everything a write puts into host tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowPlan {
    /// Indexed like [`Rule::at`]: the main row, then each joined table. On updates, only the
    /// columns of attributes that changed.
    pub tables: Vec<Row>,
    /// Per table: columns written only when the user changes otherwise (`updated_at`,
    /// constants with `on = "always"`). Empty on insert, where everything is in `tables`.
    pub bookkeeping: Vec<Row>,
    /// Per joined table: the full row to insert when the user has none yet; `None` for a
    /// `skip_if_absent` row without a value (no row).
    pub joined_insert: Vec<Option<Row>>,
    /// Per joined table: the write removes the values of a `skip_if_absent` row, which is
    /// deleted (when the user has it).
    pub joined_delete: Vec<bool>,
    /// Per child table: the values wanted, or `None` to leave the rows alone.
    pub children: Vec<Option<Vec<ChildItem>>>,
    /// Adoption: child rows whose value the request does not name are kept, and the host's
    /// primary value stays the primary.
    pub merge_children: bool,
}

impl RowPlan {
    /// A plan for `tables` tables (the main one and the joined ones) that writes nothing.
    pub fn empty(tables: usize) -> RowPlan {
        RowPlan {
            tables: vec![Vec::new(); tables],
            bookkeeping: vec![Vec::new(); tables],
            joined_insert: vec![None; tables.saturating_sub(1)],
            joined_delete: vec![false; tables.saturating_sub(1)],
            children: Vec::new(),
            merge_children: false,
        }
    }

    pub fn main(&self) -> &Row {
        &self.tables[0]
    }
    /// Main-row values (tests and previews): bit changes shown as their inserted value.
    pub fn main_values(&self) -> Vec<(String, HostValue)> {
        self.tables[0]
            .iter()
            .map(|(c, a)| (c.clone(), a.insert_value()))
            .collect()
    }
}

/// A child row as read: its key, the values of [`Child::read_columns`], and whether it is
/// the primary value.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildRow {
    pub key: String,
    pub values: Vec<HostValue>,
    pub primary: bool,
}

#[cfg(test)]
pub(crate) mod tests;
