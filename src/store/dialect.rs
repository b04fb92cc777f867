//! Dialect differences, in one visible place: the type names casts use, case-insensitive
//! comparison that can use an index, ordering, LIKE/GLOB escaping and table aliases.

use super::sql::Sql;

/// The SQL dialect of the database the URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL/MariaDB",
        })
    }
}

/// The type text casts use: MySQL/MariaDB have no `CAST(… AS TEXT)`.
pub fn text_type(d: Dialect) -> &'static str {
    match d {
        Dialect::Mysql => "CHAR",
        _ => "TEXT",
    }
}

/// Writes `CAST(<ident> AS <text type>)`.
pub fn cast_text(q: &mut Sql, d: Dialect, table_alias: Option<&str>, col: &str) {
    q.raw("CAST(");
    if let Some(a) = table_alias {
        q.ident(a).raw(".");
    }
    q.ident(col);
    q.raw(match d {
        Dialect::Mysql => " AS CHAR)",
        _ => " AS TEXT)",
    });
}

/// The integer cast each dialect spells differently (MariaDB has no `AS BIGINT`).
pub fn int_cast_type(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => "BIGINT",
        Dialect::Mysql => "SIGNED",
        Dialect::Sqlite => "INTEGER",
    }
}

/// `col = value`, case-insensitively, in the form each database can answer from an index:
/// PostgreSQL `lower(col) = lower($1)` (an expression index on `lower(col)`), SQLite
/// `col = ? COLLATE NOCASE` (a NOCASE index), MySQL `col = ?` (a `_ci` collation).
pub fn ci_equals(q: &mut Sql, d: Dialect, alias: &str, col: &str, value: &str) {
    match d {
        Dialect::Postgres => {
            q.raw("lower(")
                .ident(alias)
                .raw(".")
                .ident(col)
                .raw(") = lower(")
                .text(value)
                .raw(")");
        }
        Dialect::Sqlite => {
            q.ident(alias)
                .raw(".")
                .ident(col)
                .raw(" = ")
                .text(value)
                .raw(" COLLATE NOCASE");
        }
        Dialect::Mysql => {
            q.ident(alias).raw(".").ident(col).raw(" = ").text(value);
        }
    }
}

/// ` LIMIT n` with `n` bound. SQLite (3.47 and later) reads a bound LIMIT's value while
/// preparing, to plan with it, and marks the statement to be prepared again whenever that
/// parameter is bound anew — every execution: a cached page statement was parsed and planned
/// again on every request. Behind a `CAST` the value is read when the statement runs. MySQL
/// takes only a literal or a bare placeholder there.
pub fn limit(q: &mut Sql, d: Dialect, n: impl TryInto<i64>) {
    if d == Dialect::Sqlite {
        q.raw(" LIMIT CAST(").count(n).raw(" AS INTEGER)");
    } else {
        q.raw(" LIMIT ").count(n);
    }
}

/// A sort key on a host column; `fold` sorts case-insensitively (attributes that are not
/// `caseExact`, like userName). PostgreSQL folds the column's text (`lower` takes text, and an
/// enum column has no `lower` of its own; for text columns the cast changes nothing).
pub fn order_by(q: &mut Sql, d: Dialect, alias: &str, col: &str, fold: bool) {
    match (d, fold) {
        (Dialect::Postgres, true) => {
            q.raw("lower(");
            cast_text(q, d, Some(alias), col);
            q.raw(")");
        }
        (Dialect::Sqlite, true) => {
            q.ident(alias).raw(".").ident(col).raw(" COLLATE NOCASE");
        }
        _ => {
            q.ident(alias).raw(".").ident(col);
        }
    }
}

/// Escapes LIKE metacharacters with `!` (a character no dialect treats specially in strings).
pub(super) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// Escapes GLOB metacharacters (SQLite's case-sensitive pattern match).
pub(super) fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// The alias of a user's table `at` in every statement: `h` for the main row (0), `j1`, `j2`, …
/// for the joined tables.
pub fn table_alias(at: usize) -> std::borrow::Cow<'static, str> {
    const FIRST: [&str; 9] = ["h", "j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8"];
    match FIRST.get(at) {
        Some(a) => std::borrow::Cow::Borrowed(a),
        None => std::borrow::Cow::Owned(format!("j{at}")),
    }
}

pub const HOST_ALIAS: &str = "h";

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare bound LIMIT makes SQLite prepare the statement again on every execution; the
    /// cast keeps the cached statement. MySQL accepts nothing but a placeholder there.
    #[test]
    fn sqlite_limits_are_bound_behind_a_cast() {
        let render = |d| {
            let mut q = Sql::new();
            q.raw("SELECT 1");
            limit(&mut q, d, usize::MAX);
            q.describe()
        };
        let (sql, binds) = render(Dialect::Sqlite);
        assert_eq!(sql, "SELECT 1 LIMIT CAST(? AS INTEGER)");
        assert_eq!(binds, vec![i64::MAX.to_string()]);
        assert_eq!(render(Dialect::Mysql).0, "SELECT 1 LIMIT ?");
        assert_eq!(render(Dialect::Postgres).0, "SELECT 1 LIMIT ?");
    }
}
