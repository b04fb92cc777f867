//! Issue 16's constructs, compiled and translated: enumerated, date and binary columns, names
//! found by ignoring case, null forms in `scope` and `soft_delete`, fills (`random`, `now` in
//! the column's form, templates with literal text) and the reads templates must not make
//! ambiguous.

use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::mapping::compiled::{Fill, Source, TemplatePart};
use crate::mapping::convert::Change;
use crate::mapping::host::{pg_enum_type, ColumnKind, HostColumn, HostTable, Storage, TypeName};
use crate::mapping::model::When;
use crate::mapping::value::HostValue;

pub(super) fn column(
    name: &str,
    sql_type: &str,
    kind: Option<ColumnKind>,
    nullable: bool,
) -> HostColumn {
    HostColumn {
        name: name.into(),
        sql_type: sql_type.into(),
        kind,
        nullable,
        has_default: false,
        generated: name == "Id",
        primary_key: name == "Id",
        max_len: sql_type
            .strip_prefix("varchar(")
            .and_then(|s| s.trim_end_matches(')').parse().ok()),
        int_range: (sql_type == "smallint").then_some((-32768, 32767)),
        collation: None,
        ci_index_advice: None,
    }
}

fn kinds() -> String {
    pg_enum_type(
        "public",
        "user_type",
        &["agent".into(), "customer".into(), "system".into()],
    )
}

/// A user table whose names are spelled in mixed case, as PostgreSQL keeps quoted names.
pub(super) fn users() -> HostTable {
    use ColumnKind::*;
    let presence = pg_enum_type(
        "public",
        "presence",
        &["online".into(), "away".into(), "offline".into()],
    );
    HostTable {
        name: "Users".into(),
        columns: vec![
            column("Id", "integer", Some(Int), false),
            column("UserName", "varchar(64)", Some(Text), false),
            column("Email", "varchar(100)", Some(Text), true),
            column("Kind", &kinds(), Some(Text), false),
            column("Availability", &presence, Some(Text), true),
            column("DeletedAt", "timestamp", Some(Timestamp), true),
            column("Archived", "integer", Some(Int), true),
            column("Cookie", "varchar(64)", Some(Text), false),
            column("Created", "bigint", Some(Int), false),
            column("CreatedDay", "date", Some(Timestamp), true),
            column("Updated", "bigint", Some(Int), true),
            column("ExternalRef", "varchar(100)", Some(Text), true),
            column("Signature", "longblob", Some(Text), true),
            column("Status", "smallint", Some(Int), true),
            column("Flag", "boolean", Some(Bool), true),
        ],
    }
}

/// Every construct at once, spelled in lower case like a mapping written for MySQL.
const REACH: &str = r#"
[users]
table = "users"
key = "id"
on_delete = "soft_delete"
soft_delete = { deletedat = "now" }
scope = { deletedat = { null = true }, kind = ["agent", "Customer"], archived = [0, { null = true }] }
[users.columns]
username     = { attr = "userName" }
email        = { attr = "emails.value" }
kind         = { attr = "userType", default = "customer" }
availability = { value = "offline", on = "insert" }
cookie       = { value = { random = 32 } }
created      = { value = "now", on = "insert" }
createdday   = { value = "now", on = "insert" }
updated      = { value = "now" }
externalref  = { template = "scim:{userName}", direction = "to_host" }
signature    = { attr = "title" }
"#;

pub(super) fn compile_with(text: &str, tables: Vec<(&str, HostTable)>, all: &[&str]) -> Compiled {
    let tables: HashMap<String, HostTable> = tables
        .into_iter()
        .map(|(k, t)| (k.to_string(), t))
        .collect();
    let all: Vec<String> = all.iter().map(std::string::ToString::to_string).collect();
    compile(&parse_str(text).unwrap(), &tables, &all)
}

/// The compiled [`REACH`] mapping, for the store's tests.
pub(crate) fn reach_mapping() -> UserMapping {
    reach().0
}

fn reach() -> (UserMapping, Vec<Problem>) {
    let c = compile_with(REACH, vec![("users", users())], &[]);
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    (c.mapping.unwrap(), c.problems)
}

/// Compiles `rule` (one line of `[users.columns]`, or more) over [`users`] with a minimal
/// mapping; the problems.
pub(super) fn problems_of(extra_users: &str, rules: &str) -> Vec<Problem> {
    let on_delete = if extra_users.contains("on_delete") {
        ""
    } else {
        "on_delete = \"ignore\"\n"
    };
    let text = format!(
        "[users]\ntable = \"Users\"\nkey = \"Id\"\n{on_delete}{extra_users}\n[users.columns]\nUserName = {{ attr = \"userName\" }}\nKind = {{ value = \"agent\" }}\nCookie = {{ value = \"x\" }}\nCreated = {{ value = 0 }}\n{rules}\n"
    );
    compile_with(&text, vec![("Users", users())], &[]).problems
}

pub(super) fn has(problems: &[Problem], error: bool, key: &str, words: &[&str]) -> bool {
    problems
        .iter()
        .any(|p| p.error == error && p.key == key && words.iter().all(|w| p.message.contains(w)))
}

#[test]
fn names_resolve_ignoring_case_and_compile_to_the_databases_spelling() {
    let (m, problems) = reach();
    assert_eq!(m.table, "Users");
    assert_eq!(m.key.name, "Id");
    let columns: Vec<&str> = m.rules.iter().map(|r| r.column.as_str()).collect();
    for c in [
        "UserName",
        "Email",
        "Kind",
        "Cookie",
        "CreatedDay",
        "ExternalRef",
    ] {
        assert!(columns.contains(&c), "{c} in {columns:?}");
    }
    assert_eq!(m.rules[m.user_name].column, "UserName");
    assert!(m
        .scope
        .iter()
        .all(|c| c.column.chars().next().unwrap().is_uppercase()));
    assert_eq!(m.match_columns[0].column, "UserName");
    // One warning for the table says which spelling the bridge uses.
    let notes: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.message.contains("ignoring case"))
        .collect();
    assert_eq!(notes.len(), 1, "{problems:#?}");
    let n = &notes[0].message;
    assert!(!notes[0].error);
    for pair in [
        "\"users\" is \"Users\"",
        "\"username\" is \"UserName\"",
        "\"deletedat\" is \"DeletedAt\"",
    ] {
        assert!(n.contains(pair), "{pair}: {n}");
    }
}

#[test]
fn a_name_two_columns_or_tables_share_ignoring_case_asks_for_the_exact_spelling() {
    let mut t = users();
    t.columns.push(column(
        "email",
        "varchar(100)",
        Some(ColumnKind::Text),
        true,
    ));
    let text = "[users]\ntable = \"Users\"\nkey = \"Id\"\non_delete = \"ignore\"\n[users.columns]\nUserName = { attr = \"userName\" }\nKind = { value = \"agent\" }\nCookie = { value = \"x\" }\nCreated = { value = 0 }\nEMAIL = { attr = \"emails.value\" }\n";
    let c = compile_with(text, vec![("Users", t.clone())], &[]);
    assert!(
        has(
            &c.problems,
            true,
            "users.columns.EMAIL",
            &["ambiguous", "\"Email\" or \"email\"", "exact spelling"]
        ),
        "{:#?}",
        c.problems
    );
    // The exact spelling is taken as written.
    let ok = text.replace("EMAIL", "email");
    let c = compile_with(&ok, vec![("Users", t)], &[]);
    let m = c.mapping.expect("exact spelling compiles");
    assert!(m.rules.iter().any(|r| r.column == "email"));
    // Tables: introspection finds none for an ambiguous name; compile says why.
    let c = compile_with(
        &text.replace("\"Users\"", "\"USERS\""),
        vec![],
        &["Users", "users", "tickets"],
    );
    assert!(
        has(
            &c.problems,
            true,
            "users.table",
            &["ambiguous", "\"Users\" or \"users\""]
        ),
        "{:#?}",
        c.problems
    );
    let c = compile_with(
        &text.replace("\"Users\"", "\"Userz\""),
        vec![],
        &["Users", "tickets"],
    );
    assert!(
        has(
            &c.problems,
            true,
            "users.table",
            &["did you mean \"Users\"?"]
        ),
        "{:#?}",
        c.problems
    );
    // Two mapping keys for one column.
    let p = problems_of(
        "",
        "Email = { attr = \"emails.value\" }\nemail = { attr = \"title\" }",
    );
    assert!(
        has(
            &p,
            true,
            "users.columns.email",
            &["same column", "map it once"]
        ),
        "{p:#?}"
    );
}

#[test]
fn scope_and_soft_delete_null_forms() {
    let (m, problems) = reach();
    let deleted = m.scope.iter().find(|c| c.column == "DeletedAt").unwrap();
    assert_eq!(deleted.values, vec![HostValue::Null(ColumnKind::Timestamp)]);
    assert!(!deleted.negate);
    let archived = m.scope.iter().find(|c| c.column == "Archived").unwrap();
    assert_eq!(
        archived.values,
        vec![HostValue::Int(0), HostValue::Null(ColumnKind::Int)]
    );
    assert!(matches!(
        m.soft_delete.0.as_slice(),
        [(c, Fill::Now { kind: ColumnKind::Timestamp, .. })] if c == "DeletedAt"
    ));
    // The soft delete writes the time of the deletion.
    let before = chrono::Utc::now().naive_utc();
    let written: Vec<(String, HostValue)> = m.soft_delete.iter().collect();
    assert!(matches!(&written[..], [(_, HostValue::Timestamp(t))] if *t >= before));
    assert!(
        !problems.iter().any(|p| p.key == "users.scope"),
        "the deleted row leaves the scope: {problems:#?}"
    );
    // A new user is written into the scope: NULL for the null condition.
    let plan = m
        .to_row(
            &json!({"userName": "ann", "userType": "agent"}),
            Change::Insert,
        )
        .unwrap();
    let main = plan.main_values();
    assert!(main.contains(&("DeletedAt".into(), HostValue::Null(ColumnKind::Timestamp))));

    // Not NULL, and the misuses.
    let p = problems_of("scope = { DeletedAt = { null = false } }", "");
    assert!(!p.iter().any(|p| p.error), "{p:#?}");
    let p = problems_of(
        "scope = { UserName = { null = true }, Archived = [1, { null = false }], Email = { null = 1 } }",
        "",
    );
    assert!(
        has(
            &p,
            true,
            "users.scope.UserName",
            &["NOT NULL", "matches no row"]
        ),
        "{p:#?}"
    );
    assert!(
        has(&p, true, "users.scope.Archived", &["stands alone"]),
        "{p:#?}"
    );
    assert!(
        has(&p, true, "users.scope.Email", &["{ null = true }"]),
        "{p:#?}"
    );
    let p = problems_of(
        "on_delete = \"soft_delete\"\nsoft_delete = { DeletedAt = { null = false }, Flag = \"now\" }",
        "",
    );
    assert!(
        has(&p, true, "users.soft_delete.DeletedAt", &["names none"]),
        "{p:#?}"
    );
    assert!(
        has(&p, true, "users.soft_delete.Flag", &["\"now\""]),
        "{p:#?}"
    );
    // A soft delete the scope does not hide is still said.
    let p = problems_of(
        "on_delete = \"soft_delete\"\nsoft_delete = { Archived = 1 }\nscope = { DeletedAt = { null = true } }",
        "",
    );
    assert!(has(&p, false, "users.scope", &["still in scope"]), "{p:#?}");
}

#[test]
fn enum_columns_take_their_labels_only() {
    let (m, _) = reach();
    let ty = TypeName {
        schema: "public".into(),
        name: "user_type".into(),
    };
    let kind = m.scope.iter().find(|c| c.column == "Kind").unwrap();
    assert_eq!(
        kind.values,
        vec![
            HostValue::Cast(Box::new(HostValue::Text("agent".into())), ty.clone()),
            // Spelled "Customer" in the mapping: the label it names.
            HostValue::Cast(Box::new(HostValue::Text("customer".into())), ty.clone()),
        ]
    );
    let rule = m.rules.iter().find(|r| r.column == "Kind").unwrap();
    assert!(matches!(&rule.storage, Storage::Enum { cast: Some(t), .. } if *t == ty));
    // Writes carry the cast; a value that is no label is refused naming the labels.
    let plan = m
        .to_row(
            &json!({"userName": "ann", "userType": "Agent"}),
            Change::Insert,
        )
        .unwrap();
    assert!(plan.main_values().contains(&(
        "Kind".into(),
        HostValue::Cast(Box::new(HostValue::Text("agent".into())), ty.clone())
    )));
    let e = m
        .to_row(
            &json!({"userName": "ann", "userType": "boss"}),
            Change::Insert,
        )
        .unwrap_err();
    assert!(
        e.detail.contains("\"boss\"") && e.detail.contains("\"agent\", \"customer\", \"system\""),
        "{}",
        e.detail
    );
    // Constants, map values, defaults and scope values are checked by `check`.
    let p = problems_of(
        "scope = { Kind = \"robot\" }",
        "Availability = { attr = \"active\", map = { true = \"online\", false = \"gone\" } }\nEmail = { attr = \"emails.value\" }",
    );
    assert!(
        has(
            &p,
            true,
            "users.scope.Kind",
            &["\"robot\"", "\"agent\", \"customer\", \"system\""]
        ),
        "{p:#?}"
    );
    assert!(
        has(
            &p,
            true,
            "users.columns.Availability",
            &["\"gone\"", "\"online\", \"away\", \"offline\""]
        ),
        "{p:#?}"
    );
    let p = problems_of("", "Availability = { value = \"busy\" }");
    assert!(
        has(
            &p,
            true,
            "users.columns.Availability",
            &["\"busy\"", "\"away\""]
        ),
        "{p:#?}"
    );
    let p = problems_of(
        "",
        "Availability = { attr = \"nickName\", default = \"busy\" }",
    );
    assert!(
        has(
            &p,
            true,
            "users.columns.Availability",
            &["default", "\"busy\""]
        ),
        "{p:#?}"
    );
    // An enum cannot hold the userName, nor a random secret, nor the time.
    let p = problems_of("", "Availability = { value = \"now\" }");
    assert!(
        has(&p, true, "users.columns.Availability", &["\"now\""]),
        "{p:#?}"
    );
}

#[test]
fn binary_columns_hold_text() {
    let (m, _) = reach();
    let r = m.rules.iter().find(|r| r.column == "Signature").unwrap();
    assert_eq!(r.storage, Storage::Binary);
    assert!(r.reads() && m.read_columns.contains(&(0, "Signature".into())));
    let plan = m
        .to_row(
            &json!({"userName": "ann", "title": "Grüße"}),
            Change::Insert,
        )
        .unwrap();
    assert!(plan
        .main_values()
        .contains(&("Signature".into(), HostValue::Text("Grüße".into()))));
    // Adoption matching a binary column compares bytes: said.
    let p = problems_of(
        "match = [\"Signature\"]",
        "Signature = { attr = \"title\" }",
    );
    assert!(
        has(&p, false, "users.match", &["binary", "byte for byte"]),
        "{p:#?}"
    );
}

#[test]
fn now_is_written_in_the_columns_own_form() {
    let (m, problems) = reach();
    let before = chrono::Utc::now();
    let plan = m
        .to_row(
            &json!({"userName": "ann", "userType": "agent"}),
            Change::Insert,
        )
        .unwrap();
    let main = plan.main_values();
    let get = |c: &str| main.iter().find(|(n, _)| n == c).map(|(_, v)| v.clone());
    let Some(HostValue::Int(epoch)) = get("Created") else {
        panic!("{main:?}")
    };
    assert!(
        (epoch - before.timestamp()).abs() <= 2,
        "UNIX time: {epoch}"
    );
    assert_eq!(
        get("CreatedDay"),
        Some(HostValue::Date(before.date_naive()))
    );
    assert!(matches!(get("Updated"), Some(HostValue::Int(_))));
    assert!(
        !problems
            .iter()
            .any(|p| p.key.starts_with("users.columns.Created")),
        "time-named integer columns take UNIX time silently: {problems:#?}"
    );
    // An integer whose name says nothing of time is warned about; one too small, a boolean
    // and an enum are refused.
    let p = problems_of("", "Archived = { value = \"now\" }");
    assert!(
        has(
            &p,
            false,
            "users.columns.Archived",
            &["UNIX time", "constant"]
        ),
        "{p:#?}"
    );
    let p = problems_of("", "Status = { value = \"now\" }");
    assert!(
        has(
            &p,
            true,
            "users.columns.Status",
            &["UNIX time", "at most 32767"]
        ),
        "{p:#?}"
    );
    let p = problems_of("", "Flag = { value = \"now\" }");
    assert!(
        has(&p, true, "users.columns.Flag", &["\"now\"", "boolean"]),
        "{p:#?}"
    );
}

#[test]
fn random_fills_are_fresh_secrets_made_once_per_row() {
    let (m, _) = reach();
    let r = m.rules.iter().find(|r| r.column == "Cookie").unwrap();
    assert_eq!(r.on, When::Insert, "made when the row is inserted");
    assert!(!r.reads(), "never read back");
    assert!(
        matches!(&r.source, Source::Template(p) if matches!(p.as_slice(), [TemplatePart::Random(_)]))
    );
    assert!(!m.read_columns.iter().any(|(_, c)| c == "Cookie"));
    let user = json!({"userName": "ann", "userType": "agent"});
    let cookie = |plan: &crate::mapping::convert::RowPlan| {
        plan.main_values()
            .into_iter()
            .find(|(c, _)| c == "Cookie")
            .map(|(_, v)| v)
    };
    let a = cookie(&m.to_row(&user, Change::Insert).unwrap());
    let b = cookie(&m.to_row(&user, Change::Insert).unwrap());
    let (Some(HostValue::Text(a)), Some(HostValue::Text(b))) = (a, b) else {
        panic!()
    };
    assert_eq!(a.len(), 32);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
    assert_ne!(a, b, "a fresh secret for each row");
    // Not the user's attributes, and never rewritten by an update.
    assert!(!a.contains("ann"));
    let before = json!({"userName": "ann", "userType": "agent"});
    let update = m
        .to_row(
            &json!({"userName": "bob", "userType": "agent"}),
            Change::Update {
                before: &before,
                strict: false,
                sent: None,
            },
        )
        .unwrap();
    assert!(cookie(&update).is_none());
    assert!(!update.bookkeeping[0].iter().any(|(c, _)| c == "Cookie"));

    let p = problems_of("", "Email = { value = { random = 8 } }");
    assert!(
        has(&p, true, "users.columns.Email", &["48 bits", "random = 11"]),
        "{p:#?}"
    );
    let p = problems_of(
        "",
        "Email = { value = { random = 15, alphabet = \"hex\" } }",
    );
    assert!(
        has(&p, true, "users.columns.Email", &["random = 16"]),
        "hex: 4 bits each: {p:#?}"
    );
    let p = problems_of(
        "",
        "Email = { value = { random = 20, alphabet = \"digits\" } }",
    );
    assert!(!p.iter().any(|p| p.error), "66 bits: {p:#?}");
    let p = problems_of(
        "",
        "Email = { value = { random = 24, alphabet = \"base32\" } }",
    );
    assert!(
        has(
            &p,
            true,
            "users.columns.Email",
            &["unknown alphabet", "\"hex\""]
        ),
        "{p:#?}"
    );
    let p = problems_of("", "Email = { value = { random = 200 } }");
    assert!(
        has(&p, true, "users.columns.Email", &["at most 100"]),
        "{p:#?}"
    );
    let p = problems_of("", "Archived = { value = { random = 32 } }");
    assert!(
        has(&p, true, "users.columns.Archived", &["text column"]),
        "{p:#?}"
    );
    let p = problems_of(
        "",
        "Email = { value = { random = 32 }, transform = \"lowercase\" }",
    );
    assert!(
        has(&p, true, "users.columns.Email", &["made by the bridge"]),
        "{p:#?}"
    );
    let p = problems_of("", "Email = { value = { length = 32 } }");
    assert!(
        has(
            &p,
            true,
            "users.columns.Email",
            &["unknown key \"length\"", "random = 32"]
        ),
        "{p:#?}"
    );
}

#[test]
fn templates_keep_their_literal_text() {
    let (m, _) = reach();
    let plan = m
        .to_row(
            &json!({"userName": "ann", "userType": "agent"}),
            Change::Insert,
        )
        .unwrap();
    assert!(plan
        .main_values()
        .contains(&("ExternalRef".into(), HostValue::Text("scim:ann".into()))));
    let text = "[users]\ntable = \"Users\"\nkey = \"Id\"\non_delete = \"ignore\"\n[users.columns]\nUserName = { attr = \"userName\" }\nKind = { value = \"agent\" }\nCookie = { value = \"x\" }\nCreated = { value = 0 }\nEmail = { template = \"<{name.familyName}, {name.givenName}>\" }\n";
    let m = compile_with(text, vec![("Users", users())], &[])
        .mapping
        .unwrap();
    let email = |u: serde_json::Value| {
        m.to_row(&u, Change::Insert)
            .unwrap()
            .main_values()
            .into_iter()
            .find(|(c, _)| c == "Email")
            .map(|(_, v)| v)
    };
    assert_eq!(
        email(json!({"userName": "a", "name": {"givenName": "Ann", "familyName": "Lee"}})),
        Some(HostValue::Text("<Lee, Ann>".into()))
    );
    assert_eq!(
        email(json!({"userName": "a", "name": {"givenName": "Ann"}})),
        Some(HostValue::Text("<Ann>".into())),
        "the separator only between present values, the template's own text always"
    );
    // Read back: the literal text is not part of the values.
    let values: Vec<HostValue> = m
        .read_columns
        .iter()
        .map(|(_, c)| match c.as_str() {
            "UserName" => HostValue::Text("a".into()),
            "Email" => HostValue::Text("<Lee, Ann>".into()),
            _ => HostValue::Null(ColumnKind::Text),
        })
        .collect();
    let r = m.to_resource(&values, &[], None);
    assert_eq!(r["name"], json!({"givenName": "Ann", "familyName": "Lee"}));
}

#[test]
fn a_template_never_becomes_where_an_attribute_is_read_from() {
    // The column sorts before the login column, as a login cookie once did.
    let p = problems_of(
        "",
        "ExternalRef = { template = \"{userName}-{name.familyName}\" }",
    );
    assert!(
        has(
            &p,
            true,
            "users.columns.ExternalRef",
            &[
                "\"userName\" is also read from column \"UserName\"",
                "direction = \"to_host\""
            ]
        ),
        "{p:#?}"
    );
    let p = problems_of(
        "",
        "Email = { template = \"{name.givenName}{name.familyName}\" }",
    );
    assert!(
        has(
            &p,
            true,
            "users.columns.Email",
            &["nothing separates", "direction = \"to_host\""]
        ),
        "{p:#?}"
    );
    // Written only, it is fine, and check says where userName is read from.
    let (m, problems) = reach();
    assert!(
        has(
            &problems,
            false,
            "users.columns.username",
            &[
                "userName is read from column \"UserName\"",
                "\"ExternalRef\" (template \"scim:{userName}\", written only)"
            ]
        ),
        "{problems:#?}"
    );
    // Even if a template were read, the login column wins.
    let mut m = m;
    let t = m
        .rules
        .iter()
        .position(|r| r.column == "ExternalRef")
        .unwrap();
    m.rules[t].direction = crate::mapping::model::Direction::Both;
    m.read_columns.insert(0, (0, "ExternalRef".into()));
    let values: Vec<HostValue> = m
        .read_columns
        .iter()
        .map(|(_, c)| match c.as_str() {
            "ExternalRef" => HostValue::Text("ABC123".into()),
            "UserName" => HostValue::Text("ann".into()),
            _ => HostValue::Null(ColumnKind::Text),
        })
        .collect();
    assert_eq!(m.to_resource(&values, &[], None)["userName"], "ann");
}

#[test]
fn tables_that_cannot_roll_back_are_named_with_the_fix() {
    let file = parse_str(REACH).unwrap();
    let tables: HashMap<String, HostTable> = [("users".to_string(), users())].into_iter().collect();
    let p = engine_problems(&file, &tables, &[("Users".into(), "MyISAM".into())]);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(!p[0].error);
    assert_eq!(p[0].key, "users.table");
    assert!(
        p[0].message.contains("MyISAM")
            && p[0].message.contains("ALTER TABLE `Users` ENGINE=InnoDB")
            && p[0].message.contains("accept partial writes"),
        "{}",
        p[0].message
    );
    assert!(engine_problems(&file, &tables, &[("other".into(), "MyISAM".into())]).is_empty());
}

#[test]
fn listings_describe_each_source() {
    let (m, _) = reach();
    let d = |c: &str| {
        m.rules
            .iter()
            .find(|r| r.column == c)
            .unwrap()
            .source
            .describe()
    };
    assert_eq!(
        d("Cookie"),
        "random 32 characters (alphanumeric), new for each row inserted"
    );
    assert_eq!(d("ExternalRef"), "template \"scim:{userName}\"");
    assert_eq!(d("Created"), "now");
}
