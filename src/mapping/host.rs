//! What the bridge knows about a host table: read from the live database by
//! `store::introspect`, consumed by mapping validation. Plain data, no I/O.

use std::fmt;

/// The SQL dialect of the database the URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL/MariaDB",
        })
    }
}

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

    /// Classifies a declared type as each database reports it (`varchar(255)`, `int(10)
    /// unsigned`, `tinyint(1)`, `timestamp without time zone`, SQLite affinities …).
    pub fn from_sql_type(dialect: Dialect, ty: &str) -> Option<ColumnKind> {
        let t = ty.trim().to_ascii_lowercase();
        if dialect == Dialect::Mysql && t.starts_with("tinyint(1)") {
            return Some(ColumnKind::Bool);
        }
        if t.contains("with time zone") || t == "timestamptz" {
            return Some(ColumnKind::TimestampTz);
        }
        if t.starts_with("bool") {
            return Some(ColumnKind::Bool);
        }
        if t.contains("int")
            || t == "serial"
            || t == "bigserial"
            || t.starts_with("bit") && dialect == Dialect::Mysql
        {
            return Some(ColumnKind::Int);
        }
        if t.contains("timestamp") || t.starts_with("datetime") {
            return Some(ColumnKind::Timestamp);
        }
        if t.contains("char")
            || t.contains("text")
            || t.contains("clob")
            || t == "citext"
            || t == "uuid"
            || t.starts_with("enum")
            || t.is_empty()
        {
            return Some(ColumnKind::Text);
        }
        None
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
    /// MySQL collation; `_bin`/`_cs` ones make `=` case-sensitive.
    pub collation: Option<String>,
}

/// An index over the table, reduced to what lookups need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIndex {
    pub name: String,
    /// The leading column or expression, lower-cased (`email`, `lower((email)::text)`).
    pub leading: String,
    /// SQLite: the leading column compares with `COLLATE NOCASE`.
    pub nocase: bool,
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTable {
    pub name: String,
    pub columns: Vec<HostColumn>,
    pub indexes: Vec<HostIndex>,
}

impl HostTable {
    pub fn column(&self, name: &str) -> Option<&HostColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether a case-insensitive equality lookup on `column` can use an index, given how the
    /// dialect writes that lookup (see `store::dialect`).
    pub fn has_ci_index(&self, dialect: Dialect, column: &str) -> bool {
        let col = column.to_ascii_lowercase();
        self.indexes.iter().any(|i| match dialect {
            Dialect::Sqlite => i.leading == col && i.nocase,
            Dialect::Postgres => {
                let lead = i.leading.replace([' ', '"'], "");
                lead == format!("lower({col})")
                    || lead == format!("lower(({col})::text)")
                    || lead.starts_with(&format!("lower(({col})::"))
                    || (i.leading == col
                        && self
                            .column(column)
                            .is_some_and(|c| c.sql_type.eq_ignore_ascii_case("citext")))
            }
            Dialect::Mysql => {
                i.leading == col
                    && self
                        .column(column)
                        .and_then(|c| c.collation.as_deref())
                        .is_none_or(|c| c.ends_with("_ci"))
            }
        })
    }

    /// The statement an operator can run to add the index a case-insensitive lookup needs.
    pub fn ci_index_advice(&self, dialect: Dialect, column: &str) -> String {
        let idx = format!("{}_{}_ci", self.name, column);
        match dialect {
            Dialect::Sqlite => format!("CREATE INDEX \"{idx}\" ON \"{}\" (\"{column}\" COLLATE NOCASE);", self.name),
            Dialect::Postgres => format!("CREATE INDEX \"{idx}\" ON \"{}\" (lower(\"{column}\"));", self.name),
            Dialect::Mysql => format!(
                "CREATE INDEX `{idx}` ON `{}` (`{column}`);  -- and keep the column's collation case-insensitive (*_ci)",
                self.name
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_real_types() {
        use ColumnKind::*;
        let cases = [
            (Dialect::Mysql, "int(10) unsigned", Int),
            (Dialect::Mysql, "tinyint(1)", Bool),
            (Dialect::Mysql, "tinyint(4)", Int),
            (Dialect::Mysql, "varchar(255)", Text),
            (Dialect::Mysql, "datetime(6)", Timestamp),
            (Dialect::Postgres, "timestamp without time zone", Timestamp),
            (Dialect::Postgres, "timestamp with time zone", TimestampTz),
            (Dialect::Postgres, "character varying", Text),
            (Dialect::Postgres, "boolean", Bool),
            (Dialect::Sqlite, "INTEGER", Int),
            (Dialect::Sqlite, "varchar(100)", Text),
            (Dialect::Sqlite, "datetime", Timestamp),
            (Dialect::Sqlite, "BOOLEAN", Bool),
        ];
        for (d, t, k) in cases {
            assert_eq!(ColumnKind::from_sql_type(d, t), Some(k), "{d} {t}");
        }
        assert_eq!(ColumnKind::from_sql_type(Dialect::Postgres, "bytea"), None);
    }

    fn table(sql_type: &str, collation: Option<&str>, index: HostIndex) -> HostTable {
        HostTable {
            name: "users".into(),
            columns: vec![HostColumn {
                name: "email".into(),
                sql_type: sql_type.into(),
                kind: Some(ColumnKind::Text),
                nullable: false,
                has_default: false,
                generated: false,
                primary_key: false,
                max_len: None,
                collation: collation.map(str::to_string),
            }],
            indexes: vec![index],
        }
    }

    fn idx(leading: &str, nocase: bool) -> HostIndex {
        HostIndex {
            name: "i".into(),
            leading: leading.into(),
            nocase,
            unique: false,
        }
    }

    #[test]
    fn case_insensitive_index_detection_per_dialect() {
        assert!(table("text", None, idx("lower((email)::text)", false))
            .has_ci_index(Dialect::Postgres, "email"));
        assert!(table("citext", None, idx("email", false)).has_ci_index(Dialect::Postgres, "email"));
        let plain = table("character varying", None, idx("email", false));
        assert!(
            !plain.has_ci_index(Dialect::Postgres, "email"),
            "a plain index cannot serve lower(email) = lower($1)"
        );
        assert!(plain
            .ci_index_advice(Dialect::Postgres, "email")
            .contains("lower(\"email\")"));
        assert!(table("TEXT", None, idx("email", true)).has_ci_index(Dialect::Sqlite, "email"));
        assert!(!table("TEXT", None, idx("email", false)).has_ci_index(Dialect::Sqlite, "email"));
        assert!(table(
            "varchar(255)",
            Some("utf8mb4_unicode_ci"),
            idx("email", false)
        )
        .has_ci_index(Dialect::Mysql, "email"));
        assert!(
            !table("varchar(255)", Some("utf8mb4_bin"), idx("email", false))
                .has_ci_index(Dialect::Mysql, "email")
        );
    }
}
