//! Lookup rows with several columns (`lookup.set`): compiled against the lookup table,
//! validated with the fix named, and evaluated against the request only for a row the lookup
//! creates.

use serde_json::json;

use super::tests::{column, compile_with, has, users};
use super::{Compiled, Problem};
use crate::mapping::compiled::Source;
use crate::mapping::convert::{Assign, Change};
use crate::mapping::host::{pg_enum_type, ColumnKind, HostTable, TypeName};
use crate::mapping::value::HostValue;

/// An address book: a generated key, the email a lookup matches, a NOT NULL name and type
/// (a PostgreSQL enum), a NOT NULL flag, a nullable time and note.
fn partners() -> HostTable {
    use ColumnKind::*;
    let kinds = pg_enum_type(
        "public",
        "partner_type",
        &["contact".into(), "invoice".into()],
    );
    HostTable {
        name: "Partners".into(),
        columns: vec![
            column("Id", "integer", Some(Int), false),
            column("Email", "varchar(100)", Some(Text), true),
            column("Name", "varchar(20)", Some(Text), false),
            column("Type", &kinds, Some(Text), false),
            column("Active", "boolean", Some(Bool), false),
            column("Created", "timestamp", Some(Timestamp), true),
            column("Note", "varchar(50)", Some(Text), true),
            column("Shape", "point", None, true),
        ],
    }
}

/// The users table of the compile tests, whose `Archived` (integer) holds a partner's key
/// through a lookup with `set` (the inline table's inside).
fn compiled(set: &str, create: bool) -> Compiled {
    let text = format!(
        "[users]\ntable = \"Users\"\nkey = \"Id\"\non_delete = \"ignore\"\n[users.columns]\nUserName = {{ attr = \"userName\" }}\nKind = {{ value = \"agent\" }}\nCookie = {{ value = \"x\" }}\nCreated = {{ value = 0 }}\nArchived = {{ attr = \"emails.value\", lookup = {{ table = \"partners\", key = \"id\", column = \"email\", create = {create}, set = {{ {set} }} }} }}\n"
    );
    compile_with(
        &text,
        vec![("Users", users()), ("partners", partners())],
        &[],
    )
}

fn problems(set: &str) -> Vec<Problem> {
    compiled(set, true).problems
}

const FULL: &str = "name = { attr = \"displayName\", default = { attr = \"userName\" } }, type = \"Contact\", active = true, created = \"now\"";

#[test]
fn set_compiles_to_rules_of_the_lookup_table() {
    let c = compiled(FULL, true);
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    let m = c.mapping.unwrap();
    let l = m
        .rules
        .iter()
        .find_map(|r| r.lookup.as_ref())
        .expect("a lookup");
    // The database's spelling, in the order written (sorted by the mapping's names).
    let cols: Vec<&str> = l.set.iter().map(|r| r.column.as_str()).collect();
    assert_eq!(cols, ["Active", "Created", "Name", "Type"]);
    let ty = TypeName {
        schema: "public".into(),
        name: "partner_type".into(),
    };
    // The enum's label in its own spelling, bound through a cast to the type.
    assert!(l.set.iter().any(|r| r.column == "Type"
        && matches!(&r.source, Source::Const(HostValue::Cast(v, t)) if **v == HostValue::Text("contact".into()) && *t == ty)));
    assert!(l
        .set
        .iter()
        .any(|r| r.column == "Created" && matches!(r.source, Source::Now)));
    assert!(
        c.problems.iter().all(|p| !p.key.contains(".set.")),
        "{:#?}",
        c.problems
    );
}

#[test]
fn a_new_row_is_made_from_the_request_or_says_why_it_cannot_be() {
    let m = compiled(FULL, true).mapping.unwrap();
    let new_row = |resource: serde_json::Value| {
        let plan = m.to_row(&resource, Change::Insert).unwrap();
        match plan.main().iter().find(|(c, _)| c == "Archived") {
            Some((_, Assign::Lookup { text, new_row })) => (text.clone(), new_row.clone()),
            other => panic!("{other:?}"),
        }
    };
    let (text, row) = new_row(json!({"userName": "ann", "displayName": "Ann Archer",
        "emails": [{"value": "ann@example.com", "primary": true}]}));
    assert_eq!(text, "ann@example.com");
    let row = row.unwrap();
    let value = |c: &str| row.iter().find(|(x, _)| x == c).map(|(_, v)| v.clone());
    assert_eq!(value("Name"), Some(HostValue::Text("Ann Archer".into())));
    assert_eq!(value("Active"), Some(HostValue::Bool(true)));
    assert!(matches!(value("Created"), Some(HostValue::Timestamp(_))));
    assert!(matches!(value("Type"), Some(HostValue::Cast(..))));
    // No displayName: its default, the userName.
    let (_, row) = new_row(json!({"userName": "bob", "emails": [{"value": "bob@example.com"}]}));
    assert!(row
        .unwrap()
        .contains(&("Name".into(), HostValue::Text("bob".into()))));
    // Without a default the row cannot be made: why, naming the attribute and column — an
    // error only when a row must be created (the store decides).
    let strict = compiled(
        "name = { attr = \"displayName\" }, type = \"contact\", active = true, note = { attr = \"title\" }",
        true,
    )
    .mapping
    .unwrap();
    let plan = strict
        .to_row(
            &json!({"userName": "bob", "emails": [{"value": "bob@example.com"}]}),
            Change::Insert,
        )
        .unwrap();
    let Some((_, Assign::Lookup { new_row, .. })) =
        plan.main().iter().find(|(c, _)| c == "Archived")
    else {
        panic!("{plan:?}")
    };
    let why = new_row.clone().unwrap_err();
    assert!(
        why.contains("\"displayName\" is required") && why.contains("\"Name\""),
        "{why}"
    );
    // A nullable column whose attribute is absent is left out of the row.
    let plan = strict
        .to_row(
            &json!({"userName": "bob", "displayName": "Bob", "emails": [{"value": "b@x"}]}),
            Change::Insert,
        )
        .unwrap();
    let Some((
        _,
        Assign::Lookup {
            new_row: Ok(row), ..
        },
    )) = plan.main().iter().find(|(c, _)| c == "Archived")
    else {
        panic!("{plan:?}")
    };
    assert!(row.iter().all(|(c, _)| c != "Note"), "{row:?}");
}

#[test]
fn set_misuses_are_refused_naming_the_fix() {
    let k = "users.columns.Archived.lookup";
    let ok = "type = \"contact\", active = true, name = \"x\"";
    for (set, key, words) in [
        // Every NOT NULL column without a default must be filled.
        (
            "type = \"contact\", active = true",
            format!("{k}.set.Name"),
            &[
                "NOT NULL without a default",
                "add it to the lookup's set",
                "set = { Name = \"\" }",
            ][..],
        ),
        (
            "name = \"x\", active = true",
            format!("{k}.set.Type"),
            &["set = { Type = \"contact\" }"][..],
        ),
        (
            &format!("{ok}, nmae = \"x\""),
            format!("{k}.set.nmae"),
            &["does not exist", "did you mean Name"][..],
        ),
        (
            &format!("{ok}, shape = \"(1,2)\""),
            format!("{k}.set.shape"),
            &["cannot map"][..],
        ),
        (
            "type = \"supplier\", active = true, name = \"x\"",
            format!("{k}.set.type"),
            &["\"supplier\"", "\"contact\", \"invoice\""][..],
        ),
        (
            "type = \"contact\", active = \"maybe\", name = \"x\"",
            format!("{k}.set.active"),
            &["cannot be stored in \"Active\""][..],
        ),
        (
            &format!("{ok}, created = {{ attr = \"active\" }}"),
            format!("{k}.set.created"),
            &["boolean attribute cannot be stored"][..],
        ),
        (
            &format!("{ok}, email = \"x@y\""),
            format!("{k}.set.email"),
            &["the lookup's column", "remove it from set"][..],
        ),
        (
            &format!("{ok}, id = 7"),
            format!("{k}.set.id"),
            &["is the key", "the database"][..],
        ),
        (
            &format!("{ok}, Name = \"y\""),
            format!("{k}.set.name"),
            &["set twice"][..],
        ),
        (
            &format!("{ok}, note = {{ attr = \"title\", flag = 1 }}"),
            format!("{k}.set.note"),
            &["written once", "remove lookup, flag"][..],
        ),
        (
            &format!("{ok}, note = {{ attr = \"title\", direction = \"from_host\" }}"),
            format!("{k}.set.note"),
            &["direction"][..],
        ),
        (
            &format!("{ok}, note = {{ value = {{ own_key = true }} }}"),
            format!("{k}.set.note"),
            &["own_key"][..],
        ),
        (
            &format!("{ok}, note = {{ attr = \"title\", colour = 1 }}"),
            format!("{k}.set.note"),
            &["colour", "write a constant"][..],
        ),
    ] {
        let p = problems(set);
        assert!(has(&p, true, &key, words), "{set}: {p:#?}");
    }
}

#[test]
fn a_created_row_is_filled_and_set_needs_create() {
    let k = "users.columns.Archived.lookup";
    let ok = "type = \"contact\", active = true, name = \"x\"";
    // A NOT NULL column fed by an attribute a request may lack: a warning naming the fix.
    let p = problems("type = \"contact\", active = true, name = { attr = \"displayName\" }");
    assert!(p.iter().all(|p| !p.error), "{p:#?}");
    assert!(
        has(
            &p,
            false,
            &format!("{k}.set.Name"),
            &[
                "will be refused with 400",
                "default = { attr = \"userName\" }"
            ]
        ),
        "{p:#?}"
    );
    // set is for a row the lookup creates.
    let p = compiled(ok, false).problems;
    assert!(
        has(
            &p,
            true,
            &format!("{k}.set"),
            &["add create = true, or remove set"]
        ),
        "{p:#?}"
    );
    // Without set, a lookup that creates rows of this table is told what to add.
    let c = compile_with(
        "[users]\ntable = \"Users\"\nkey = \"Id\"\non_delete = \"ignore\"\n[users.columns]\nUserName = { attr = \"userName\" }\nKind = { value = \"agent\" }\nCookie = { value = \"x\" }\nCreated = { value = 0 }\nArchived = { attr = \"emails.value\", lookup = { table = \"partners\", key = \"id\", column = \"email\", create = true } }\n",
        vec![("Users", users()), ("partners", partners())],
        &[],
    );
    assert!(
        has(
            &c.problems,
            true,
            &format!("{k}.set.Active"),
            &["set = { Active = false }"]
        ),
        "{:#?}",
        c.problems
    );
}
