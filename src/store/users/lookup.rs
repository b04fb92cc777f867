//! Lookup columns: the key of another table's row holding the value, found or created in the
//! write's transaction.

use crate::mapping::compile::UserMapping;
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
            let Assign::Lookup(text) = a else { continue };
            let Some((rule, l)) = m
                .rules
                .iter()
                .filter(|r| r.at == at && &r.column == col)
                .find_map(|r| r.lookup.as_ref().map(|l| (r, l)))
            else {
                continue;
            };
            let mut q = Sql::new();
            q.raw("SELECT ");
            cast_text(&mut q, d, Some("lk"), &l.key.name);
            q.raw(" FROM ").ident(&l.table).raw(" lk WHERE ");
            dialect::ci_equals(&mut q, d, "lk", &l.column, text.trim());
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
                    "{:?} is held by several rows of {}.{} when compared case-insensitively (keys {}{}), so which one \"{}\" should hold is ambiguous: merge or rename them in the application",
                    text.trim(),
                    l.table,
                    l.column,
                    keys[..2].join(", "),
                    if keys.len() > 2 { ", …" } else { "" },
                    rule.column
                )));
            }
            let key = match keys.into_iter().next() {
                Some(k) => k,
                None if l.create => {
                    let value = HostValue::Text(text.trim().to_string());
                    insert_returning_key(c, d, &l.table, &l.key, vec![(l.column.clone(), value)])
                        .await?
                }
                None => {
                    return Ok(Err(format!(
                        "{:?} is not one of the application's values in {}.{}",
                        text.trim(),
                        l.table,
                        l.column
                    )))
                }
            };
            *a = Assign::Value(key_of(rule.kind, &key).ok_or(StoreError::NotFound)?);
        }
    }
    Ok(Ok(()))
}
