//! `[groups]`: host group rows and their membership table.

use std::collections::HashMap;

use super::problems::{
    assignments, check_not_null, conditions, key_column, need_column, need_table, Problems,
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
    let table = need_table(problems, "groups.table", tables, all_tables, &g.table)?;
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
    let mut match_column = None;
    if let Some(m) = &g.match_column {
        if let Some(c) = need_column(problems, "groups.match", table, m) {
            match_column = Some(c.name.clone());
            if c.kind != Some(ColumnKind::Text) || c.storage().labels().is_some() {
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
    let soft_delete = assignments(
        problems,
        "groups.soft_delete",
        table,
        g.soft_delete.as_ref(),
    );
    if g.on_delete == OnDelete::SoftDelete && soft_delete.is_empty() {
        problems.error("groups.soft_delete", "on_delete = \"soft_delete\" needs the values that mark a group deleted, e.g. soft_delete = { active = false }");
    }
    let scope = conditions(problems, "groups.scope", table, g.scope.as_ref(), true);
    let mut filled: Vec<&str> = scope
        .iter()
        .filter(|c| !c.negate && c.values.len() == 1)
        .map(|c| c.column.as_str())
        .collect();
    if let Some(k) = key.as_ref().filter(|k| k.generate.is_some()) {
        filled.push(k.name.as_str());
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
        match_column,
        on_delete: g.on_delete,
        soft_delete,
        scope,
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
    let mt = need_table(
        problems,
        "groups.members.table",
        tables,
        all_tables,
        &m.table,
    )?;
    let gcol = need_column(problems, "groups.members.group", mt, &m.group);
    let ucol = need_column(problems, "groups.members.user", mt, &m.user);
    let (gc, uc) = (gcol.and_then(|c| c.kind), ucol.and_then(|c| c.kind));
    let group = gcol.map_or_else(|| m.group.clone(), |c| c.name.clone());
    let user = ucol.map_or_else(|| m.user.clone(), |c| c.name.clone());
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
        &[group.as_str(), user.as_str()],
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
        group,
        group_kind: gc?,
        user,
        user_kind: uc?,
        rules: mrules,
    })
}
