//! Whole-table snapshots of host tables and the differences between two of them, so a test
//! can assert that a request changed exactly the cells it should — and nothing else.

use std::collections::BTreeMap;

use super::TestApp;

/// One row: (column, value cast to text; None for NULL), in the table's column order.
type Cells = Vec<(String, Option<String>)>;

/// Every row of each table (every column cast to text), keyed by the table's key column.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot(BTreeMap<String, BTreeMap<String, Cells>>);

/// One difference between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// (table, key, column, before, after)
    Cell(String, String, String, Option<String>, Option<String>),
    /// (table, key): a row that was not there before.
    Inserted(String, String),
    /// (table, key)
    Deleted(String, String),
}

impl Change {
    /// `table[key].column`, `+table[key]` or `-table[key]`: the change without its values
    /// (for timestamps, whose value a test cannot know).
    pub fn at(&self) -> String {
        match self {
            Change::Cell(t, k, c, _, _) => format!("{t}[{k}].{c}"),
            Change::Inserted(t, k) => format!("+{t}[{k}]"),
            Change::Deleted(t, k) => format!("-{t}[{k}]"),
        }
    }
}

impl Snapshot {
    /// `tables`: (table, key column); a key of `""` keys each row by all its values (join
    /// tables without a key of their own: only insertions and deletions are seen).
    pub async fn take(app: &TestApp, tables: &[(&str, &str)]) -> Snapshot {
        let mut out = BTreeMap::new();
        for (table, key) in tables {
            let cols = app.columns(table).await;
            let order = if key.is_empty() {
                cols[0].as_str()
            } else {
                key
            };
            let rows = app.whole_rows(table, "1=1", order).await;
            let mut by_key = BTreeMap::new();
            for row in rows {
                let k = if key.is_empty() {
                    row.iter()
                        .map(|(_, v)| v.clone().unwrap_or_else(|| "NULL".into()))
                        .collect::<Vec<_>>()
                        .join("|")
                } else {
                    row.iter()
                        .find(|(c, _)| c.eq_ignore_ascii_case(key))
                        .and_then(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                by_key.insert(k, row);
            }
            out.insert(table.to_string(), by_key);
        }
        Snapshot(out)
    }

    /// What changed from `self` to `after`, in table, key and column order.
    pub fn changes(&self, after: &Snapshot) -> Vec<Change> {
        let mut out = Vec::new();
        for (table, rows) in &self.0 {
            let empty = BTreeMap::new();
            let now = after.0.get(table).unwrap_or(&empty);
            for (k, row) in rows {
                match now.get(k) {
                    None => out.push(Change::Deleted(table.clone(), k.clone())),
                    Some(new) => {
                        for ((c, old), (_, v)) in row.iter().zip(new) {
                            if old != v {
                                out.push(Change::Cell(
                                    table.clone(),
                                    k.clone(),
                                    c.clone(),
                                    old.clone(),
                                    v.clone(),
                                ));
                            }
                        }
                    }
                }
            }
            for k in now.keys().filter(|k| !rows.contains_key(*k)) {
                out.push(Change::Inserted(table.clone(), k.clone()));
            }
        }
        out.sort();
        out
    }

    /// The whole row `key` of `table`, as (column, value) pairs.
    pub fn row(&self, table: &str, key: &str) -> Vec<(String, Option<String>)> {
        self.0
            .get(table)
            .and_then(|t| t.get(key))
            .cloned()
            .unwrap_or_else(|| panic!("no row {key} in {table}"))
    }

    /// The value of one cell.
    pub fn cell(&self, table: &str, key: &str, column: &str) -> Option<String> {
        self.row(table, key)
            .into_iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(column))
            .unwrap_or_else(|| panic!("no column {column} in {table}"))
            .1
    }

    /// Keys of the rows of `table` whose `column` holds `value`.
    pub fn keys_where(&self, table: &str, column: &str, value: &str) -> Vec<String> {
        self.0
            .get(table)
            .map(|t| {
                t.iter()
                    .filter(|(_, row)| {
                        row.iter().any(|(c, v)| {
                            c.eq_ignore_ascii_case(column) && v.as_deref() == Some(value)
                        })
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The places (`table[key].column`, `+table[key]`) of a list of changes.
pub fn places(changes: &[Change]) -> Vec<String> {
    let mut v: Vec<String> = changes.iter().map(Change::at).collect();
    v.sort();
    v
}
