//! `[[users.grants]]`: what membership of a pushed group gives a user — columns of its row
//! (`set`, written back to `otherwise` when the user leaves) and/or a row of another table
//! (`row`, deleted when the user leaves). Validated here so a grant can never fight a column
//! mapping, move a user out of the scope, or delete rows it cannot tell from the
//! application's own.

use super::problems::{conditions, need_column, need_table, single, Problems};
use super::related::Schema;
use crate::mapping::compiled::{Grant, GrantRow, Rule, Source};
use crate::mapping::host::HostTable;
use crate::mapping::model::{GrantSection, HasRow, UsersSection, When};
use crate::mapping::HostValue;
use crate::scim::Folded;

pub(super) fn compile_grants(
    problems: &mut Problems,
    schema: &Schema<'_>,
    u: &UsersSection,
    table: &HostTable,
    rules: &[Rule],
) -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::new();
    for (i, g) in u.grants.iter().enumerate() {
        let key = format!("users.grants[{i}]");
        if let Some(grant) = compile_grant(problems, schema, &key, g, u, table, rules) {
            for (col, _) in &grant.set {
                if out
                    .iter()
                    .any(|o| o.group == grant.group && o.set.iter().any(|(c, _)| c == col))
                {
                    problems.error(&format!("{key}.set.{col}"), format!("another grant of group \"{}\" already sets \"{col}\"; give each column one value per group", g.group.trim()));
                }
            }
            out.push(grant);
        }
    }
    out
}

fn compile_grant(
    problems: &mut Problems,
    schema: &Schema<'_>,
    key: &str,
    g: &GrantSection,
    u: &UsersSection,
    table: &HostTable,
    rules: &[Rule],
) -> Option<Grant> {
    if g.group.trim().is_empty() {
        problems.error(
            &format!("{key}.group"),
            "name the pushed group by its displayName, e.g. group = \"Helpdesk Agents\"",
        );
    }
    if g.set.is_none() && g.row.is_none() {
        problems.error(key, "say what members get: set = { role = \"agent\" } with otherwise = { role = \"customer\" } (columns of the user's row), or row = { table, parent, where } (a role row)");
        return None;
    }
    let set = single(conditions(
        problems,
        &format!("{key}.set"),
        table,
        g.set.as_ref(),
        false,
    ));
    let otherwise = single(conditions(
        problems,
        &format!("{key}.otherwise"),
        table,
        g.otherwise.as_ref(),
        false,
    ));
    check_columns(problems, key, &set, &otherwise, u, table, rules);
    let row = match &g.row {
        Some(r) => Some(compile_row(problems, schema, key, r, u, table)?),
        None => None,
    };
    Some(Grant {
        group: Folded::new(&g.group).as_str().to_string(),
        set,
        otherwise,
        row,
    })
}

/// `set` and `otherwise` name the same columns, none of which anything else writes.
fn check_columns(
    problems: &mut Problems,
    key: &str,
    set: &[(String, HostValue)],
    otherwise: &[(String, HostValue)],
    u: &UsersSection,
    table: &HostTable,
    rules: &[Rule],
) {
    for (col, v) in set {
        let k = format!("{key}.set.{col}");
        if !otherwise.iter().any(|(c, _)| c == col) {
            problems.error(&format!("{key}.otherwise"), format!("say what \"{col}\" holds when the user is not (or no longer) a member, e.g. otherwise = {{ {col} = \"customer\" }}"));
        }
        if otherwise.iter().any(|(c, o)| c == col && o == v) {
            problems.error(
                &k,
                format!("\"{col}\" is set to the same value as otherwise; the grant would change nothing"),
            );
        }
        if col.eq_ignore_ascii_case(&u.key) {
            problems.error(&k, "the key column cannot be granted");
        }
        if u.scope
            .iter()
            .flatten()
            .any(|(c, _)| table.column(c).is_some_and(|h| &h.name == col))
        {
            problems.error(&k, format!("\"{col}\" is in users.scope: granting it would move the user out of SCIM's reach; grant another column"));
        }
        for r in rules
            .iter()
            .filter(|r| r.at == 0 && &r.column == col && r.writes())
        {
            let insert_only = r.on == When::Insert && matches!(r.source, Source::Const(_));
            if !insert_only {
                problems.error(&k, format!("\"{col}\" is also written by users.columns.{col}: the identity provider's attribute and the group would overwrite each other; keep one (an insert-only constant, value = … with on = \"insert\", may stay)"));
            }
        }
    }
    for (col, _) in otherwise {
        if !set.iter().any(|(c, _)| c == col) {
            problems.error(
                &format!("{key}.otherwise.{col}"),
                format!("\"{col}\" is not in set; otherwise names the columns set gives"),
            );
        }
    }
}

/// `row = { table, parent, where }`: the where identifies the granted row exactly, and the
/// row can be inserted with the parent and where columns alone.
fn compile_row(
    problems: &mut Problems,
    schema: &Schema<'_>,
    key: &str,
    r: &HasRow,
    u: &UsersSection,
    table: &HostTable,
) -> Option<GrantRow> {
    let k = format!("{key}.row");
    let t = need_table(
        problems,
        &format!("{k}.table"),
        schema.tables,
        schema.all_tables,
        &r.table,
    )?;
    let parent = need_column(problems, &format!("{k}.parent"), t, &r.parent)?;
    if let Some(uk) = table.column(&u.key) {
        if parent.kind != uk.kind {
            problems.error(&format!("{k}.parent"), format!("\"{}.{}\" is {} but the user key \"{}\" is {}; name the column holding the user's key", t.name, parent.name, parent.sql_type, uk.name, uk.sql_type));
        }
    }
    let values = single(conditions(
        problems,
        &format!("{k}.where"),
        t,
        r.conditions.as_ref(),
        false,
    ));
    if values.is_empty() {
        problems.error(&format!("{k}.where"), "say which row the grant is, e.g. where = { role_id = 2 }: without it leaving the group would delete every row of the user in that table");
    }
    if values.iter().any(|(_, v)| matches!(v, HostValue::Null(_))) {
        problems.error(
            &format!("{k}.where"),
            "the granted row is written with these values; give values, not { null = true }",
        );
    }
    for c in &t.columns {
        let named = c.name == parent.name || values.iter().any(|(n, _)| n == &c.name);
        if !(named || c.nullable || c.has_default || c.generated) {
            problems.error(&format!("{k}.where"), format!("column \"{}\" of \"{}\" is NOT NULL without a default; the granted row needs a value for it in where = {{ … }}", c.name, t.name));
        }
    }
    Some(GrantRow {
        table: t.name.clone(),
        parent: parent.name.clone(),
        values,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::mapping::compile::{compile, parse_str, Compiled, Problem};
    use crate::mapping::host::{ColumnKind, HostColumn, HostTable};
    use crate::mapping::HostValue;

    fn col(name: &str, kind: ColumnKind, nullable: bool) -> HostColumn {
        HostColumn {
            name: name.into(),
            sql_type: if kind == ColumnKind::Int {
                "integer"
            } else {
                "text"
            }
            .into(),
            kind: Some(kind),
            nullable,
            has_default: false,
            generated: name == "id",
            primary_key: name == "id",
            max_len: None,
            int_range: None,
            collation: None,
            ci_index_advice: None,
        }
    }

    fn compiled(grants: &str, users_extra: &str) -> Compiled {
        use ColumnKind::{Int, Text};
        let users = HostTable {
            name: "users".into(),
            columns: vec![
                col("id", Int, false),
                col("login", Text, false),
                col("role", Text, false),
                col("kind", Text, true),
            ],
        };
        let roles = HostTable {
            name: "roles_users".into(),
            columns: vec![
                col("user_id", Int, false),
                col("role_id", Int, false),
                col("note", Text, false),
            ],
        };
        let text = format!("[users]\ntable = \"users\"\nkey = \"id\"\non_delete = \"ignore\"\n{users_extra}\n[users.columns]\nlogin = {{ attr = \"userName\" }}\nrole = {{ value = \"customer\", on = \"insert\" }}\n{grants}");
        let tables: HashMap<String, HostTable> = [("users", users), ("roles_users", roles)]
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect();
        let all: Vec<String> = tables.keys().cloned().collect();
        compile(&parse_str(&text).unwrap(), &tables, &all)
    }

    fn problems(grants: &str, users_extra: &str) -> (Vec<Problem>, bool) {
        let c = compiled(grants, users_extra);
        (c.problems, c.mapping.is_some())
    }

    fn has(p: &[Problem], key: &str, words: &[&str]) -> bool {
        p.iter()
            .any(|p| p.error && p.key == key && words.iter().all(|w| p.message.contains(w)))
    }

    #[test]
    fn a_column_grant_compiles_folded() {
        let c = compiled("[[users.grants]]\ngroup = \" Helpdesk Agents \"\nset = { role = \"agent\" }\notherwise = { role = \"customer\" }\n", "");
        assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
        let g = &c.mapping.unwrap().grants[0];
        assert_eq!(g.group, "helpdesk agents");
        assert_eq!(
            g.set,
            vec![("role".into(), HostValue::Text("agent".into()))]
        );
        assert_eq!(
            g.otherwise,
            vec![("role".into(), HostValue::Text("customer".into()))]
        );
        // A row grant whose where fills every NOT NULL column.
        let c = compiled("[[users.grants]]\ngroup = \"Agents\"\nrow = { table = \"roles_users\", parent = \"user_id\", where = { role_id = 2, note = \"scim\" } }\n", "");
        let row = c.mapping.unwrap().grants[0].row.clone().unwrap();
        assert_eq!(
            (row.table.as_str(), row.parent.as_str()),
            ("roles_users", "user_id")
        );
        assert_eq!(row.values.len(), 2);
    }

    #[test]
    fn misuses_name_the_key_and_the_fix() {
        let grant = |body: &str| format!("[[users.grants]]\ngroup = \"Agents\"\n{body}\n");
        let cases: Vec<(String, &str, &str, Vec<&str>)> = vec![
            (grant(""), "", "users.grants[0]", vec!["set = {", "row = {"]),
            (grant("set = { role = \"agent\" }"), "", "users.grants[0].otherwise", vec!["otherwise = { role"]),
            (grant("set = { role = \"agent\" }\notherwise = { role = \"agent\" }"), "", "users.grants[0].set.role", vec!["same value"]),
            (grant("set = { role = \"agent\" }\notherwise = { role = \"customer\", kind = \"x\" }"), "", "users.grants[0].otherwise.kind", vec!["not in set"]),
            (grant("set = { kind = \"agent\" }\notherwise = { kind = \"customer\" }"), "scope = { kind = [\"agent\", \"customer\"] }", "users.grants[0].set.kind", vec!["users.scope"]),
            (grant("set = { login = \"x\" }\notherwise = { login = \"y\" }"), "", "users.grants[0].set.login", vec!["users.columns.login", "overwrite each other"]),
            (grant("set = { rol = \"agent\" }\notherwise = { rol = \"customer\" }"), "", "users.grants[0].set.rol", vec!["role"]),
            (grant("row = { table = \"roles_users\", parent = \"user_id\" }"), "", "users.grants[0].row.where", vec!["where = { role_id = 2 }"]),
            (grant("row = { table = \"roles_users\", parent = \"user_id\", where = { role_id = 2 } }"), "", "users.grants[0].row.where", vec!["\"note\"", "NOT NULL"]),
            (grant("row = { table = \"role_users\", parent = \"user_id\", where = { role_id = 2 } }"), "", "users.grants[0].row.table", vec!["roles_users"]),
            (grant("set = { role = \"agent\" }\notherwise = { role = \"customer\" }\n[[users.grants]]\ngroup = \" agents\"\nset = { role = \"boss\" }\notherwise = { role = \"customer\" }"), "", "users.grants[1].set.role", vec!["already sets"]),
            ("[[users.grants]]\ngroup = \"\"\nset = { role = \"agent\" }\notherwise = { role = \"customer\" }\n".to_string(), "", "users.grants[0].group", vec!["displayName"]),
        ];
        for (g, extra, key, words) in cases {
            let (p, ok) = problems(&g, extra);
            assert!(
                !ok && has(&p, key, &words),
                "{g}\nwant {key} {words:?} in {p:#?}"
            );
        }
        // Unknown keys are refused by the file's parser, naming the key.
        let e = parse_str("[users]\ntable = \"u\"\nkey = \"id\"\n[users.columns]\n[[users.grants]]\ngroup = \"A\"\nsets = { role = \"x\" }\n").unwrap_err();
        assert!(e.contains("sets"), "{e}");
    }
}
