#![no_main]
//! Any resource through a mapping with every value transform: writing never panics, values
//! that fit are converted, and reading the written row back never panics.
use libfuzzer_sys::fuzz_target;
use scim_bridge::mapping::compile::{compile, parse_str};
use scim_bridge::mapping::host::{ColumnKind, Dialect, HostColumn, HostTable};
use scim_bridge::mapping::{HostValue, WriteMode};

fn col(name: &str, kind: ColumnKind, max_len: Option<u32>) -> HostColumn {
    HostColumn { name: name.into(), sql_type: kind.as_str().into(), kind: Some(kind), nullable: name != "login", has_default: false, generated: name == "id", primary_key: name == "id", max_len, collation: None }
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
seen = { value = "now" }
"#;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let table = HostTable {
        name: "t".into(),
        columns: vec![
            col("id", ColumnKind::Int, None),
            col("login", ColumnKind::Text, Some(64)),
            col("status", ColumnKind::Int, None),
            col("blocked", ColumnKind::Bool, None),
            col("phone", ColumnKind::Text, Some(20)),
            col("dept", ColumnKind::Text, None),
            col("seen", ColumnKind::Timestamp, None),
        ],
        indexes: vec![],
    };
    let m = compile(&parse_str(MAPPING).unwrap(), Some(&table), Dialect::Sqlite, &[]).mapping.unwrap();
    let Ok(resource) = m.resource_type.normalize(&body) else { return };
    for mode in [WriteMode::Insert, WriteMode::Update] {
        if let Ok(row) = m.to_row(&resource, mode, Some(&resource)) {
            let values: Vec<HostValue> = m
                .read_columns
                .iter()
                .map(|c| row.iter().find(|(n, _)| n == c).map(|(_, v)| v.clone()).unwrap_or(HostValue::Null(ColumnKind::Text)))
                .collect();
            let back = m.to_resource(&values, Some(&resource));
            assert!(back.is_object());
        }
    }
});
