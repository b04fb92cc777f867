//! Issue 16, read fallbacks (`[users] read_fallback`): validation, reads and filters.

use serde_json::json;

use super::tests::{compile_with, has, problems_of, users};
use super::*;
use crate::mapping::predicate::{Pred, Target};
use crate::mapping::value::HostValue;
use crate::mapping::ColumnKind;
use crate::scim::filter::Filter;

const KEY: &str = "users.read_fallback.userName";

fn mapping(fallback: &str) -> UserMapping {
    let text = format!(
        "[users]\ntable = \"Users\"\nkey = \"Id\"\non_delete = \"ignore\"\nmatch = [\"UserName\", \"Email\"]\nread_fallback = {fallback}\n[users.columns]\nUserName = {{ attr = \"userName\" }}\nEmail = {{ attr = \"emails.value\" }}\nExternalRef = {{ attr = \"displayName\" }}\nKind = {{ value = \"agent\" }}\nCookie = {{ value = \"x\" }}\nCreated = {{ value = 0 }}\n"
    );
    let c = compile_with(&text, vec![("Users", users())], &[]);
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    c.mapping.unwrap()
}

/// Host values for the mapping's read columns: `UserName`, `Email`, `ExternalRef` as given.
fn row(m: &UserMapping, login: Option<&str>, email: Option<&str>) -> Vec<HostValue> {
    m.read_columns
        .iter()
        .map(|(_, c)| {
            let v = match c.as_str() {
                "UserName" => login,
                "Email" => email,
                _ => None,
            };
            v.map_or(HostValue::Null(ColumnKind::Text), |s| {
                HostValue::Text(s.into())
            })
        })
        .collect()
}

#[test]
fn an_empty_login_is_served_from_the_first_non_empty_fallback() {
    let m = mapping("{ userName = [\"displayName\", \"emails.value\"] }");
    let served = |login, email| {
        m.to_resource(&row(&m, login, email), &[], None)["userName"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(served(Some("ann"), Some("a@x.example")), Some("ann".into()));
    assert_eq!(
        served(None, Some("a@x.example")),
        Some("a@x.example".into())
    );
    assert_eq!(
        served(Some(""), Some("a@x.example")),
        Some("a@x.example".into())
    );
    assert_eq!(served(None, None), None);
    // What adoption compares with is the stored view, without the fallback.
    let stored = m.to_stored_resource(&row(&m, None, Some("a@x.example")), &[], None);
    assert!(stored
        .get("userName")
        .is_none_or(|v| v.is_null() || v == ""));
    let shadow = json!({"userName": "old"});
    let v = m.to_resource(&row(&m, None, Some("a@x.example")), &[], Some(&shadow));
    assert_eq!(
        v["userName"], "a@x.example",
        "the host is the truth, not the record"
    );
}

#[test]
fn filters_ask_the_database_what_reads_serve() {
    let m = mapping("{ userName = \"emails.value\" }");
    let p = m
        .predicate(&Filter::parse(r#"userName eq "A@x.example""#).unwrap())
        .unwrap();
    let Pred::Or(parts) = &p else { panic!("{p:?}") };
    assert_eq!(parts.len(), 2);
    let Pred::And(own) = &parts[0] else {
        panic!("{p:?}")
    };
    assert_eq!(own[0], Pred::Present(Target::Column("UserName".into())));
    let Pred::And(fb) = &parts[1] else {
        panic!("{p:?}")
    };
    assert_eq!(
        fb[0],
        Pred::Not(Box::new(Pred::Present(Target::Column("UserName".into()))))
    );
    assert!(
        format!("{:?}", fb.last()).contains("Email"),
        "compared on the email column: {p:?}"
    );
    // `pr` and `eq null`: any of them present.
    let pr = m.predicate(&Filter::parse("userName pr").unwrap()).unwrap();
    assert!(matches!(&pr, Pred::Or(v) if v.len() == 2), "{pr:?}");
    let null = m
        .predicate(&Filter::parse("userName eq null").unwrap())
        .unwrap();
    assert_eq!(null, Pred::Not(Box::new(pr)));
    // Inside logic too.
    let not = m
        .predicate(&Filter::parse(r#"not (userName eq "a")"#).unwrap())
        .unwrap();
    assert!(matches!(&not, Pred::Not(x) if matches!(**x, Pred::Or(_))));
}

#[test]
fn misused_fallbacks_name_the_key_and_the_fix() {
    let rules = "Email = { attr = \"emails.value\" }\nFlag = { attr = \"active\" }";
    let p = |fb: &str| problems_of(&format!("read_fallback = {fb}"), rules);
    assert!(has(
        &p("{ userName = \"title\" }"),
        true,
        KEY,
        &["\"title\" is read from no column", "map a column to it"]
    ));
    assert!(has(
        &p("{ userName = \"active\" }"),
        true,
        KEY,
        &["boolean", "the attribute's type"]
    ));
    assert!(has(
        &p("{ userName = [] }"),
        true,
        KEY,
        &["empty list", "emails.value"]
    ));
    assert!(has(
        &p("{ userName = \"userName\" }"),
        true,
        KEY,
        &["the attribute itself"]
    ));
    assert!(has(
        &p("{ \"emails.value\" = \"userName\" }"),
        true,
        "users.read_fallback.emails.value",
        &["multi-valued"]
    ));
    assert!(has(
        &p("{ nickName = \"userName\" }"),
        true,
        "users.read_fallback.nickName",
        &["read from no column", "[users.columns]"]
    ));
    assert!(has(
        &p("{ nosuch = \"userName\" }"),
        true,
        "users.read_fallback.nosuch",
        &["nosuch"]
    ));
    // The email column is not a match column: a POST of the served userName would not adopt.
    assert!(has(
        &p("{ userName = \"emails.value\" }"),
        false,
        KEY,
        &["add \"Email\" to users.match"]
    ));
    let fine = problems_of(
        "match = [\"UserName\", \"Email\"]\nread_fallback = { userName = \"emails.value\" }",
        rules,
    );
    assert!(
        fine.iter()
            .all(|p| !p.key.starts_with("users.read_fallback")),
        "{fine:#?}"
    );
}
