//! Host rows whose match values collide case-insensitively (GLPI allows `Maria.Garcia` and
//! `maria.garcia`): both would match `userName eq`, and a POST of either spelling finds two
//! rows. `check` and `import` list them before an identity provider links the wrong one.
//!
//! Values are compared the way adoption compares them ([`super::link::find_matches`]): every
//! match column (main, joined and child tables), within the scope, lower-cased by the
//! database — so a collision listed here is exactly one a POST would meet.

use crate::mapping::compile::{MatchAt, UserMapping};
use crate::store::dialect::{self, cast_text, table_alias, Dialect, HOST_ALIAS};
use crate::store::predicate::{self, scoped, PredCtx};
use crate::store::sql::Sql;
use crate::store::{Conn, Db, StoreError};

use super::link::link_owner;
use super::user_name_hash;

/// One value several host rows hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The value as the database lower-cases it.
    pub value: String,
    /// (host key, `table.column`, the value as that row spells it), in key order.
    pub rows: Vec<(String, String, String)>,
    /// The link holding this userName, if a SCIM identity (or `import --apply`) has it:
    /// (host key, origin).
    pub owner: Option<(String, String)>,
}

/// `SELECT <key> AS k, <column> AS v FROM <user table> h … WHERE <scope>` for one match
/// column (`lower` around the column when `fold`), ready for a condition after `AND`.
fn select_match(q: &mut Sql, m: &UserMapping, d: Dialect, at: &MatchAt, column: &str, fold: bool) {
    let ctx = PredCtx::users(d, m);
    q.raw("SELECT ");
    cast_text(q, d, Some(HOST_ALIAS), &m.key.name);
    q.raw(" AS k, ");
    if fold {
        q.raw("lower(");
    }
    let alias = match at {
        MatchAt::Table(at) => table_alias(*at),
        MatchAt::Child(_) => "c".into(),
    };
    q.ident(&alias).raw(".").ident(column);
    if fold {
        q.raw(")");
    }
    q.raw(" AS v FROM ")
        .ident(&m.table)
        .raw(" ")
        .ident(HOST_ALIAS);
    match at {
        MatchAt::Table(_) => predicate::joins(q, m),
        MatchAt::Child(ci) => {
            let child = &m.children[*ci];
            q.raw(" JOIN ")
                .ident(&child.table)
                .raw(" c ON c.")
                .ident(&child.parent)
                .raw(" = ")
                .ident(HOST_ALIAS)
                .raw(".")
                .ident(&m.key.name);
        }
    }
    q.raw(" WHERE 1 = 1");
    if let Some(s) = scoped(m, None) {
        q.raw(" AND ");
        predicate::render(q, &ctx, &s);
    }
}

/// Values more than one host row holds in its match columns, lower-cased (at most `limit`,
/// in order), with how many there are in all.
async fn shared_values(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    limit: usize,
) -> Result<(u64, Vec<String>), StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT v FROM (");
    for (i, mc) in m.match_columns.iter().enumerate() {
        if i > 0 {
            q.raw(" UNION ");
        }
        select_match(&mut q, m, d, &mc.at, &mc.column, true);
    }
    q.raw(") x WHERE v IS NOT NULL AND v <> '' GROUP BY v HAVING COUNT(DISTINCT k) > 1 ORDER BY v");
    let all: Vec<String> = c
        .rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .collect();
    let total = u64::try_from(all.len()).unwrap_or(u64::MAX);
    Ok((total, all.into_iter().take(limit).collect()))
}

/// The rows holding `value` in any match column, as adoption would find them.
async fn holders(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    value: &str,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for mc in &m.match_columns {
        let mut q = Sql::new();
        select_match(&mut q, m, d, &mc.at, &mc.column, false);
        q.raw(" AND ");
        let alias = match mc.at {
            MatchAt::Table(at) => table_alias(at),
            MatchAt::Child(_) => "c".into(),
        };
        dialect::ci_equals(&mut q, d, &alias, &mc.column, value);
        let table = match mc.at {
            MatchAt::Table(0) => &m.table,
            MatchAt::Table(at) => &m.joined[at - 1].table,
            MatchAt::Child(ci) => &m.children[ci].table,
        };
        for r in c.rows(q).await? {
            let key = r.get(0).unwrap_or("").to_string();
            let spelled = r.get(1).unwrap_or("").to_string();
            let place = format!("{table}.{}", mc.column);
            if !out.iter().any(|(k, p, _)| *k == key && *p == place) {
                out.push((key, place, spelled));
            }
        }
    }
    out.sort_by(|a, b| {
        let num = |k: &str| k.parse::<i64>().ok();
        num(&a.0).cmp(&num(&b.0)).then_with(|| a.0.cmp(&b.0))
    });
    Ok(out)
}

/// Match values several host rows share (at most `limit` of them, with their rows and, when
/// `links` — the bridge's tables exist — the link owning each as a userName), and how many
/// such values there are in all.
///
/// # Errors
/// The database's.
pub async fn match_collisions(
    db: &Db,
    m: &UserMapping,
    limit: usize,
    links: bool,
) -> Result<(u64, Vec<Collision>), StoreError> {
    let d = db.dialect;
    let mut c = db.reader().await?;
    let (total, values) = shared_values(&mut c, m, d, limit).await?;
    let mut out = Vec::new();
    for value in values {
        let rows = holders(&mut c, m, d, &value).await?;
        let owner = if links {
            link_owner(&mut c, m, &user_name_hash(&value)).await?
        } else {
            None
        };
        out.push(Collision { value, rows, owner });
    }
    Ok((total, out))
}
