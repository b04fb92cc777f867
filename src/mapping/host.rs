//! What the bridge knows about a host table: read from the live database by
//! `store::introspect`, consumed by mapping validation. Plain data, no I/O and no SQL: what
//! depends on the database's dialect (how a type is classified, which index serves a lookup)
//! is decided by the store and recorded here as facts.

/// How the bridge binds and reads a column: decided from the column's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    Bool,
    /// `timestamp` / `datetime` without time zone; values are written in UTC.
    Timestamp,
    /// PostgreSQL `timestamptz`.
    TimestampTz,
}

impl ColumnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnKind::Text => "text",
            ColumnKind::Int => "integer",
            ColumnKind::Bool => "boolean",
            ColumnKind::Timestamp => "timestamp",
            ColumnKind::TimestampTz => "timestamp with time zone",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostColumn {
    pub name: String,
    /// The type as the database reports it, for messages.
    pub sql_type: String,
    pub kind: Option<ColumnKind>,
    pub nullable: bool,
    pub has_default: bool,
    /// Filled by the database on insert (serial, identity, AUTO_INCREMENT, SQLite rowid).
    pub generated: bool,
    pub primary_key: bool,
    /// Character limit of `varchar(n)` columns.
    pub max_len: Option<u32>,
    /// The values an integer column holds (`smallint`: -32768..=32767), where the database
    /// enforces one; a value outside is refused before it reaches the database, naming the
    /// attribute.
    pub int_range: Option<(i64, i64)>,
    /// MySQL collation; `_bin`/`_cs` ones make `=` case-sensitive.
    pub collation: Option<String>,
    /// `None` when an index serves the case-insensitive equality lookup the bridge writes for
    /// this column (`userName eq`, adoption matches); otherwise the statement that would add
    /// one, in the database's own dialect. Decided by the store, which writes that lookup.
    pub ci_index_advice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTable {
    pub name: String,
    pub columns: Vec<HostColumn>,
}

impl HostTable {
    pub fn column(&self, name: &str) -> Option<&HostColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}
