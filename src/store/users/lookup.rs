//! Lookup columns: the key of another table's row holding the value, found or created in the
//! write's transaction.

use crate::mapping::compile::{Lookup, UserMapping};
use crate::mapping::convert::{Assign, Row, RowPlan};
use crate::mapping::HostValue;
use crate::store::dialect::Dialect;

use crate::store::dialect::{self, cast_text};
use crate::store::rows::{insert_returning_key, key_of};
use crate::store::sql::Sql;
use crate::store::{Conn, StoreError};

/// Replaces every lookup in `plan` by the key of the row holding its text, inserting that row
/// when the mapping allows (`create = true`); an unknown text is otherwise refused (the `Err`).
pub(super) async fn resolve_lookups(
    c: &mut Conn,
    m: &UserMapping,
    d: Dialect,
    plan: &mut RowPlan,
) -> Result<Result<(), String>, StoreError> {
    if !m.rules.iter().any(|r| r.lookup.is_some()) {
        return Ok(Ok(()));
    }
    let RowPlan {
        tables,
        joined_insert,
        ..
    } = plan;
    let mut rows: Vec<(usize, &mut Row)> = tables.iter_mut().enumerate().collect();
    for (i, r) in joined_insert.iter_mut().enumerate() {
        if let Some(r) = r {
            rows.push((i + 1, r));
        }
    }
    for (at, row) in rows {
        for (col, a) in row.iter_mut() {
            let Assign::Lookup { text, new_row } = a else {
                continue;
            };
            let Some((rule, l)) = m
                .rules
                .iter()
                .filter(|r| r.at == at && &r.column == col)
                .find_map(|r| r.lookup.as_ref().map(|l| (r, l)))
            else {
                continue;
            };
            let key = match resolve_one(c, d, (&rule.column, l), text.trim(), new_row).await? {
                Ok(k) => k,
                Err(m) => return Ok(Err(m)),
            };
            *a = Assign::Value(key_of(rule.kind, &key).ok_or(StoreError::NotFound)?);
        }
    }
    Ok(Ok(()))
}

/// The key of the row of `l.table` holding `text` (compared case-insensitively): the one
/// row that does — left exactly as it is, whatever `set` says — or a new row holding `text`
/// and the `set` columns when none does and the lookup may create one. Several rows holding
/// it in different case are a conflict; an unknown text without `create` (or a new row that
/// cannot be made) is the `Err` the request is refused with.
async fn resolve_one(
    c: &mut Conn,
    d: Dialect,
    (column, l): (&str, &Lookup),
    text: &str,
    new_row: &Result<Vec<(String, HostValue)>, String>,
) -> Result<Result<String, String>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT ");
    cast_text(&mut q, d, Some("lk"), &l.key.name);
    q.raw(" FROM ").ident(&l.table).raw(" lk WHERE ");
    dialect::ci_equals(&mut q, d, "lk", &l.column, text);
    // Two rows holding the text in different case would make the choice arbitrary:
    // refused like an ambiguous user match, never picked silently.
    q.raw(" ORDER BY lk.").ident(&l.key.name).raw(" LIMIT 3");
    let keys: Vec<String> = c
        .rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .collect();
    if keys.len() > 1 {
        return Err(StoreError::Ambiguous(format!(
            "{text:?} is held by several rows of {}.{} when compared case-insensitively (keys {}{}), so which one \"{column}\" should hold is ambiguous: merge or rename them in the application",
            l.table,
            l.column,
            keys[..2].join(", "),
            if keys.len() > 2 { ", …" } else { "" },
        )));
    }
    if let Some(k) = keys.into_iter().next() {
        return Ok(Ok(k));
    }
    if !l.create {
        return Ok(Err(format!(
            "{text:?} is not one of the application's values in {}.{}",
            l.table, l.column
        )));
    }
    let extra = match new_row {
        Ok(extra) => extra,
        Err(why) => {
            return Ok(Err(format!(
                "{text:?} is in no row of {}.{}, and the row the bridge would add for it cannot be made: {why}",
                l.table, l.column
            )))
        }
    };
    let mut cols = vec![(l.column.clone(), HostValue::Text(text.to_string()))];
    cols.extend(extra.iter().cloned());
    Ok(Ok(insert_returning_key(c, d, &l.table, &l.key, cols).await?))
}
