//! `[groups]`: host group rows and their membership table.

use std::collections::HashMap;

use super::problems::{
    check_not_null, conditions, key_column, missing_table, need_column, single, Problems,
};
use super::rule::compile_rules;
use crate::mapping::compiled::{GroupMapping, KeyColumn, Members, Source};
use crate::mapping::host::{ColumnKind, HostTable};
use crate::mapping::model::{GroupsSection, MembersSection, OnDelete};
use crate::scim::resource::ResourceType;

pub(super) fn compile_groups(
    problems: &mut Problems,
    g: &GroupsSection,
    tables: &HashMap<String, HostTable>,
    all_tables: &[String],
    user_key: Option<&KeyColumn>,
) -> Option<GroupMapping> {
    let Some(table) = tables.get(&g.table) else {
        missing_table(problems, "groups.table", &g.table, all_tables);
        return None;
    };
    let key = key_column(problems, "groups.key", table, &g.key, g.key_generate);
    let rt = ResourceType::group();
    let (rules, failed) =
        compile_rules(problems, "groups", &rt, table, 0, None, &g.columns, tables);
    for r in &rules {
        for t in r.attrs() {
            if t.path.attr != "displayName" {
                problems.error(&format!("groups.columns.{}", r.column), format!("only displayName (and constants) can be written to a host group, not \"{}\"", t.text));
            }
        }
    }
    if !rules
        .iter()
        .any(|r| r.attrs().iter().any(|t| t.path.attr == "displayName"))
    {
        problems.error(
            "groups.columns",
            "no column is mapped from \"displayName\"; add e.g. name = { attr = \"displayName\" }",
        );
    }
    if let Some(m) = &g.match_column {
        if let Some(c) = need_column(problems, "groups.match", table, m) {
            if c.kind != Some(ColumnKind::Text) {
                problems.error(
                    "groups.match",
                    format!(
                        "column \"{m}\" is {}, but matching compares text",
                        c.sql_type
                    ),
                );
            }
        }
    }
    if g.on_delete == OnDelete::Deactivate {
        problems.error("groups.on_delete", "groups have no active attribute; use \"ignore\", \"soft_delete\" (with soft_delete = { … }) or \"delete\"");
    }
    let soft_delete = single(conditions(
        problems,
        "groups.soft_delete",
        table,
        g.soft_delete.as_ref(),
        false,
    ));
    if g.on_delete == OnDelete::SoftDelete && soft_delete.is_empty() {
        problems.error("groups.soft_delete", "on_delete = \"soft_delete\" needs the values that mark a group deleted, e.g. soft_delete = { active = false }");
    }
    let mut filled: Vec<&str> = Vec::new();
    if g.key_generate.is_some() {
        filled.push(g.key.as_str());
    }
    check_not_null(
        problems,
        "groups",
        table,
        &rules.iter().collect::<Vec<_>>(),
        &filled,
        &failed,
    );

    let members = compile_members(problems, &g.members, tables, all_tables, &rt, user_key);
    Some(GroupMapping {
        table: table.name.clone(),
        key: key?,
        match_column: g.match_column.clone(),
        on_delete: g.on_delete,
        soft_delete,
        rules,
        members: members?,
    })
}

/// `[groups.members]`: the membership table, its key columns and its constant columns.
fn compile_members(
    problems: &mut Problems,
    m: &MembersSection,
    tables: &HashMap<String, HostTable>,
    all_tables: &[String],
    rt: &ResourceType,
    user_key: Option<&KeyColumn>,
) -> Option<Members> {
    let Some(mt) = tables.get(&m.table) else {
        missing_table(problems, "groups.members.table", &m.table, all_tables);
        return None;
    };
    let gc = need_column(problems, "groups.members.group", mt, &m.group).and_then(|c| c.kind);
    let uc = need_column(problems, "groups.members.user", mt, &m.user).and_then(|c| c.kind);
    let (mrules, mfailed) = compile_rules(
        problems,
        "groups.members",
        rt,
        mt,
        0,
        None,
        &m.columns,
        tables,
    );
    for r in &mrules {
        if !matches!(r.source, Source::Const(_) | Source::Now) {
            problems.error(
                &format!("groups.members.columns.{}", r.column),
                "membership columns take constants only (value = …)",
            );
        }
    }
    check_not_null(
        problems,
        "groups.members",
        mt,
        &mrules.iter().collect::<Vec<_>>(),
        &[m.group.as_str(), m.user.as_str()],
        &mfailed,
    );
    if let (Some(uk), Some(uc)) = (user_key, uc) {
        if uk.kind != uc && uc != ColumnKind::Text {
            problems.error(
                "groups.members.user",
                format!(
                    "\"{}\" is {} but user keys are {}",
                    m.user,
                    uc.as_str(),
                    uk.kind.as_str()
                ),
            );
        }
    }
    Some(Members {
        table: mt.name.clone(),
        group: m.group.clone(),
        group_kind: gc?,
        user: m.user.clone(),
        user_kind: uc?,
        rules: mrules,
    })
}
