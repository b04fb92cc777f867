//! `scim-bridge init --database URL` against the five shared helpdesk fixtures, on SQLite and
//! PostgreSQL: the draft passes `check` unedited (or names the one line to decide), provisions
//! a user through the real server, and existing files are never overwritten without --force.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn bridge(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SCIM_BRIDGE__DATABASE__URL")
        .output()
        .unwrap()
}

/// `init` names the other tables that look like user tables (never the chosen one), with how
/// to draft from one of them.
fn other_tables_are_offered(out: &str, app: &str, table: &str) {
    // The other tables that look like user tables are named, with how to pick one.
    if let Some(line) = out
        .lines()
        .find(|l| l.starts_with("other tables that could hold users:"))
    {
        assert!(!line.contains(&format!("\"{table}\" (")), "{line}");
        assert!(line.ends_with("run init again with --table NAME"), "{line}");
    }
    if app == "osticket" {
        assert!(
            out.contains("other tables that could hold users: \"ost_user_account\""),
            "the end users' account table is offered beside the staff table: {out}"
        );
    }
}

/// `app`'s fixture, its expected user table and the decisions its draft must name.
async fn draft_passes_check_and_provisions(b: Backend, app: &str, table: &str, decide: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), app).await;
    let init_dir = dir.path().join("init");
    let config = init_dir.join("config.toml");
    let o = bridge(&config, &["init", "--database", &url]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("(users in table \"{table}\")")),
        "{out}"
    );
    assert!(out.contains("\n0 error(s)"), "{out}");
    other_tables_are_offered(&out, app, table);
    // The lines to decide are named with file and line, and are marked in the file.
    let mapping = std::fs::read_to_string(init_dir.join("mapping.toml")).unwrap();
    let lines: Vec<&str> = mapping.lines().collect();
    let named: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains("mapping.toml:"))
        .collect();
    assert_eq!(named.len(), decide.len(), "{out}");
    for (line, column) in named.iter().zip(decide) {
        let n: usize = line
            .split("mapping.toml:")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(lines[n - 1].starts_with(&format!("{column} = ")), "{line}");
        // The comment block above the line starts with the decision.
        let block: Vec<&str> = lines[..n - 1]
            .iter()
            .rev()
            .take_while(|l| l.starts_with('#'))
            .copied()
            .collect();
        assert!(
            block.last().is_some_and(|l| l.starts_with("# DECIDE:")),
            "{block:?}"
        );
    }
    assert_eq!(
        mapping.matches("# DECIDE:").count(),
        decide.len(),
        "{mapping}"
    );
    // `check` on the written files, unedited, agrees.
    let o = bridge(&config, &["check"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("\n0 error(s)"), "{}", text(&o));
    // Never overwrite without --force; nothing written either.
    std::fs::write(init_dir.join("mapping.toml"), "edited").unwrap();
    let o = bridge(&config, &["init", "--database", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already exist"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(init_dir.join("mapping.toml")).unwrap(),
        "edited"
    );
    std::fs::write(init_dir.join("mapping.toml"), &mapping).unwrap();

    // The draft serves: Okta's create, search and deactivation through the real server.
    let app = spawn_on_url(
        b,
        url,
        dir,
        Options {
            mapping: init_dir.join("mapping.toml").display().to_string(),
            extra_config: String::new(),
        },
    )
    .await;
    let before = app.count(&format!("SELECT COUNT(*) FROM {table}")).await;
    let r = app
        .post(
            "/Users",
            &okta_user("drafted.person@example.com", "Drafted", "Person"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM {table}")).await,
        before + 1
    );
    let r = app
        .get("/Users?filter=userName%20eq%20%22DRAFTED.person%40example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["name"]["givenName"], "Drafted");
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["active"], false);
    app.stop().await;
}

macro_rules! fixtures {
    ($($name:ident: $app:literal, $table:literal, [$($decide:literal),*];)*) => {
        $(
            mod $name {
                use super::*;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    draft_passes_check_and_provisions(Backend::Sqlite, $app, $table, &[$($decide),*]).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if Backend::Postgres.available() {
                        draft_passes_check_and_provisions(Backend::Postgres, $app, $table, &[$($decide),*]).await
                    }
                }
            }
        )*
    };
}

fixtures! {
    osticket: "osticket", "ost_staff", [];
    zammad: "zammad", "users", [];
    glpi: "glpi", "glpi_users", [];
    freescout: "freescout", "users", ["status"];
    uvdesk: "uvdesk", "uv_user", [];
}

#[test]
fn without_a_database_init_writes_the_shipped_config_and_the_demo_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("etc/config.toml");
    let o = bridge(&config, &["init"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        std::fs::read_to_string(format!("{REPO}/config.toml")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("etc/mappings/demo.toml")).unwrap(),
        std::fs::read_to_string(format!("{REPO}/mappings/demo.toml")).unwrap()
    );
    // What it wrote runs: check passes on the demo.
    let o = bridge(&config, &["check"]);
    assert!(o.status.success(), "{}", text(&o));
    // A second run refuses, naming the file; --force overwrites.
    std::fs::write(&config, "# mine\n").unwrap();
    let o = bridge(&config, &["init"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("config.toml") && text(&o).contains("--force"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");
    let o = bridge(&config, &["init", "--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("create_demo = true"));
}

#[test]
fn init_never_creates_a_sqlite_database_and_names_a_missing_table() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let missing = dir.path().join("app.db");
    let o = bridge(
        &config,
        &[
            "init",
            "--database",
            &format!("sqlite://{}", missing.display()),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("does not exist"), "{}", text(&o));
    assert!(!missing.exists() && !config.exists());
    // A database with a users table, but --table names another.
    let db = dir.path().join("helpdesk.db");
    scim_bridge::store::demo::ensure(&db).unwrap();
    let url = format!("sqlite://{}", db.display());
    let o = bridge(&config, &["init", "--database", &url, "--table", "people"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("\"people\" does not exist") && text(&o).contains("users"),
        "{}",
        text(&o)
    );
    assert!(!config.exists(), "nothing written on an error");
}
