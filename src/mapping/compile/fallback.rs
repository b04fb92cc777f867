//! `[users] read_fallback`: attributes served from other attributes when their own column is
//! empty. Validated here so the request path can rely on three facts: the attribute and every
//! fallback are read from a host column (so filters on them run in the database), they have
//! the same SCIM type, and no fallback is itself served through a fallback (one level, so a
//! filter's translation stays finite and exact).

use super::problems::Problems;
use super::rule::attr_target;
use crate::mapping::compiled::{AttrTarget, Child, Fallback, MatchAt, MatchColumn, Rule};
use crate::mapping::model::UsersSection;
use crate::scim::resource::ResourceType;

/// Where `t` is read from: a rule of the user's rows, or a sub-attribute of a child table.
fn is_read(t: &AttrTarget, rules: &[Rule], children: &[Child]) -> bool {
    let by_rule = rules.iter().filter(|r| r.reads()).any(|r| {
        r.attrs()
            .iter()
            .any(|x| x.path == t.path && x.select == t.select)
    });
    let by_child = t.multi
        && t.path.urn.is_none()
        && children.iter().any(|c| {
            c.attr == t.path.attr
                && c.rules.iter().filter(|r| r.reads()).any(|r| {
                    r.attr()
                        .is_some_and(|x| Some(x.path.attr.as_str()) == t.path.sub.as_deref())
                })
        });
    by_rule || by_child
}

/// Compiles `read_fallback`, reporting every misuse with its fix.
pub(super) fn compile_fallbacks(
    problems: &mut Problems,
    u: &UsersSection,
    rt: &ResourceType,
    rules: &[Rule],
    children: &[Child],
) -> Vec<Fallback> {
    let mut out: Vec<Fallback> = Vec::new();
    for (name, from) in &u.read_fallback {
        let key = format!("users.read_fallback.{name}");
        let attr = match attr_target(rt, name) {
            Ok(t) => t,
            Err(e) => {
                problems.error(&key, format!("{e}; the key names the attribute served, e.g. read_fallback = {{ userName = \"emails.value\" }}"));
                continue;
            }
        };
        if attr.multi {
            problems.error(&key, format!("\"{name}\" is multi-valued: a fallback serves a single-valued attribute (userName, displayName, name.givenName, …); remove it"));
            continue;
        }
        if !rules
            .iter()
            .any(|r| r.reads() && r.attr().is_some_and(|x| x.path == attr.path))
        {
            problems.error(&key, format!("\"{name}\" is read from no column: map a column to it under [users.columns] or [[users.joined]] (a fallback serves it when that column is empty), or drop the entry"));
            continue;
        }
        if out.iter().any(|f| f.attr.path == attr.path) {
            problems.error(
                &key,
                format!(
                    "\"{name}\" has a fallback already (under another spelling): keep one entry"
                ),
            );
            continue;
        }
        let from = from.to_vec();
        if from.is_empty() {
            problems.error(&key, "an empty list serves nothing: name the attributes to serve when the column is empty, e.g. [\"emails.value\"]");
            continue;
        }
        let mut targets = Vec::new();
        for f in &from {
            match fallback_target(rt, &attr, f, rules, children) {
                Ok(t) => targets.push(t),
                Err(e) => problems.error(&key, e),
            }
        }
        if targets.len() == from.len() {
            out.push(Fallback {
                attr,
                from: targets,
            });
        }
    }
    // One level only: a fallback served through a fallback would make filters recursive.
    for f in &out {
        for t in &f.from {
            if let Some(g) = out.iter().find(|g| g.attr.path == t.path) {
                problems.error(
                    &format!("users.read_fallback.{}", f.attr.text),
                    format!("\"{}\" is itself served through a fallback (read_fallback.{}): list its fallbacks here directly instead, e.g. [{}]", t.text, g.attr.text,
                        f.from.iter().chain(&g.from).map(|x| format!("\"{}\"", x.text)).collect::<Vec<_>>().join(", ")),
                );
            }
        }
    }
    out
}

/// One attribute a fallback serves from: resolvable, read from a column, of the same type.
fn fallback_target(
    rt: &ResourceType,
    attr: &AttrTarget,
    text: &str,
    rules: &[Rule],
    children: &[Child],
) -> Result<AttrTarget, String> {
    let t = attr_target(rt, text)?;
    if t.path == attr.path {
        return Err(format!(
            "\"{text}\" is the attribute itself: name another one, e.g. \"emails.value\""
        ));
    }
    if t.ty != attr.ty {
        return Err(format!(
            "\"{text}\" is a {} and \"{}\" a {}: a fallback must have the attribute's type",
            t.ty.as_str(),
            attr.text,
            attr.ty.as_str()
        ));
    }
    if !is_read(&t, rules, children) {
        return Err(format!("\"{text}\" is read from no column or child table, so it could neither be served nor filtered: map a column to it first"));
    }
    Ok(t)
}

/// A userName served from a fallback is what the identity provider's import sees and then
/// POSTs: unless `match` compares that column, the POST would create a duplicate instead of
/// adopting the row. Warned, with the `match` entry to add.
pub(super) fn check_adoption(
    problems: &mut Problems,
    fallbacks: &[Fallback],
    rules: &[Rule],
    children: &[Child],
    joined: &[crate::mapping::compiled::Joined],
    main_table: &crate::mapping::host::HostTable,
    match_columns: &[MatchColumn],
) {
    let Some(fb) = fallbacks.iter().find(|f| f.attr.is_core("userName")) else {
        return;
    };
    for t in &fb.from {
        let mut at: Vec<(MatchColumn, String)> = rules
            .iter()
            .filter(|r| r.reads() && r.attr().is_some_and(|x| x.path == t.path))
            .map(|r| {
                let table = if r.at == 0 {
                    &main_table.name
                } else {
                    &joined[r.at - 1].table
                };
                let name = if r.at == 0 {
                    r.column.clone()
                } else {
                    format!("{table}.{}", r.column)
                };
                let mc = MatchColumn {
                    at: MatchAt::Table(r.at),
                    column: r.column.clone(),
                };
                (mc, name)
            })
            .collect();
        for (ci, c) in children.iter().enumerate() {
            if !t.multi || c.attr != t.path.attr {
                continue;
            }
            for r in c.rules.iter().filter(|r| {
                r.attr()
                    .is_some_and(|x| Some(x.path.attr.as_str()) == t.path.sub.as_deref())
            }) {
                at.push((
                    MatchColumn {
                        at: MatchAt::Child(ci),
                        column: r.column.clone(),
                    },
                    format!("{}.{}", c.table, r.column),
                ));
            }
        }
        if !at.iter().any(|(mc, _)| match_columns.contains(mc)) {
            if let Some((_, name)) = at.first() {
                problems.warn(
                    &format!("users.read_fallback.{}", fb.attr.text),
                    format!("users served with their userName from \"{}\" are not adopted by a POST of that userName, which would create a duplicate: add \"{name}\" to users.match", t.text),
                );
            }
        }
    }
}
