//! Filter predicates (and a mapping's scope) rendered as SQL over the host tables: every value
//! bound, every identifier from the validated mapping.

use crate::mapping::compile::{PrimaryMark, UserMapping};
use crate::mapping::host::Storage;
use crate::mapping::{ColumnKind, HostValue, Pred, Target};
use crate::scim::filter::CompareOp;

use super::dialect::{
    cast_text, glob_escape, int_cast_type, like_escape, table_alias, text_type, Dialect, HOST_ALIAS,
};
use super::sql::Sql;

/// Context for rendering predicates against the host table (aliased `h`).
pub struct PredCtx<'a> {
    pub dialect: Dialect,
    pub host_table: &'a str,
    pub key: &'a str,
    pub key_kind: ColumnKind,
    /// The user mapping, for joined and child tables.
    pub users: Option<&'a UserMapping>,
}

impl<'a> PredCtx<'a> {
    pub fn users(d: Dialect, m: &'a UserMapping) -> Self {
        PredCtx {
            dialect: d,
            host_table: &m.table,
            key: &m.key.name,
            key_kind: m.key.kind,
            users: Some(m),
        }
    }
}

/// ` LEFT JOIN <joined> j1 ON j1.parent = h.key AND j1.<cond> = ? …` for every joined table
/// (`h.<user_column>` for a table keyed by another column of the user's row).
pub fn joins(q: &mut Sql, m: &UserMapping) {
    for (i, j) in m.joined.iter().enumerate() {
        let alias = table_alias(i + 1);
        q.raw(" LEFT JOIN ")
            .ident(&j.table)
            .raw(" ")
            .ident(&alias)
            .raw(" ON ")
            .ident(&alias)
            .raw(".")
            .ident(&j.parent)
            .raw(" = ")
            .ident(HOST_ALIAS)
            .raw(".")
            .ident(&j.user_column);
        for (c, v) in &j.conditions {
            q.raw(" AND ")
                .ident(&alias)
                .raw(".")
                .ident(c)
                .raw(" = ")
                .bind(v.clone());
        }
    }
}

/// The scope of a user mapping as a predicate, combined with `pred`.
pub fn scoped(m: &UserMapping, pred: Option<&Pred>) -> Option<Pred> {
    let mut parts: Vec<Pred> = Pred::conditions(&m.scope).into_iter().collect();
    if let Some(p) = pred {
        parts.push(p.clone());
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Pred::And(parts)),
    }
}

/// `, CASE WHEN <protect 0> THEN '0' WHEN <protect 1> THEN '1' … END`: which `protect` entry
/// a user row meets (NULL when none), read with the row.
pub fn protected_column(q: &mut Sql, ctx: &PredCtx<'_>, m: &UserMapping) {
    if m.protect.is_empty() {
        return;
    }
    q.raw(", CASE");
    for (i, p) in m.protect.iter().enumerate() {
        q.raw(" WHEN ");
        render(q, ctx, &p.pred);
        q.raw(" THEN ").text(&i.to_string());
    }
    q.raw(" END");
}

/// ` WHERE <pred>` when there is a predicate.
///
/// Statements shaped by a client's filter stay out of the prepared-statement cache, so a
/// client cannot grow it without bound — except a filter of one comparison (beyond the
/// mapping's fixed scope): those shapes are few (attribute × operator), and they are the
/// lookups identity providers make all day (`userName eq "…"`), which then skip parsing.
///
/// Users deleted over SCIM while the application keeps their row are left out: RFC 7644
/// §3.6 has every later operation on a deleted resource answer 404, lists included.
pub fn where_clause(q: &mut Sql, ctx: &PredCtx<'_>, pred: Option<&Pred>) {
    if let Some(p) = pred {
        q.raw(" WHERE ");
        render(q, ctx, p);
        let scope: usize = ctx
            .users
            .map_or(0, |m| m.scope.iter().map(|c| c.values.len()).sum());
        if leaves(p) > scope + 1 {
            q.uncacheable = true;
        }
    }
    if ctx.users.is_some() {
        q.raw(if pred.is_some() { " AND " } else { " WHERE " });
        not_deleted(q, ctx);
    }
}

/// `h.key NOT IN (the keys of links deleted over SCIM)`; found through scim_users' origin
/// index, and comparing the host key uncast so the host's own index serves the rest.
pub fn not_deleted(q: &mut Sql, ctx: &PredCtx<'_>) {
    q.ident(HOST_ALIAS)
        .raw(".")
        .ident(ctx.key)
        .raw(" NOT IN (SELECT ");
    if ctx.key_kind == ColumnKind::Int {
        q.raw("CAST(t.host_key AS ")
            .raw(int_cast_type(ctx.dialect))
            .raw(")");
    } else {
        q.raw("t.host_key");
    }
    q.raw(" FROM scim_users t WHERE t.origin = 'deleted' AND t.host_table = ")
        .text(ctx.host_table)
        .raw(")");
}

/// Comparisons in a predicate.
fn leaves(p: &Pred) -> usize {
    match p {
        // The primary-row test is part of the shape of a typed value filter, fixed by the
        // mapping: `emails[type eq "work"].value eq "…"` is one comparison.
        Pred::True | Pred::False | Pred::PrimaryRow => 0,
        Pred::And(v) | Pred::Or(v) => v.iter().map(leaves).sum(),
        Pred::Not(x) | Pred::AnyChild(_, x) => leaves(x),
        Pred::Cmp { .. } | Pred::Present(_) | Pred::Exists { .. } => 1,
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
    if let Some(m) = ctx.users {
        joins(&mut q, m);
    }
    where_clause(&mut q, ctx, pred);
    q
}

/// Renders a predicate. SCIM semantics for absent values: a comparison on NULL is false, so
/// `not (x eq 1)` matches rows where x is NULL — each comparison is guarded explicitly rather
/// than left to SQL's three-valued logic.
pub fn render(q: &mut Sql, ctx: &PredCtx<'_>, p: &Pred) {
    render_in(q, ctx, p, None);
}

/// `row`: inside [`Pred::AnyChild`] of that child table, whose row is aliased `c`; its
/// [`Target::Child`] leaves test that row rather than opening an `EXISTS` of their own.
fn render_in(q: &mut Sql, ctx: &PredCtx<'_>, p: &Pred, row: Option<usize>) {
    match p {
        Pred::True => {
            q.raw("1=1");
        }
        Pred::False => {
            q.raw("1=0");
        }
        Pred::And(v) | Pred::Or(v) => render_junction(q, ctx, p, v, row),
        Pred::Not(x) => {
            q.raw("NOT (");
            render_in(q, ctx, x, row);
            q.raw(")");
        }
        Pred::Exists {
            table,
            parent,
            conditions,
        } => render_exists(q, ctx, table, parent, conditions),
        Pred::AnyChild(i, inner) => {
            let i = *i;
            child_exists(q, ctx, i, |q| render_in(q, ctx, inner, Some(i)));
        }
        Pred::PrimaryRow => match row {
            Some(i) => primary_row(q, ctx, i),
            None => {
                q.raw("1=0");
            }
        },
        Pred::Present(Target::Child(i, c)) if row == Some(*i) => {
            present(q, ctx.dialect, "c", c);
        }
        Pred::Cmp {
            target: Target::Child(i, c),
            op,
            value,
            fold_case,
        } if row == Some(*i) => {
            let cast = text_cast(ctx, &Target::Child(*i, c.clone()), *fold_case);
            column_compare(q, ctx.dialect, "c", c, *op, value, *fold_case, cast);
        }
        Pred::Present(t) => render_present(q, ctx, t),
        Pred::Cmp {
            target,
            op,
            value,
            fold_case,
        } => render_compare(q, ctx, target, op, value, fold_case),
    }
}

/// `Pred::And` / `Pred::Or`: the parts joined, in parentheses.
fn render_junction(q: &mut Sql, ctx: &PredCtx<'_>, p: &Pred, v: &[Pred], row: Option<usize>) {
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
        render_in(q, ctx, x, row);
    }
    q.raw(")");
}

/// `Pred::Exists`: `EXISTS (SELECT 1 FROM <table> x WHERE x.parent = h.key AND <conditions>)`.
fn render_exists(
    q: &mut Sql,
    ctx: &PredCtx<'_>,
    table: &str,
    parent: &str,
    conditions: &[(String, HostValue)],
) {
    q.raw("EXISTS (SELECT 1 FROM ")
        .ident(table)
        .raw(" x WHERE x.")
        .ident(parent)
        .raw(" = ")
        .ident(HOST_ALIAS)
        .raw(".")
        .ident(ctx.key);
    for (c, v) in conditions {
        q.raw(" AND x.").ident(c).raw(" = ").bind(v.clone());
    }
    q.raw(")");
}

/// `Pred::Present` outside a child row's `EXISTS`.
fn render_present(q: &mut Sql, ctx: &PredCtx<'_>, t: &Target) {
    match t {
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
        Target::Column(c) => present(q, ctx.dialect, HOST_ALIAS, c),
        Target::Joined(i, c) => present(q, ctx.dialect, &table_alias(i + 1), c),
        Target::Child(i, c) => child_exists(q, ctx, *i, |q| present(q, ctx.dialect, "c", c)),
    }
}

/// `Pred::Cmp` outside a child row's `EXISTS` (arguments as the variant holds them).
fn render_compare(
    q: &mut Sql,
    ctx: &PredCtx<'_>,
    target: &Target,
    op: &CompareOp,
    value: &HostValue,
    fold_case: &bool,
) {
    match target {
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
        Target::Column(c) => column_compare(
            q,
            ctx.dialect,
            HOST_ALIAS,
            c,
            *op,
            value,
            *fold_case,
            text_cast(ctx, target, *fold_case),
        ),
        Target::Joined(i, c) => column_compare(
            q,
            ctx.dialect,
            &table_alias(i + 1),
            c,
            *op,
            value,
            *fold_case,
            text_cast(ctx, target, *fold_case),
        ),
        Target::Child(i, c) => child_exists(q, ctx, *i, |q| {
            let cast = text_cast(ctx, target, *fold_case);
            column_compare(q, ctx.dialect, "c", c, *op, value, *fold_case, cast);
        }),
    }
}

/// `(a.c IS NOT NULL AND CAST(a.c AS TEXT) <> '')`: SCIM's "present".
fn present(q: &mut Sql, d: Dialect, alias: &str, c: &str) {
    q.raw("(")
        .ident(alias)
        .raw(".")
        .ident(c)
        .raw(" IS NOT NULL");
    q.raw(" AND CAST(").ident(alias).raw(".").ident(c);
    q.raw(if d == Dialect::Mysql {
        " AS CHAR) <> '')"
    } else {
        " AS TEXT) <> '')"
    });
}

/// Whether comparisons read the column through a text cast: a PostgreSQL enum (which
/// compares with no text value, and has no `lower`), and on MySQL a binary column compared
/// case-insensitively (bytes compare exactly; as text they follow the connection's collation).
fn text_cast(ctx: &PredCtx<'_>, target: &Target, fold: bool) -> bool {
    let Some(m) = ctx.users else {
        return false;
    };
    let storage = match target {
        Target::Column(c) => m.rules.iter().find(|r| r.at == 0 && &r.column == c),
        Target::Joined(i, c) => m.rules.iter().find(|r| r.at == i + 1 && &r.column == c),
        Target::Child(i, c) => m
            .children
            .get(*i)
            .and_then(|ch| ch.rules.iter().find(|r| &r.column == c)),
        _ => None,
    }
    .map(|r| &r.storage);
    match storage {
        Some(s @ Storage::Enum { .. }) => s.cast().is_some(),
        Some(Storage::Binary) => fold && ctx.dialect == Dialect::Mysql,
        _ => false,
    }
}

/// The kind of column a value compares with.
fn kind_of(v: &HostValue) -> ColumnKind {
    match v {
        HostValue::Text(_) => ColumnKind::Text,
        HostValue::Int(_) => ColumnKind::Int,
        HostValue::Bool(_) => ColumnKind::Bool,
        HostValue::Timestamp(_) | HostValue::Date(_) => ColumnKind::Timestamp,
        HostValue::Null(k) => *k,
        HostValue::Cast(v, _) => kind_of(v),
    }
}

/// `cast`: compare the column as text (see [`text_cast`]); a value with a cast (a scope's
/// enum label) is compared so too.
#[allow(clippy::too_many_arguments, reason = "one comparison's parts")]
fn column_compare(
    q: &mut Sql,
    d: Dialect,
    alias: &str,
    c: &str,
    op: CompareOp,
    value: &HostValue,
    fold: bool,
    cast: bool,
) {
    // A NULL comes only from a mapping's `{ null = true }` (a filter's `eq null` is "not
    // present"): the column IS NULL.
    if value.is_null() {
        q.ident(alias)
            .raw(".")
            .ident(c)
            .raw(if op == CompareOp::Ne {
                " IS NOT NULL"
            } else {
                " IS NULL"
            });
        return;
    }
    let cast = cast || matches!(value, HostValue::Cast(..));
    let value = value.plain();
    q.raw("(")
        .ident(alias)
        .raw(".")
        .ident(c)
        .raw(" IS NOT NULL AND ");
    compare(
        q,
        d,
        |q| {
            if cast {
                cast_text(q, d, Some(alias), c);
            } else {
                q.ident(alias).raw(".").ident(c);
            }
        },
        op,
        value,
        fold,
        kind_of(value),
    );
    q.raw(")");
}

/// `EXISTS (SELECT 1 FROM <child> c WHERE c.parent = h.key AND <conditions> AND <inner>)`.
fn child_exists(q: &mut Sql, ctx: &PredCtx<'_>, i: usize, inner: impl FnOnce(&mut Sql)) {
    let Some(child) = ctx.users.and_then(|m| m.children.get(i)) else {
        q.raw("1=0");
        return;
    };
    user_child_exists(q, ctx, child, "c", inner);
}

/// `EXISTS (SELECT 1 FROM <child> <alias> WHERE <alias>.parent = h.key AND <conditions> AND
/// <inner>)`: one of the user's rows of `child`, under `alias`, meets `inner`.
fn user_child_exists(
    q: &mut Sql,
    ctx: &PredCtx<'_>,
    child: &crate::mapping::compile::Child,
    alias: &'static str,
    inner: impl FnOnce(&mut Sql),
) {
    q.raw("EXISTS (SELECT 1 FROM ")
        .ident(&child.table)
        .raw(" ")
        .raw(alias)
        .raw(" WHERE ")
        .raw(alias)
        .raw(".")
        .ident(&child.parent)
        .raw(" = ")
        .ident(HOST_ALIAS)
        .raw(".")
        .ident(ctx.key);
    for (col, v) in &child.conditions {
        q.raw(" AND ")
            .raw(alias)
            .raw(".")
            .ident(col)
            .raw(" = ")
            .bind(v.clone());
    }
    q.raw(" AND ");
    inner(q);
    q.raw(")");
}

/// Whether the child row `c` is the user's primary value, exactly as reads mark it: the
/// first flagged row (by key), else the row the user's pointer column names, else — also when
/// no row is flagged or the pointer names none of them — the row with the lowest key.
fn primary_row(q: &mut Sql, ctx: &PredCtx<'_>, i: usize) {
    let Some(child) = ctx.users.and_then(|m| m.children.get(i)) else {
        q.raw("1=0");
        return;
    };
    let key = &child.key.name;
    // `EXISTS (SELECT 1 FROM <child> c2 WHERE <c2 is one of the same user's rows> AND <cond>)`
    let sibling = |q: &mut Sql, cond: &dyn Fn(&mut Sql)| {
        user_child_exists(q, ctx, child, "c2", |q| cond(q));
    };
    let lower = |q: &mut Sql| {
        q.raw("c2.").ident(key).raw(" < c.").ident(key);
    };
    // No row of the user has a lower key: the fallback primary.
    let lowest = |q: &mut Sql| {
        q.raw("NOT ");
        sibling(q, &lower);
    };
    match &child.primary {
        PrimaryMark::First => lowest(q),
        PrimaryMark::Flag { column, off, .. } => {
            // Reads take a row as flagged when the flag is set (non-zero).
            let flagged = |q: &mut Sql, alias: &'static str| {
                q.raw("(")
                    .raw(alias)
                    .raw(".")
                    .ident(column)
                    .raw(" IS NOT NULL AND ")
                    .raw(alias)
                    .raw(".")
                    .ident(column)
                    .raw(" <> ")
                    .bind(off.clone())
                    .raw(")");
            };
            q.raw("((");
            flagged(q, "c");
            q.raw(" AND NOT ");
            sibling(q, &|q: &mut Sql| {
                flagged(q, "c2");
                q.raw(" AND ");
                lower(q);
            });
            q.raw(") OR (NOT ");
            sibling(q, &|q: &mut Sql| flagged(q, "c2"));
            q.raw(" AND ");
            lowest(q);
            q.raw("))");
        }
        PrimaryMark::Pointer { column, kind } => {
            let same_kind = *kind == child.key.kind;
            let d = ctx.dialect;
            let named = |q: &mut Sql, alias: &'static str| {
                if same_kind {
                    q.raw(alias).raw(".").ident(key);
                    q.raw(" = ").ident(HOST_ALIAS).raw(".").ident(column);
                } else {
                    q.raw("CAST(").raw(alias).raw(".").ident(key).raw(" AS ");
                    q.raw(text_type(d)).raw(") = CAST(");
                    q.ident(HOST_ALIAS).raw(".").ident(column).raw(" AS ");
                    q.raw(text_type(d)).raw(")");
                }
            };
            q.raw("(");
            named(q, "c");
            q.raw(" OR (NOT ");
            sibling(q, &|q: &mut Sql| named(q, "c2"));
            q.raw(" AND ");
            lowest(q);
            q.raw("))");
        }
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
mod tests;
