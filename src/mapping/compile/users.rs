//! `[users]`: the main table and the rules that tie its sections into one user — which
//! column holds `userName` and `active`, deletion, the NOT NULL columns an insert must fill,
//! and the `match` columns adoption compares.

use std::collections::HashMap;

use super::actions::compile_deprovisioning;
use super::fallback::{check_adoption, compile_fallbacks};
use super::groups::compile_groups;
use super::problems::{
    assignments, check_not_null, conditions, key_column, need_column, need_table, Problems,
};
use super::protect::compile_protect;
use super::related::{compile_children, compile_joined, Schema};
use super::rule::compile_rules;
use super::scan::custom_schemas;
use super::Compiled;
use crate::mapping::compiled::{
    Actions, Assignments, Child, Condition, Fill, Joined, KeyColumn, MatchAt, MatchColumn, Rule,
    Source, TemplatePart, UserMapping,
};
use crate::mapping::host::{ColumnKind, HostTable, Storage};
use crate::mapping::model::{Direction, MappingFile, OnDelete, UsersSection};
use crate::scim::resource::ResourceType;

/// Validates `file` against the introspected tables it names (absent ones are reported).
pub fn compile(
    file: &MappingFile,
    tables: &HashMap<String, HostTable>,
    all_tables: &[String],
) -> Compiled {
    let mut problems = Problems::default();
    let u = &file.users;
    let Some(table) = need_table(&mut problems, "users.table", tables, all_tables, &u.table) else {
        return without_mapping(problems);
    };
    super::extensions::check(&mut problems, file);
    let rt = ResourceType::user(&custom_schemas(file));
    let schema = Schema {
        tables,
        all_tables,
        rt: &rt,
    };
    let key = key_column(&mut problems, "users.key", table, &u.key, u.key_generate);
    let p = &mut problems;
    let (mut rules, failed) = compile_rules(p, "users", &rt, table, 0, None, &u.columns, tables);
    let scope = conditions(&mut problems, "users.scope", table, u.scope.as_ref(), true);
    let soft_delete = assignments(
        &mut problems,
        "users.soft_delete",
        table,
        u.soft_delete.as_ref(),
    );
    let protect = compile_protect(&mut problems, &u.protect, table, &u.key, tables, all_tables);
    let grants = super::grants::compile_grants(&mut problems, &schema, u, table, &rules);
    let joined = compile_joined(&mut problems, &schema, u, table, &mut rules);
    let (children, pointer_columns) =
        compile_children(&mut problems, &schema, &u.children, table, &rules);
    let (on_deactivate, on_reactivate) =
        compile_deprovisioning(&mut problems, &schema, u, table, &rules, &joined);
    let how = Deactivation::of(u.on_delete, &on_deactivate);
    let (user_name, active) = identity(&mut problems, u, &rules, &failed, how);
    check_reads(&mut problems, u, &rules, user_name);
    let fallbacks = compile_fallbacks(&mut problems, u, &rt, &rules, &children);
    check_deletion(&mut problems, u.on_delete, &scope, &soft_delete);
    check_main_not_null(
        &mut problems,
        table,
        &rules,
        &scope,
        (&pointer_columns, &joined),
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
    check_adoption(
        &mut problems,
        &fallbacks,
        &rules,
        &children,
        &joined,
        table,
        &match_columns,
    );
    let groups = file.groups.as_ref();
    let host_groups =
        groups.and_then(|g| compile_groups(&mut problems, g, tables, all_tables, key.as_ref()));
    check_shared_table(&mut problems, host_groups.as_ref(), &table.name, &scope);
    let (Some(key), Some(user_name), false) = (key, user_name, problems.has_errors()) else {
        return without_mapping(problems);
    };
    Compiled {
        mapping: Some(UserMapping {
            table: table.name.clone(),
            key,
            read_columns: read_columns(&rules, &pointer_columns),
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
            on_deactivate,
            on_reactivate,
            joined,
            children,
            resource_type: rt,
            host_groups,
            grants,
            fallbacks,
        }),
        problems: problems.finish(),
    }
}

/// Groups kept in the user table (single-table inheritance) need a scope on both sides, or a
/// group would be served as a user and a user matched as a group.
fn check_shared_table(
    problems: &mut Problems,
    groups: Option<&crate::mapping::compiled::GroupMapping>,
    users_table: &str,
    users_scope: &[Condition],
) {
    let Some(g) = groups.filter(|g| g.table == users_table) else {
        return;
    };
    if g.scope.is_empty() || users_scope.is_empty() {
        let missing = if g.scope.is_empty() {
            "groups.scope"
        } else {
            "users.scope"
        };
        problems.error(missing, format!("groups and users share table \"{users_table}\": give both a scope that tells them apart, e.g. groups.scope = {{ type = \"Group\" }} and users.scope = {{ type = \"User\" }}, so a group is never served as a user nor a user matched as a group"));
    }
}

/// The outcome of a mapping with errors: the problems, no mapping.
fn without_mapping(problems: Problems) -> Compiled {
    Compiled {
        mapping: None,
        problems: problems.finish(),
    }
}

/// How the mapping carries out a deactivation: `on_delete`, and whether
/// `[users.on_deactivate]` does anything.
#[derive(Clone, Copy)]
struct Deactivation {
    on_delete: OnDelete,
    actions: bool,
}

impl Deactivation {
    fn of(on_delete: OnDelete, on_deactivate: &Actions) -> Self {
        Deactivation {
            on_delete,
            actions: on_deactivate.declared(),
        }
    }
}

/// The rules holding `userName` (required, text, read and written) and `active`.
fn identity(
    problems: &mut Problems,
    u: &UsersSection,
    rules: &[Rule],
    failed: &[String],
    deactivation: Deactivation,
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
            problems.error(&format!("users.columns.{}", rules[i].column), "the userName column must be read and written (direction = \"both\")");
        }
        Some(i) if rules[i].json.is_some() => {
            let why = super::json::check_user_name(&rules[i]).unwrap_or_default();
            problems.error(&format!("users.columns.{}", rules[i].column), why);
        }
        Some(i) if rules[i].kind != ColumnKind::Text => {
            problems.error(&format!("users.columns.{}", rules[i].column), "the userName column must be a text column");
        }
        Some(i) if rules[i].storage.labels().is_some() => {
            problems.error(&format!("users.columns.{}", rules[i].column), "the userName column is an enumerated type, which cannot hold logins; map a text column");
        }
        _ => {}
    }
    let active = find("active").filter(|&i| rules[i].writes());
    if active.is_none() && !deactivation.actions {
        if deactivation.on_delete == OnDelete::Deactivate {
            problems.error("users.on_delete", "\"deactivate\" needs a column mapped from \"active\" or a [users.on_deactivate] section; map one (e.g. disabled = { attr = \"active\", map = { true = 0, false = 1 } }), declare what deactivation does (e.g. [users.on_deactivate] delete = [{ table = \"sessions\", parent = \"user_id\" }]), or set on_delete = \"ignore\", \"soft_delete\" or \"delete\"");
        } else {
            problems.warn("users.on_deactivate", "no column holds \"active\" and nothing is declared for a deactivation, so the bridge cannot carry one out: a PATCH or PUT setting active = false answers 400; map \"active\" to a column, or declare what deactivation does, e.g. [users.on_deactivate] set = { password = { random = 40 } } and delete = [{ table = \"sessions\", parent = \"user_id\" }]");
        }
    }
    (user_name, active)
}

/// `on_delete` and `soft_delete` agree with each other and with the scope.
fn check_deletion(
    problems: &mut Problems,
    on_delete: OnDelete,
    scope: &[Condition],
    soft_delete: &Assignments,
) {
    if on_delete == OnDelete::SoftDelete && soft_delete.is_empty() {
        problems.error("users.soft_delete", "on_delete = \"soft_delete\" needs the values that mark a row deleted, e.g. soft_delete = { is_deleted = 1 } or soft_delete = { deleted_at = \"now\" }");
    }
    if !soft_delete.is_empty() && on_delete == OnDelete::SoftDelete {
        // The row leaves the scope when one value written fails a scope condition.
        let hidden = soft_delete.0.iter().any(|(c, fill)| {
            scope.iter().any(|sc| {
                let meets = sc.values.iter().any(|x| match fill {
                    Fill::Value(v) if v.is_null() => x.is_null(),
                    Fill::Value(v) => !x.is_null() && x.loosely_equals(v),
                    // The time of the deletion: not NULL, and equal to no constant.
                    Fill::Now { .. } | Fill::Random(_) => false,
                });
                &sc.column == c && meets == sc.negate
            })
        });
        if !hidden {
            problems.warn("users.scope", "soft-deleted rows are still in scope, so a deleted user stays visible to SCIM; add the column to scope, e.g. scope = { is_deleted = 0 } (or scope = { deleted_at = { null = true } } with soft_delete = { deleted_at = \"now\" })");
        }
    }
}

/// The mapping key of a rule's column, as the mapping spells it.
fn rule_key(u: &UsersSection, r: &Rule) -> String {
    let written =
        |columns: &std::collections::BTreeMap<String, crate::mapping::model::ColumnRule>| {
            columns
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&r.column))
                .cloned()
                .unwrap_or_else(|| r.column.clone())
        };
    match r.at.checked_sub(1).map(|i| u.joined.get(i)) {
        None => format!("users.columns.{}", written(&u.columns)),
        Some(Some(j)) => format!("users.joined.{}.columns.{}", j.table, written(&j.columns)),
        Some(None) => format!("users.columns.{}", r.column),
    }
}

/// A template's text as written.
fn template_text(parts: &[TemplatePart]) -> String {
    parts.iter().map(TemplatePart::describe).collect()
}

/// Every attribute is read from one column: a template whose attribute another column
/// holds too (its value is not that attribute's) must be written only, or reads would take
/// the attribute from it — users were listed with a login cookie as their userName, `userName
/// eq` missed them and adoption made duplicates. And which column userName is read from,
/// when several receive it.
fn check_reads(
    problems: &mut Problems,
    u: &UsersSection,
    rules: &[Rule],
    user_name: Option<usize>,
) {
    let same = |a: &crate::mapping::compiled::AttrTarget,
                b: &crate::mapping::compiled::AttrTarget| {
        a.path == b.path && a.select == b.select
    };
    for (i, r) in rules.iter().enumerate() {
        let Source::Template(parts) = &r.source else {
            continue;
        };
        if !r.reads() {
            continue;
        }
        for t in r.attrs() {
            // Another column read for the same attribute: a plain one always wins, another
            // template when it comes first.
            let other = rules.iter().enumerate().find(|(j, o)| {
                *j != i
                    && o.reads()
                    && (matches!(o.source, Source::Attr(_)) || *j < i)
                    && o.attrs().iter().any(|x| same(x, t))
            });
            if let Some((_, o)) = other {
                problems.error(&rule_key(u, r), format!(
                    "column \"{}\" is filled by the template \"{}\", and \"{}\" is also read from column \"{}\": reading \"{}\" back would make \"{}\" ambiguous (the template's text is not its value); add direction = \"to_host\" to \"{}\" so the bridge only writes it",
                    r.column, template_text(parts), t.text, o.column, r.column, t.text, r.column
                ));
                break;
            }
        }
    }
    let Some(ui) = user_name else { return };
    let un = &rules[ui];
    let others: Vec<String> = rules
        .iter()
        .enumerate()
        .filter(|(j, o)| *j != ui && o.writes() && o.attrs().iter().any(|t| t.is_core("userName")))
        .map(|(_, o)| match &o.source {
            Source::Template(parts) => format!(
                "\"{}\" (template \"{}\"{})",
                o.column,
                template_text(parts),
                if o.reads() { "" } else { ", written only" }
            ),
            _ => format!("\"{}\"", o.column),
        })
        .collect();
    if !others.is_empty() {
        problems.warn(&rule_key(u, un), format!(
            "userName is read from column \"{}\"; it is also written to {}, which reads never take it from",
            un.column,
            others.join(", ")
        ));
    }
}

/// NOT NULL columns of the main table the bridge must fill on insert.
fn check_main_not_null(
    problems: &mut Problems,
    table: &HostTable,
    rules: &[Rule],
    scope: &[Condition],
    (pointer_columns, joined): (&[String], &[Joined]),
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
    // Filled with the key of a row inserted first (a principal).
    filled.extend((joined.iter().filter(|j| j.before_user)).map(|j| j.user_column.as_str()));
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
                // The table as the database spells it (the mapping may spell it otherwise).
                let live = tables.get(tn).map_or(tn, |t| t.name.as_str());
                let named = |x: &str| x == live || x.eq_ignore_ascii_case(tn);
                if let Some(i) = joined.iter().position(|j| named(&j.table)) {
                    (
                        MatchAt::Table(i + 1),
                        tables
                            .get(tn)
                            .or_else(|| tables.values().find(|t| t.name == joined[i].table)),
                        col,
                    )
                } else if let Some(i) = children.iter().position(|c| named(&c.table)) {
                    (
                        MatchAt::Child(i),
                        tables
                            .get(tn)
                            .or_else(|| tables.values().find(|t| t.name == children[i].table)),
                        col,
                    )
                } else if named(&table.name) {
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
            Some(c) if c.kind != Some(ColumnKind::Text) || c.storage().labels().is_some() => {
                problems.error(
                    "users.match",
                    format!(
                        "column \"{col}\" is {}, but matching compares text",
                        c.sql_type
                    ),
                );
            }
            Some(c) => {
                if c.storage() == Storage::Binary {
                    problems.warn("users.match", format!(
                        "column \"{}.{}\" is binary ({}): the database compares it byte for byte, so a userName differing only in case does not match it; prefer a text column", t.name, c.name, c.sql_type));
                }
                if let Some(advice) = &c.ci_index_advice {
                    problems.warn("users.match", format!(
                        "no index serves a case-insensitive lookup on \"{}.{col}\", so every userName lookup scans the table; add one: {advice}", t.name));
                }
                let mc = MatchColumn {
                    at,
                    column: c.name.clone(),
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
            tables.values().find(|t| t.name == joined[r.at - 1].table)
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
