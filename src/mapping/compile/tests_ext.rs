//! Issue 16 part B, compiled: `[extensions]` (typed custom attributes, kept in the bridge's
//! record when no column maps them).

use serde_json::json;

use super::tests::{has, problems_of, users};
use super::*;
use crate::scim::schema::AttrType;

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

fn with_extensions(ext: &str, rules: &str) -> Vec<Problem> {
    // `[extensions]` is a top-level table: it goes after every [users] line.
    problems_of("", &format!("{rules}\n{ext}"))
}

#[test]
fn declared_extensions_are_typed_and_served() {
    let text = format!(
        "[users]\ntable = \"Users\"\nkey = \"Id\"\non_delete = \"ignore\"\n[users.columns]\nUserName = {{ attr = \"userName\" }}\nKind = {{ value = \"agent\" }}\nCookie = {{ value = \"x\" }}\nCreated = {{ value = 0 }}\nEmail = {{ attr = \"{ACME}:costCenter\" }}\n[extensions.\"{ACME}\"]\ncostCenter = \"string\"\nseniority = \"Integer\"\nskills = {{ type = \"string\", multi = true }}\n"
    );
    let c = super::tests::compile_with(&text, vec![("Users", users())], &[]);
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    let m = c.mapping.unwrap();
    let ext = m.resource_type.extension(ACME).unwrap();
    let kinds: Vec<(&str, AttrType, bool)> =
        ext.attrs.iter().map(|a| (a.name, a.ty, a.multi)).collect();
    assert_eq!(
        kinds,
        [
            ("costCenter", AttrType::String, false),
            ("seniority", AttrType::Integer, false),
            ("skills", AttrType::String, true)
        ]
    );
    // A request is type-checked against the declaration.
    let rt = &m.resource_type;
    let ok = json!({"userName": "a", ACME: {"seniority": 3, "skills": ["x"]}});
    assert!(rt.normalize(&ok).is_ok());
    for bad in [
        json!({"seniority": "3"}),
        json!({"skills": "x"}),
        json!({"seniority": 1.5}),
    ] {
        let e = rt
            .normalize(&json!({"userName": "a", ACME: bad}))
            .unwrap_err();
        assert_eq!(e.status, 400, "{bad}");
    }
}

#[test]
fn misdeclared_extensions_name_the_key_and_the_fix() {
    let key = format!("extensions.\"{ACME}\"");
    let p = with_extensions(
        &format!("[extensions.\"{ACME}\"]\nseniority = \"int\"\ntags = {{ type = \"integer\", multi = true }}\n\"2x\" = \"string\"\n"),
        &format!("Email = {{ attr = \"{ACME}:costCenter\" }}"),
    );
    assert!(
        has(
            &p,
            true,
            &format!("{key}.seniority"),
            &["unknown type \"int\"", "\"dateTime\""]
        ),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            true,
            &format!("{key}.tags"),
            &["multi = true is supported for \"string\""]
        ),
        "{p:#?}"
    );
    assert!(
        has(&p, true, &format!("{key}.2x"), &["not an attribute name"]),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            true,
            &key,
            &["does not declare", "add costCenter = \"string\""]
        ),
        "{p:#?}"
    );

    let p = with_extensions(
        "[extensions.\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"]\ndepartment = \"string\"\n[extensions.\"acme-user\"]\nx = \"string\"\n[extensions.\"urn:x:empty\"]\n",
        "",
    );
    assert!(
        has(
            &p,
            true,
            "extensions.\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
            &["built in"]
        ),
        "{p:#?}"
    );
    assert!(
        has(&p, true, "extensions.\"acme-user\"", &["not a schema URN"]),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            true,
            "extensions.\"urn:x:empty\"",
            &["declares no attribute"]
        ),
        "{p:#?}"
    );
}

/// A user table with a JSON column (`jsonb` as PostgreSQL's introspection reports it) and a
/// text column holding JSON.
fn json_table() -> crate::mapping::host::HostTable {
    use crate::mapping::host::ColumnKind::*;
    let mut t = users();
    t.columns.push(super::tests::column(
        "Profile",
        "pg_catalog.jsonb",
        Some(Text),
        true,
    ));
    t.columns
        .push(super::tests::column("Extra", "text", Some(Text), true));
    t
}

fn json_mapping(rules: &str) -> Compiled {
    let text = format!(
        "[users]\ntable = \"Users\"\nkey = \"Id\"\non_delete = \"ignore\"\n[users.columns]\nUserName = {{ attr = \"userName\" }}\nKind = {{ value = \"agent\" }}\nCookie = {{ value = \"x\" }}\nCreated = {{ value = 0 }}\n{rules}\n"
    );
    super::tests::compile_with(&text, vec![("Users", json_table())], &[])
}

#[test]
fn json_keys_fold_into_the_stored_object() {
    use crate::mapping::convert::{json, Assign, Change};
    use crate::mapping::value::HostValue;
    let c = json_mapping(
        "t = { column = \"Profile\", attr = \"title\", json_path = \"title\" }\na = { column = \"Profile\", attr = \"active\", json_path = \"on\" }\n",
    );
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    let m = c.mapping.unwrap();
    let stored = json!({"userName": "u", "title": "Lead", "active": true});
    // Reads: each key from the object, typed.
    let obj = HostValue::Text(r#"{"title": "Lead", "on": true, "theme": "dark"}"#.into());
    let t = m
        .rules
        .iter()
        .find(|r| r.json.as_ref().is_some_and(|j| j.key == "title"))
        .unwrap();
    assert_eq!(json::extract(t, &obj), HostValue::Text("Lead".into()));
    // Writes: the changed key merged into the stored object, the others kept; cast for jsonb.
    let next = json!({"userName": "u", "title": "Chief", "active": true});
    let mut plan = m
        .to_row(
            &next,
            Change::Update {
                before: &stored,
                strict: true,
                sent: None,
            },
        )
        .unwrap();
    let row = &mut plan.tables[0];
    assert!(
        matches!(&row[..], [(c, Assign::Json { key, .. })] if c == "Profile" && key == "title"),
        "{row:?}"
    );
    json::fold(&m, 0, row, &|_| Some(obj.clone())).unwrap();
    let [(_, Assign::Value(HostValue::Cast(v, ty)))] = &row[..] else {
        panic!("{row:?}")
    };
    assert_eq!(ty.name, "jsonb");
    let v: serde_json::Value = serde_json::from_str(&v.display_text().unwrap()).unwrap();
    assert_eq!(v, json!({"title": "Chief", "on": true, "theme": "dark"}));
    // The same value: nothing to write. Not an object: refused, naming the column.
    let mut same = vec![(
        "Profile".to_string(),
        Assign::Json {
            key: "title".into(),
            value: Some(json!("Lead")),
        },
    )];
    json::fold(&m, 0, &mut same, &|_| Some(obj.clone())).unwrap();
    assert!(same.is_empty());
    let mut bad = vec![(
        "Profile".to_string(),
        Assign::Json {
            key: "title".into(),
            value: None,
        },
    )];
    let e = json::fold(&m, 0, &mut bad, &|_| Some(HostValue::Text("[1]".into()))).unwrap_err();
    assert!(e.contains("\"Profile\""), "{e}");
    // A new row with none of its keys gets no object at all.
    let mut new = vec![(
        "Profile".to_string(),
        Assign::Json {
            key: "title".into(),
            value: None,
        },
    )];
    json::fold(&m, 0, &mut new, &|_| None).unwrap();
    assert!(new.is_empty());
}

#[test]
fn json_misuses_name_the_fix() {
    let p = json_mapping("t = { column = \"Profile\", attr = \"title\", json_path = \"k\" }\nd = { column = \"Profile\", attr = \"displayName\", json_path = \"k\" }\n").problems;
    assert!(
        has(
            &p,
            true,
            "users.columns.t",
            &["JSON key \"k\"", "mapped twice"]
        ),
        "{p:#?}"
    );
    let p = json_mapping("t = { column = \"Profile\", attr = \"title\" }\nd = { column = \"Profile\", attr = \"displayName\", json_path = \"k\" }\n").problems;
    // BTreeMap order: "d" is compiled first, "t" then meets its column.
    assert!(
        has(&p, true, "users.columns.t", &["give each rule a json_path"]),
        "{p:#?}"
    );
    let p =
        json_mapping("Created2 = { column = \"Created\", attr = \"title\", json_path = \"k\" }\n")
            .problems;
    assert!(
        has(
            &p,
            true,
            "users.columns.Created2",
            &["cannot hold a JSON object"]
        ),
        "{p:#?}"
    );
    let p = json_mapping("Extra = { value = \"x\", json_path = \"k\" }\n").problems;
    assert!(
        has(&p, true, "users.columns.Extra", &["use it with attr"]),
        "{p:#?}"
    );
    let p = json_mapping("Extra = { attr = \"name\", json_path = \"k\" }\n").problems;
    assert!(
        has(&p, true, "users.columns.Extra", &["is a complex attribute"]),
        "{p:#?}"
    );
}
