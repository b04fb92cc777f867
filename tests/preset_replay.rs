//! The FreeScout and UVdesk end-user presets (`mappings/freescout.toml`, `mappings/uvdesk.toml`)
//! over their fixture helpdesks, on SQLite, PostgreSQL and MariaDB: Okta's sequence, a group
//! push and "provision existing users", each step compared with whole snapshots of every host
//! table the preset could touch (see `common/replay.rs`).

mod common;

use common::replay::{replay, Spec};
use common::*;

const FREESCOUT: Spec = Spec {
    fixture: "freescout",
    preset: "freescout",
    tables: &[
        ("customers", "id"),
        ("emails", "id"),
        ("customer_channel", "id"),
        ("users", "id"),
        ("mailboxes", "id"),
        ("mailbox_user", "id"),
    ],
    joined: &[("emails", "customer_id")],
    user_count: "SELECT COUNT(*) FROM customers",
    created: &[
        ("customers", "first_name", Some("Ada")),
        ("customers", "last_name", Some("Lovelace")),
        ("customers", "job_title", Some("Analyst")),
        ("customers", "company", Some("Analytical Engines")),
        ("customers", "created_at", None),
        ("customers", "updated_at", None),
        ("customers", "phones", Some("<NULL>")),
        ("emails", "email", Some("ada.lovelace@example.com")),
        ("emails", "type", Some("1")),
    ],
    renamed: &["customers[{id}].last_name", "?customers[{id}].updated_at"],
    // FreeScout customers have no state: deactivation writes nothing.
    deactivated: &[],
    deleted: &[],
    pushed: &[],
    member_removed: &[],
    existing: ("bob.brown@acme.example", "2", "Bob", "Brown"),
    adopted: &[],
    protected: None,
    grant: None,
};

const UVDESK: Spec = Spec {
    fixture: "uvdesk",
    preset: "uvdesk",
    tables: &[
        ("uv_user", "id"),
        ("uv_user_instance", "id"),
        ("uv_support_group", "id"),
        ("uv_support_team", "id"),
        ("uv_user_support_groups", ""),
        ("uv_user_support_teams", ""),
    ],
    joined: &[("uv_user_instance", "user_id")],
    user_count: "SELECT COUNT(*) FROM uv_user",
    created: &[
        ("uv_user", "email", Some("ada.lovelace@example.com")),
        ("uv_user", "first_name", Some("Ada")),
        ("uv_user", "last_name", Some("Lovelace")),
        ("uv_user", "password", Some("<NULL>")),
        ("uv_user_instance", "supportRole_id", Some("4")),
        ("uv_user_instance", "source", Some("website")),
        ("uv_user_instance", "created_at", None),
        ("uv_user_instance", "updated_at", None),
        ("uv_user_instance", "contact_number", Some("+1 555 0199")),
    ],
    // uv_user has no updated_at; the instance's is bumped only when the instance changes.
    renamed: &["uv_user[{id}].last_name"],
    deactivated: &[
        "uv_user[{id}].is_enabled",
        "uv_user_instance[{uv_user_instance}].is_active",
        "?uv_user_instance[{uv_user_instance}].updated_at",
    ],
    deleted: &[
        "uv_user[{id}].is_enabled",
        "uv_user_instance[{uv_user_instance}].is_active",
        "?uv_user_instance[{uv_user_instance}].updated_at",
    ],
    pushed: &[],
    member_removed: &[],
    existing: ("bob.brown@acme.example", "6", "Bob", ""),
    adopted: &[],
    protected: Some("Maria.Garcia@helpdesk.example"),
    grant: None,
};

async fn freescout_preset(b: Backend) {
    replay(b, &FREESCOUT).await;
}

async fn uvdesk_preset(b: Backend) {
    replay(b, &UVDESK).await;
}

backend_tests!(freescout_preset, uvdesk_preset);
