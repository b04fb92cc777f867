//! The one place SQL text is assembled. A statement is a list of parts — raw SQL written
//! here, identifiers quoted by diesel for the active backend, and values bound as
//! parameters — so no value and no identifier is ever spliced into SQL text.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, QueryableByName};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::{Field, NamedRow};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Date, HasSqlType, Nullable, Text, Timestamp, Untyped};
use diesel::QueryResult;

use crate::mapping::{ColumnKind, HostValue};

#[derive(Debug, Clone)]
enum Part {
    Raw(&'static str),
    /// Runtime SQL fragments written by this module from fixed pieces (dialect-specific
    /// casts); never from input.
    Owned(String),
    Ident(String),
    Bind(HostValue),
}

/// A dynamic statement.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    parts: Vec<Part>,
    /// Statements whose shape depends on client filters are not kept in the prepared
    /// statement cache, so a client cannot grow it without bound.
    pub uncacheable: bool,
}

impl Sql {
    pub fn new() -> Self {
        Sql::default()
    }
    pub fn raw(&mut self, s: &'static str) -> &mut Self {
        self.parts.push(Part::Raw(s));
        self
    }
    pub(crate) fn owned(&mut self, s: String) -> &mut Self {
        self.parts.push(Part::Owned(s));
        self
    }
    /// A table or column name; only names validated against the live schema or the bridge's
    /// own table names reach here.
    pub fn ident(&mut self, name: &str) -> &mut Self {
        self.parts.push(Part::Ident(name.to_string()));
        self
    }
    pub fn bind(&mut self, v: HostValue) -> &mut Self {
        self.parts.push(Part::Bind(v));
        self
    }
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.bind(HostValue::Text(s.to_string()))
    }
    pub fn int(&mut self, i: i64) -> &mut Self {
        self.bind(HostValue::Int(i))
    }
    /// A row count or limit: counts come as `u64`/`usize` from the protocol, and one past
    /// `i64::MAX` means "all of them" to every database, so it saturates rather than wraps.
    pub fn count(&mut self, n: impl TryInto<i64>) -> &mut Self {
        self.int(n.try_into().unwrap_or(i64::MAX))
    }
    /// `a, b, c` — identifiers separated by commas.
    pub fn ident_list<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> &mut Self {
        for (i, n) in names.into_iter().enumerate() {
            if i > 0 {
                self.raw(", ");
            }
            self.ident(n);
        }
        self
    }
    pub fn append(&mut self, other: Sql) -> &mut Self {
        self.uncacheable |= other.uncacheable;
        self.parts.extend(other.parts);
        self
    }

    /// The SQL with `?` placeholders and the bound values, for `preview` and debugging.
    pub fn describe(&self) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        for p in &self.parts {
            match p {
                Part::Raw(s) => sql.push_str(s),
                Part::Owned(s) => sql.push_str(s),
                Part::Ident(s) => {
                    sql.push('"');
                    sql.push_str(&s.replace('"', "\"\""));
                    sql.push('"');
                }
                Part::Bind(v) => describe_bind(v, &mut sql, &mut binds),
            }
        }
        (sql, binds)
    }
}

/// A bound value in `describe`: `?`, or `CAST(? AS "schema"."type")` for a cast value.
fn describe_bind(v: &HostValue, sql: &mut String, binds: &mut Vec<String>) {
    match v {
        HostValue::Cast(inner, ty) => {
            sql.push_str("CAST(");
            describe_bind(inner, sql, binds);
            for (i, part) in [&ty.schema, &ty.name].into_iter().enumerate() {
                sql.push_str(if i == 0 { " AS \"" } else { ".\"" });
                sql.push_str(&part.replace('"', "\"\""));
                sql.push('"');
            }
            sql.push(')');
        }
        v => {
            sql.push('?');
            binds.push(v.display());
        }
    }
}

static NONE_TEXT: Option<String> = None;
static NONE_INT: Option<i64> = None;
static NONE_BOOL: Option<bool> = None;
static NONE_TS: Option<NaiveDateTime> = None;

fn push_value<'b, DB>(out: &mut AstPass<'_, 'b, DB>, v: &'b HostValue) -> QueryResult<()>
where
    DB: Backend
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<Bool>
        + HasSqlType<Timestamp>
        + HasSqlType<Date>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    NaiveDate: ToSql<Date, DB>,
{
    match v {
        HostValue::Text(s) => out.push_bind_param::<Text, String>(s),
        HostValue::Int(i) => out.push_bind_param::<BigInt, i64>(i),
        HostValue::Bool(b) => out.push_bind_param::<Bool, bool>(b),
        HostValue::Timestamp(t) => out.push_bind_param::<Timestamp, NaiveDateTime>(t),
        HostValue::Date(d) => out.push_bind_param::<Date, NaiveDate>(d),
        // The type name was read from the live schema; quoted as identifiers.
        HostValue::Cast(inner, ty) => {
            out.push_sql("CAST(");
            push_value(out, inner)?;
            out.push_sql(" AS ");
            out.push_identifier(&ty.schema)?;
            out.push_sql(".");
            out.push_identifier(&ty.name)?;
            out.push_sql(")");
            Ok(())
        }
        HostValue::Null(kind) => match kind {
            ColumnKind::Text => out.push_bind_param::<Nullable<Text>, Option<String>>(&NONE_TEXT),
            ColumnKind::Int => out.push_bind_param::<Nullable<BigInt>, Option<i64>>(&NONE_INT),
            ColumnKind::Bool => out.push_bind_param::<Nullable<Bool>, Option<bool>>(&NONE_BOOL),
            ColumnKind::Timestamp | ColumnKind::TimestampTz => {
                out.push_bind_param::<Nullable<Timestamp>, Option<NaiveDateTime>>(&NONE_TS)
            }
        },
    }
}

impl QueryId for Sql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql {
    type SqlType = Untyped;
}

/// Diesel's blocking query methods, for statements run on SQLite's blocking pool directly
/// (`conn.rs`, the group-commit writer).
impl<C> diesel::RunQueryDsl<C> for Sql {}

impl<DB> QueryFragment<DB> for Sql
where
    DB: Backend
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<Bool>
        + HasSqlType<Timestamp>
        + HasSqlType<Date>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    NaiveDate: ToSql<Date, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.uncacheable {
            out.unsafe_to_cache_prepared();
        }
        for p in &self.parts {
            match p {
                Part::Raw(s) => out.push_sql(s),
                Part::Owned(s) => out.push_sql(s),
                Part::Ident(s) => out.push_identifier(s)?,
                Part::Bind(v) => push_value(&mut out, v)?,
            }
        }
        Ok(())
    }
}

/// A result row with every column read as text (the SELECT casts each one), so one read path
/// serves every backend and every host column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRow(pub Vec<Option<String>>);

impl<DB> QueryableByName<DB> for TextRow
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        let n = diesel::row::Row::field_count(row);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let field = diesel::row::Row::get(row, i).ok_or("column index out of range")?;
            out.push(match field.value() {
                None => None,
                Some(raw) => Some(<String as FromSql<Text, DB>>::from_sql(raw)?),
            });
        }
        Ok(TextRow(out))
    }
}

impl TextRow {
    pub fn get(&self, i: usize) -> Option<&str> {
        self.0.get(i).and_then(|v| v.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_shows_placeholders_and_values() {
        let mut q = Sql::new();
        q.raw("SELECT ")
            .ident("a\"b")
            .raw(" FROM ")
            .ident("t")
            .raw(" WHERE x = ")
            .text("O'Brien; DROP TABLE t");
        let (sql, binds) = q.describe();
        assert_eq!(sql, "SELECT \"a\"\"b\" FROM \"t\" WHERE x = ?");
        assert_eq!(binds, vec!["\"O'Brien; DROP TABLE t\"".to_string()]);
    }

    #[test]
    fn a_cast_value_is_bound_inside_a_cast_to_its_quoted_type() {
        let ty = crate::mapping::host::TypeName {
            schema: "public".into(),
            name: "user\"type".into(),
        };
        let mut q = Sql::new();
        q.raw("UPDATE t SET k = ")
            .bind(HostValue::Cast(
                Box::new(HostValue::Text("agent".into())),
                ty,
            ))
            .raw(", d = ")
            .bind(HostValue::Date(
                NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            ));
        let (sql, binds) = q.describe();
        assert_eq!(
            sql,
            "UPDATE t SET k = CAST(? AS \"public\".\"user\"\"type\"), d = ?"
        );
        assert_eq!(
            binds,
            vec!["\"agent\"".to_string(), "2026-03-01".to_string()]
        );
    }
}
