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
    /// The column named `name`: spelled exactly so, else the one column whose name equals it
    /// ignoring case (PostgreSQL folds unquoted names to lower case, MySQL and SQLite keep
    /// them as written, so one mapping file names `UserName` and finds `username`). `None`
    /// when there is none, or several that differ only in case (see
    /// [`HostTable::same_but_case`]).
    pub fn column(&self, name: &str) -> Option<&HostColumn> {
        if let Some(c) = self.columns.iter().find(|c| c.name == name) {
            return Some(c);
        }
        let mut ci = self
            .columns
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(name));
        match (ci.next(), ci.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }

    /// The column names equal to `name` ignoring case.
    pub fn same_but_case(&self, name: &str) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(name))
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// A type writes must name, as PostgreSQL spells it: `CAST(? AS "schema"."name")`. Read from
/// the live schema by introspection, never from a request or the mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    pub schema: String,
    pub name: String,
}

/// How a column stores its values, beyond its [`ColumnKind`]: decided from its declared type
/// (see [`HostColumn::storage`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Storage {
    #[default]
    Plain,
    /// A calendar date (`date`): written as a date, each database in its own form; read back
    /// as midnight UTC.
    Date,
    /// An enumerated type (PostgreSQL `CREATE TYPE … AS ENUM`, MySQL `ENUM(…)`): the labels
    /// it accepts. `cast`: the PostgreSQL type, which writes name because PostgreSQL does not
    /// turn text into an enum by itself; comparisons read the column as text.
    Enum {
        labels: Vec<String>,
        cast: Option<TypeName>,
    },
    /// Bytes holding text (MySQL `BLOB`, `LONGBLOB`, `VARBINARY`; SQLite `BLOB`): read through
    /// the dialect's text cast; a value is written as text, which the database stores as its
    /// bytes (UTF-8).
    Binary,
    /// A JSON column (PostgreSQL `json`/`jsonb`, MySQL `JSON`): text holding an object whose
    /// keys `json_path` rules read and write; `cast` is the type PostgreSQL needs a written
    /// value cast to.
    Json { cast: Option<TypeName> },
}

impl Storage {
    /// The labels of an enumerated column.
    pub fn labels(&self) -> Option<&[String]> {
        match self {
            Storage::Enum { labels, .. } => Some(labels),
            _ => None,
        }
    }

    /// The label `text` stands for: itself, or the one label equal to it ignoring case.
    pub fn label<'a>(&'a self, text: &str) -> Option<&'a str> {
        let labels = self.labels()?;
        if let Some(l) = labels.iter().find(|l| *l == text) {
            return Some(l);
        }
        let mut ci = labels.iter().filter(|l| l.eq_ignore_ascii_case(text));
        match (ci.next(), ci.next()) {
            (Some(l), None) => Some(l),
            _ => None,
        }
    }

    /// The type a value written into (or compared with) this column must be cast to.
    pub fn cast(&self) -> Option<&TypeName> {
        match self {
            Storage::Enum { cast, .. } | Storage::Json { cast } => cast.as_ref(),
            _ => None,
        }
    }
}

/// The declared type PostgreSQL's introspection reports for a `json` or `jsonb` column:
/// `pg_catalog.json`, so that [`HostColumn::storage`] tells it from MySQL's `JSON` (which
/// needs no cast).
pub fn pg_json_type(name: &str) -> Option<String> {
    matches!(name, "json" | "jsonb").then(|| format!("pg_catalog.{name}"))
}

/// The declared type PostgreSQL's introspection reports for an enum column, in the form
/// [`HostColumn::storage`] reads back: `enum "public"."user_type" ('agent','customer')`.
pub fn pg_enum_type(schema: &str, name: &str, labels: &[String]) -> String {
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let list: Vec<String> = labels
        .iter()
        .map(|l| format!("'{}'", l.replace('\'', "''")))
        .collect();
    format!(
        "enum {}.{} ({})",
        ident(schema),
        ident(name),
        list.join(",")
    )
}

/// `enum "schema"."name" ('a','b')` (PostgreSQL, as [`pg_enum_type`] writes it) or
/// `enum('a','b')` (MySQL's `COLUMN_TYPE`): the type, if named, and the labels.
fn parse_enum(ty: &str) -> Option<(Option<TypeName>, Vec<String>)> {
    let t = ty.trim();
    if !t.get(..4)?.eq_ignore_ascii_case("enum") {
        return None;
    }
    let mut rest = t[4..].trim_start();
    let mut name_parts = Vec::new();
    while let Some(r) = rest.strip_prefix('"') {
        let (ident, after) = quoted(r, '"')?;
        name_parts.push(ident);
        rest = after.strip_prefix('.').unwrap_or(after).trim_start();
    }
    let cast = match name_parts.as_slice() {
        [] => None,
        [schema, name] => Some(TypeName {
            schema: schema.clone(),
            name: name.clone(),
        }),
        _ => return None,
    };
    let mut inner = rest.strip_prefix('(')?.trim_end().strip_suffix(')')?.trim();
    let mut labels = Vec::new();
    while !inner.is_empty() {
        let (label, after) = quoted(inner.strip_prefix('\'')?, '\'')?;
        labels.push(label);
        inner = after.trim_start();
        inner = inner.strip_prefix(',').unwrap_or(inner).trim_start();
    }
    Some((cast, labels))
}

/// The text up to the closing `q` (a doubled `q` stands for one) and what follows it.
fn quoted(s: &str, q: char) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == q {
            if chars.peek().is_some_and(|(_, n)| *n == q) {
                chars.next();
                out.push(q);
                continue;
            }
            return Some((out, &s[i + 1..]));
        }
        out.push(c);
    }
    None
}

impl HostColumn {
    /// How the column stores its values, from its declared type.
    pub fn storage(&self) -> Storage {
        if let Some((cast, labels)) = parse_enum(&self.sql_type) {
            return Storage::Enum { labels, cast };
        }
        let t = self.sql_type.trim().to_ascii_lowercase();
        let base = t.split(['(', ' ']).next().unwrap_or("");
        match base {
            "date" => Storage::Date,
            // MySQL's JSON, and PostgreSQL's as introspection reports them (see
            // [`pg_json_type`]): only PostgreSQL needs a cast.
            "json" => Storage::Json { cast: None },
            "jsonb" | "pg_catalog.json" | "pg_catalog.jsonb" => Storage::Json {
                cast: Some(TypeName {
                    schema: "pg_catalog".into(),
                    name: base.trim_start_matches("pg_catalog.").into(),
                }),
            },
            "blob" | "tinyblob" | "mediumblob" | "longblob" | "varbinary" | "binary" => {
                Storage::Binary
            }
            _ => Storage::Plain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, sql_type: &str) -> HostColumn {
        HostColumn {
            name: name.into(),
            sql_type: sql_type.into(),
            kind: Some(ColumnKind::Text),
            nullable: true,
            has_default: false,
            generated: false,
            primary_key: false,
            max_len: None,
            int_range: None,
            collation: None,
            ci_index_advice: None,
        }
    }

    #[test]
    fn enum_types_read_back_with_their_labels() {
        let labels = vec![
            "agent".to_string(),
            "it's".to_string(),
            "Sys,tem".to_string(),
        ];
        let ty = pg_enum_type("public", "user \"type\"", &labels);
        assert_eq!(
            ty,
            "enum \"public\".\"user \"\"type\"\"\" ('agent','it''s','Sys,tem')"
        );
        let s = column("kind", &ty).storage();
        assert_eq!(s.labels(), Some(labels.as_slice()));
        assert_eq!(
            s.cast(),
            Some(&TypeName {
                schema: "public".into(),
                name: "user \"type\"".into()
            })
        );
        // MySQL reports its enums without a type name: nothing to cast to.
        let my = column("kind", "enum('agent','customer')").storage();
        assert_eq!(my.labels().map(<[String]>::len), Some(2));
        assert_eq!(my.cast(), None);
        assert_eq!(
            my.label("Agent"),
            Some("agent"),
            "one label equal ignoring case"
        );
        assert_eq!(my.label("boss"), None);
        assert_eq!(column("d", "date").storage(), Storage::Date);
        assert_eq!(column("d", "datetime").storage(), Storage::Plain);
        for t in ["longblob", "BLOB", "varbinary(255)", "binary(16)"] {
            assert_eq!(column("v", t).storage(), Storage::Binary, "{t}");
        }
        assert_eq!(column("v", "varchar(20)").storage(), Storage::Plain);
        assert_eq!(column("v", "enumeration").storage(), Storage::Plain);
    }

    #[test]
    fn columns_are_found_ignoring_case_unless_that_is_ambiguous() {
        let t = HostTable {
            name: "Users".into(),
            columns: vec![
                column("UserName", "text"),
                column("Email", "text"),
                column("email", "text"),
            ],
        };
        assert_eq!(
            t.column("username").map(|c| c.name.as_str()),
            Some("UserName")
        );
        assert_eq!(
            t.column("email").map(|c| c.name.as_str()),
            Some("email"),
            "exact first"
        );
        assert_eq!(t.column("EMAIL"), None, "two columns differ only in case");
        assert_eq!(t.same_but_case("EMAIL"), vec!["Email", "email"]);
    }
}
