//! Reading users by the page: a filtered, sorted page with its total, the import's and
//! `check`'s walks in key order, counts — each from one snapshot.

use crate::mapping::compile::UserMapping;
use crate::mapping::{HostValue, Pred};
use crate::scim::query::SortOrder;

use super::read::{
    attach_groups, complete, fetch_children, groups_fold, parse_host_row, parse_joined,
    parse_protected, select_host, select_host_with, Joins, Of,
};
use super::{key_value, HostUser, Resume, SortBy};
use crate::store::dialect::{self, table_alias, HOST_ALIAS};
use crate::store::predicate::{self, scoped, PredCtx};
use crate::store::sql::Sql;
use crate::store::{Conn, Db, StoreError};

/// Which page [`list`] reads: SCIM's 1-based `startIndex` and `count`, where the previous
/// page ended (sequential paging continues by key), and whether the answer shows groups.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub start_index: u64,
    pub count: u64,
    pub resume: Option<&'a Resume>,
    pub groups: bool,
}

/// A page of users matching `pred`, ordered by key, with the total count (and their groups
/// when `groups`) — from one consistent snapshot.
///
/// For a mapping without child tables, the page with its links and
/// groups is one statement: when the page tells its total (a short page, or a total carried
/// from the previous page) that statement is the whole read, with no transaction around it —
/// the `userName eq` lookup identity providers make before every create. A filtered page that
/// turns out full reads again, page and count in one snapshot; an unfiltered first page (a
/// full sync) starts in that snapshot.
pub async fn list(
    db: &Db,
    m: &UserMapping,
    pred: Option<&Pred>,
    sort: Option<SortBy<'_>>,
    page: Page<'_>,
) -> Result<(u64, Vec<HostUser>), StoreError> {
    let ctx = PredCtx::users(db.dialect, m);
    // A client's filter (Okta's `userName eq`) usually finds a short page; an unfiltered
    // first page is usually full and would be read twice.
    let filtered = pred.is_some();
    let pred = scoped(m, pred);
    let pred = pred.as_ref();
    let known_total = page.resume.map(|r| r.total);
    let empty = page.count == 0 || known_total.is_some_and(|t| page.start_index > t);
    let self_counting = filtered || page.resume.is_some();
    if !empty && self_counting && m.children.is_empty() && joins_links(m, sort, page) {
        let mut c = db.reader().await?;
        let users = read_page(&mut c, m, &ctx, pred, sort, page).await?;
        if let Some(total) = total_of(page, &users) {
            return Ok((total, users));
        }
    }
    db.read(async |c| -> Result<_, StoreError> {
        if empty {
            let total = match known_total {
                Some(t) => t,
                None => count_rows(c, &ctx, pred).await?,
            };
            return Ok((total, vec![]));
        }
        let users = read_page(c, m, &ctx, pred, sort, page).await?;
        let total = match total_of(page, &users) {
            Some(t) => t,
            None => count_rows(c, &ctx, pred).await?,
        };
        Ok((total, users))
    })
    .await
}

/// Where a continued page starts: after the previous page's last key (key order only).
fn after_key(m: &UserMapping, sort: Option<SortBy<'_>>, page: Page<'_>) -> Option<HostValue> {
    page.resume
        .filter(|_| sort.is_none())
        .and_then(|r| key_value(m, &r.after_key))
}

/// Whether a page reads its links and groups in its own statement: a page that starts at
/// the first row or after a key, in key order, so that only the rows it returns are joined —
/// under an `OFFSET` or a sort every row before them would be (PostgreSQL: 1 s a page deep
/// into 100,000 users). Otherwise the links and groups of the page's keys are read apart.
fn joins_links(m: &UserMapping, sort: Option<SortBy<'_>>, page: Page<'_>) -> bool {
    sort.is_none() && (page.start_index <= 1 || after_key(m, sort, page).is_some())
}

/// The total a page tells without counting: the one carried from the previous page, or
/// that of a short page that is not past the end.
fn total_of(page: Page<'_>, users: &[HostUser]) -> Option<u64> {
    let n = users.len() as u64;
    match page.resume {
        Some(r) => Some(r.total),
        None if n < page.count && (n > 0 || page.start_index == 1) => {
            Some(page.start_index - 1 + n)
        }
        None => None,
    }
}

/// The users of `page`, with their children, links and (when asked) groups.
async fn read_page(
    c: &mut Conn,
    m: &UserMapping,
    ctx: &PredCtx<'_>,
    pred: Option<&Pred>,
    sort: Option<SortBy<'_>>,
    page: Page<'_>,
) -> Result<Vec<HostUser>, StoreError> {
    let d = ctx.dialect;
    let joins = if joins_links(m, sort, page) {
        Joins {
            link: Some(Of::Row),
            groups: (page.groups && groups_fold(d, false)).then_some(Of::Row),
        }
    } else {
        Joins::default()
    };
    let mut q = select_host_with(m, d, false, false, joins);
    predicate::where_clause(&mut q, ctx, pred);
    let after = after_key(m, sort, page);
    if let Some(k) = &after {
        q.raw(" AND ");
        q.ident(HOST_ALIAS)
            .raw(".")
            .ident(&m.key.name)
            .raw(" > ")
            .bind(k.clone());
    }
    q.raw(" ORDER BY ");
    if let Some(s) = &sort {
        // NULLs sort as the database does; the key keeps the order total and stable.
        dialect::order_by(&mut q, d, &table_alias(s.at), s.column, s.fold);
        q.raw(if s.order == SortOrder::Descending {
            " DESC, "
        } else {
            " ASC, "
        });
    }
    q.ident(HOST_ALIAS).raw(".").ident(&m.key.name);
    dialect::limit(&mut q, d, page.count);
    if after.is_none() {
        q.raw(" OFFSET ").count(page.start_index.saturating_sub(1));
    }
    let mut users: Vec<HostUser> = c
        .rows(q)
        .await?
        .iter()
        .map(|r| parse_joined(m, r, false, joins))
        .collect();
    if joins.link.is_some() {
        fetch_children(c, m, d, &mut users).await?;
    } else {
        complete(c, m, d, &mut users).await?;
    }
    if page.groups && joins.groups.is_none() {
        attach_groups(c, &mut users).await?;
    }
    Ok(users)
}

pub(super) async fn count_rows(
    c: &mut Conn,
    ctx: &PredCtx<'_>,
    pred: Option<&Pred>,
) -> Result<u64, StoreError> {
    Ok(c.row(predicate::count_sql(ctx, pred))
        .await?
        .and_then(|r| r.get(0).and_then(|s| s.parse().ok()))
        .unwrap_or(0))
}

/// `select` restricted to `pred`, the first `limit` rows in key order: one index range, the
/// shape every keyed page read shares.
fn first_in_key_order(
    mut q: Sql,
    m: &UserMapping,
    ctx: &PredCtx<'_>,
    pred: Option<&Pred>,
    limit: usize,
) -> Sql {
    if let Some(p) = pred {
        q.raw(" WHERE ");
        predicate::render(&mut q, ctx, p);
    }
    q.raw(" ORDER BY ")
        .ident(HOST_ALIAS)
        .raw(".")
        .ident(&m.key.name);
    dialect::limit(&mut q, ctx.dialect, limit);
    q
}

/// Host rows after `after` in key order, with their links: the import's streaming read, one
/// index range per page however large the table.
pub async fn page_after(
    db: &Db,
    m: &UserMapping,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<HostUser>, StoreError> {
    let d = db.dialect;
    let mut c = db.reader().await?;
    let ctx = PredCtx::users(d, m);
    let after_pred = after.and_then(|a| key_value(m, a)).map(|k| Pred::Cmp {
        target: crate::mapping::Target::Key,
        op: crate::scim::filter::CompareOp::Gt,
        value: k,
        fold_case: false,
    });
    let pred = scoped(m, after_pred.as_ref());
    let q = first_in_key_order(
        select_host(m, d, false, true),
        m,
        &ctx,
        pred.as_ref(),
        limit,
    );
    let mut users: Vec<HostUser> = c
        .rows(q)
        .await?
        .iter()
        .map(|r| HostUser {
            protected: parse_protected(m, r),
            ..parse_host_row(m, r)
        })
        .collect();
    complete(&mut c, m, d, &mut users).await?;
    Ok(users)
}

/// Number of host rows.
pub async fn count(db: &Db, m: &UserMapping) -> Result<u64, StoreError> {
    let ctx = PredCtx::users(db.dialect, m);
    let mut c = db.reader().await?;
    count_rows(&mut c, &ctx, scoped(m, None).as_ref()).await
}

/// Keys of the host rows in scope matching `pred` (at most `limit`, in key order) and how
/// many match in all — host tables only, so `check` can use it before the bridge's own
/// tables exist.
///
/// # Errors
/// The database's.
pub async fn keys_matching(
    db: &Db,
    m: &UserMapping,
    pred: &Pred,
    limit: usize,
) -> Result<(u64, Vec<String>), StoreError> {
    let d = db.dialect;
    let ctx = PredCtx::users(d, m);
    let pred = scoped(m, Some(pred));
    let mut c = db.reader().await?;
    // Not `count_rows`: that leaves out users deleted over SCIM, which asks scim_users.
    let mut n = Sql::new();
    n.raw("SELECT CAST(COUNT(*) AS ")
        .raw(dialect::text_type(d))
        .raw(") FROM ")
        .ident(&m.table)
        .raw(" ")
        .ident(HOST_ALIAS);
    predicate::joins(&mut n, m);
    if let Some(p) = &pred {
        n.raw(" WHERE ");
        predicate::render(&mut n, &ctx, p);
    }
    let total = c
        .row(n)
        .await?
        .and_then(|r| r.get(0).and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    let q = first_in_key_order(
        select_host(m, d, false, false),
        m,
        &ctx,
        pred.as_ref(),
        limit,
    );
    let keys = c
        .rows(q)
        .await?
        .iter()
        .map(|r| parse_host_row(m, r).key)
        .collect();
    Ok((total, keys))
}

/// Rows the mapping protects, for `check`: (key, userName column's value, protect entry), at
/// most `limit`, in key order.
pub async fn protected(
    db: &Db,
    m: &UserMapping,
    limit: usize,
) -> Result<Vec<(String, Option<String>, usize)>, StoreError> {
    if m.protect.is_empty() {
        return Ok(vec![]);
    }
    let d = db.dialect;
    let ctx = PredCtx::users(d, m);
    let any = Pred::Or(m.protect.iter().map(|p| p.pred.clone()).collect());
    let pred = scoped(m, Some(&any));
    let q = first_in_key_order(
        select_host(m, d, false, true),
        m,
        &ctx,
        pred.as_ref(),
        limit,
    );
    let rule = m.user_name_rule();
    let at = m
        .read_columns
        .iter()
        .position(|(a, c)| *a == rule.at && c == &rule.column);
    let mut c = db.reader().await?;
    Ok(c.rows(q)
        .await?
        .iter()
        .map(|r| {
            let u = parse_host_row(m, r);
            let name = at.and_then(|i| u.values[i].display_text());
            (u.key, name, parse_protected(m, r).unwrap_or(0))
        })
        .collect())
}
