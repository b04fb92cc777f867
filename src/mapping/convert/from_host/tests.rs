//! The view reads build is what PATCH works on: Entra ID's
//! `emails[type eq "work"].value` must find the address the mapping stores, on rows the
//! identity provider never wrote as much as on rows it did — and Okta must read back what it
//! sent.

use serde_json::{json, Value};

use crate::mapping::compile::UserMapping;
use crate::mapping::convert::{keep_unsent, Assign, Change, ChildRow, RowPlan};
use crate::mapping::host::ColumnKind;
use crate::mapping::predicate::value_paths::{child_rows, single_column};
use crate::mapping::value::HostValue;
use crate::scim::patch::{apply, parse_request};

fn text(s: &str) -> HostValue {
    HostValue::Text(s.into())
}

/// The values of `m.read_columns`, by column name.
fn values(m: &UserMapping, cols: &[(&str, HostValue)]) -> Vec<HostValue> {
    m.read_columns
        .iter()
        .map(|(_, c)| {
            cols.iter()
                .find(|(n, _)| n == c)
                .map_or(HostValue::Null(ColumnKind::Text), |(_, v)| v.clone())
        })
        .collect()
}

#[allow(clippy::needless_pass_by_value, reason = "callers pass json! literals")]
fn patched(m: &UserMapping, view: &Value, ops: Value) -> (Value, RowPlan) {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops});
    let after = apply(&m.resource_type, view, &parse_request(&body).unwrap()).unwrap();
    let plan = m
        .to_row(
            &after,
            Change::Update {
                before: view,
                strict: true,
                sent: None,
            },
        )
        .unwrap();
    (after, plan)
}

fn entra(op: &str, path: &str, value: &str) -> Value {
    json!([{"op": op, "path": path, "value": value}])
}

#[test]
fn a_never_provisioned_row_shows_its_one_email_as_the_primary_work_address() {
    let m = single_column();
    let seeded = values(
        &m,
        &[
            ("login", text("bob")),
            ("email", text("Bob.Brown@Acme.Example")),
        ],
    );
    let view = m.to_resource(&seeded, &[], None);
    assert_eq!(
        view["emails"],
        json!([{"value": "Bob.Brown@Acme.Example", "type": "work", "primary": true}])
    );
    // The typed phone column is the work phone, and nothing says it is the primary one.
    let with_phone = values(&m, &[("login", text("bob")), ("phone", text("+1 555"))]);
    let view = m.to_resource(&with_phone, &[], None);
    assert_eq!(
        view["phoneNumbers"],
        json!([{"value": "+1 555", "type": "work"}])
    );
    assert!(view.get("emails").is_none(), "no address, no value: {view}");
}

#[test]
fn entra_work_email_patches_reach_the_single_column_of_a_row_never_provisioned() {
    let m = single_column();
    let seeded = values(
        &m,
        &[
            ("login", text("bob")),
            ("email", text("Bob.Brown@Acme.Example")),
        ],
    );
    let view = m.to_resource(&seeded, &[], None);
    for ops in [
        entra(
            "replace",
            r#"emails[type eq "work"].value"#,
            "New@X.example",
        ),
        entra(
            "Replace",
            r#"emails[type eq "work"].value"#,
            "New@X.example",
        ),
        entra("add", r#"emails[type eq "work"].value"#, "New@X.example"),
        entra("Add", r#"emails[type eq "work"].value"#, "New@X.example"),
        entra(
            "replace",
            r#"emails[primary eq true].value"#,
            "New@X.example",
        ),
        entra("replace", "emails.value", "New@X.example"),
    ] {
        let (after, plan) = patched(&m, &view, ops.clone());
        assert_eq!(
            after["emails"],
            json!([{"value": "New@X.example", "type": "work", "primary": true}]),
            "{ops}: changed in place, no second email"
        );
        assert_eq!(
            plan.tables[0],
            vec![("email".to_string(), Assign::Value(text("new@x.example")))],
            "{ops}: the email column and nothing else"
        );
    }
    // A type the mapping does not store is kept in the bridge's record only.
    let (after, plan) = patched(
        &m,
        &view,
        entra("add", r#"emails[type eq "home"].value"#, "h@x.example"),
    );
    assert_eq!(after["emails"].as_array().unwrap().len(), 2);
    assert!(plan.tables[0].is_empty(), "{:?}", plan.tables[0]);
}

#[test]
fn entra_work_email_patches_reach_the_column_of_a_provisioned_user_too() {
    let m = single_column();
    for sent in [
        // Okta, Entra ID: the primary address, type work.
        json!([{"value": "Ann@Acme.example", "type": "work", "primary": true}]),
        // A client that sends neither type nor flag.
        json!([{"value": "Ann@Acme.example"}]),
    ] {
        let shadow = json!({"userName": "ann", "emails": sent});
        let stored = values(
            &m,
            &[("login", text("ann")), ("email", text("ann@acme.example"))],
        );
        let view = m.to_resource(&stored, &[], Some(&shadow));
        assert_eq!(
            view["emails"],
            json!([{"value": "Ann@Acme.example", "type": "work", "primary": true}]),
            "the identity provider's spelling, declared work and primary"
        );
        let (_, plan) = patched(
            &m,
            &view,
            entra(
                "replace",
                r#"emails[type eq "work"].value"#,
                "ann.new@acme.example",
            ),
        );
        assert_eq!(
            plan.tables[0],
            vec![(
                "email".to_string(),
                Assign::Value(text("ann.new@acme.example"))
            )]
        );
    }
}

#[test]
fn the_identity_providers_own_type_for_the_stored_address_is_kept() {
    let m = single_column();
    let shadow = json!({"userName": "ann", "emails": [
        {"value": "ann@home.example", "type": "home", "primary": true}]});
    let stored = values(
        &m,
        &[("login", text("ann")), ("email", text("ann@home.example"))],
    );
    let view = m.to_resource(&stored, &[], Some(&shadow));
    assert_eq!(
        view["emails"], shadow["emails"],
        "no drift for what it sent"
    );
}

#[test]
fn okta_round_trip_on_a_single_email_column_shows_no_drift() {
    let m = single_column();
    let post = m
        .resource_type
        .normalize(&json!({"userName": "Pat@Example.com",
            "emails": [{"primary": true, "value": "Pat@Example.com", "type": "work"}],
            "phoneNumbers": [{"value": "+1 555", "type": "work"}]}))
        .unwrap();
    let insert = m.to_row(&post, Change::Insert).unwrap().main_values();
    let stored: Vec<(&str, HostValue)> = ["login", "email", "phone"]
        .into_iter()
        .map(|c| {
            let v = insert.iter().find(|(n, _)| n == c).unwrap().1.clone();
            (c, v)
        })
        .collect();
    assert_eq!(
        stored[1].1,
        text("pat@example.com"),
        "lowercased in the host"
    );
    let view = m.to_resource(&values(&m, &stored), &[], Some(&post));
    assert_eq!(view["emails"], post["emails"]);
    assert_eq!(view["phoneNumbers"], post["phoneNumbers"]);
    // Okta's PUT: the GET body echoed back.
    let put = keep_unsent(&view, &view, Some(&post));
    let plan = m
        .to_row(
            &put,
            Change::Update {
                before: &view,
                strict: false,
                sent: None,
            },
        )
        .unwrap();
    assert!(plan.tables[0].is_empty(), "{:?}", plan.tables[0]);
}

fn rows(list: &[(&str, bool)]) -> Vec<Vec<ChildRow>> {
    vec![list
        .iter()
        .enumerate()
        .map(|(i, (e, p))| ChildRow {
            key: (i + 1).to_string(),
            values: vec![text(e), HostValue::Int(i64::from(*p))],
            primary: *p,
        })
        .collect()]
}

#[test]
fn child_rows_show_the_primary_as_work_and_entra_replaces_it() {
    let m = child_rows();
    let main = values(&m, &[("login", text("maria"))]);
    let host = rows(&[
        ("Maria.Garcia@Helpdesk.example", true),
        ("mgarcia@acme.example", false),
    ]);
    let view = m.to_resource(&main, &host, None);
    assert_eq!(
        view["emails"],
        json!([
            {"value": "Maria.Garcia@Helpdesk.example", "type": "work", "primary": true},
            {"value": "mgarcia@acme.example"}
        ])
    );
    let (after, plan) = patched(
        &m,
        &view,
        entra(
            "replace",
            r#"emails[type eq "work"].value"#,
            "maria@new.example",
        ),
    );
    assert_eq!(after["emails"].as_array().unwrap().len(), 2);
    assert!(plan.tables[0].is_empty());
    let items = plan.children[0].as_ref().expect("the rows are written");
    let got: Vec<(&str, bool)> = items
        .iter()
        .map(|i| (i.value.as_str(), i.primary))
        .collect();
    assert_eq!(
        got,
        vec![("maria@new.example", true), ("mgarcia@acme.example", false)]
    );
}

#[test]
fn child_rows_show_the_types_the_identity_provider_sent() {
    let m = child_rows();
    let main = values(&m, &[("login", text("bob"))]);
    let host = rows(&[("b@home.example", false), ("bob@acme.example", true)]);
    let shadow = json!({"userName": "bob", "emails": [
        {"value": "Bob@Acme.example", "type": "work", "primary": true},
        {"value": "b@home.example", "type": "home"}]});
    let view = m.to_resource(&main, &host, Some(&shadow));
    assert_eq!(
        view["emails"],
        json!([
            {"value": "b@home.example", "type": "home"},
            {"value": "Bob@Acme.example", "type": "work", "primary": true}
        ])
    );
}
