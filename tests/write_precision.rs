//! Write precision (issue 15): a write touches only the columns whose value the request
//! changes; adoption merges and never clears; a no-op PUT or PATCH writes nothing, not even
//! `updated_at`; the audit trail names only what changed.
//!
//! Every check compares WHOLE host rows — every column of the user's row and of its joined
//! and child rows, each cast to text — before and after the request, not just the SCIM answer.
//! Timestamps the bridge may bump are first set to an old value with SQL, so a write within
//! the same second is still visible.

mod common;

use common::patch_op as patch;
use common::*;
use serde_json::{json, Value};

type Rows = Vec<Vec<(String, Option<String>)>>;

/// A timestamp no write of the bridge can produce.
const OLD: &str = "2001-01-01 00:00:00";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The columns whose value differs between two snapshots of the same rows (sorted); the
/// snapshots must hold the same rows in the same order.
fn changed(before: &Rows, after: &Rows) -> Vec<String> {
    assert_eq!(
        before.len(),
        after.len(),
        "rows appeared or vanished:\nbefore {before:?}\nafter  {after:?}"
    );
    let mut out: Vec<String> = Vec::new();
    for (b, a) in before.iter().zip(after) {
        assert_eq!(b.len(), a.len());
        for ((col, bv), (acol, av)) in b.iter().zip(a) {
            assert_eq!(col, acol);
            if bv != av && !out.contains(col) {
                out.push(col.clone());
            }
        }
    }
    out.sort();
    out
}

/// One column's value in a whole row.
fn col<'a>(row: &'a [(String, Option<String>)], name: &str) -> Option<&'a str> {
    row.iter()
        .find(|(c, _)| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {row:?}"))
        .1
        .as_deref()
}

/// What Okta's create sends, with the given emails.
fn okta(user_name: &str, given: &str, family: &str, emails: Value) -> Value {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{}", user_name.len()),
        "password": "1mz050nq",
        "active": true
    });
    body["emails"] = emails;
    body
}

fn work_email(value: &str) -> Value {
    json!([{"value": value, "type": "work", "primary": true}])
}

/// A preset's mapping with extra keys in its `[users]` table, written into the test's
/// directory; the server runs over a fresh copy of the fixture helpdesk.
async fn spawn_variant(b: Backend, helpdesk: &str, preset: &str, users_keys: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = helpdesk_database(b, dir.path(), helpdesk).await;
    let text = std::fs::read_to_string(format!("{REPO}/mappings/{preset}.toml")).unwrap();
    assert!(text.contains("[users]\n"));
    let text = text.replacen("[users]\n", &format!("[users]\n{users_keys}\n"), 1);
    let path = dir.path().join("mapping.toml");
    std::fs::write(&path, text).unwrap();
    let mapping = path.display().to_string();
    spawn_on_url(
        b,
        url,
        dir,
        Options {
            mapping,
            extra_config: String::new(),
        },
    )
    .await
}

async fn audit_count(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM scim_audit").await
}

/// The newest audit entry: (operation, attributes).
async fn last_audit(app: &TestApp) -> (String, String) {
    let r = app
        .rows("SELECT operation, attributes FROM scim_audit ORDER BY id DESC")
        .await;
    let r = r.first().expect("an audit entry");
    (r[0].clone().unwrap(), r[1].clone().unwrap_or_default())
}

// ---------------------------------------------------------------------------------------
// GLPI: glpi_users + glpi_useremails (is_default marks the primary) + glpi_usertitles.

/// Kenji.Wong (id 9) is disabled (is_active 0) and has a mobile number, language, timezone,
/// title, supervisor and default group; the test gives him every other mapped column too, a
/// local authtype (1; new users get 4, insert-only), a mixed-case primary address and a
/// second address row.
async fn glpi_kenji(app: &TestApp) {
    app.exec(
        "UPDATE glpi_users SET phone = '+81 3 0000 0000', phone2 = '+81 3 1111 1111', \
         nickname = 'KW', registration_number = 'EMP-0009', authtype = 1 WHERE id = 9",
    )
    .await;
    app.exec("UPDATE glpi_useremails SET email = 'Kenji.Wong@Helpdesk.example' WHERE id = 4")
        .await;
    app.exec(
        "INSERT INTO glpi_useremails (users_id, is_default, is_dynamic, email) \
         VALUES (9, 0, 0, 'Kenji@Home.Example')",
    )
    .await;
}

struct Glpi {
    user: Rows,
    emails: Rows,
    titles: Rows,
    groups: Rows,
}

async fn glpi_snapshot(app: &TestApp, id: &str) -> Glpi {
    Glpi {
        user: app
            .whole_rows("glpi_users", &format!("id = {id}"), "id")
            .await,
        emails: app
            .whole_rows("glpi_useremails", &format!("users_id = {id}"), "id")
            .await,
        titles: app.whole_rows("glpi_usertitles", "1 = 1", "id").await,
        groups: app.whole_rows("glpi_groups_users", "1 = 1", "id").await,
    }
}

/// The adopting POST: userName differing from the login in case only, a new family name, the
/// primary address in another case, and Okta's `active: true`.
fn kenji_post() -> Value {
    okta(
        "kenji.wong",
        "Kenji",
        "Wong-Tanaka",
        work_email("kenji.wong@helpdesk.example"),
    )
}

async fn glpi_adoption_merges(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    glpi_kenji(&app).await;
    let before = glpi_snapshot(&app, "9").await;
    assert_eq!(col(&before.user[0], "is_active"), Some("0"));
    assert_eq!(before.emails.len(), 2);

    let r = app.post("/Users", &kenji_post()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "9", "adopted, not duplicated");
    assert_eq!(
        r.body["active"], false,
        "the answer shows the state stored: the disabled account stays disabled"
    );
    assert_eq!(r.body["name"]["familyName"], "Wong-Tanaka");
    assert_eq!(r.body["title"], "Support Engineer", "{}", r.body);
    assert_eq!(r.body["timezone"], "Asia/Tokyo");
    assert_eq!(r.body["nickName"], "KW");
    assert_eq!(r.body[ENTERPRISE]["employeeNumber"], "EMP-0009");
    assert_eq!(r.body["phoneNumbers"].as_array().map(Vec::len), Some(3));
    assert_eq!(r.body["emails"].as_array().map(Vec::len), Some(2));

    let after = glpi_snapshot(&app, "9").await;
    assert_eq!(
        changed(&before.user, &after.user),
        ["date_mod", "realname"],
        "only the family name the POST changed (and the bookkeeping timestamp)"
    );
    assert_eq!(col(&after.user[0], "realname"), Some("Wong-Tanaka"));
    assert_eq!(
        col(&after.user[0], "name"),
        Some("Kenji.Wong"),
        "the login keeps the application's spelling"
    );
    assert_eq!(
        before.emails, after.emails,
        "both address rows byte for byte: the primary keeps its spelling and flags, the second survives"
    );
    assert_eq!(before.titles, after.titles);
    assert_eq!(before.groups, after.groups);
    // The other users are untouched.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM glpi_users WHERE date_mod > '2024-06-01'")
            .await,
        1
    );
    let (op, attrs) = last_audit(&app).await;
    assert_eq!(op, "adopt");
    for not in ["userName", "emails", "active", "title", "phoneNumbers"] {
        assert!(
            !attrs.split(',').any(|a| a == not),
            "{not} did not change: {attrs}"
        );
    }
    assert!(attrs.split(',').any(|a| a == "name"), "{attrs}");
    app.stop().await;
}

async fn glpi_adoption_with_state_from_idp(b: Backend) {
    let app = spawn_variant(b, "glpi", "glpi", "adopt_state = \"idp\"").await;
    glpi_kenji(&app).await;
    let before = glpi_snapshot(&app, "9").await;
    let r = app.post("/Users", &kenji_post()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "9");
    assert_eq!(
        r.body["active"], true,
        "adopt_state = idp: the request's state"
    );
    let after = glpi_snapshot(&app, "9").await;
    assert_eq!(
        changed(&before.user, &after.user),
        ["date_mod", "is_active", "realname"]
    );
    assert_eq!(col(&after.user[0], "is_active"), Some("1"));
    assert_eq!(col(&after.user[0], "name"), Some("Kenji.Wong"));
    assert_eq!(before.emails, after.emails, "still a merge");
    app.stop().await;
}

async fn glpi_adoption_with_overwrite(b: Backend) {
    let app = spawn_variant(b, "glpi", "glpi", "adopt_overwrite = true").await;
    glpi_kenji(&app).await;
    let before = glpi_snapshot(&app, "9").await;
    let r = app.post("/Users", &kenji_post()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "9");
    assert_eq!(
        r.body["active"], false,
        "the state follows adopt_state (keep), not adopt_overwrite"
    );
    let after = glpi_snapshot(&app, "9").await;
    let mut cleared = changed(&before.user, &after.user);
    // The login may or may not be re-spelled by a full replacement; everything else is exact.
    cleared.retain(|c| c != "name");
    assert_eq!(
        cleared,
        [
            "date_mod",
            "mobile",
            "nickname",
            "phone",
            "phone2",
            "realname",
            "registration_number",
            "timezone",
            "usertitles_id"
        ],
        "full replacement: every mapped attribute the POST lacks is cleared"
    );
    let u = &after.user[0];
    for c in [
        "phone",
        "phone2",
        "mobile",
        "nickname",
        "registration_number",
        "timezone",
    ] {
        assert_eq!(col(u, c), None, "{c}");
    }
    assert_eq!(col(u, "usertitles_id"), Some("0"), "the lookup's none");
    assert_eq!(col(u, "is_active"), Some("0"));
    assert_eq!(
        after.emails.len(),
        1,
        "the child rows become exactly the request's: {:?}",
        after.emails
    );
    assert_eq!(
        col(&after.emails[0], "id"),
        col(&before.emails[0], "id"),
        "the matched address row keeps its key"
    );
    assert_eq!(col(&after.emails[0], "is_default"), Some("1"));
    app.stop().await;
}

/// After an adoption that kept the login's spelling and the application's second address, the
/// identity provider's next profile push (a PUT of the very profile it POSTed) undoes neither:
/// it sends the same userName as before, and it never sent the second address, so that
/// address is not "no longer sent".
async fn glpi_put_after_adoption_keeps_the_application_s_addresses(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    glpi_kenji(&app).await;
    let r = app.post("/Users", &kenji_post()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let adopted = glpi_snapshot(&app, "9").await;
    assert_eq!(adopted.emails.len(), 2);
    let r = app.put("/Users/9", &kenji_post()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = glpi_snapshot(&app, "9").await;
    assert_eq!(
        col(&after.user[0], "name"),
        Some("Kenji.Wong"),
        "the same userName again: the login keeps the spelling adoption kept"
    );
    assert_eq!(
        adopted.emails, after.emails,
        "the same profile again: the application's second address stays, the primary keeps its spelling"
    );
    app.stop().await;
}

/// Adoption merges a multi-valued attribute mapped onto several columns by type as it merges
/// child rows: a POST with a work phone only leaves the mobile and other numbers the
/// application holds.
async fn glpi_adoption_keeps_phone_numbers_of_other_types(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    glpi_kenji(&app).await;
    let before = glpi_snapshot(&app, "9").await;
    let mut body = kenji_post();
    body["phoneNumbers"] = json!([{"value": "+81 3 9999 9999", "type": "work"}]);
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let after = glpi_snapshot(&app, "9").await;
    assert_eq!(
        changed(&before.user, &after.user),
        ["date_mod", "phone", "realname"],
        "the work number and the family name change; mobile and phone2 are the application's"
    );
    assert_eq!(col(&after.user[0], "mobile"), Some("+81 90 0000 0000"));
    assert_eq!(col(&after.user[0], "phone2"), Some("+81 3 1111 1111"));
    app.stop().await;
}

/// PUT: a phone number of a type the identity provider never sent (the application's mobile
/// number) stays when the identity provider sends its work number.
async fn glpi_put_keeps_a_phone_type_the_idp_never_sent(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    let body = okta(
        "paula.phone",
        "Paula",
        "Phone",
        work_email("paula.phone@example.com"),
    );
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    app.exec(&format!(
        "UPDATE glpi_users SET mobile = '+49 170 0000000', date_mod = '{OLD}' WHERE id = {id}"
    ))
    .await;
    let before = glpi_snapshot(&app, &id).await;
    let mut put = body.clone();
    put["phoneNumbers"] = json!([{"value": "+49 30 0000000", "type": "work"}]);
    let r = app.put(&format!("/Users/{id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = glpi_snapshot(&app, &id).await;
    assert_eq!(
        changed(&before.user, &after.user),
        ["date_mod", "phone"],
        "the work number is written; the mobile number was never the identity provider's"
    );
    assert_eq!(col(&after.user[0], "mobile"), Some("+49 170 0000000"));
    app.stop().await;
}

/// alice.anderson (id 11): one address, written by the application (is_dynamic 0), in mixed
/// case; date_mod aged.
async fn glpi_alice(app: &TestApp) {
    app.exec("UPDATE glpi_useremails SET email = 'Alice.Anderson@Acme.Example' WHERE id = 6")
        .await;
    app.exec(&format!(
        "UPDATE glpi_users SET date_mod = '{OLD}' WHERE id = 11"
    ))
    .await;
}

/// A PUT whose emails differ from the stored ones only in a sub-attribute the application
/// has no column for (Okta always sends `type: "work"`) changes no host data: the address row
/// keeps its spelling and its `is_dynamic` flag, and `date_mod` is not bumped.
async fn glpi_put_of_an_unstored_email_type_writes_nothing(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    glpi_alice(&app).await;
    let before = glpi_snapshot(&app, "11").await;
    let audits = audit_count(&app).await;
    let mut echo = app.get("/Users/11").await.body;
    assert_eq!(echo["emails"][0]["value"], "Alice.Anderson@Acme.Example");
    // GLPI stores no type: the primary address reads as the work one (see README).
    assert_eq!(echo["emails"][0]["type"], "work", "{echo}");
    // The plain echo writes nothing.
    let r = app.put("/Users/11", &echo).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = glpi_snapshot(&app, "11").await;
    assert_eq!(changed(&before.user, &after.user), Vec::<String>::new());
    assert_eq!(before.emails, after.emails);
    assert_eq!(audit_count(&app).await, audits);
    // Another type, which GLPI has no column for either.
    echo["emails"][0]["type"] = json!("other");
    let r = app.put("/Users/11", &echo).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = glpi_snapshot(&app, "11").await;
    assert_eq!(
        (
            changed(&before.user, &after.user),
            changed(&before.emails, &after.emails)
        ),
        (vec![], vec![]),
        "only `type` differs, which GLPI does not store: nothing is written"
    );
    assert_eq!(audit_count(&app).await, audits);
    app.stop().await;
}

/// A PUT that adds a second address inserts that row and leaves the application's first row
/// as it is (its spelling, its is_dynamic = 0).
async fn glpi_put_adding_an_address_leaves_the_other_row(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    glpi_alice(&app).await;
    let before = glpi_snapshot(&app, "11").await;
    let mut put = app.get("/Users/11").await.body;
    put["emails"] = json!([
        {"value": "Alice.Anderson@Acme.Example", "primary": true},
        {"value": "alice@home.example", "type": "home"}
    ]);
    let r = app.put("/Users/11", &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = glpi_snapshot(&app, "11").await;
    assert_eq!(changed(&before.user, &after.user), ["date_mod"]);
    assert_eq!(after.emails.len(), 2, "{:?}", after.emails);
    assert_eq!(col(&after.emails[1], "email"), Some("alice@home.example"));
    assert_eq!(col(&after.emails[1], "is_default"), Some("0"));
    assert_eq!(last_audit(&app).await, ("replace".into(), "emails".into()));
    assert_eq!(
        changed(&before.emails, &after.emails[..1].to_vec()),
        Vec::<String>::new(),
        "the application's row keeps its spelling and is_dynamic = 0"
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// osTicket: ost_user + ost_user_account (joined; LOCKED bit) + ost_user_email (children;
// default_email_id points at the primary).

struct Ost {
    user: Rows,
    account: Rows,
    emails: Rows,
}

async fn ost_snapshot(app: &TestApp, id: &str) -> Ost {
    Ost {
        user: app
            .whole_rows("ost_user", &format!("id = {id}"), "id")
            .await,
        account: app
            .whole_rows("ost_user_account", &format!("user_id = {id}"), "id")
            .await,
        emails: app
            .whole_rows("ost_user_email", &format!("user_id = {id}"), "id")
            .await,
    }
}

/// bbrown (user 2): a LOCKED portal account (status 3), lang en_GB, timezone Europe/London,
/// the primary address 'Bob.Brown@Acme.Example'; the test adds a second address.
async fn ost_bob(app: &TestApp) {
    app.exec(
        "INSERT INTO ost_user_email (user_id, flags, address) VALUES (2, 0, 'bob@home.example')",
    )
    .await;
}

fn bob_post() -> Value {
    okta(
        "BBrown",
        "Bob",
        "Brown",
        work_email("bob.brown@acme.example"),
    )
}

async fn osticket_adoption_changes_nothing_it_was_not_asked_to(b: Backend) {
    let app = spawn_helpdesk(b, "osticket", "osticket").await;
    ost_bob(&app).await;
    let before = ost_snapshot(&app, "2").await;
    assert_eq!(col(&before.account[0], "status"), Some("3"));
    let r = app.post("/Users", &bob_post()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "2");
    assert_eq!(r.body["active"], false, "the locked account stays locked");
    assert_eq!(r.body["preferredLanguage"], "en_GB");
    assert_eq!(r.body["timezone"], "Europe/London");
    let after = ost_snapshot(&app, "2").await;
    assert_eq!(
        changed(&before.user, &after.user),
        Vec::<String>::new(),
        "same name: ost_user untouched, `updated` included"
    );
    assert_eq!(
        changed(&before.account, &after.account),
        Vec::<String>::new(),
        "username keeps its spelling (bbrown), LOCKED stays, lang/timezone/passwd kept"
    );
    assert_eq!(
        before.emails, after.emails,
        "the primary keeps its spelling, the second address survives"
    );
    let (op, attrs) = last_audit(&app).await;
    assert_eq!(op, "adopt");
    for not in ["userName", "name", "emails", "active"] {
        assert!(
            !attrs.split(',').any(|a| a == not),
            "{not} did not change: {attrs}"
        );
    }
    // Okta's next GET shows the stored state.
    let g = app.get("/Users/2").await;
    assert_eq!(g.body["active"], false);
    app.stop().await;
}

/// Jürgen (user 3) has two addresses and an LDAP account row without a username: adopted by
/// his primary address, the account gets the username and nothing else changes (status,
/// backend, lang, timezone, both address rows, the pointer).
async fn osticket_adoption_by_address_fills_only_the_missing_login(b: Backend) {
    let app = spawn_helpdesk(b, "osticket", "osticket").await;
    let before = ost_snapshot(&app, "3").await;
    assert_eq!(before.emails.len(), 2);
    assert_eq!(col(&before.account[0], "username"), None);
    let r = app
        .post(
            "/Users",
            &okta(
                "Juergen.Mueller@globex.example",
                "Jürgen",
                "Müller",
                work_email("Juergen.Mueller@globex.example"),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "3");
    let after = ost_snapshot(&app, "3").await;
    assert_eq!(changed(&before.account, &after.account), ["username"]);
    assert_eq!(
        col(&after.account[0], "username"),
        Some("Juergen.Mueller@globex.example")
    );
    assert_eq!(changed(&before.user, &after.user), ["updated"]);
    assert_eq!(before.emails, after.emails);
    let (op, attrs) = last_audit(&app).await;
    assert_eq!(op, "adopt");
    assert!(attrs.split(',').any(|a| a == "userName"), "{attrs}");
    assert!(
        !attrs.split(',').any(|a| a == "emails" || a == "name"),
        "{attrs}"
    );
    app.stop().await;
}

async fn osticket_adoption_with_state_from_idp(b: Backend) {
    let app = spawn_variant(b, "osticket", "osticket", "adopt_state = \"idp\"").await;
    ost_bob(&app).await;
    let before = ost_snapshot(&app, "2").await;
    let r = app.post("/Users", &bob_post()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["active"], true);
    let after = ost_snapshot(&app, "2").await;
    assert_eq!(changed(&before.account, &after.account), ["status"]);
    assert_eq!(
        col(&after.account[0], "status"),
        Some("1"),
        "LOCKED (0x2) cleared, CONFIRMED (0x1) kept"
    );
    assert_eq!(changed(&before.user, &after.user), ["updated"]);
    assert_eq!(before.emails, after.emails);
    app.stop().await;
}

/// osTicket's address rows: a PUT whose emails differ only in `type` writes nothing — the
/// address keeps its spelling, `updated` is not bumped.
async fn osticket_put_rewrites_no_address_it_did_not_change(b: Backend) {
    let app = spawn_helpdesk(b, "osticket", "osticket").await;
    let before = ost_snapshot(&app, "2").await;
    let audits = audit_count(&app).await;
    let mut echo = app.get("/Users/2").await.body;
    assert_eq!(echo["emails"][0]["value"], "Bob.Brown@Acme.Example");
    // The plain echo writes nothing.
    let r = app.put("/Users/2", &echo).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = ost_snapshot(&app, "2").await;
    assert_eq!(before.user, after.user);
    assert_eq!(before.account, after.account);
    assert_eq!(before.emails, after.emails);
    assert_eq!(audit_count(&app).await, audits);
    echo["emails"][0]["type"] = json!("work");
    let r = app.put("/Users/2", &echo).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = ost_snapshot(&app, "2").await;
    assert_eq!(
        (
            changed(&before.user, &after.user),
            changed(&before.account, &after.account),
            changed(&before.emails, &after.emails)
        ),
        (vec![], vec![], vec![]),
        "only `type` differs, which osTicket does not store: nothing is written"
    );
    assert_eq!(audit_count(&app).await, audits);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Zammad: users (+ updated_by_id bookkeeping) and roles_users (joined, where role_id = 3).

struct Zammad {
    user: Rows,
    roles: Vec<Vec<Option<String>>>,
}

async fn zammad_snapshot(app: &TestApp, id: &str) -> Zammad {
    Zammad {
        user: app.whole_rows("users", &format!("id = {id}"), "id").await,
        roles: app
            .rows(&format!(
                "SELECT CAST(user_id AS {{T}}), CAST(role_id AS {{T}}) FROM roles_users \
                 WHERE user_id = {id} ORDER BY role_id"
            ))
            .await,
    }
}

/// The case on a real preset: Bob (id 7) is stored as 'Bob.Brown@Acme.Example' and the
/// email column lower-cases; deactivating him writes `active` and `updated_at` only.
async fn zammad_patch_active_leaves_the_email(b: Backend) {
    let app = spawn_helpdesk(b, "zammad", "zammad").await;
    app.exec(&format!(
        "UPDATE users SET updated_at = '{OLD}' WHERE id = 7"
    ))
    .await;
    let before = zammad_snapshot(&app, "7").await;
    let r = app
        .patch(
            "/Users/7",
            &patch(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = zammad_snapshot(&app, "7").await;
    assert_eq!(changed(&before.user, &after.user), ["active", "updated_at"]);
    assert_eq!(col(&after.user[0], "email"), Some("Bob.Brown@Acme.Example"));
    assert_eq!(before.roles, after.roles);
    app.stop().await;
}

/// An agent (maria.garcia, id 3: role 2, no Customer row in roles_users, updated_by_id 2):
/// a PATCH and a PUT that change nothing write nothing — no Customer role row, no
/// updated_at / updated_by_id.
async fn zammad_no_op_write_of_an_agent_writes_nothing(b: Backend) {
    let app = spawn_helpdesk(b, "zammad", "zammad").await;
    app.exec(&format!(
        "UPDATE users SET updated_at = '{OLD}' WHERE id = 3"
    ))
    .await;
    let before = zammad_snapshot(&app, "3").await;
    assert_eq!(before.roles.len(), 1);
    let audits = audit_count(&app).await;
    let r = app
        .patch(
            "/Users/3",
            &patch(json!([{"op": "replace", "value": {"active": true}}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = zammad_snapshot(&app, "3").await;
    assert_eq!(
        (changed(&before.user, &after.user), after.roles),
        (vec![], before.roles.clone()),
        "a no-op PATCH: no column, no role row"
    );
    let echo = app.get("/Users/3").await.body;
    let r = app.put("/Users/3", &echo).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = zammad_snapshot(&app, "3").await;
    assert_eq!(
        (changed(&before.user, &after.user), after.roles),
        (vec![], before.roles.clone()),
        "a PUT echo: no column, no role row"
    );
    assert_eq!(audit_count(&app).await, audits);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// The demo helpdesk: one `users` table; email has transform lowercase.

/// Makes the demo's email index unique and case-sensitive (as some applications have it) and
/// gives another row Bob's address in lower case.
async fn demo_unique_email(app: &TestApp) {
    if app.backend == Backend::Mysql {
        app.exec(
            "ALTER TABLE users MODIFY email VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
        )
        .await;
    }
    app.exec("CREATE UNIQUE INDEX users_email_exact ON users (email)")
        .await;
    app.exec(
        "INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) \
         VALUES ('bob.other', 'bob.brown@acme.example', 'Bobby', 'Other', TRUE, 'customer', '!', \
         '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
    )
    .await;
}

async fn age(app: &TestApp, id: &str) {
    app.exec(&format!(
        "UPDATE users SET updated_at = '{OLD}' WHERE id = {id}"
    ))
    .await;
}

async fn demo_row(app: &TestApp, id: &str) -> Rows {
    app.whole_rows("users", &format!("id = {id}"), "id").await
}

async fn demo_others(app: &TestApp, id: &str) -> Rows {
    app.whole_rows("users", &format!("id <> {id}"), "id").await
}

async fn patch_touches_only_the_named_columns(b: Backend) {
    let app = spawn_app(b).await;
    demo_unique_email(&app).await;
    // Bob (id 3) is stored as 'Bob.Brown@Acme.Example'; the lower-cased spelling is another
    // row's, so rewriting his email through its transform would collide.
    age(&app, "3").await;
    let others = demo_others(&app, "3").await;
    let before = demo_row(&app, "3").await;
    let audits = audit_count(&app).await;

    let r = app
        .patch(
            "/Users/3",
            &patch(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let after = demo_row(&app, "3").await;
    assert_eq!(changed(&before, &after), ["active", "updated_at"]);
    assert_eq!(col(&after[0], "email"), Some("Bob.Brown@Acme.Example"));
    assert_eq!(audit_count(&app).await, audits + 1);
    assert_eq!(last_audit(&app).await, ("patch".into(), "active".into()));

    // A PATCH of the family name writes the lastname column only, not the email.
    age(&app, "3").await;
    let before = demo_row(&app, "3").await;
    let r = app
        .patch(
            "/Users/3",
            &patch(json!([{"op": "replace", "path": "name.familyName", "value": "Browne"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = demo_row(&app, "3").await;
    assert_eq!(changed(&before, &after), ["lastname", "updated_at"]);
    assert_eq!(col(&after[0], "lastname"), Some("Browne"));
    assert_eq!(col(&after[0], "email"), Some("Bob.Brown@Acme.Example"));
    assert_eq!(last_audit(&app).await, ("patch".into(), "name".into()));

    // Reactivation: again only the state.
    age(&app, "3").await;
    let before = demo_row(&app, "3").await;
    let r = app
        .patch(
            "/Users/3",
            &patch(json!([{"op": "replace", "path": "active", "value": true}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        changed(&before, &demo_row(&app, "3").await),
        ["active", "updated_at"]
    );

    // DELETE (on_delete = "deactivate") writes only the state into the row; the user is then
    // deleted as far as SCIM is concerned (one audit entry), and a later PATCH writes nothing.
    age(&app, "3").await;
    let before = demo_row(&app, "3").await;
    let audits = audit_count(&app).await;
    assert_eq!(app.delete("/Users/3").await.status, 204);
    assert_eq!(
        changed(&before, &demo_row(&app, "3").await),
        ["active", "updated_at"]
    );
    assert_eq!(audit_count(&app).await, audits + 1);
    let before = demo_row(&app, "3").await;
    app.patch(
        "/Users/3",
        &patch(json!([{"op": "replace", "path": "active", "value": true}])),
    )
    .await
    .assert_error(404, None);
    assert_eq!(
        changed(&before, &demo_row(&app, "3").await),
        Vec::<String>::new()
    );

    assert_eq!(
        others,
        demo_others(&app, "3").await,
        "no other row was touched"
    );
    app.stop().await;
}

/// The bridge's record of a user (its link row), whole.
async fn link_row(app: &TestApp, id: &str) -> Rows {
    app.whole_rows("scim_users", &format!("host_key = '{id}'"), "host_key")
        .await
}

async fn no_op_put_and_patch_write_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let body = okta_user("echo.user@example.com", "Echo", "User");
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    age(&app, &id).await;
    let row = demo_row(&app, &id).await;
    let link = link_row(&app, &id).await;
    assert_eq!(link.len(), 1);
    let audits = audit_count(&app).await;
    let unchanged = |what: &'static str| {
        let (app, id, row, link) = (&app, id.clone(), row.clone(), link.clone());
        async move {
            assert_eq!(
                changed(&row, &demo_row(app, &id).await),
                Vec::<String>::new(),
                "{what}: no column changes, updated_at included"
            );
            assert_eq!(
                link,
                link_row(app, &id).await,
                "{what}: the link row is not rewritten"
            );
            assert_eq!(audit_count(app).await, audits, "{what}: no audit entry");
        }
    };

    // Okta App Integration Wizard: GET the user, PUT it back.
    let got = app.get(&format!("/Users/{id}")).await;
    let version = got.header("etag").map(str::to_string);
    let r = app.put(&format!("/Users/{id}"), &got.body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("etag").map(str::to_string),
        version,
        "same resource, same version"
    );
    unchanged("PUT echo").await;

    // The profile as Okta first sent it (placeholder password included).
    let r = app.put(&format!("/Users/{id}"), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    unchanged("PUT of the original body").await;

    // PATCHes that set what is already there.
    for ops in [
        json!([{"op": "replace", "value": {"active": true}}]),
        json!([{"op": "replace", "path": "name.familyName", "value": "User"}]),
        json!([{"op": "replace", "value": {"name.givenName": "Echo", "emails": body["emails"].clone()}}]),
        json!([{"op": "add", "path": "displayName", "value": "Echo User"}]),
    ] {
        let r = app
            .patch(&format!("/Users/{id}"), &patch(ops.clone()))
            .await;
        assert_eq!(r.status, 200, "{ops}: {}", r.body);
        unchanged("no-op PATCH").await;
    }

    // A row the application made, never provisioned: the echo leaves it as well.
    age(&app, "2").await;
    let maria = demo_row(&app, "2").await;
    let got = app.get("/Users/2").await;
    assert_eq!(got.body["phoneNumbers"][0]["value"], "+34 600 000 000");
    let r = app.put("/Users/2", &got.body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        changed(&maria, &demo_row(&app, "2").await),
        Vec::<String>::new()
    );
    // (Its audit entry: see no_op_echo_of_an_extension_is_not_audited.)

    // A change of an attribute no column holds (kept in the bridge's record only) is
    // audited, but the host row, `updated_at` included, is not written.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "replace", "path": "displayName", "value": "Echo U."}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["displayName"], "Echo U.");
    assert_eq!(
        changed(&row, &demo_row(&app, &id).await),
        Vec::<String>::new()
    );
    assert_eq!(
        last_audit(&app).await,
        ("patch".into(), "displayName".into())
    );
    app.stop().await;
}

async fn put_clears_only_what_the_idp_sent(b: Backend) {
    let app = spawn_app(b).await;
    // Created without phone or department; the application sets both.
    let body = okta_user("host.fields@example.com", "Host", "Fields");
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    app.exec(&format!(
        "UPDATE users SET phone = '+1 555 0199', department = 'Ops' WHERE id = {id}"
    ))
    .await;
    age(&app, &id).await;
    let before = demo_row(&app, &id).await;
    let mut put = body.clone();
    put["name"]["givenName"] = json!("Hosta");
    let r = app.put(&format!("/Users/{id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["phoneNumbers"][0]["value"], "+1 555 0199");
    assert_eq!(r.body[ENTERPRISE]["department"], "Ops");
    let after = demo_row(&app, &id).await;
    assert_eq!(
        changed(&before, &after),
        ["firstname", "updated_at"],
        "never sent by the IdP: the application's phone and department stay"
    );

    // A PATCH of another attribute does not make them the IdP's.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "replace", "path": "name.givenName", "value": "Hostess"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    age(&app, &id).await;
    let before = demo_row(&app, &id).await;
    put["name"]["familyName"] = json!("Fieldson");
    put["name"]["givenName"] = json!("Hostess");
    let r = app.put(&format!("/Users/{id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        changed(&before, &demo_row(&app, &id).await),
        ["lastname", "updated_at"]
    );

    // Once the IdP sends the phone (PATCH), a PUT leaving it out clears it; the department,
    // still never sent, stays.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0142"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    age(&app, &id).await;
    let before = demo_row(&app, &id).await;
    assert_eq!(col(&before[0], "phone"), Some("+1 555 0142"));
    let r = app.put(&format!("/Users/{id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = demo_row(&app, &id).await;
    assert_eq!(changed(&before, &after), ["phone", "updated_at"]);
    assert_eq!(col(&after[0], "phone"), None);
    assert_eq!(col(&after[0], "department"), Some("Ops"));

    // Sent on create, left out of a PUT: cleared.
    let mut sent = okta_user("idp.fields@example.com", "Idp", "Fields");
    sent["phoneNumbers"] = json!([{"value": "+1 555 0100", "type": "work"}]);
    sent[ENTERPRISE] = json!({"department": "Sales"});
    sent["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    let r = app.post("/Users", &sent).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id2 = r.body["id"].as_str().unwrap().to_string();
    age(&app, &id2).await;
    let before = demo_row(&app, &id2).await;
    assert_eq!(col(&before[0], "department"), Some("Sales"));
    let r = app
        .put(
            &format!("/Users/{id2}"),
            &okta_user("idp.fields@example.com", "Idp", "Fields"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = demo_row(&app, &id2).await;
    assert_eq!(
        changed(&before, &after),
        ["department", "phone", "updated_at"]
    );
    assert_eq!(col(&after[0], "phone"), None);
    assert_eq!(col(&after[0], "department"), None);
    app.stop().await;
}

async fn audit_names_only_what_changed(b: Backend) {
    let app = spawn_app(b).await;
    let body = okta_user("audit.precise@example.com", "Audit", "Precise");
    let id = app.post("/Users", &body).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/Users/{id}");
    // Okta's no-path replace re-sends unchanged values next to the one that changed.
    let r = app
        .patch(
            &path,
            &patch(json!([{"op": "replace", "value": {
                "name.givenName": "Audit", "name.familyName": "Exact", "active": true,
                "emails": body["emails"].clone(), "userName": "audit.precise@example.com"}}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(last_audit(&app).await, ("patch".into(), "name".into()));

    let mut put = app.get(&path).await.body;
    put["phoneNumbers"] = json!([{"value": "+1 555 0123", "type": "work"}]);
    let r = app.put(&path, &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        last_audit(&app).await,
        ("replace".into(), "phoneNumbers".into())
    );

    assert_eq!(app.delete(&path).await.status, 204);
    assert_eq!(
        last_audit(&app).await,
        ("deactivate".into(), "active".into())
    );
    app.stop().await;
}

/// The enterprise extension is one object in the resource; the audit names the attribute of
/// it that changed, never the extension's URN itself (which is no attribute), and a no-op PUT
/// echo of a user carrying the extension leaves no entry.
async fn no_op_echo_of_an_extension_is_not_audited(b: Backend) {
    let app = spawn_app(b).await;
    // maria.garcia (id 2), made by the application, has a department: GET, PUT it back.
    age(&app, "2").await;
    let maria = demo_row(&app, "2").await;
    let audits = audit_count(&app).await;
    let got = app.get("/Users/2").await;
    assert_eq!(got.body[ENTERPRISE]["department"], "Sales");
    let r = app.put("/Users/2", &got.body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        changed(&maria, &demo_row(&app, "2").await),
        Vec::<String>::new()
    );
    let entries = app
        .rows("SELECT operation, attributes FROM scim_audit ORDER BY id")
        .await;
    assert_eq!(
        audit_count(&app).await,
        audits,
        "nothing changed, nothing audited: {entries:?}"
    );

    // A user provisioned without a department gets one: the audit names it, only it.
    let body = okta_user("audit.urn@example.com", "Audit", "Urn");
    let id = app.post("/Users", &body).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Ops"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        last_audit(&app).await,
        ("patch".into(), format!("{ENTERPRISE}:department"))
    );
    app.stop().await;
}

/// On osTicket, deactivation sets one bit of the joined account row; the user's own row gets
/// only its `updated` bookkeeping, the addresses nothing, and the audit names `active`.
async fn osticket_patch_active_touches_one_bit(b: Backend) {
    let app = spawn_helpdesk(b, "osticket", "osticket").await;
    // Carol (user 7): account status 1 (confirmed), username 'Carol.Chen'.
    let before = ost_snapshot(&app, "7").await;
    let r = app
        .patch(
            "/Users/7",
            &patch(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = ost_snapshot(&app, "7").await;
    assert_eq!(changed(&before.account, &after.account), ["status"]);
    assert_eq!(col(&after.account[0], "status"), Some("3"));
    assert_eq!(changed(&before.user, &after.user), ["updated"]);
    assert_eq!(before.emails, after.emails);
    assert_eq!(last_audit(&app).await, ("patch".into(), "active".into()));
    // The same again: nothing.
    let audits = audit_count(&app).await;
    let before = ost_snapshot(&app, "7").await;
    let r = app
        .patch(
            "/Users/7",
            &patch(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = ost_snapshot(&app, "7").await;
    assert_eq!(before.user, after.user);
    assert_eq!(before.account, after.account);
    assert_eq!(audit_count(&app).await, audits);
    app.stop().await;
}

backend_tests!(
    glpi_adoption_merges,
    glpi_adoption_with_state_from_idp,
    glpi_adoption_with_overwrite,
    osticket_adoption_changes_nothing_it_was_not_asked_to,
    osticket_adoption_with_state_from_idp,
    osticket_adoption_by_address_fills_only_the_missing_login,
    zammad_patch_active_leaves_the_email,
    patch_touches_only_the_named_columns,
    no_op_put_and_patch_write_nothing,
    put_clears_only_what_the_idp_sent,
    audit_names_only_what_changed,
    osticket_patch_active_touches_one_bit,
);

backend_tests!(
    glpi_adoption_keeps_phone_numbers_of_other_types,
    glpi_put_keeps_a_phone_type_the_idp_never_sent,
    glpi_put_of_an_unstored_email_type_writes_nothing,
    glpi_put_adding_an_address_leaves_the_other_row,
    osticket_put_rewrites_no_address_it_did_not_change,
    glpi_put_after_adoption_keeps_the_application_s_addresses,
    zammad_no_op_write_of_an_agent_writes_nothing,
    no_op_echo_of_an_extension_is_not_audited,
);
