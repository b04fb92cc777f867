//! `[[users.protect]]`: rows SCIM must never adopt or change — the application's
//! administrators, accounts with a local password — so a token holder cannot take one over
//! by POSTing its userName with a new email.

use std::collections::HashMap;

use super::problems::{conditions, need_column, need_table, single, Problems};
use crate::mapping::compiled::Protect;
use crate::mapping::host::HostTable;
use crate::mapping::model::ProtectSection;
use crate::mapping::Pred;

pub(super) fn compile_protect(
    problems: &mut Problems,
    sections: &[ProtectSection],
    table: &HostTable,
    user_key: &str,
    tables: &HashMap<String, HostTable>,
    all_tables: &[String],
) -> Vec<Protect> {
    let mut out = Vec::new();
    for (i, p) in sections.iter().enumerate() {
        let key = format!("users.protect[{i}]");
        let mut parts = Vec::new();
        let mut described = Vec::new();
        if let Some(raw) = &p.conditions {
            let conds = conditions(problems, &format!("{key}.where"), table, Some(raw), true);
            described.extend(conds.iter().map(|c| c.column.clone()));
            parts.extend(Pred::conditions(&conds));
        }
        if let Some(h) = &p.has {
            let Some(t) = need_table(
                problems,
                &format!("{key}.has.table"),
                tables,
                all_tables,
                &h.table,
            ) else {
                continue;
            };
            let parent = need_column(problems, &format!("{key}.has.parent"), t, &h.parent);
            let user_key = table.column(user_key);
            if let (Some(p), Some(k)) = (parent, user_key) {
                if p.kind != k.kind {
                    problems.error(
                        &format!("{key}.has.parent"),
                        format!(
                            "\"{}.{}\" is {} but the user key \"{}\" is {}; name the column holding the user's key",
                            t.name, p.name, p.sql_type, k.name, k.sql_type
                        ),
                    );
                }
            }
            let conds = single(conditions(
                problems,
                &format!("{key}.has.where"),
                t,
                h.conditions.as_ref(),
                false,
            ));
            described.push(format!("a row of {}", t.name));
            parts.push(Pred::Exists {
                table: t.name.clone(),
                parent: parent.map_or_else(|| h.parent.clone(), |p| p.name.clone()),
                conditions: conds,
            });
        }
        if parts.is_empty() {
            problems.error(
                &key,
                "give where = { column = value } (the user's row) or has = { table, parent, where } (a row referring to the user)",
            );
            continue;
        }
        out.push(Protect {
            pred: if parts.len() == 1 {
                parts.remove(0)
            } else {
                Pred::And(parts)
            },
            reason: p
                .reason
                .clone()
                .unwrap_or_else(|| format!("rows matched by {}", described.join(" and "))),
        });
    }
    out
}
