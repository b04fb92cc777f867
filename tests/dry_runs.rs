//! Dry runs write nothing to the application's database, the bridge's own tables included:
//! `check`, `migrate --dry-run`, `preview`, `import` and `reconcile` (without `--apply` /
//! `--fix`) against a helpdesk the bridge has never touched, with `migrate_on_start = true`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The application database's tables, as its own catalog lists them.
async fn tables(b: Backend, url: &str) -> Vec<String> {
    let sql = match b {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Backend::Postgres => "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
        Backend::Mysql => "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1",
    };
    AnyConn::open(b, url)
        .await
        .rows(sql)
        .await
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}

/// Every row of the demo's `users` table, each column as text.
fn users_sql(b: Backend) -> String {
    let t = if b == Backend::Mysql { "CHAR" } else { "TEXT" };
    format!(
        "SELECT CAST(id AS {t}), login, email, firstname, lastname, department, phone, CAST(active AS {t}), role, password, CAST(created_at AS {t}), CAST(updated_at AS {t}) FROM users ORDER BY id"
    )
}

async fn dry_runs_write_nothing(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(b, dir.path()).await;
    let before = tables(b, &url).await;
    assert!(before.iter().all(|t| !t.starts_with("scim_")), "{before:?}");
    std::fs::copy(
        format!("{REPO}/mappings/demo.toml"),
        dir.path().join("mapping.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[database]\nurl = \"{url}\"\nmigrate_on_start = true\n[mapping]\nfile = \"mapping.toml\"\n"),
    )
    .unwrap();
    let user = dir.path().join("user.json");
    std::fs::write(
        &user,
        okta_user("new.person@example.com", "New", "Person").to_string(),
    )
    .unwrap();
    let users_before = AnyConn::open(b, &url).await.rows(&users_sql(b)).await;

    let o = run(dir.path(), &["check"]);
    assert!(text(&o).contains("migration(s) pending"), "{}", text(&o));
    let o = run(dir.path(), &["migrate", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("pending: "), "{}", text(&o));
    for args in [
        &["preview", "--operation", "create", user.to_str().unwrap()][..],
        &["import"][..],
        &["reconcile"][..],
    ] {
        let o = run(dir.path(), args);
        assert!(!o.status.success(), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("a dry run does not create them")
                && text(&o).contains("run `scim-bridge migrate`"),
            "{args:?}: {}",
            text(&o)
        );
    }
    assert_eq!(tables(b, &url).await, before, "nothing created");

    // Once the operator has run `migrate`, the same dry runs work and still write nothing.
    let o = run(dir.path(), &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let migrated = tables(b, &url).await;
    assert!(migrated.iter().any(|t| t == "scim_users"), "{migrated:?}");
    let o = run(
        dir.path(),
        &["preview", "--operation", "create", user.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("rolled back, nothing written"),
        "{}",
        text(&o)
    );
    let o = run(dir.path(), &["import"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(dir.path(), &["reconcile"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut c = AnyConn::open(b, &url).await;
    assert_eq!(c.rows(&users_sql(b)).await, users_before);
    assert_eq!(
        c.rows(&format!(
            "SELECT CAST(COUNT(*) AS {}) FROM scim_users",
            if b == Backend::Mysql { "CHAR" } else { "TEXT" }
        ))
        .await,
        vec![vec![Some("0".to_string())]]
    );
    assert_eq!(tables(b, &url).await, migrated);
}

backend_tests!(dry_runs_write_nothing);
