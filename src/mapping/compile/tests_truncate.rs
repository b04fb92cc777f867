//! `truncate = N` on a column rule: validated against the column, applied last.

use serde_json::json;

use super::tests::{compile_with, has, problems_of, users};
use crate::mapping::convert::Change;
use crate::mapping::value::HostValue;

#[test]
fn truncate_fits_the_column_or_is_refused_naming_the_fix() {
    let p = problems_of("", "Email = { attr = \"emails.value\", truncate = 100 }");
    assert!(p.iter().all(|p| !p.error), "{p:#?}");
    for (rule, words) in [
        (
            "Email = { attr = \"emails.value\", truncate = 101 }",
            &["truncate = 101", "use truncate = 100"][..],
        ),
        (
            "Email = { attr = \"emails.value\", truncate = 0 }",
            &["truncate = 0"][..],
        ),
        (
            "Status = { attr = \"title\", truncate = 3 }",
            &["text columns", "remove truncate"][..],
        ),
        (
            "Signature = { attr = \"title\", truncate = 3 }",
            &["counts bytes"][..],
        ),
    ] {
        let p = problems_of("", rule);
        let column = rule.split(' ').next().unwrap();
        assert!(
            has(&p, true, &format!("users.columns.{column}"), words),
            "{rule}: {p:#?}"
        );
    }
    // Applied last, after the other transforms, and read back as stored.
    let c = compile_with(
        "[users]\ntable = \"Users\"\nkey = \"Id\"\non_delete = \"ignore\"\n[users.columns]\nUserName = { attr = \"userName\" }\nKind = { value = \"agent\" }\nCookie = { value = \"x\" }\nCreated = { value = 0 }\nExternalRef = { attr = \"title\", transform = \"uppercase\", truncate = 4 }\n",
        vec![("Users", users())],
        &[],
    );
    let m = c.mapping.expect("compiles");
    let plan = m
        .to_row(
            &json!({"userName": "ann", "title": "  chef de cuisine"}),
            Change::Insert,
        )
        .unwrap();
    assert!(plan
        .main_values()
        .contains(&("ExternalRef".into(), HostValue::Text("  CH".into()))));
}
