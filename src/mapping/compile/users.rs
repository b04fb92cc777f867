//! `[users]`: the main table and the rules that tie its sections into one user — which
//! column holds `userName` and `active`, deletion, the NOT NULL columns an insert must fill,
//! and the `match` columns adoption compares.

use std::collections::HashMap;

use super::groups::compile_groups;
use super::problems::{
    check_not_null, conditions, key_column, missing_table, need_column, single, Problems,
};
use super::protect::compile_protect;
use super::related::{compile_children, compile_joined, Schema};
use super::rule::compile_rules;
use super::scan::custom_schemas;
use super::Compiled;
use crate::mapping::compiled::{
    Child, Condition, Joined, KeyColumn, MatchAt, MatchColumn, Rule, UserMapping,
};
use crate::mapping::host::{ColumnKind, HostTable};
use crate::mapping::model::{Direction, MappingFile, OnDelete, UsersSection};
use crate::mapping::value::HostValue;
use crate::scim::resource::ResourceType;

/// Validates `file` against the introspected tables it names (absent ones are reported).
pub fn compile(
    file: &MappingFile,
    tables: &HashMap<String, HostTable>,
    all_tables: &[String],
) -> Compiled {
    let mut problems = Problems::default();
    let u = &file.users;
    let Some(table) = tables.get(&u.table) else {
        missing_table(&mut problems, "users.table", &u.table, all_tables);
        return Compiled {
            mapping: None,
            problems: problems.0,
        };
    };
    let rt = ResourceType::user(&custom_schemas(file));
    let schema = Schema {
        tables,
        all_tables,
        rt: &rt,
    };
    let key = key_column(&mut problems, "users.key", table, &u.key, u.key_generate);
    let (mut rules, failed) = compile_rules(
        &mut problems,
        "users",
        &rt,
        table,
        0,
        None,
        &u.columns,
        tables,
    );
    let scope = conditions(&mut problems, "users.scope", table, u.scope.as_ref(), true);
    let soft_delete = single(conditions(
        &mut problems,
        "users.soft_delete",
        table,
        u.soft_delete.as_ref(),
        false,
    ));
    let protect = compile_protect(&mut problems, &u.protect, table, &u.key, tables, all_tables);
    let joined = compile_joined(&mut problems, &schema, &u.joined, &mut rules);
    let (children, pointer_columns) =
        compile_children(&mut problems, &schema, &u.children, table, &rules);
    let (user_name, active) = identity(&mut problems, u, &rules, &failed, u.on_delete);
    check_deletion(&mut problems, u.on_delete, &scope, &soft_delete);
    check_main_not_null(
        &mut problems,
        table,
        &rules,
        &scope,
        &pointer_columns,
        key.as_ref(),
        &failed,
    );
    let match_columns = match_columns(
        &mut problems,
        u,
        tables,
        table,
        &rules,
        &joined,
        &children,
        user_name,
    );
    let host_groups = file
        .groups
        .as_ref()
        .and_then(|g| compile_groups(&mut problems, g, tables, all_tables, key.as_ref()));

    if problems.has_errors() {
        return Compiled {
            mapping: None,
            problems: problems.0,
        };
    }
    let (Some(key), Some(user_name)) = (key, user_name) else {
        return Compiled {
            mapping: None,
            problems: problems.0,
        };
    };
    let read_columns = read_columns(&rules, &pointer_columns);
    Compiled {
        mapping: Some(UserMapping {
            table: table.name.clone(),
            key,
            rules,
            user_name,
            active,
            match_columns,
            adopt: u.adopt,
            adopt_state: u.adopt_state,
            adopt_overwrite: u.adopt_overwrite,
            on_delete: u.on_delete,
            scope,
            protect,
            soft_delete,
            joined,
            children,
            resource_type: rt,
            read_columns,
            host_groups,
        }),
        problems: problems.0,
    }
}

/// The rules holding `userName` (required, text, read and written) and `active`.
fn identity(
    problems: &mut Problems,
    u: &UsersSection,
    rules: &[Rule],
    failed: &[String],
    on_delete: OnDelete,
) -> (Option<usize>, Option<usize>) {
    let find = |name: &str| {
        rules.iter().position(|r: &Rule| {
            r.attr().is_some_and(|t| {
                t.path.urn.is_none() && t.path.attr == name && t.path.sub.is_none()
            })
        })
    };
    let user_name = find("userName");
    let user_name_rule_failed = u
        .columns
        .iter()
        .chain(u.joined.iter().flat_map(|j| j.columns.iter()))
        .any(|(c, r)| {
            failed.contains(c)
                && r.attr
                    .as_deref()
                    .is_some_and(|a| a.trim().eq_ignore_ascii_case("userName"))
        });
    match user_name {
        None if user_name_rule_failed => {}
        None if problems.has_errors() => {}
        None => problems.error("users.columns", "no column is mapped from \"userName\"; map the login or email column, e.g. email = { attr = \"userName\" }"),
        Some(i) if rules[i].direction != Direction::Both => {
            problems.error(&format!("users.columns.{}", rules[i].column), "the userName column must be read and written (direction = \"both\")")
        }
        Some(i) if rules[i].kind != ColumnKind::Text => {
            problems.error(&format!("users.columns.{}", rules[i].column), "the userName column must be a text column")
        }
        _ => {}
    }
    let active = find("active").filter(|&i| rules[i].writes());
    if on_delete == OnDelete::Deactivate && active.is_none() {
        problems.error("users.on_delete", "\"deactivate\" needs a column mapped from \"active\"; map one, or set on_delete = \"ignore\", \"soft_delete\" or \"delete\"");
    }
    (user_name, active)
}

/// `on_delete` and `soft_delete` agree with each other and with the scope.
fn check_deletion(
    problems: &mut Problems,
    on_delete: OnDelete,
    scope: &[Condition],
    soft_delete: &[(String, HostValue)],
) {
    if on_delete == OnDelete::SoftDelete && soft_delete.is_empty() {
        problems.error("users.soft_delete", "on_delete = \"soft_delete\" needs the values that mark a row deleted, e.g. soft_delete = { is_deleted = 1 }");
    }
    if !soft_delete.is_empty() && on_delete == OnDelete::SoftDelete {
        let hidden = soft_delete.iter().all(|(c, v)| {
            scope.iter().any(|sc| {
                &sc.column == c && sc.values.iter().any(|x| x.loosely_equals(v)) == sc.negate
            })
        });
        if !hidden {
            problems.warn("users.scope", "soft-deleted rows are still in scope, so a deleted user stays visible to SCIM; add the column to scope, e.g. scope = { is_deleted = 0 }");
        }
    }
}

/// NOT NULL columns of the main table the bridge must fill on insert.
fn check_main_not_null(
    problems: &mut Problems,
    table: &HostTable,
    rules: &[Rule],
    scope: &[Condition],
    pointer_columns: &[String],
    key: Option<&KeyColumn>,
    failed: &[String],
) {
    let main_rules: Vec<&Rule> = rules.iter().filter(|r| r.at == 0).collect();
    let mut filled: Vec<&str> = scope
        .iter()
        .filter(|c| c.values.len() == 1 && !c.negate)
        .map(|c| c.column.as_str())
        .collect();
    filled.extend(pointer_columns.iter().map(String::as_str));
    if let Some(k) = key.filter(|k| k.generate.is_some()) {
        filled.push(k.name.as_str());
    }
    check_not_null(problems, "users", table, &main_rules, &filled, failed);
}

/// Match columns: `column` (main), `table.column` (a joined or child table); and a warning when
/// no index serves Okta's `userName eq` lookup.
#[allow(
    clippy::too_many_arguments,
    reason = "the sections a match column may live in"
)]
fn match_columns(
    problems: &mut Problems,
    u: &UsersSection,
    tables: &HashMap<String, HostTable>,
    table: &HostTable,
    rules: &[Rule],
    joined: &[Joined],
    children: &[Child],
    user_name: Option<usize>,
) -> Vec<MatchColumn> {
    let raw_match = u.match_columns.clone().unwrap_or_else(|| {
        user_name
            .map(|i| {
                let r = &rules[i];
                if r.at == 0 {
                    vec![r.column.clone()]
                } else {
                    vec![format!("{}.{}", joined[r.at - 1].table, r.column)]
                }
            })
            .unwrap_or_default()
    });
    let mut match_columns: Vec<MatchColumn> = Vec::new();
    for m in &raw_match {
        let (at, t, col) = match m.split_once('.') {
            None => (MatchAt::Table(0), Some(table), m.as_str()),
            Some((tn, col)) => {
                if let Some(i) = joined.iter().position(|j| j.table == tn) {
                    (MatchAt::Table(i + 1), tables.get(tn), col)
                } else if let Some(i) = children.iter().position(|c| c.table == tn) {
                    (MatchAt::Child(i), tables.get(tn), col)
                } else if tn == table.name {
                    (MatchAt::Table(0), Some(table), col)
                } else {
                    problems.error("users.match", format!("\"{m}\": table \"{tn}\" is neither the user table nor one of its joined or child tables"));
                    continue;
                }
            }
        };
        let Some(t) = t else { continue };
        match need_column(problems, "users.match", t, col) {
            None => {}
            Some(c) if c.kind != Some(ColumnKind::Text) => problems.error(
                "users.match",
                format!(
                    "column \"{col}\" is {}, but matching compares text",
                    c.sql_type
                ),
            ),
            Some(c) => {
                if let Some(advice) = &c.ci_index_advice {
                    problems.warn("users.match", format!(
                        "no index serves a case-insensitive lookup on \"{}.{col}\", so every userName lookup scans the table; add one: {advice}", t.name));
                }
                let mc = MatchColumn {
                    at,
                    column: col.to_string(),
                };
                if !match_columns.contains(&mc) {
                    match_columns.push(mc);
                }
            }
        }
    }
    if let Some(i) = user_name {
        let r = &rules[i];
        let t = if r.at == 0 {
            Some(table)
        } else {
            tables.get(&joined[r.at - 1].table)
        };
        let listed = match_columns
            .iter()
            .any(|m| m.at == MatchAt::Table(r.at) && m.column == r.column);
        let advice = t
            .and_then(|t| t.column(&r.column))
            .and_then(|c| c.ci_index_advice.as_ref());
        if let (Some(advice), false) = (advice, listed) {
            problems.warn(&format!("users.columns.{}", r.column), format!(
                "no index serves a case-insensitive lookup on \"{}\" (Okta's userName filter); add one: {advice}", r.column));
        }
    }
    match_columns
}

/// Columns read back (table index, column), in SELECT order: readable rules, then the
/// primary pointers of child tables.
fn read_columns(rules: &[Rule], pointer_columns: &[String]) -> Vec<(usize, String)> {
    let mut read_columns: Vec<(usize, String)> = Vec::new();
    for r in rules.iter().filter(|r| r.reads()) {
        let c = (r.at, r.column.clone());
        if !read_columns.contains(&c) {
            read_columns.push(c);
        }
    }
    for p in pointer_columns {
        let c = (0, p.clone());
        if !read_columns.contains(&c) {
            read_columns.push(c);
        }
    }
    read_columns
}
