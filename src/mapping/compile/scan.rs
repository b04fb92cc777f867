//! What a mapping file names before it is validated: its tables and its custom schemas.

use super::super::model::MappingFile;
use crate::scim::patch::PatchPath;
use crate::scim::schema::{self};

/// Every host table a mapping names, main table first.
pub fn tables_named(file: &MappingFile) -> Vec<String> {
    let mut out = vec![file.users.table.clone()];
    out.extend(file.users.joined.iter().map(|j| j.table.clone()));
    let lookups = file
        .users
        .columns
        .values()
        .chain(file.users.joined.iter().flat_map(|j| j.columns.values()))
        .filter_map(|r| r.lookup.as_ref().map(|l| l.table.clone()));
    out.extend(lookups);
    out.extend(file.users.children.iter().map(|c| c.table.clone()));
    if let Some(g) = &file.groups {
        out.push(g.table.clone());
        out.push(g.members.table.clone());
    }
    let mut seen = Vec::new();
    out.retain(|t| {
        let fresh = !seen.contains(t);
        seen.push(t.clone());
        fresh
    });
    out
}

/// Custom extension URNs (and their attribute names) used by the mapping's `attr` paths.
pub fn custom_schemas(file: &MappingFile) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
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
    for text in &texts {
        let Ok(p) = PatchPath::parse(text) else {
            continue;
        };
        let Some(urn) = p.attr.urn else { continue };
        if urn.eq_ignore_ascii_case(schema::USER_SCHEMA)
            || urn.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA)
        {
            continue;
        }
        match out.iter_mut().find(|(u, _)| u.eq_ignore_ascii_case(&urn)) {
            Some((_, attrs)) => {
                if !attrs.iter().any(|a| a.eq_ignore_ascii_case(&p.attr.attr)) {
                    attrs.push(p.attr.attr.clone())
                }
            }
            None => out.push((urn, vec![p.attr.attr.clone()])),
        }
    }
    out
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
