//! Both directions of the translation, against compiled mappings of small schemas.

use super::*;
use crate::mapping::compile::{compile, parse_str};
use crate::mapping::compile::{AttrTarget, UserMapping};
use crate::mapping::convert::{overlay, Change};
use crate::mapping::host::{ColumnKind, HostColumn, HostTable};
use serde_json::json;
use serde_json::Value;

pub(crate) fn col(name: &str, ty: &str, nullable: bool) -> HostColumn {
    HostColumn {
        name: name.into(),
        sql_type: ty.into(),
        kind: Some(test_kind(ty)),
        nullable,
        has_default: false,
        generated: name == "id",
        primary_key: name == "id",
        max_len: ty
            .strip_prefix("varchar(")
            .and_then(|s| s.trim_end_matches(')').parse().ok()),
        collation: None,
        ci_index_advice: None,
        int_range: None,
    }
}

/// How SQLite's introspection classifies the declared types these tests use.
fn test_kind(ty: &str) -> ColumnKind {
    let t = ty.to_ascii_lowercase();
    if t.contains("int") {
        ColumnKind::Int
    } else if t.contains("date") || t.contains("time") {
        ColumnKind::Timestamp
    } else if t.starts_with("bool") {
        ColumnKind::Bool
    } else {
        ColumnKind::Text
    }
}

pub(crate) fn table() -> HostTable {
    HostTable {
        name: "users".into(),
        columns: vec![
            col("id", "INTEGER", false),
            col("email", "varchar(40)", false),
            col("firstname", "varchar(100)", true),
            col("lastname", "varchar(100)", true),
            col("status", "integer", false),
            col("dept", "text", true),
            col("password", "text", false),
            col("created_at", "datetime", false),
        ],
    }
}

const MAPPING: &str = r#"
    [users]
    table = "users"
    key = "id"
    [users.columns]
    email = { attr = "userName", transform = ["trim", "lowercase"] }
    firstname = { attr = "name.givenName" }
    lastname = { attr = "name.familyName" }
    status = { attr = "active", map = { true = 1, false = 2 } }
    dept = { attr = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" }
    password = { value = "!", on = "insert" }
    created_at = { value = "now", on = "insert" }
"#;

pub(crate) fn mapping() -> UserMapping {
    let c = compile(
        &parse_str(MAPPING).unwrap(),
        &[("users".to_string(), table())].into_iter().collect(),
        &[],
    );
    assert!(c.problems.iter().all(|p| !p.error), "{:?}", c.problems);
    c.mapping.unwrap()
}

fn okta_user() -> Value {
    mapping()
        .resource_type
        .normalize(
            &json!({"userName": " Alice@Example.COM", "active": true, "password": "x",
            "name": {"givenName": "Alice", "familyName": "Anders"},
            "emails": [{"value": "alice@example.com", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"}}),
        )
        .unwrap()
}

#[test]
fn insert_row_has_transforms_maps_and_constants() {
    let row = mapping()
        .to_row(&okta_user(), Change::Insert)
        .unwrap()
        .main_values();
    let get = |c: &str| row.iter().find(|(n, _)| n == c).map(|(_, v)| v.clone());
    assert_eq!(
        get("email"),
        Some(HostValue::Text("alice@example.com".into()))
    );
    assert_eq!(get("status"), Some(HostValue::Int(1)));
    assert_eq!(get("dept"), Some(HostValue::Text("Ops".into())));
    assert_eq!(get("password"), Some(HostValue::Text("!".into())));
    assert!(matches!(get("created_at"), Some(HostValue::Timestamp(_))));
    let update = mapping()
        .to_row(
            &okta_user(),
            Change::Update {
                before: &json!({}),
                strict: false,
                sent: None,
            },
        )
        .unwrap()
        .main_values();
    assert!(update
        .iter()
        .all(|(c, _)| c != "password" && c != "created_at"));
}

#[test]
fn updates_write_only_the_columns_of_attributes_that_changed() {
    let m = mapping();
    // As stored: the email column holds a mixed-case address the lowercase transform would
    // rewrite if it were derived again.
    let before = json!({"userName": "Alice@Example.COM", "active": true,
        "name": {"givenName": "Alice", "familyName": "Anders"}});
    let mut after = before.clone();
    after["active"] = json!(false);
    let plan = m
        .to_row(
            &after,
            Change::Update {
                before: &before,
                strict: true,
                sent: None,
            },
        )
        .unwrap();
    assert_eq!(
        plan.main_values(),
        vec![("status".into(), HostValue::Int(2))]
    );
    assert!(plan.bookkeeping[0].is_empty(), "no always-constants here");
    // Nothing changed: nothing planned.
    let plan = m
        .to_row(
            &before,
            Change::Update {
                before: &before,
                strict: false,
                sent: None,
            },
        )
        .unwrap();
    assert!(plan.main().is_empty(), "{:?}", plan.main());
}

#[test]
fn adoption_keeps_the_application_state_unless_told_otherwise() {
    let m = mapping();
    let before = json!({"userName": "alice@example.com", "active": false});
    let request = json!({"userName": "alice@example.com", "active": true,
        "name": {"givenName": "Alice"}});
    let merged = overlay(&before, &request);
    let keep = Change::Adopt {
        before: &before,
        state_from_idp: false,
        overwrite: false,
    };
    let cols: Vec<String> = m
        .to_row(&merged, keep)
        .unwrap()
        .main_values()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(
        cols,
        vec!["firstname".to_string()],
        "a locked account stays locked"
    );
    let idp = Change::Adopt {
        before: &before,
        state_from_idp: true,
        overwrite: false,
    };
    let plan = m.to_row(&merged, idp).unwrap();
    assert!(plan
        .main_values()
        .contains(&("status".into(), HostValue::Int(1))));
    assert!(plan.merge_children);
}

#[test]
fn errors_name_attribute_and_column() {
    let m = mapping();
    let mut u = okta_user();
    u["userName"] = json!("x".repeat(41));
    let e = m.to_row(&u, Change::Insert).unwrap_err();
    assert!(
        e.detail.contains("at most 40") && e.detail.contains("email"),
        "{}",
        e.detail
    );
    let mut u = okta_user();
    u.as_object_mut().unwrap().remove("active");
    let e = m.to_row(&u, Change::Insert).unwrap_err();
    assert!(
        e.detail.contains("active") && e.detail.contains("status"),
        "{}",
        e.detail
    );
    // On update the NOT NULL column is left alone instead.
    assert!(m
        .to_row(
            &u,
            Change::Update {
                before: &okta_user(),
                strict: false,
                sent: None,
            },
        )
        .unwrap()
        .main_values()
        .iter()
        .all(|(c, _)| c != "status"));
    // ...but a PATCH that removes it explicitly is told why it cannot.
    let e = m
        .to_row(
            &u,
            Change::Update {
                before: &okta_user(),
                strict: true,
                sent: None,
            },
        )
        .unwrap_err();
    assert!(
        e.detail.contains("cannot be removed") && e.detail.contains("status"),
        "{}",
        e.detail
    );
}

#[test]
fn reads_prefer_idp_spelling_when_equivalent() {
    let m = mapping();
    let shadow = okta_user();
    let vals: Vec<HostValue> = m
        .read_columns
        .iter()
        .map(|(_, c)| match c.as_str() {
            "email" => HostValue::Text("alice@example.com".into()),
            "firstname" => HostValue::Text("Alice".into()),
            "lastname" => HostValue::Text("Anders-Changed".into()),
            "status" => HostValue::Int(2),
            _ => HostValue::Null(ColumnKind::Text),
        })
        .collect();
    let r = m.to_resource(&vals, &[], Some(&shadow));
    assert_eq!(r["userName"], " Alice@Example.COM", "IdP spelling kept");
    assert_eq!(r["name"]["familyName"], "Anders-Changed", "host edits win");
    assert_eq!(r["active"], false);
    assert!(
        r.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .is_none(),
        "NULL host column clears it"
    );
    assert_eq!(
        r["emails"][0]["value"], "alice@example.com",
        "unmapped attributes round-trip"
    );
    // An untouched row has no shadow: everything comes from the host.
    let r = m.to_resource(&vals, &[], None);
    assert_eq!(r["userName"], "alice@example.com");
    assert_eq!(
        r["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:User"
    );
}

#[test]
fn targets_select_primary_or_typed_values() {
    let m = mapping();
    let rt = &m.resource_type;
    let _ = rt;
    let t = AttrTarget {
        path: crate::scim::path::AttrPath::parse("emails.value").unwrap(),
        ty: crate::scim::schema::AttrType::String,
        case_exact: false,
        multi: true,
        select: Some(("type".into(), "work".into())),
        text: "emails[type eq \"work\"].value".into(),
    };
    let mut r = json!({"emails": [{"value": "h@x", "type": "home", "primary": true}]});
    assert_eq!(t.get(&r), None);
    t.set(&mut r, json!("w@x"));
    assert_eq!(r["emails"][1], json!({"value": "w@x", "type": "work"}));
    assert_eq!(t.get(&r), Some(&json!("w@x")));
    t.set(&mut r, Value::Null);
    assert_eq!(r["emails"].as_array().unwrap().len(), 1);
}

/// A three-table layout like osTicket's, for the multi-table constructs.
fn multi() -> UserMapping {
    let person = HostTable {
        name: "person".into(),
        columns: vec![
            col("id", "INTEGER", false),
            col("name", "varchar(20)", false),
            col("primary_email", "integer", false),
            col("deleted", "integer", true),
        ],
    };
    let account = HostTable {
        name: "account".into(),
        columns: vec![
            col("id", "INTEGER", false),
            col("person_id", "integer", false),
            col("login", "varchar(64)", true),
            col("flags", "integer", true),
        ],
    };
    let email = HostTable {
        name: "email".into(),
        columns: vec![
            col("id", "INTEGER", false),
            col("person_id", "integer", false),
            col("address", "varchar(100)", false),
            col("kind", "integer", true),
            col("origin", "text", true),
        ],
    };
    let tables = [person, account, email]
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
    let c = compile(
        &parse_str(
            r#"
            [users]
            table = "person"
            key = "id"
            scope = { deleted = { not = 1 } }
            on_delete = "soft_delete"
            soft_delete = { deleted = 1 }
            [users.columns]
            name = { template = "{name.givenName} {name.familyName}", default = { attr = "userName" } }
            [[users.joined]]
            table = "account"
            parent = "person_id"
            columns = { login = { attr = "userName" }, flags = { attr = "active", flag = 4, transform = "not", default = true } }
            [[users.children]]
            table = "email"
            key = "id"
            parent = "person_id"
            attr = "emails"
            primary = { pointer = "primary_email" }
            columns = { address = { attr = "value", transform = "lowercase" }, kind = { attr = "type", map = { work = 1, home = 2 } }, origin = { value = "scim", on = "insert" } }
            "#,
        )
        .unwrap(),
        &tables,
        &[],
    );
    assert!(c.problems.iter().all(|p| !p.error), "{:?}", c.problems);
    c.mapping.unwrap()
}

#[test]
fn multi_table_rows_flags_templates_and_children() {
    let m = multi();
    let u = json!({"userName": "ann", "active": false, "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "A@x", "type": "home"}, {"value": "b@x", "type": "work", "primary": true}, {"value": "a@X"}]});
    let plan = m.to_row(&u, Change::Insert).unwrap();
    let main = plan.main_values();
    assert!(main.contains(&("name".into(), HostValue::Text("Ann Lee".into()))));
    assert!(
        main.contains(&("primary_email".into(), HostValue::Int(0))),
        "pointer placeholder until the child rows exist: {main:?}"
    );
    assert!(plan.tables[1].contains(&("flags".into(), Assign::Bits { mask: 4, on: true })));
    let items = plan.children[0].as_ref().unwrap();
    assert_eq!(
        items.len(),
        2,
        "the same address twice is one row: {items:?}"
    );
    assert_eq!(items[0].value.as_str(), "a@x");
    assert!(!items[0].primary && items[1].primary);
    assert!(items[1].row.contains(&("kind".into(), HostValue::Int(1))));
    assert!(items[1]
        .insert_only
        .contains(&("origin".into(), HostValue::Text("scim".into()))));
    // No name: the template falls back to the userName.
    let plan = m
        .to_row(&json!({"userName": "solo"}), Change::Insert)
        .unwrap();
    assert!(plan
        .main_values()
        .contains(&("name".into(), HostValue::Text("solo".into()))));
    // A PATCH that leaves emails alone leaves the rows alone; one that removes them empties.
    let plan = m
        .to_row(
            &json!({"userName": "x"}),
            Change::Update {
                before: &json!({"userName": "x"}),
                strict: true,
                sent: None,
            },
        )
        .unwrap();
    assert_eq!(plan.children[0], None);
    let plan = m
        .to_row(
            &json!({"userName": "x"}),
            Change::Update {
                before: &json!({"userName": "x", "emails": [{"value": "q@x"}]}),
                strict: true,
                sent: None,
            },
        )
        .unwrap();
    assert_eq!(plan.children[0], Some(vec![]));
}

#[test]
fn multi_table_reads_split_templates_and_mark_primaries() {
    let m = multi();
    let vals: Vec<HostValue> = m
        .read_columns
        .iter()
        .map(|(at, c)| match (*at, c.as_str()) {
            (0, "name") => HostValue::Text("Mary Ann Smith".into()),
            (0, "primary_email") => HostValue::Int(9),
            (1, "login") => HostValue::Text("mary".into()),
            (1, "flags") => HostValue::Int(4 | 1),
            _ => HostValue::Null(ColumnKind::Text),
        })
        .collect();
    let rows = vec![vec![ChildRow {
        key: "9".into(),
        values: vec![HostValue::Text("m@x".into()), HostValue::Int(2)],
        primary: true,
    }]];
    let r = m.to_resource(&vals, &rows, None);
    assert_eq!(r["name"]["givenName"], "Mary");
    assert_eq!(r["name"]["familyName"], "Ann Smith");
    assert_eq!(r["active"], false, "bit 4 set means locked");
    assert_eq!(
        r["emails"],
        json!([{"value": "m@x", "type": "home", "primary": true}])
    );
    // The IdP's split is kept while it still renders the same host value.
    let shadow = json!({"userName": "mary", "name": {"givenName": "Mary Ann", "familyName": "Smith"},
        "emails": [{"value": "M@x", "type": "home"}]});
    let r = m.to_resource(&vals, &rows, Some(&shadow));
    assert_eq!(r["name"]["givenName"], "Mary Ann");
    assert_eq!(
        r["emails"][0]["value"], "M@x",
        "IdP spelling of an equal address"
    );
}

#[test]
fn multi_table_filters_and_refusals() {
    use crate::mapping::predicate::{Pred, Target};
    use crate::scim::filter::Filter;
    let m = multi();
    let p = m
        .predicate(&Filter::parse(r#"emails.value eq "A@x""#).unwrap())
        .unwrap();
    assert!(
        matches!(&p, Pred::Cmp { target: Target::Child(0, c), value: HostValue::Text(v), .. } if c == "address" && v == "a@x"),
        "{p:?}"
    );
    let p = m
        .predicate(&Filter::parse(r#"userName eq "mary""#).unwrap())
        .unwrap();
    assert!(matches!(&p, Pred::Cmp { target: Target::Joined(0, c), .. } if c == "login"));
    for f in [r#"active eq true"#, r#"name.givenName eq "Ann""#] {
        let e = m.predicate(&Filter::parse(f).unwrap()).unwrap_err();
        assert!(e.detail.contains("encoded"), "{f}: {}", e.detail);
    }
    assert_eq!(m.scope.len(), 1);
    assert!(m.scope[0].negate);
}

#[test]
fn compile_refuses_constructs_that_cannot_work() {
    let bad = [
        (r#"status = { attr = "active", flag = 3 }"#, "single bit"),
        (r#"email = { attr = "userName", flag = 2 }"#, "boolean"),
        (
            r#"status = { template = "{name.givenName}" }"#,
            "text column",
        ),
        (r#"email = { template = "plain" }"#, "names no attribute"),
    ];
    for (rule, want) in bad {
        let text = format!(
            "[users]\ntable = \"users\"\nkey = \"id\"\non_delete = \"ignore\"\n[users.columns]\n{rule}\n"
        );
        let c = compile(
            &parse_str(&text).unwrap(),
            &[("users".to_string(), table())].into_iter().collect(),
            &[],
        );
        assert!(
            c.problems
                .iter()
                .any(|p| p.error && p.message.contains(want)),
            "{rule}: {:?}",
            c.problems
        );
    }
}
