//! `[[users.joined]]` (one row per user in another table) and `[[users.children]]` (one row
//! per value of a multi-valued attribute).

use std::collections::HashMap;

use super::problems::{
    check_not_null, conditions, key_column, need_column, need_table, single, Problems,
};
use super::rule::compile_rules;
use crate::mapping::compiled::{Child, Joined, PrimaryMark, Rule};
use crate::mapping::host::{ColumnKind, HostTable};
use crate::mapping::model::{ChildSection, JoinedSection, UsersSection};
use crate::mapping::value::HostValue;
use crate::scim::path::AttrPath;
use crate::scim::resource::ResourceType;

/// The tables a section is checked against, and the resource type its attributes belong to.
pub(super) struct Schema<'a> {
    pub tables: &'a HashMap<String, HostTable>,
    pub all_tables: &'a [String],
    pub rt: &'a ResourceType,
}

/// Every joined table; their rules are appended to `rules` (table index `i + 1`).
pub(super) fn compile_joined(
    problems: &mut Problems,
    schema: &Schema<'_>,
    u: &UsersSection,
    main: &HostTable,
    rules: &mut Vec<Rule>,
) -> Vec<Joined> {
    let mut joined = Vec::new();
    for (i, j) in u.joined.iter().enumerate() {
        if let Some((mut table, jr)) = compile_one_joined(problems, schema, i, j) {
            (table.user_column, table.user_column_kind) =
                user_column(problems, j, main, &u.key, schema.tables);
            table.before_user = before_user(problems, &table, &u.key, main, schema, rules);
            rules.extend(jr);
            joined.push(table);
        }
    }
    check_own_keys(problems, u, main, rules, &joined);
    check_key_of(problems, rules, &joined);
    joined
}

/// `value = { key_of = "principals" }` names one joined section whose key the bridge learns
/// (a row the user's row points at), inserted before this row: declared earlier when this
/// row is inserted before the user too. The name is set to the database's spelling.
fn check_key_of(problems: &mut Problems, rules: &mut [Rule], joined: &[Joined]) {
    for r in rules.iter_mut() {
        let Some(name) = r.key_of.clone() else {
            continue;
        };
        let k = match r.at {
            0 => format!("users.columns.{}", r.column),
            at => format!(
                "users.joined.{}.columns.{}",
                joined.get(at - 1).map_or("?", |j| j.table.as_str()),
                r.column
            ),
        };
        if r.at == 0 {
            problems.error(&k, format!("the user's row holds the key of a joined row through that section's user_column: write user_column = \"{}\" in the [[users.joined]] section of {name} and remove this rule", r.column));
            continue;
        }
        let found: Vec<usize> = (0..joined.len())
            .filter(|a| joined[*a].table.eq_ignore_ascii_case(&name))
            .collect();
        let (this, a) = match found.as_slice() {
            [a] => (&joined[r.at - 1], &joined[*a]),
            [] => {
                problems.error(&k, format!("no [[users.joined]] section has table \"{name}\"; name the table of a section whose row the user's row points at"));
                continue;
            }
            _ => {
                problems.error(&k, format!("several [[users.joined]] sections have table \"{name}\"; key_of needs exactly one"));
                continue;
            }
        };
        if !a.before_user {
            problems.error(&k, format!("the bridge learns the key of {name} only for a row the user's row points at (parent = its generated key, user_column = the user's column holding it); key {name} that way or remove this rule"));
        } else if this.before_user && found[0] >= r.at - 1 {
            problems.error(&k, format!("{name} is inserted after {} (sections are inserted in the order written): move the [[users.joined]] section of {name} above it", this.table));
        } else if a.user_column_kind != r.kind {
            problems.error(&k, format!("\"{}\" does not have the type of {name}'s key; name a column of the key's type", r.column));
        }
        r.key_of = Some(a.table.clone());
    }
}

/// `value = { own_key = true }` needs a row whose key the bridge learns when it inserts it —
/// the user's, or a joined row the user's row points at — and a column of the key's type.
fn check_own_keys(
    problems: &mut Problems,
    u: &UsersSection,
    main: &HostTable,
    rules: &[Rule],
    joined: &[Joined],
) {
    for r in rules.iter().filter(|r| r.own_key) {
        let (table, key_kind) = match r.at {
            0 => (u.table.as_str(), main.column(&u.key).and_then(|k| k.kind)),
            at => {
                let Some(j) = joined.get(at - 1) else {
                    continue;
                };
                if !j.before_user {
                    problems.error(&format!("users.joined.{}.columns.{}", j.table, r.column), format!(
                        "value = {{ own_key = true }} needs the row's key, which the bridge learns only for a row the user's row points at (parent = its generated key, user_column = the user's column); remove it or key {} that way", j.table));
                    continue;
                }
                (j.table.as_str(), Some(j.user_column_kind))
            }
        };
        if key_kind.is_some_and(|k| k != r.kind) {
            problems.error(&format!("users.columns.{}", r.column), format!(
                "value = {{ own_key = true }}: \"{}\" does not have the type of {table}'s key; name a column of the key's type", r.column));
        }
    }
}

fn compile_one_joined(
    problems: &mut Problems,
    schema: &Schema<'_>,
    i: usize,
    j: &JoinedSection,
) -> Option<(Joined, Vec<Rule>)> {
    let (tables, all_tables, rt) = (schema.tables, schema.all_tables, schema.rt);
    let prefix = format!("users.joined.{}", j.table);
    let jt = need_table(
        problems,
        &format!("{prefix}.table"),
        tables,
        all_tables,
        &j.table,
    )?;
    let parent = need_column(problems, &format!("{prefix}.parent"), jt, &j.parent)
        .map_or_else(|| j.parent.clone(), |c| c.name.clone());
    let conds = single(conditions(
        problems,
        &format!("{prefix}.where"),
        jt,
        j.conditions.as_ref(),
        false,
    ));
    let (jr, jfailed) = compile_rules(problems, &prefix, rt, jt, i + 1, None, &j.columns, tables);
    let mut filled: Vec<&str> = vec![parent.as_str()];
    filled.extend(conds.iter().map(|(c, _)| c.as_str()));
    if j.skip_if_absent {
        if jr.iter().all(|r| r.attrs().is_empty()) && jfailed.is_empty() {
            problems.error(&format!("{prefix}.skip_if_absent"), "skip_if_absent keeps the row only while one of the section's attributes is present, but no column here is fed by an attribute; map one (e.g. value = { attr = \"preferredLanguage\" }) or remove skip_if_absent");
        }
        // The row exists only with a value: an attribute's column is never written empty.
        filled.extend(
            jr.iter()
                .filter(|r| r.attr().is_some())
                .map(|r| r.column.as_str()),
        );
    }
    check_not_null(
        problems,
        &prefix,
        jt,
        &jr.iter().collect::<Vec<_>>(),
        &filled,
        &jfailed,
    );
    let table = Joined {
        table: jt.name.clone(),
        parent,
        user_column: String::new(),
        user_column_kind: ColumnKind::Int,
        before_user: false,
        conditions: conds,
        on: j.on,
        skip_if_absent: j.skip_if_absent,
    };
    Some((table, jr))
}

/// The column of the user's row a joined section's `parent` holds: `user_column`, checked
/// (it exists; `parent` has its type), or the user key.
fn user_column(
    problems: &mut Problems,
    j: &JoinedSection,
    main: &HostTable,
    key: &str,
    tables: &HashMap<String, HostTable>,
) -> (String, ColumnKind) {
    let key_col = main.column(key);
    let the_key = (
        key_col.map_or(key, |c| c.name.as_str()).to_string(),
        key_col.and_then(|c| c.kind).unwrap_or(ColumnKind::Int),
    );
    let Some(raw) = &j.user_column else {
        return the_key;
    };
    let k = format!("users.joined.{}.user_column", j.table);
    let Some(uc) = need_column(problems, &k, main, raw) else {
        return the_key;
    };
    let parent = tables.get(&j.table).and_then(|t| t.column(&j.parent));
    if let Some(p) = parent.filter(|p| p.kind != uc.kind) {
        problems.error(&k, format!(
            "\"{}.{}\" is {} but \"{}\" of the user table is {}; name a column of the user row holding what \"{}\" holds",
            j.table, p.name, p.sql_type, uc.name, uc.sql_type, p.name));
    }
    if uc.nullable && !parent.is_some_and(|p| p.generated) {
        // NULL = NULL matches nothing: such a user could never find its row again.
        problems.warn(&k, format!(
            "\"{}\" may be NULL: a user whose {} is NULL gets no row in {} (the bridge skips it); make the column NOT NULL or name one every user has a value in",
            uc.name, uc.name, j.table));
    }
    (uc.name.clone(), uc.kind.unwrap_or(ColumnKind::Text))
}

/// Whether joined table `j` is one the user's row points at: its `parent` is its generated
/// key, held by `user_column`. Then the bridge fills that column with the new row's key, so
/// no rule may write it.
fn before_user(
    problems: &mut Problems,
    j: &Joined,
    user_key: &str,
    main: &HostTable,
    schema: &Schema<'_>,
    rules: &[Rule],
) -> bool {
    let generated = (schema.tables.get(&j.table))
        .and_then(|t| t.column(&j.parent))
        .is_some_and(|p| p.generated);
    let is_key = main.column(user_key).map_or(user_key, |c| c.name.as_str()) == j.user_column;
    if !generated || is_key {
        return false;
    }
    for r in rules
        .iter()
        .filter(|r| r.at == 0 && r.column == j.user_column)
    {
        problems.error(&format!("users.columns.{}", r.column), format!(
            "\"{}\" holds the key of the user's {} row, which the bridge inserts first and writes here (users.joined user_column); remove this rule",
            r.column, j.table));
    }
    true
}

/// Every child table, and the main-table columns that point at a primary child row.
pub(super) fn compile_children(
    problems: &mut Problems,
    schema: &Schema<'_>,
    sections: &[ChildSection],
    main: &HostTable,
    rules: &[Rule],
) -> (Vec<Child>, Vec<String>) {
    let mut children = Vec::new();
    let mut pointer_columns = Vec::new();
    for c in sections {
        if let Some(child) = compile_child(problems, schema, c, main, rules, &mut pointer_columns) {
            for r in child.rules.iter().filter(|r| r.own_key) {
                problems.error(&format!("users.children.{}.columns.{}", c.table, r.column),
                    "value = { own_key = true } is for the user's row and joined rows the user's row points at; write the key with a constant or remove the column");
            }
            children.push(child);
        }
    }
    (children, pointer_columns)
}

fn compile_child(
    problems: &mut Problems,
    schema: &Schema<'_>,
    c: &ChildSection,
    table: &HostTable,
    rules: &[Rule],
    pointer_columns: &mut Vec<String>,
) -> Option<Child> {
    let (tables, all_tables, rt) = (schema.tables, schema.all_tables, schema.rt);
    let prefix = format!("users.children.{}", c.table);
    let ct = need_table(
        problems,
        &format!("{prefix}.table"),
        tables,
        all_tables,
        &c.table,
    )?;
    let ckey = key_column(
        problems,
        &format!("{prefix}.key"),
        ct,
        &c.key,
        c.key_generate,
    );
    let parent = need_column(problems, &format!("{prefix}.parent"), ct, &c.parent)
        .map_or_else(|| c.parent.clone(), |col| col.name.clone());
    let attr = child_attr(problems, &prefix, rt, &c.attr, rules)?;
    let conds = single(conditions(
        problems,
        &format!("{prefix}.where"),
        ct,
        c.conditions.as_ref(),
        false,
    ));
    let (crules, cfailed) = compile_rules(
        problems,
        &prefix,
        rt,
        ct,
        0,
        Some(&attr),
        &c.columns,
        tables,
    );
    let value_rule = value_rule(problems, &prefix, ct, &crules, cfailed.is_empty());
    let mut filled: Vec<&str> = vec![parent.as_str()];
    filled.extend(conds.iter().map(|(c, _)| c.as_str()));
    let primary = primary_mark(
        problems,
        &prefix,
        c,
        table,
        ct,
        &mut filled,
        pointer_columns,
    );
    if let Some(k) = &ckey {
        if k.generate.is_some() {
            filled.push(k.name.as_str());
        }
    }
    check_not_null(
        problems,
        &prefix,
        ct,
        &crules.iter().collect::<Vec<_>>(),
        &filled,
        &cfailed,
    );
    let read_columns = child_read_columns(&crules, &primary);
    let (Some(key), Some(value_rule)) = (ckey, value_rule) else {
        return None;
    };
    Some(Child {
        table: ct.name.clone(),
        key,
        parent,
        attr,
        primary,
        conditions: conds,
        rules: crules,
        value_rule,
        read_columns,
    })
}

/// The multi-valued core attribute a child table holds; mapping it to a user-row column as
/// well would give two places to write the same values.
fn child_attr(
    problems: &mut Problems,
    prefix: &str,
    rt: &ResourceType,
    name: &str,
    rules: &[Rule],
) -> Option<String> {
    let attr = match rt.resolve(&AttrPath {
        urn: None,
        attr: name.to_string(),
        sub: None,
    }) {
        Ok(r) if r.attr.multi && r.urn.is_none() => r.attr.name.to_string(),
        _ => {
            problems.error(&format!("{prefix}.attr"), format!("\"{name}\" is not a multi-valued attribute of User; use emails, phoneNumbers, addresses, ims, photos, entitlements, roles or x509Certificates"));
            return None;
        }
    };
    if rules.iter().any(|r| {
        r.attrs()
            .iter()
            .any(|t| t.path.urn.is_none() && t.path.attr == attr)
    }) {
        problems.error(
            &format!("{prefix}.attr"),
            format!("\"{attr}\" is also mapped to a column of a user row; map it in one place"),
        );
    }
    Some(attr)
}

/// The rule reading a child row's `value`: without one the rows could be written but never
/// served back. Reported only when the columns compiled, so one mistake gives one error.
fn value_rule(
    problems: &mut Problems,
    prefix: &str,
    ct: &HostTable,
    crules: &[Rule],
    columns_compiled: bool,
) -> Option<usize> {
    let found = crules
        .iter()
        .position(|r| r.attr().is_some_and(|t| t.path.attr == "value") && r.reads());
    if found.is_none() && columns_compiled {
        problems.error(
            &format!("{prefix}.columns"),
            format!(
                "no column is mapped from \"value\"; add e.g. {} = {{ attr = \"value\" }}",
                ct.columns
                    .iter()
                    .find(|x| x.kind == Some(ColumnKind::Text))
                    .map_or("address", |x| x.name.as_str())
            ),
        );
    }
    found
}

/// Columns selected when reading child rows, each once, with the primary flag when there is one.
fn child_read_columns(crules: &[Rule], primary: &PrimaryMark) -> Vec<String> {
    let mut read_columns: Vec<String> = Vec::new();
    for r in crules.iter().filter(|r| r.reads()) {
        if !read_columns.contains(&r.column) {
            read_columns.push(r.column.clone());
        }
    }
    if let PrimaryMark::Flag { column, .. } = primary {
        read_columns.push(column.clone());
    }
    read_columns
}

/// How the application marks the primary value: a pointer column in the user's row, a flag
/// column in the child rows, or (by default) the lowest key.
fn primary_mark<'a>(
    problems: &mut Problems,
    prefix: &str,
    c: &ChildSection,
    table: &HostTable,
    ct: &'a HostTable,
    filled: &mut Vec<&'a str>,
    pointer_columns: &mut Vec<String>,
) -> PrimaryMark {
    match c.primary.as_ref().map(|p| (&p.pointer, &p.flag)) {
        None | Some((None, None)) => PrimaryMark::First,
        Some((Some(ptr), None)) => {
            match need_column(problems, &format!("{prefix}.primary.pointer"), table, ptr) {
                Some(pc)
                    if pc.kind == Some(ColumnKind::Int) || pc.kind == Some(ColumnKind::Text) =>
                {
                    pointer_columns.push(pc.name.clone());
                    PrimaryMark::Pointer {
                        column: pc.name.clone(),
                        kind: pc.kind.unwrap_or(ColumnKind::Int),
                    }
                }
                Some(pc) => {
                    problems.error(
                        &format!("{prefix}.primary.pointer"),
                        format!("\"{}\" ({}) cannot hold a key", pc.name, pc.sql_type),
                    );
                    PrimaryMark::First
                }
                None => PrimaryMark::First,
            }
        }
        Some((None, Some(flag))) => {
            match need_column(problems, &format!("{prefix}.primary.flag"), ct, flag) {
                Some(fc) => {
                    filled.push(fc.name.as_str());
                    let kind = fc.kind.unwrap_or(ColumnKind::Int);
                    let (on, off) = if kind == ColumnKind::Bool {
                        (HostValue::Bool(true), HostValue::Bool(false))
                    } else {
                        (HostValue::Int(1), HostValue::Int(0))
                    };
                    PrimaryMark::Flag {
                        column: fc.name.clone(),
                        on,
                        off,
                    }
                }
                None => PrimaryMark::First,
            }
        }
        Some((Some(_), Some(_))) => {
            problems.error(
                &format!("{prefix}.primary"),
                "give pointer (a user column) or flag (a child column), not both",
            );
            PrimaryMark::First
        }
    }
}
