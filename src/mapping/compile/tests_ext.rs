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
