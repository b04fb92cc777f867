//! The agent presets (`mappings/*-agents.toml`) over the shared fixture helpdesks, on SQLite,
//! PostgreSQL and MariaDB: Okta's sequence, a group push, a granted group joined and left
//! (Zammad's Agent role, GLPI's Technician profile, FreeScout's mailbox access) and "provision
//! existing users" adopting an existing agent — each step compared with whole snapshots of
//! every host table the preset could touch (see `common/replay.rs`).

mod common;

use common::replay::{replay, GrantSpec, Spec};
use common::*;

const OSTICKET: Spec = Spec {
    fixture: "osticket",
    preset: "osticket-agents",
    tables: &[
        ("ost_staff", "staff_id"),
        ("ost_team", "team_id"),
        ("ost_team_member", ""),
        ("ost_user", "id"),
        ("ost_user_account", "id"),
        ("ost_user_email", "id"),
    ],
    joined: &[],
    user_count: "SELECT COUNT(*) FROM ost_staff",
    created: &[
        ("ost_staff", "username", Some("Ada.Lovelace@Example.com")),
        ("ost_staff", "firstname", Some("Ada")),
        ("ost_staff", "lastname", Some("Lovelace")),
        ("ost_staff", "email", Some("ada.lovelace@example.com")),
        ("ost_staff", "phone", Some("+1 555 0199")),
        ("ost_staff", "mobile", Some("")),
        ("ost_staff", "isactive", Some("1")),
        ("ost_staff", "isadmin", Some("0")),
        ("ost_staff", "dept_id", Some("1")),
        ("ost_staff", "role_id", Some("3")),
        ("ost_staff", "backend", Some("scim")),
        ("ost_staff", "signature", Some("")),
        ("ost_staff", "passwd", Some("<NULL>")),
        ("ost_staff", "created", None),
        ("ost_staff", "updated", None),
    ],
    renamed: &["ost_staff[{id}].lastname", "?ost_staff[{id}].updated"],
    deactivated: &["ost_staff[{id}].isactive", "?ost_staff[{id}].updated"],
    deleted: &["ost_staff[{id}].isactive", "?ost_staff[{id}].updated"],
    pushed: &["+ost_team[*]", "+ost_team_member[*]", "+ost_team_member[*]"],
    member_removed: &["-ost_team_member[*]"],
    existing: ("Carol.Chen", "5", "Carol", "Chen"),
    adopted: &[],
    protected: Some("admin"),
    grant: None,
};

const ZAMMAD: Spec = Spec {
    fixture: "zammad",
    preset: "zammad-agents",
    tables: &[
        ("users", "id"),
        ("roles_users", ""),
        ("groups", "id"),
        ("groups_users", ""),
    ],
    joined: &[("roles_users", "user_id")],
    user_count: "SELECT COUNT(*) FROM users WHERE login <> '-'",
    created: &[
        ("users", "login", Some("ada.lovelace@example.com")),
        ("users", "email", Some("ada.lovelace@example.com")),
        ("users", "firstname", Some("Ada")),
        ("users", "lastname", Some("Lovelace")),
        ("users", "phone", Some("+1 555 0199")),
        ("users", "source", Some("scim")),
        ("users", "created_by_id", Some("1")),
        ("users", "updated_by_id", Some("1")),
        ("users", "created_at", None),
        ("users", "updated_at", None),
        ("roles_users", "role_id", Some("3")),
    ],
    renamed: &["users[{id}].lastname", "?users[{id}].updated_at"],
    deactivated: &["users[{id}].active", "?users[{id}].updated_at"],
    deleted: &["users[{id}].active", "?users[{id}].updated_at"],
    pushed: &["+groups[*]", "+groups_users[*]", "+groups_users[*]"],
    member_removed: &["-groups_users[*]"],
    existing: ("Alice.Anderson@acme.example", "6", "Alice", "Anderson"),
    adopted: &[],
    protected: Some("admin@helpdesk.example"),
    grant: Some(GrantSpec {
        group: "Zammad Agents",
        joined: &["+groups[*]", "+groups_users[*]", "+roles_users[{id}|2]"],
        left: &["-groups_users[*]", "-roles_users[{id}|2]"],
    }),
};

const GLPI: Spec = Spec {
    fixture: "glpi",
    preset: "glpi-agents",
    // glpi_usertitles is left out: a new title row ("Analyst") is the lookup's, tested in
    // tests/presets.rs.
    tables: &[
        ("glpi_users", "id"),
        ("glpi_useremails", "id"),
        ("glpi_groups", "id"),
        ("glpi_groups_users", "id"),
    ],
    joined: &[("glpi_useremails", "users_id")],
    user_count: "SELECT COUNT(*) FROM glpi_users WHERE is_deleted = 0",
    created: &[
        ("glpi_users", "name", Some("Ada.Lovelace@Example.com")),
        ("glpi_users", "firstname", Some("Ada")),
        ("glpi_users", "realname", Some("Lovelace")),
        ("glpi_users", "phone", Some("+1 555 0199")),
        ("glpi_users", "profiles_id", Some("1")),
        ("glpi_users", "authtype", Some("4")),
        ("glpi_users", "is_active", Some("1")),
        ("glpi_users", "date_creation", None),
        ("glpi_useremails", "email", Some("ada.lovelace@example.com")),
        ("glpi_useremails", "is_default", Some("1")),
    ],
    renamed: &["glpi_users[{id}].realname", "?glpi_users[{id}].date_mod"],
    deactivated: &["glpi_users[{id}].is_active", "?glpi_users[{id}].date_mod"],
    deleted: &["glpi_users[{id}].is_active", "?glpi_users[{id}].date_mod"],
    pushed: &[
        "+glpi_groups[*]",
        "+glpi_groups_users[*]",
        "+glpi_groups_users[*]",
    ],
    member_removed: &["-glpi_groups_users[*]"],
    existing: ("Alice.Anderson", "11", "Alice", "Anderson"),
    adopted: &[],
    protected: Some("glpi"),
    grant: Some(GrantSpec {
        group: "GLPI Technicians",
        joined: &[
            "+glpi_groups[*]",
            "+glpi_groups_users[*]",
            "glpi_users[{id}].profiles_id",
        ],
        left: &["-glpi_groups_users[*]", "glpi_users[{id}].profiles_id"],
    }),
};

const FREESCOUT: Spec = Spec {
    fixture: "freescout",
    preset: "freescout-agents",
    tables: &[
        ("users", "id"),
        ("mailbox_user", "id"),
        ("mailboxes", "id"),
        ("customers", "id"),
        ("emails", "id"),
    ],
    joined: &[("mailbox_user", "user_id")],
    user_count: "SELECT COUNT(*) FROM users WHERE type = 1",
    created: &[
        ("users", "email", Some("ada.lovelace@example.com")),
        ("users", "first_name", Some("Ada")),
        ("users", "last_name", Some("Lovelace")),
        ("users", "job_title", Some("Analyst")),
        ("users", "phone", Some("+1 555 0199")),
        ("users", "status", Some("1")),
        ("users", "role", Some("1")),
        ("users", "type", Some("1")),
        ("users", "invite_state", Some("1")),
        ("users", "timezone", Some("UTC")),
        ("users", "password", None),
        ("users", "created_at", None),
        ("users", "updated_at", None),
    ],
    renamed: &["users[{id}].last_name", "?users[{id}].updated_at"],
    deactivated: &["users[{id}].status", "?users[{id}].updated_at"],
    deleted: &["users[{id}].status", "?users[{id}].updated_at"],
    pushed: &[],
    member_removed: &[],
    existing: ("taro.yamada@helpdesk.example", "7", "太郎", "山田"),
    adopted: &[],
    protected: Some("admin@helpdesk.example"),
    grant: Some(GrantSpec {
        group: "Support Mailbox",
        joined: &["+mailbox_user[{mailbox_user}]"],
        left: &["-mailbox_user[{mailbox_user}]"],
    }),
};

const UVDESK: Spec = Spec {
    fixture: "uvdesk",
    preset: "uvdesk-agents",
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
        ("uv_user_instance", "supportRole_id", Some("3")),
        ("uv_user_instance", "source", Some("website")),
        ("uv_user_instance", "ticket_access_level", Some("4")),
        ("uv_user_instance", "designation", Some("Analyst")),
        ("uv_user_instance", "contact_number", Some("+1 555 0199")),
        ("uv_user_instance", "created_at", None),
        ("uv_user_instance", "updated_at", None),
    ],
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
    existing: ("maria.garcia@helpdesk.example", "2", "María", "García"),
    adopted: &[],
    protected: Some("admin@helpdesk.example"),
    grant: None,
};

async fn osticket_agents(b: Backend) {
    replay(b, &OSTICKET).await;
}

async fn zammad_agents(b: Backend) {
    replay(b, &ZAMMAD).await;
}

async fn glpi_agents(b: Backend) {
    replay(b, &GLPI).await;
}

async fn freescout_agents(b: Backend) {
    replay(b, &FREESCOUT).await;
}

async fn uvdesk_agents(b: Backend) {
    replay(b, &UVDESK).await;
}

backend_tests!(
    osticket_agents,
    zammad_agents,
    glpi_agents,
    freescout_agents,
    uvdesk_agents
);
