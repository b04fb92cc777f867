//! `[users.on_deactivate]` and `[users.on_reactivate]`: what a change of `active` does
//! besides the `active` column — columns of the user's row set (a constant, `"now"`, NULL, a
//! fresh random secret) and rows of other tables keyed by the user deleted (sessions, role
//! rows). Checked against the live schema like every other section.

use super::problems::{
    assignments, conditions, need_column, need_table, single, writable_column, Problems,
};
use super::related::Schema;
use super::rule::random_for;
use crate::mapping::compiled::{Actions, Assignments, DeleteRows, Fill, Joined, Rule};
use crate::mapping::host::HostTable;
use crate::mapping::model::{ActionsSection, Conditions, UsersSection, When};

/// Both actions sections: `(on_deactivate, on_reactivate)`. A column a joined table is keyed
/// by (`user_column`) is refused: its rows follow a change made by a write, not by an action.
pub(super) fn compile_deprovisioning(
    problems: &mut Problems,
    schema: &Schema<'_>,
    u: &UsersSection,
    table: &HostTable,
    rules: &[Rule],
    joined: &[Joined],
) -> (Actions, Actions) {
    let key = table
        .column(&u.key)
        .map_or(u.key.as_str(), |c| c.name.as_str());
    let mut both = [
        ("users.on_deactivate", u.on_deactivate.as_ref()),
        ("users.on_reactivate", u.on_reactivate.as_ref()),
    ]
    .map(|(k, raw)| {
        let a = compile_actions(problems, schema, k, raw, table, &u.key, rules);
        for (c, _) in &a.set.0 {
            if let Some(j) = joined.iter().find(|j| &j.user_column == c && c != key) {
                problems.error(&format!("{k}.set.{c}"), format!(
                    "\"{c}\" keys the rows of {} (users.joined user_column), which an action would leave behind; remove it from {k}.set", j.table));
            }
        }
        a
    });
    let on_reactivate = std::mem::take(&mut both[1]);
    let on_deactivate = std::mem::take(&mut both[0]);
    (on_deactivate, on_reactivate)
}

/// One actions section (`key` is `users.on_deactivate` or `users.on_reactivate`).
fn compile_actions(
    problems: &mut Problems,
    schema: &Schema<'_>,
    key: &str,
    raw: Option<&ActionsSection>,
    table: &HostTable,
    user_key: &str,
    rules: &[Rule],
) -> Actions {
    let Some(raw) = raw else {
        return Actions::default();
    };
    let set = compile_set(
        problems,
        &format!("{key}.set"),
        raw.set.as_ref(),
        table,
        rules,
    );
    let set: Vec<(String, Fill)> = set
        .into_iter()
        .filter(|(c, _)| {
            if c != user_key && table.column(user_key).is_none_or(|k| &k.name != c) {
                return true;
            }
            problems.error(
                &format!("{key}.set.{c}"),
                format!("\"{c}\" is the user's key, which an action cannot change; remove it"),
            );
            false
        })
        .collect();
    let mut delete = Vec::new();
    for (i, d) in raw.delete.iter().enumerate() {
        let k = format!("{key}.delete[{i}]");
        let Some(t) = need_table(
            problems,
            &format!("{k}.table"),
            schema.tables,
            schema.all_tables,
            &d.table,
        ) else {
            continue;
        };
        if t.name == table.name {
            problems.error(&format!("{k}.table"), format!(
                "\"{}\" is the user table: an action deletes rows that belong to the user, not the user (that is on_delete = \"delete\"); name a table keyed by the user, e.g. its sessions", t.name));
            continue;
        }
        let Some(parent) = need_column(problems, &format!("{k}.parent"), t, &d.parent) else {
            continue;
        };
        if let Some(uk) = table.column(user_key) {
            if parent.kind != uk.kind {
                problems.error(&format!("{k}.parent"), format!(
                    "\"{}.{}\" is {} but the user key \"{}\" is {}; name the column holding the user's key",
                    t.name, parent.name, parent.sql_type, uk.name, uk.sql_type));
                continue;
            }
        }
        let conds = single(conditions(
            problems,
            &format!("{k}.where"),
            t,
            d.conditions.as_ref(),
            false,
        ));
        delete.push(DeleteRows {
            table: t.name.clone(),
            parent: parent.name.clone(),
            conditions: conds,
        });
    }
    if raw.record_only && !(set.is_empty() && delete.is_empty()) {
        problems.error(
            &format!("{key}.record_only"),
            "record_only = true says a deactivation writes nothing, but set or delete is given too; remove record_only, or the set and delete entries",
        );
    }
    Actions {
        set: Assignments(set),
        delete,
        record_only: raw.record_only,
    }
}

/// `set = { column = value | "now" | { null = true } | { random = N } }` over the user's row;
/// a column a rule writes on every update is refused (the next update would undo the action,
/// or the action the update).
fn compile_set(
    problems: &mut Problems,
    key: &str,
    raw: Option<&Conditions>,
    table: &HostTable,
    rules: &[Rule],
) -> Vec<(String, Fill)> {
    let Some(raw) = raw else { return vec![] };
    let is_random = |v: &toml::Value| matches!(v, toml::Value::Table(t) if t.contains_key("random") || t.contains_key("alphabet"));
    let plain: Conditions = raw
        .iter()
        .filter(|(_, v)| !is_random(v))
        .map(|(c, v)| (c.clone(), v.clone()))
        .collect();
    let mut out = assignments(problems, key, table, Some(&plain)).0;
    for (col, v) in raw.iter().filter(|(_, v)| is_random(v)) {
        let k = format!("{key}.{col}");
        let toml::Value::Table(t) = v else { continue };
        let Some((c, kind)) = writable_column(problems, &k, table, col) else {
            continue;
        };
        match random_for(t, c, kind) {
            Ok(r) => out.push((c.name.clone(), Fill::Random(r))),
            Err(m) => problems.error(&k, m),
        }
    }
    out.retain(|(c, _)| {
        let Some(r) = rules
            .iter()
            .find(|r| r.at == 0 && &r.column == c && r.writes() && r.on == When::Always)
        else {
            return true;
        };
        let written = raw
            .keys()
            .find(|k| k.eq_ignore_ascii_case(c))
            .map_or(c.as_str(), String::as_str);
        problems.error(&format!("{key}.{written}"), format!(
            "column \"{c}\" is also written from {} on every update (users.columns), so the next update would undo the action; remove it here, or give the rule on = \"insert\"",
            r.source.describe()));
        false
    });
    out
}
