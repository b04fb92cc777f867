//! What differs between databases: replicas sharing one database, outages, text keys the
//! bridge generates, coded booleans, time zones.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use serde_json::json;

async fn two_replicas_enforce_one_user_name(b: Backend) {
    let one = spawn_app(b).await;
    let two = spawn_on_url(
        b,
        one.db_url.clone(),
        tempfile::tempdir().unwrap(),
        Options::default(),
    )
    .await;
    let (one, two) = (Arc::new(one), Arc::new(two));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = if i % 2 == 0 { one.clone() } else { two.clone() };
        tasks.push(tokio::spawn(async move {
            let name = if i % 3 == 0 {
                "Replica@Example.com"
            } else {
                "replica@example.com"
            };
            app.post("/Users", &okta_user(name, "R", "P")).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 409 {
            r.assert_error(409, Some("uniqueness"));
        }
        statuses.push(r.status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(
        one.count("SELECT COUNT(*) FROM users WHERE lower(login) = 'replica@example.com'")
            .await,
        1
    );
    assert_eq!(one.count("SELECT COUNT(*) FROM scim_users").await, 1);
    Arc::try_unwrap(two).ok().unwrap().stop().await;
    Arc::try_unwrap(one).ok().unwrap().stop().await;
}

/// Server databases only: an embedded SQLite file cannot go away like a server.
async fn database_outage_answers_503_and_recovers(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let direct = fresh_database(b, dir.path()).await;
    let target: SocketAddr = if b == Backend::Postgres {
        "127.0.0.1:5432"
    } else {
        "127.0.0.1:3306"
    }
    .parse()
    .unwrap();
    let cable = Cable::to(target).await;
    let mut via_cable = direct.replacen(&target.to_string(), &cable.addr.to_string(), 1);
    if b == Backend::Mysql {
        // mysql_async otherwise switches to the server's Unix socket, bypassing the cable.
        via_cable.push_str("?prefer_socket=false");
    }
    assert_ne!(via_cable, direct);
    let app = spawn_on_url(b, via_cable, dir, Options::default()).await;
    assert_eq!(app.get("/Users?count=1").await.status, 200);

    let readyz = || async {
        app.raw(
            hyper::Request::get(format!("http://{}/readyz", app.addr))
                .body(Default::default())
                .unwrap(),
        )
        .await
    };
    assert_eq!(readyz().await.status, 200);
    cable.cut().await;
    let r = readyz().await;
    assert_eq!(r.status, 503);
    assert!(String::from_utf8_lossy(&r.raw).contains("database"));
    let started = std::time::Instant::now();
    let r = app.get("/Users?count=1").await;
    r.assert_error(503, None);
    assert!(r.header("retry-after").is_some());
    let r = app
        .post("/Users", &okta_user("outage@example.com", "O", "U"))
        .await;
    r.assert_error(503, None);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(9),
        "answered within the request timeout: {:?}",
        started.elapsed()
    );

    cable.restore();
    assert_eq!(readyz().await.status, 200, "ready again without a restart");
    let r = app
        .post("/Users", &okta_user("outage@example.com", "O", "U"))
        .await;
    assert_eq!(r.status, 201, "recovered without a restart: {}", r.body);
    // Check through a direct connection that exactly the acknowledged write landed.
    let direct_rows = AnyConn::open(b, &direct)
        .await
        .rows("SELECT login FROM users WHERE login = 'outage@example.com'")
        .await;
    assert_eq!(direct_rows.len(), 1);
    app.stop().await;
}

const ACCOUNTS_SQLITE: &str = "CREATE TABLE accounts (uid VARCHAR(36) PRIMARY KEY NOT NULL, email VARCHAR(120) NOT NULL, display VARCHAR(200) NULL, blocked BOOLEAN NOT NULL DEFAULT 0, created DATETIME NOT NULL); CREATE UNIQUE INDEX accounts_email ON accounts (email COLLATE NOCASE);";
const ACCOUNTS_POSTGRES: &str = "CREATE TABLE accounts (uid VARCHAR(36) PRIMARY KEY, email VARCHAR(120) NOT NULL, display VARCHAR(200) NULL, blocked BOOLEAN NOT NULL DEFAULT FALSE, created TIMESTAMP WITH TIME ZONE NOT NULL); CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));";
const ACCOUNTS_MYSQL: &str = "CREATE TABLE accounts (uid CHAR(36) NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL, display VARCHAR(200) NULL, blocked TINYINT(1) NOT NULL DEFAULT 0, created TIMESTAMP NOT NULL, UNIQUE KEY accounts_email (email)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const ACCOUNTS_MAPPING: &str = r#"
[users]
table = "accounts"
key = "uid"
key_generate = "uuid"
on_delete = "delete"
[users.columns]
email   = { attr = "userName", transform = ["trim", "lowercase"] }
display = { attr = "displayName" }
blocked = { attr = "active", transform = "not", default = true }
created = { value = "now", on = "insert" }
"#;

async fn text_keys_inverted_booleans_and_hard_delete(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(b, dir.path()).await;
    let ddl = match b {
        Backend::Sqlite => ACCOUNTS_SQLITE,
        Backend::Postgres => ACCOUNTS_POSTGRES,
        Backend::Mysql => ACCOUNTS_MYSQL,
    };
    AnyConn::open(b, &url).await.batch(ddl).await;
    let mapping = dir.path().join("accounts.toml");
    std::fs::write(&mapping, ACCOUNTS_MAPPING).unwrap();
    let app = spawn_on_url(
        b,
        url,
        dir,
        Options {
            mapping: mapping.display().to_string(),
            ..Default::default()
        },
    )
    .await;

    let mut u = okta_user("Grace.Hopper@Example.com", "Grace", "Hopper");
    u["displayName"] = json!("Grace Hopper");
    let r = app.post("/Users", &u).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID the bridge generated: {id}");
    let row = app.rows(&format!("SELECT email, display, CASE WHEN blocked THEN '1' ELSE '0' END, CAST(created AS {{T}}) FROM accounts WHERE uid = '{id}'")).await;
    assert_eq!(row[0][0].as_deref(), Some("grace.hopper@example.com"));
    assert_eq!(row[0][1].as_deref(), Some("Grace Hopper"));
    assert_eq!(
        row[0][2].as_deref(),
        Some("0"),
        "active true → blocked false"
    );
    let created = row[0][3].clone().unwrap();
    let now = chrono::Utc::now().format("%Y-%m-%d %H").to_string();
    assert!(
        created.starts_with(&now),
        "stored in UTC: {created} vs {now}"
    );
    let r = app
        .get(&format!("/Users?filter=id%20eq%20%22{id}%22"))
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(
        r.body["Resources"][0]["userName"],
        "Grace.Hopper@Example.com"
    );
    let p = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    assert_eq!(
        app.patch(&format!("/Users/{id}"), &p).await.body["active"],
        false
    );
    assert_eq!(
        app.rows(&format!(
            "SELECT CASE WHEN blocked THEN '1' ELSE '0' END FROM accounts WHERE uid = '{id}'"
        ))
        .await[0][0]
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        app.get("/Users?filter=active%20eq%20false").await.body["totalResults"],
        1
    );
    // on_delete = "delete": the row goes, and so does the link.
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM scim_users").await, 0);
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.stop().await;
}

backend_tests!(
    two_replicas_enforce_one_user_name,
    text_keys_inverted_booleans_and_hard_delete
);

mod database_outage {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if Backend::Postgres.available() {
            database_outage_answers_503_and_recovers(Backend::Postgres).await;
        }
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        if Backend::Mysql.available() {
            database_outage_answers_503_and_recovers(Backend::Mysql).await;
        }
    }
}

/// Server databases only: connections the server closed while they sat in the pool (its
/// `wait_timeout`, a restart, an administrator's `KILL`) are never handed to a request. MySQL's
/// driver does not notice a closed connection, so the pool pings one idle for a second or
/// more before handing it out (a connection used more recently is not pinged: a round trip
/// saved on every checkout under load).
async fn connections_the_server_closed_while_idle_are_replaced(b: Backend) {
    let app = Arc::new(spawn_app(b).await);
    // Several connections in the pool, each used once.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.get("/Users?count=1").await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let mut admin = AnyConn::open(b, &app.db_url).await;
    let killed = if b == Backend::Postgres {
        admin
            .rows(
                "SELECT CAST(pg_terminate_backend(pid) AS TEXT) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .await
            .len()
    } else {
        let ids = admin
            .rows(
                "SELECT CAST(ID AS CHAR) FROM information_schema.PROCESSLIST \
                 WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
            )
            .await;
        for id in &ids {
            admin
                .batch(&format!("KILL {}", id[0].as_deref().unwrap()))
                .await;
        }
        ids.len()
    };
    drop(admin);
    assert!(killed > 0, "the bridge's pooled connections were found");
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let get = app.get("/Users?count=1").await;
            let post = app
                .post(
                    "/Users",
                    &okta_user(&format!("after.kill{i}@example.com"), "A", "K"),
                )
                .await;
            (get.status.as_u16(), post.status.as_u16(), post.body)
        }));
    }
    for t in tasks {
        let (get, post, body) = t.await.unwrap();
        assert_eq!((get, post), (200, 201), "{body}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE login LIKE 'after.kill%'")
            .await,
        6
    );
    Arc::try_unwrap(app).ok().unwrap().stop().await;
}

mod closed_connections {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if Backend::Postgres.available() {
            connections_the_server_closed_while_idle_are_replaced(Backend::Postgres).await;
        }
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        if Backend::Mysql.available() {
            connections_the_server_closed_while_idle_are_replaced(Backend::Mysql).await;
        }
    }
}

/// On PostgreSQL a `CHAR(n)` column compared with a bound text parameter is cast to text and
/// no index on it serves: every create's userName lookup read all of `scim_users`, every
/// request's token lookup all of `scim_tokens`. The columns the bridge finds rows by are
/// `VARCHAR`, and the plan of the create's link lookup uses the unique index.
mod lookup_columns_are_indexable {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if !Backend::Postgres.available() {
            return;
        }
        let app = spawn_app(Backend::Postgres).await;
        let types = app
            .rows(
                "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT), CAST(data_type AS TEXT) \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND column_name IN ('user_name_hash', 'display_name_hash', 'lookup') ORDER BY 1, 2",
            )
            .await;
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            types,
            vec![
                vec![
                    s("scim_groups"),
                    s("display_name_hash"),
                    s("character varying")
                ],
                vec![s("scim_tokens"), s("lookup"), s("character varying")],
                vec![s("scim_users"), s("user_name_hash"), s("character varying")],
            ]
        );
        // The lookup as the bridge sends it (text parameters), with a scan made as costly as
        // possible: only a usable index avoids it.
        let plan = app
            .rows(
                "EXPLAIN SELECT host_key FROM scim_users WHERE host_table = CAST('users' AS TEXT) \
                 AND user_name_hash = CAST('0123' AS TEXT)",
            )
            .await;
        let plan: Vec<String> = plan.into_iter().filter_map(|r| r[0].clone()).collect();
        assert!(
            plan.iter()
                .any(|l| l.contains("scim_users_user_name_hash_key")),
            "{plan:#?}"
        );
        app.stop().await;
    }
}
