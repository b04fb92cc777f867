#![no_main]
//! Any resource through a mapping with every value encoding — transforms, value maps, a bit
//! flag, a template, a lookup, a joined table and a child table with a primary flag: writing
//! never panics, and reading back what was written never panics and stays an object.
use libfuzzer_sys::fuzz_target;
use scim_bridge::mapping::compile::{compile, parse_str, UserMapping};
use scim_bridge::mapping::convert::ChildRow;
use scim_bridge::mapping::host::{ColumnKind, HostColumn, HostTable};
use scim_bridge::mapping::convert::Change;
use scim_bridge::mapping::HostValue;
use std::sync::OnceLock;

fn col(name: &str, kind: ColumnKind, max_len: Option<u32>) -> HostColumn {
    HostColumn { name: name.into(), sql_type: kind.as_str().into(), kind: Some(kind), nullable: name != "login", has_default: false, generated: name == "id", primary_key: name == "id", max_len, collation: None, ci_index_advice: None, int_range: None }
}

const MAPPING: &str = r#"
[users]
table = "t"
key = "id"
on_delete = "ignore"
[users.columns]
login = { attr = "userName", transform = ["trim", "lowercase"] }
status = { attr = "active", map = { true = 1, false = 2 }, read_default = false }
blocked = { attr = "active", transform = "not", direction = "to_host" }
phone = { attr = "phoneNumbers[type eq \"work\"].value", transform = ["trim", "null_if_empty"] }
dept = { attr = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", transform = "uppercase", default = "none" }
full = { template = "{name.givenName} {name.familyName}", default = { attr = "userName" } }
title_id = { attr = "title", lookup = { table = "titles", key = "id", column = "name", create = true, none = 0 } }
seen = { value = "now" }
[[users.joined]]
table = "acct"
parent = "uid"
columns = { flags = { attr = "active", flag = 2, transform = "not", default = true } }
[[users.children]]
table = "mail"
key = "id"
parent = "uid"
attr = "emails"
primary = { flag = "main" }
columns = { addr = { attr = "value", transform = "lowercase" }, kind = { attr = "type", map = { work = 1, home = 2 } } }
"#;

fn mapping() -> &'static UserMapping {
    static M: OnceLock<UserMapping> = OnceLock::new();
    M.get_or_init(|| {
        let t = |name: &str, columns: Vec<HostColumn>| (name.to_string(), HostTable { name: name.into(), columns });
        let tables = [
            t("t", vec![
                col("id", ColumnKind::Int, None),
                col("login", ColumnKind::Text, Some(64)),
                col("status", ColumnKind::Int, None),
                col("blocked", ColumnKind::Bool, None),
                col("phone", ColumnKind::Text, Some(20)),
                col("dept", ColumnKind::Text, None),
                col("full", ColumnKind::Text, Some(40)),
                col("title_id", ColumnKind::Int, None),
                col("seen", ColumnKind::Timestamp, None),
            ]),
            t("titles", vec![col("id", ColumnKind::Int, None), col("name", ColumnKind::Text, None)]),
            t("acct", vec![col("id", ColumnKind::Int, None), col("uid", ColumnKind::Int, None), col("flags", ColumnKind::Int, None)]),
            t("mail", vec![col("id", ColumnKind::Int, None), col("uid", ColumnKind::Int, None), col("addr", ColumnKind::Text, Some(30)), col("kind", ColumnKind::Int, None), col("main", ColumnKind::Int, None)]),
        ]
        .into_iter()
        .collect();
        let c = compile(&parse_str(MAPPING).unwrap(), &tables, &[]);
        c.mapping.unwrap_or_else(|| panic!("{:?}", c.problems))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let m = mapping();
    let Ok(resource) = m.resource_type.normalize(&body) else { return };
    let empty = serde_json::json!({});
    let changes = [
        Change::Insert,
        Change::Update { before: &empty, strict: true, sent: None },
        Change::Adopt { before: &empty, state_from_idp: false, overwrite: false },
    ];
    for change in changes {
        if let Ok(plan) = m.to_row(&resource, change) {
            // Read back what was written: main and joined values, the child rows.
            let values: Vec<HostValue> = m
                .read_columns
                .iter()
                .map(|(at, c)| {
                    plan.tables[*at]
                        .iter()
                        .find(|(n, _)| n == c)
                        .map(|(_, a)| match a {
                            scim_bridge::mapping::convert::Assign::Lookup(t) => HostValue::Text(t.clone()),
                            other => other.insert_value(),
                        })
                        .unwrap_or(HostValue::Null(ColumnKind::Text))
                })
                .collect();
            let children: Vec<Vec<ChildRow>> = m
                .children
                .iter()
                .zip(&plan.children)
                .map(|(c, items)| {
                    items
                        .iter()
                        .flatten()
                        .enumerate()
                        .map(|(i, it)| ChildRow {
                            key: i.to_string(),
                            values: c
                                .read_columns
                                .iter()
                                .map(|rc| it.row.iter().find(|(n, _)| n == rc).map(|(_, v)| v.clone()).unwrap_or(HostValue::Null(ColumnKind::Text)))
                                .collect(),
                            primary: it.primary,
                        })
                        .collect()
                })
                .collect();
            let back = m.to_resource(&values, &children, Some(&resource));
            assert!(back.is_object());
            let back = m.to_resource(&values, &children, None);
            assert!(back.is_object());
        }
    }
});
