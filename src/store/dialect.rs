//! Dialect differences, in one visible place: casts, case-insensitive comparison that can use
//! an index, LIKE escaping, generated keys, and the rendering of filter predicates.

use crate::mapping::{ColumnKind, Dialect, HostValue, Pred, Target};
use crate::scim::filter::CompareOp;

use super::sql::Sql;

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

/// A sort key on a host column; `fold` sorts case-insensitively (attributes that are not
/// `caseExact`, like userName).
pub fn order_by(q: &mut Sql, d: Dialect, col: &str, fold: bool) {
    match (d, fold) {
        (Dialect::Postgres, true) => {
            q.raw("lower(")
                .ident(HOST_ALIAS)
                .raw(".")
                .ident(col)
                .raw(")");
        }
        (Dialect::Sqlite, true) => {
            q.ident(HOST_ALIAS)
                .raw(".")
                .ident(col)
                .raw(" COLLATE NOCASE");
        }
        _ => {
            q.ident(HOST_ALIAS).raw(".").ident(col);
        }
    }
}

/// Escapes LIKE metacharacters with `!` (a character no dialect treats specially in strings).
fn like_escape(s: &str) -> String {
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
fn glob_escape(s: &str) -> String {
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

/// Context for rendering predicates against the host table (aliased `h`).
pub struct PredCtx<'a> {
    pub dialect: Dialect,
    pub host_table: &'a str,
    pub key: &'a str,
    pub key_kind: ColumnKind,
}

pub const HOST_ALIAS: &str = "h";

/// ` WHERE <pred>` when there is a predicate. Filter-shaped statements stay out of the
/// prepared-statement cache.
pub fn where_clause(q: &mut Sql, ctx: &PredCtx<'_>, pred: Option<&Pred>) {
    if let Some(p) = pred {
        q.raw(" WHERE ");
        render(q, ctx, p);
        q.uncacheable = true;
    }
}

/// `SELECT CAST(COUNT(*) AS TEXT) FROM <table> h [WHERE …]`: a list's `totalResults`.
pub fn count_sql(ctx: &PredCtx<'_>, pred: Option<&Pred>) -> Sql {
    let mut q = Sql::new();
    q.raw("SELECT CAST(COUNT(*) AS ")
        .raw(text_type(ctx.dialect))
        .raw(") FROM ")
        .ident(ctx.host_table)
        .raw(" ")
        .ident(HOST_ALIAS);
    where_clause(&mut q, ctx, pred);
    q
}

/// Renders a predicate. SCIM semantics for absent values: a comparison on NULL is false, so
/// `not (x eq 1)` matches rows where x is NULL — each comparison is guarded explicitly rather
/// than left to SQL's three-valued logic.
pub fn render(q: &mut Sql, ctx: &PredCtx<'_>, p: &Pred) {
    match p {
        Pred::True => {
            q.raw("1=1");
        }
        Pred::False => {
            q.raw("1=0");
        }
        Pred::And(v) | Pred::Or(v) => {
            let joiner = if matches!(p, Pred::And(_)) {
                " AND "
            } else {
                " OR "
            };
            q.raw("(");
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    q.raw(joiner);
                }
                render(q, ctx, x);
            }
            q.raw(")");
        }
        Pred::Not(x) => {
            q.raw("NOT (");
            render(q, ctx, x);
            q.raw(")");
        }
        Pred::Present(t) => match t {
            Target::ExternalId => {
                external_id_subquery(q, ctx, |q| {
                    q.raw("l.external_id IS NOT NULL AND l.external_id <> ''");
                });
            }
            Target::Key => {
                q.raw("1=1");
            }
            Target::Member => {
                q.ident(HOST_ALIAS)
                    .raw(".")
                    .ident(ctx.key)
                    .raw(" IN (SELECT group_id FROM scim_group_members)");
            }
            Target::Column(c) => {
                q.raw("(")
                    .ident(HOST_ALIAS)
                    .raw(".")
                    .ident(c)
                    .raw(" IS NOT NULL");
                q.raw(" AND CAST(").ident(HOST_ALIAS).raw(".").ident(c);
                q.raw(if ctx.dialect == Dialect::Mysql {
                    " AS CHAR) <> '')"
                } else {
                    " AS TEXT) <> '')"
                });
            }
        },
        Pred::Cmp {
            target,
            op,
            value,
            fold_case,
        } => match target {
            Target::ExternalId => {
                let (op, value, fold) = (*op, value.clone(), *fold_case);
                external_id_subquery(q, ctx, move |q| {
                    compare(
                        q,
                        ctx.dialect,
                        |q| {
                            q.raw("l.external_id");
                        },
                        op,
                        &value,
                        fold,
                        ColumnKind::Text,
                    );
                });
            }
            Target::Member => {
                // Only equality reaches here (the group filter translation refuses the rest).
                q.ident(HOST_ALIAS)
                    .raw(".")
                    .ident(ctx.key)
                    .raw(" IN (SELECT group_id FROM scim_group_members WHERE member_key = ");
                q.bind(value.clone()).raw(")");
                let _ = (op, fold_case);
            }
            Target::Key => {
                let key = ctx.key.to_string();
                compare(
                    q,
                    ctx.dialect,
                    |q| {
                        q.ident(HOST_ALIAS).raw(".").ident(&key);
                    },
                    *op,
                    value,
                    false,
                    ctx.key_kind,
                );
            }
            Target::Column(c) => {
                let c = c.clone();
                let kind = match value {
                    HostValue::Text(_) => ColumnKind::Text,
                    HostValue::Int(_) => ColumnKind::Int,
                    HostValue::Bool(_) => ColumnKind::Bool,
                    HostValue::Timestamp(_) => ColumnKind::Timestamp,
                    HostValue::Null(k) => *k,
                };
                q.raw("(")
                    .ident(HOST_ALIAS)
                    .raw(".")
                    .ident(&c)
                    .raw(" IS NOT NULL AND ");
                compare(
                    q,
                    ctx.dialect,
                    |q| {
                        q.ident(HOST_ALIAS).raw(".").ident(&c);
                    },
                    *op,
                    value,
                    *fold_case,
                    kind,
                );
                q.raw(")");
            }
        },
    }
}

fn external_id_subquery(q: &mut Sql, ctx: &PredCtx<'_>, inner: impl FnOnce(&mut Sql)) {
    q.ident(HOST_ALIAS)
        .raw(".")
        .ident(ctx.key)
        .raw(" IN (SELECT ");
    if ctx.key_kind == ColumnKind::Int {
        q.raw("CAST(l.host_key AS ")
            .raw(int_cast_type(ctx.dialect))
            .raw(")");
    } else {
        q.raw("l.host_key");
    }
    q.raw(" FROM scim_users l WHERE l.host_table = ")
        .text(ctx.host_table)
        .raw(" AND ");
    inner(q);
    q.raw(")");
}

fn compare(
    q: &mut Sql,
    d: Dialect,
    lhs: impl Fn(&mut Sql),
    op: CompareOp,
    value: &HostValue,
    fold: bool,
    kind: ColumnKind,
) {
    let text = match value {
        HostValue::Text(s) => Some(s.as_str()),
        _ => None,
    };
    if let (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, Some(s)) = (op, text) {
        let (pre, post) = match op {
            CompareOp::Co => (true, true),
            CompareOp::Sw => (false, true),
            _ => (true, false),
        };
        if !fold && d == Dialect::Sqlite {
            let pat = format!(
                "{}{}{}",
                if pre { "*" } else { "" },
                glob_escape(s),
                if post { "*" } else { "" }
            );
            lhs(q);
            q.raw(" GLOB ").text(&pat);
            return;
        }
        let pat = format!(
            "{}{}{}",
            if pre { "%" } else { "" },
            like_escape(s),
            if post { "%" } else { "" }
        );
        match (d, fold) {
            (Dialect::Postgres, true) => {
                q.raw("lower(");
                lhs(q);
                q.raw(") LIKE lower(").text(&pat).raw(") ESCAPE '!'");
            }
            (Dialect::Mysql, false) => {
                q.raw("CAST(");
                lhs(q);
                q.raw(" AS BINARY) LIKE CAST(")
                    .text(&pat)
                    .raw(" AS BINARY) ESCAPE '!'");
            }
            _ => {
                lhs(q);
                q.raw(" LIKE ").text(&pat).raw(" ESCAPE '!'");
            }
        }
        return;
    }
    let sym = match op {
        CompareOp::Eq => " = ",
        CompareOp::Ne => " <> ",
        CompareOp::Gt => " > ",
        CompareOp::Ge => " >= ",
        CompareOp::Lt => " < ",
        CompareOp::Le => " <= ",
        _ => " = ",
    };
    if fold && kind == ColumnKind::Text {
        match d {
            Dialect::Postgres => {
                q.raw("lower(");
                lhs(q);
                q.raw(")")
                    .raw(sym)
                    .raw("lower(")
                    .bind(value.clone())
                    .raw(")");
            }
            Dialect::Sqlite => {
                lhs(q);
                q.raw(sym).bind(value.clone()).raw(" COLLATE NOCASE");
            }
            Dialect::Mysql => {
                lhs(q);
                q.raw(sym).bind(value.clone());
            }
        }
    } else {
        lhs(q);
        q.raw(sym).bind(value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(d: Dialect) -> PredCtx<'static> {
        PredCtx {
            dialect: d,
            host_table: "users",
            key: "id",
            key_kind: ColumnKind::Int,
        }
    }

    #[test]
    fn renders_index_friendly_case_insensitive_equality() {
        let p = Pred::Cmp {
            target: Target::Column("email".into()),
            op: CompareOp::Eq,
            value: HostValue::Text("a@b".into()),
            fold_case: true,
        };
        let mut q = Sql::new();
        render(&mut q, &ctx(Dialect::Postgres), &p);
        assert_eq!(
            q.describe().0,
            "(\"h\".\"email\" IS NOT NULL AND lower(\"h\".\"email\") = lower(?))"
        );
        let mut q = Sql::new();
        render(&mut q, &ctx(Dialect::Sqlite), &p);
        assert_eq!(
            q.describe().0,
            "(\"h\".\"email\" IS NOT NULL AND \"h\".\"email\" = ? COLLATE NOCASE)"
        );
    }

    #[test]
    fn like_patterns_escape_metacharacters() {
        let p = Pred::Cmp {
            target: Target::Column("email".into()),
            op: CompareOp::Co,
            value: HostValue::Text("50%_off!".into()),
            fold_case: true,
        };
        let mut q = Sql::new();
        render(&mut q, &ctx(Dialect::Mysql), &p);
        let (sql, binds) = q.describe();
        assert!(sql.contains("LIKE ? ESCAPE '!'"), "{sql}");
        assert_eq!(binds, vec!["\"%50!%!_off!!%\"".to_string()]);
        let exact = Pred::Cmp {
            target: Target::Column("code".into()),
            op: CompareOp::Sw,
            value: HostValue::Text("A*".into()),
            fold_case: false,
        };
        let mut q = Sql::new();
        render(&mut q, &ctx(Dialect::Sqlite), &exact);
        assert_eq!(q.describe().1, vec!["\"A[*]*\"".to_string()]);
    }

    #[test]
    fn external_id_uses_the_link_table_with_a_typed_key() {
        let p = Pred::Cmp {
            target: Target::ExternalId,
            op: CompareOp::Eq,
            value: HostValue::Text("00u1".into()),
            fold_case: false,
        };
        let mut q = Sql::new();
        render(&mut q, &ctx(Dialect::Mysql), &p);
        let sql = q.describe().0;
        assert!(sql.starts_with("\"h\".\"id\" IN (SELECT CAST(l.host_key AS SIGNED) FROM scim_users l WHERE l.host_table = ? AND l.external_id = ?"), "{sql}");
    }
}
