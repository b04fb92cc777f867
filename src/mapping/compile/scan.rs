//! What a mapping file names before it is validated: its tables and its custom schemas.

use std::collections::HashMap;

use super::super::model::MappingFile;
use super::Problem;
use crate::mapping::host::HostTable;
use crate::scim::patch::PatchPath;
use crate::scim::path::AttrPath;
use crate::scim::schema::{self, AttrType, CustomSchema};

/// Every host table a mapping names, main table first.
pub fn tables_named(file: &MappingFile) -> Vec<String> {
    let mut out: Vec<String> = named_tables(file).into_iter().map(|(_, t)| t).collect();
    let mut seen = Vec::new();
    out.retain(|t| {
        let fresh = !seen.contains(t);
        seen.push(t.clone());
        fresh
    });
    out
}

/// (mapping key, table as written) for every table the mapping names.
fn named_tables(file: &MappingFile) -> Vec<(String, String)> {
    let u = &file.users;
    let mut out = vec![("users.table".to_string(), u.table.clone())];
    for j in &u.joined {
        out.push((format!("users.joined.{}.table", j.table), j.table.clone()));
    }
    let lookups = u
        .columns
        .iter()
        .map(|(c, r)| (format!("users.columns.{c}"), r))
        .chain(u.joined.iter().flat_map(|j| {
            j.columns
                .iter()
                .map(move |(c, r)| (format!("users.joined.{}.columns.{c}", j.table), r))
        }))
        .filter_map(|(k, r)| {
            r.lookup
                .as_ref()
                .map(|l| (format!("{k}.lookup.table"), l.table.clone()))
        });
    out.extend(lookups);
    for c in &u.children {
        out.push((format!("users.children.{}.table", c.table), c.table.clone()));
    }
    for (name, a) in [
        ("on_deactivate", &u.on_deactivate),
        ("on_reactivate", &u.on_reactivate),
    ] {
        for (i, d) in a.iter().flat_map(|a| a.delete.iter()).enumerate() {
            out.push((format!("users.{name}.delete[{i}].table"), d.table.clone()));
        }
    }
    // A grant's row is written like a joined row: introspected, and its engine checked.
    for (i, g) in u.grants.iter().enumerate() {
        if let Some(r) = &g.row {
            out.push((format!("users.grants[{i}].row.table"), r.table.clone()));
        }
    }
    if let Some(g) = &file.groups {
        out.push(("groups.table".into(), g.table.clone()));
        out.push(("groups.members.table".into(), g.members.table.clone()));
    }
    out
}

/// Warnings for the tables the mapping writes whose storage cannot roll back a transaction
/// (`engines`: the database's name of such a table and its engine, e.g. MySQL's MyISAM): a
/// request refused halfway keeps the writes it made there.
pub fn engine_problems(
    file: &MappingFile,
    tables: &HashMap<String, HostTable>,
    engines: &[(String, String)],
) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let mut said: Vec<&str> = Vec::new();
    for (key, name) in named_tables(file) {
        let Some(t) = tables.get(&name) else { continue };
        let Some((_, engine)) = engines.iter().find(|(n, _)| *n == t.name) else {
            continue;
        };
        if said.contains(&t.name.as_str()) {
            continue;
        }
        said.push(&t.name);
        out.push(Problem {
            error: false,
            key,
            message: format!(
                "table \"{}\" uses the {engine} engine, which cannot roll back: when a request fails after writing to it (a value the database refuses, a lost connection), the rows written there stay while the rest of the request is undone; convert it with ALTER TABLE `{}` ENGINE=InnoDB; (if the application allows), or accept partial writes",
                t.name,
                t.name.replace('`', "``")
            ),
        });
    }
    out
}

/// The custom extensions of the User resource: those `[extensions]` declares, with their
/// types (an unknown type is reported by `extensions::check` and served as a string here),
/// then the URNs and attributes the `attr` paths name that it does not, as strings.
pub fn custom_schemas(file: &MappingFile) -> Vec<CustomSchema> {
    let mut out: Vec<CustomSchema> = Vec::new();
    for (urn, attrs) in &file.extensions {
        if is_builtin(urn) {
            continue;
        }
        let defs = attrs
            .iter()
            .map(|(name, a)| {
                let (ty, multi) = a.parts();
                let ty = AttrType::parse_simple(ty).unwrap_or(AttrType::String);
                schema::custom_attr(name, ty, multi)
            })
            .collect();
        out.push((urn.clone(), defs));
    }
    for p in attr_paths(file) {
        let Some(urn) = p.urn else { continue };
        if is_builtin(&urn) {
            continue;
        }
        match out.iter_mut().find(|(u, _)| u.eq_ignore_ascii_case(&urn)) {
            Some((_, attrs)) => {
                if schema::find_attr(attrs, &p.attr).is_none() {
                    attrs.push(schema::custom_string_attr(&p.attr));
                }
            }
            None => out.push((urn, vec![schema::custom_string_attr(&p.attr)])),
        }
    }
    out
}

/// The core User schema and the enterprise extension: served always, never declared.
pub(super) fn is_builtin(urn: &str) -> bool {
    urn.eq_ignore_ascii_case(schema::USER_SCHEMA)
        || urn.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA)
        || schema::legacy(urn).is_some()
}

/// Every attribute path the user rules name (`attr`, and each `{…}` of a template).
pub(super) fn attr_paths(file: &MappingFile) -> Vec<AttrPath> {
    let mut texts: Vec<String> = Vec::new();
    let all_rules = file
        .users
        .columns
        .values()
        .chain(file.users.joined.iter().flat_map(|j| j.columns.values()));
    for rule in all_rules {
        if let Some(t) = &rule.attr {
            texts.push(t.clone());
        }
        if let Some(t) = &rule.template {
            texts.extend(template_attrs(t));
        }
    }
    texts
        .iter()
        .filter_map(|t| PatchPath::parse(t).ok().map(|p| p.attr))
        .collect()
}

/// The `{…}` attribute names of a template, in order.
pub(super) fn template_attrs(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(rest[open + 1..open + close].trim().to_string());
        rest = &rest[open + close + 1..];
    }
    out
}
