//! Reads the live schema of a host table (columns, types, defaults, keys, indexes) so the
//! mapping can be validated against what really exists.

use crate::mapping::host::{
    pg_enum_type, pg_json_type, ColumnKind, HostColumn, HostTable, Storage,
};

use super::dialect::Dialect;
use super::sql::Sql;
use super::{Conn, Db, StoreError};

/// An index over the table, reduced to what lookups need.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostIndex {
    /// The leading column or expression, lower-cased (`email`, `lower((email)::text)`).
    leading: String,
    /// SQLite: the leading column compares with `COLLATE NOCASE`.
    nocase: bool,
}

/// Classifies a declared type as each database reports it (`varchar(255)`, `int(10)
/// unsigned`, `tinyint(1)`, `timestamp without time zone`, SQLite affinities …). Dates are
/// timestamps (written as dates, see [`Storage::Date`]); enumerated types and MySQL/SQLite
/// binary strings are text (see [`Storage`]).
fn column_kind(dialect: Dialect, ty: &str) -> Option<ColumnKind> {
    let t = ty.trim().to_ascii_lowercase();
    let base = t.split(['(', ' ']).next().unwrap_or("");
    if base == "date" {
        return Some(ColumnKind::Timestamp);
    }
    if dialect != Dialect::Postgres
        && matches!(
            base,
            "blob" | "tinyblob" | "mediumblob" | "longblob" | "varbinary" | "binary"
        )
    {
        return Some(ColumnKind::Text);
    }
    if dialect == Dialect::Mysql && t.starts_with("tinyint(1)") {
        return Some(ColumnKind::Bool);
    }
    if t.contains("with time zone") || t == "timestamptz" {
        return Some(ColumnKind::TimestampTz);
    }
    if t.starts_with("bool") {
        return Some(ColumnKind::Bool);
    }
    if t.contains("int")
        || t == "serial"
        || t == "bigserial"
        || t.starts_with("bit") && dialect == Dialect::Mysql
    {
        return Some(ColumnKind::Int);
    }
    if t.contains("timestamp") || t.starts_with("datetime") {
        return Some(ColumnKind::Timestamp);
    }
    // JSON objects are read and written as their text (`json_path` keys).
    if matches!(
        base,
        "json" | "jsonb" | "pg_catalog.json" | "pg_catalog.jsonb"
    ) {
        return Some(ColumnKind::Text);
    }
    if t.contains("char")
        || t.contains("text")
        || t.contains("clob")
        || t == "citext"
        || t == "uuid"
        || t.starts_with("enum")
        || t.is_empty()
    {
        return Some(ColumnKind::Text);
    }
    None
}

/// The range an integer type holds where the database enforces it. SQLite stores any
/// 64-bit integer whatever the declared type, so it has none.
fn int_range(dialect: Dialect, ty: &str) -> Option<(i64, i64)> {
    if dialect == Dialect::Sqlite {
        return None;
    }
    let t = ty.trim().to_ascii_lowercase();
    let unsigned = t.contains("unsigned");
    let base = t.split(['(', ' ']).next().unwrap_or("");
    let bits: u32 = match base {
        "tinyint" if t.starts_with("tinyint(1)") => return None,
        "tinyint" => 8,
        "smallint" | "int2" | "smallserial" => 16,
        "mediumint" => 24,
        "int" | "integer" | "int4" | "serial" => 32,
        _ => return None,
    };
    Some(if unsigned {
        (0, (1i64 << bits) - 1)
    } else {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    })
}

/// Whether a case-insensitive equality lookup on `column` can use one of `indexes`, given how
/// [`super::dialect::ci_equals`] writes that lookup for the dialect.
fn has_ci_index(dialect: Dialect, indexes: &[HostIndex], column: &HostColumn) -> bool {
    let col = column.name.to_ascii_lowercase();
    indexes.iter().any(|i| match dialect {
        Dialect::Sqlite => i.leading == col && i.nocase,
        Dialect::Postgres => {
            let lead = i.leading.replace([' ', '"'], "");
            lead == format!("lower({col})")
                || lead == format!("lower(({col})::text)")
                || lead.starts_with(&format!("lower(({col})::"))
                || (i.leading == col && column.sql_type.eq_ignore_ascii_case("citext"))
        }
        Dialect::Mysql => {
            i.leading == col
                && column
                    .collation
                    .as_deref()
                    .is_none_or(|c| c.ends_with("_ci"))
        }
    })
}

/// The statement an operator can run to add the index a case-insensitive lookup needs.
fn ci_index_advice(dialect: Dialect, table: &str, column: &str) -> String {
    let idx = format!("{table}_{column}_ci");
    match dialect {
        Dialect::Sqlite => {
            format!("CREATE INDEX \"{idx}\" ON \"{table}\" (\"{column}\" COLLATE NOCASE);")
        }
        Dialect::Postgres => format!("CREATE INDEX \"{idx}\" ON \"{table}\" (lower(\"{column}\"));"),
        Dialect::Mysql => format!(
            "CREATE INDEX `{idx}` ON `{table}` (`{column}`);  -- and keep the column's collation case-insensitive (*_ci)"
        ),
    }
}

/// Names of the tables in the current database/schema (the bridge's own excluded).
pub async fn tables(db: &Db) -> Result<Vec<String>, StoreError> {
    let mut c = db.reader().await?;
    let mut q = Sql::new();
    q.raw(match db.dialect {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name",
        Dialect::Postgres => "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
        Dialect::Mysql => "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
    });
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .filter(|n| !n.starts_with("scim_"))
        .collect())
}

/// The name the database gives the table the mapping calls `name`: that name, else the one
/// table whose name equals it ignoring case (PostgreSQL folds unquoted names to lower case,
/// MySQL and SQLite keep them as created). `None` when several differ from it only in case.
async fn live_name(db: &Db, name: &str) -> Result<Option<String>, StoreError> {
    let all = tables(db).await?;
    if all.iter().any(|t| t == name) {
        return Ok(Some(name.to_string()));
    }
    let same: Vec<&String> = all
        .iter()
        .filter(|t| t.eq_ignore_ascii_case(name))
        .collect();
    Ok(match same.as_slice() {
        [one] => Some((*one).clone()),
        // Not listed (a view SQLite does not list as a table): read as written.
        [] => Some(name.to_string()),
        _ => None,
    })
}

/// The table's description (under the name the database spells it with, found ignoring
/// case), or `None` when it does not exist or several tables differ from `name` only in case.
pub async fn table(db: &Db, name: &str) -> Result<Option<HostTable>, StoreError> {
    let Some(live) = live_name(db, name).await? else {
        return Ok(None);
    };
    let name = live.as_str();
    let mut c = db.reader().await?;
    let columns = match db.dialect {
        Dialect::Sqlite => sqlite_columns(&mut c, name).await?,
        Dialect::Postgres => pg_columns(&mut c, name).await?,
        Dialect::Mysql => mysql_columns(&mut c, name).await?,
    };
    if columns.is_empty() {
        return Ok(None);
    }
    let indexes = match db.dialect {
        Dialect::Sqlite => sqlite_indexes(&mut c, name, &columns).await?,
        Dialect::Postgres => pg_indexes(&mut c, name).await?,
        Dialect::Mysql => mysql_indexes(&mut c, name).await?,
    };
    let mut columns = columns;
    for col in &mut columns {
        // Enumerated and binary columns cannot hold the logins a case-insensitive lookup is for.
        let textual = col.storage() == Storage::Plain;
        if col.kind == Some(ColumnKind::Text) && textual && !has_ci_index(db.dialect, &indexes, col)
        {
            col.ci_index_advice = Some(ci_index_advice(db.dialect, name, &col.name));
        }
    }
    Ok(Some(HostTable {
        name: name.to_string(),
        columns,
    }))
}

fn varchar_len(ty: &str) -> Option<u32> {
    let t = ty.to_ascii_lowercase();
    if !t.contains("char") {
        return None;
    }
    let open = t.find('(')?;
    let close = t[open..].find(')')? + open;
    t[open + 1..close].trim().parse().ok()
}

async fn sqlite_columns(c: &mut Conn, table: &str) -> Result<Vec<HostColumn>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT name, type, CAST(\"notnull\" AS TEXT), dflt_value, CAST(pk AS TEXT) FROM pragma_table_info(")
        .text(table)
        .raw(") ORDER BY cid");
    let rows = c.rows(q).await?;
    let pk_count = rows.iter().filter(|r| r.get(4) != Some("0")).count();
    Ok(rows
        .into_iter()
        .map(|r| {
            let ty = r.get(1).unwrap_or("").to_string();
            let pk = r.get(4) != Some("0");
            // INTEGER PRIMARY KEY is the rowid: SQLite fills it, and reports it nullable.
            let rowid = pk && pk_count == 1 && ty.eq_ignore_ascii_case("integer");
            HostColumn {
                name: r.get(0).unwrap_or("").to_string(),
                kind: column_kind(Dialect::Sqlite, &ty),
                int_range: int_range(Dialect::Sqlite, &ty),
                max_len: varchar_len(&ty),
                sql_type: ty,
                nullable: r.get(2) == Some("0") && !rowid,
                has_default: r.get(3).is_some(),
                generated: rowid,
                primary_key: pk,
                collation: None,
                ci_index_advice: None,
            }
        })
        .collect())
}

async fn sqlite_indexes(
    c: &mut Conn,
    table: &str,
    columns: &[HostColumn],
) -> Result<Vec<HostIndex>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT il.name, CAST(il.\"unique\" AS TEXT), ii.name, ii.coll FROM pragma_index_list(")
        .text(table)
        .raw(") il JOIN pragma_index_xinfo(il.name) ii ON ii.seqno = 0");
    let mut out: Vec<HostIndex> = c
        .rows(q)
        .await?
        .into_iter()
        .map(|r| HostIndex {
            leading: r.get(2).unwrap_or("").to_ascii_lowercase(),
            nocase: r.get(3).is_some_and(|c| c.eq_ignore_ascii_case("nocase")),
        })
        .collect();
    // The rowid is an index too.
    if let Some(pk) = columns.iter().find(|c| c.generated) {
        out.push(HostIndex {
            leading: pk.name.to_ascii_lowercase(),
            nocase: false,
        });
    }
    Ok(out)
}

async fn pg_columns(c: &mut Conn, table: &str) -> Result<Vec<HostColumn>, StoreError> {
    let mut q = Sql::new();
    q.raw(
        "SELECT c.column_name::text, CASE WHEN c.data_type = 'USER-DEFINED' THEN c.udt_name::text ELSE c.data_type::text END, \
         c.is_nullable::text, c.column_default::text, c.is_identity::text, c.character_maximum_length::text, \
         CASE WHEN EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
           WHERE i.indisprimary AND i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident(c.table_name::text))::regclass \
           AND a.attname = c.column_name) THEN 'YES' ELSE 'NO' END, \
         c.udt_schema::text, \
         (SELECT array_to_json(array_agg(e.enumlabel::text ORDER BY e.enumsortorder))::text \
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid \
           WHERE c.data_type = 'USER-DEFINED' AND t.typname = c.udt_name AND n.nspname = c.udt_schema) \
         FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = ",
    )
    .text(table)
    .raw(" ORDER BY c.ordinal_position");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| {
            // An enum: its type and labels, in the form `HostColumn::storage` reads.
            let labels: Option<Vec<String>> = r.get(8).and_then(|j| serde_json::from_str(j).ok());
            let ty = match labels {
                Some(labels) => pg_enum_type(
                    r.get(7).unwrap_or("public"),
                    r.get(1).unwrap_or(""),
                    &labels,
                ),
                None => {
                    let ty = r.get(1).unwrap_or("");
                    pg_json_type(ty).unwrap_or_else(|| ty.to_string())
                }
            };
            let default = r.get(3);
            let generated =
                r.get(4) == Some("YES") || default.is_some_and(|d| d.starts_with("nextval("));
            HostColumn {
                name: r.get(0).unwrap_or("").to_string(),
                kind: column_kind(Dialect::Postgres, &ty),
                int_range: int_range(Dialect::Postgres, &ty),
                sql_type: ty,
                nullable: r.get(2) == Some("YES"),
                has_default: default.is_some(),
                generated,
                primary_key: r.get(6) == Some("YES"),
                max_len: r.get(5).and_then(|s| s.parse().ok()),
                collation: None,
                ci_index_advice: None,
            }
        })
        .collect())
}

async fn pg_indexes(c: &mut Conn, table: &str) -> Result<Vec<HostIndex>, StoreError> {
    let mut q = Sql::new();
    q.raw("SELECT indexname::text, indexdef::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ").text(table);
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| {
            let def = r.get(1).unwrap_or("").to_string();
            HostIndex {
                leading: pg_leading(&def),
                nocase: false,
            }
        })
        .collect())
}

/// `CREATE INDEX i ON public.t USING btree (lower((email)::text), x)` → `lower((email)::text)`.
fn pg_leading(def: &str) -> String {
    let Some(start) = def
        .find(" USING ")
        .and_then(|u| def[u..].find('(').map(|p| u + p + 1))
    else {
        return String::new();
    };
    let mut depth = 0;
    let mut out = String::new();
    for ch in def[start..].chars() {
        match ch {
            '(' => depth += 1,
            ')' if depth == 0 => break,
            ')' => depth -= 1,
            ',' if depth == 0 => break,
            _ => {}
        }
        out.push(ch);
    }
    out.trim().trim_matches('"').to_ascii_lowercase()
}

async fn mysql_columns(c: &mut Conn, table: &str) -> Result<Vec<HostColumn>, StoreError> {
    let mut q = Sql::new();
    q.raw(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), \
         CAST(EXTRA AS CHAR), CAST(CHARACTER_MAXIMUM_LENGTH AS CHAR), CAST(COLLATION_NAME AS CHAR), CAST(COLUMN_KEY AS CHAR) \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) = CAST(",
    )
    .text(table)
    .raw(" AS BINARY) ORDER BY ORDINAL_POSITION");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| {
            let ty = r.get(1).unwrap_or("").to_string();
            HostColumn {
                name: r.get(0).unwrap_or("").to_string(),
                kind: column_kind(Dialect::Mysql, &ty),
                int_range: int_range(Dialect::Mysql, &ty),
                sql_type: ty,
                nullable: r.get(2) == Some("YES"),
                // MariaDB reports a NULL default as the string "NULL".
                has_default: r.get(3).is_some_and(|d| d != "NULL"),
                generated: r
                    .get(4)
                    .is_some_and(|e| e.to_ascii_lowercase().contains("auto_increment")),
                primary_key: r.get(7) == Some("PRI"),
                max_len: r.get(5).and_then(|s| s.parse().ok()),
                collation: r.get(6).map(str::to_string),
                ci_index_advice: None,
            }
        })
        .collect())
}

async fn mysql_indexes(c: &mut Conn, table: &str) -> Result<Vec<HostIndex>, StoreError> {
    let mut q = Sql::new();
    q.raw(
        "SELECT CAST(INDEX_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(NON_UNIQUE AS CHAR) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND SEQ_IN_INDEX = 1 AND CAST(TABLE_NAME AS BINARY) = CAST(",
    )
    .text(table)
    .raw(" AS BINARY)");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| HostIndex {
            leading: r.get(1).unwrap_or("").to_ascii_lowercase(),
            nocase: false,
        })
        .collect())
}

/// Whether a MySQL/MariaDB storage engine rolls back a transaction's writes.
fn rolls_back(engine: &str) -> bool {
    matches!(
        engine.to_ascii_lowercase().as_str(),
        "innodb" | "xtradb" | "rocksdb" | "tokudb" | "ndbcluster" | "ndb"
    )
}

/// The tables among `names` (as the database spells them) whose storage engine cannot roll
/// back a transaction, with the engine (MySQL/MariaDB MyISAM, MEMORY, CSV, ARCHIVE, Aria, …).
/// SQLite and PostgreSQL tables always can.
pub async fn engines(db: &Db, names: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
    if db.dialect != Dialect::Mysql || names.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = db.reader().await?;
    let mut q = Sql::new();
    q.raw("SELECT CAST(TABLE_NAME AS CHAR), CAST(ENGINE AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND ENGINE IS NOT NULL");
    Ok(c.rows(q)
        .await?
        .into_iter()
        .filter_map(|r| Some((r.get(0)?.to_string(), r.get(1)?.to_string())))
        .filter(|(t, e)| names.contains(&t.as_str()) && !rolls_back(e))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_that_roll_back() {
        assert!(rolls_back("InnoDB"));
        for e in ["MyISAM", "MEMORY", "CSV", "Aria", "ARCHIVE"] {
            assert!(!rolls_back(e), "{e}");
        }
    }

    #[test]
    fn enums_dates_and_binary_strings_are_mappable() {
        use ColumnKind::*;
        let pg_enum = pg_enum_type("public", "user_type", &["agent".into(), "customer".into()]);
        for (d, t, k) in [
            (Dialect::Postgres, pg_enum.as_str(), Text),
            (Dialect::Mysql, "enum('agent','customer')", Text),
            (Dialect::Mysql, "longblob", Text),
            (Dialect::Mysql, "varbinary(255)", Text),
            (Dialect::Mysql, "blob", Text),
            (Dialect::Sqlite, "BLOB", Text),
            (Dialect::Postgres, "date", Timestamp),
            (Dialect::Mysql, "date", Timestamp),
            (Dialect::Sqlite, "DATE", Timestamp),
        ] {
            assert_eq!(column_kind(d, t), Some(k), "{d} {t}");
        }
        assert_eq!(
            column_kind(Dialect::Postgres, "bytea"),
            None,
            "bytea is not text"
        );
        assert_eq!(column_kind(Dialect::Postgres, "daterange"), None);
    }

    #[test]
    fn integer_ranges_where_the_database_enforces_them() {
        assert_eq!(
            int_range(Dialect::Postgres, "smallint"),
            Some((-32768, 32767))
        );
        assert_eq!(
            int_range(Dialect::Mysql, "int(10) unsigned"),
            Some((0, 4_294_967_295))
        );
        assert_eq!(int_range(Dialect::Mysql, "tinyint(4)"), Some((-128, 127)));
        assert_eq!(int_range(Dialect::Mysql, "tinyint(1)"), None, "a boolean");
        assert_eq!(int_range(Dialect::Postgres, "bigint"), None);
        assert_eq!(
            int_range(Dialect::Sqlite, "smallint"),
            None,
            "SQLite does not enforce it"
        );
    }

    #[test]
    fn classifies_real_types() {
        use ColumnKind::*;
        let cases = [
            (Dialect::Mysql, "int(10) unsigned", Int),
            (Dialect::Mysql, "tinyint(1)", Bool),
            (Dialect::Mysql, "tinyint(4)", Int),
            (Dialect::Mysql, "varchar(255)", Text),
            (Dialect::Mysql, "datetime(6)", Timestamp),
            (Dialect::Postgres, "timestamp without time zone", Timestamp),
            (Dialect::Postgres, "timestamp with time zone", TimestampTz),
            (Dialect::Postgres, "character varying", Text),
            (Dialect::Postgres, "boolean", Bool),
            (Dialect::Sqlite, "INTEGER", Int),
            (Dialect::Sqlite, "varchar(100)", Text),
            (Dialect::Sqlite, "datetime", Timestamp),
            (Dialect::Sqlite, "BOOLEAN", Bool),
        ];
        for (d, t, k) in cases {
            assert_eq!(column_kind(d, t), Some(k), "{d} {t}");
        }
        assert_eq!(column_kind(Dialect::Postgres, "bytea"), None);
    }

    fn email(sql_type: &str, collation: Option<&str>) -> HostColumn {
        HostColumn {
            name: "email".into(),
            sql_type: sql_type.into(),
            kind: Some(ColumnKind::Text),
            nullable: false,
            has_default: false,
            generated: false,
            primary_key: false,
            max_len: None,
            int_range: None,
            collation: collation.map(str::to_string),
            ci_index_advice: None,
        }
    }

    fn idx(leading: &str, nocase: bool) -> Vec<HostIndex> {
        vec![HostIndex {
            leading: leading.into(),
            nocase,
        }]
    }

    #[test]
    fn case_insensitive_index_detection_per_dialect() {
        use Dialect::*;
        assert!(has_ci_index(
            Postgres,
            &idx("lower((email)::text)", false),
            &email("text", None)
        ));
        assert!(has_ci_index(
            Postgres,
            &idx("email", false),
            &email("citext", None)
        ));
        assert!(
            !has_ci_index(
                Postgres,
                &idx("email", false),
                &email("character varying", None)
            ),
            "a plain index cannot serve lower(email) = lower($1)"
        );
        assert!(ci_index_advice(Postgres, "users", "email").contains("lower(\"email\")"));
        assert!(has_ci_index(
            Sqlite,
            &idx("email", true),
            &email("TEXT", None)
        ));
        assert!(!has_ci_index(
            Sqlite,
            &idx("email", false),
            &email("TEXT", None)
        ));
        assert!(has_ci_index(
            Mysql,
            &idx("email", false),
            &email("varchar(255)", Some("utf8mb4_unicode_ci"))
        ));
        assert!(!has_ci_index(
            Mysql,
            &idx("email", false),
            &email("varchar(255)", Some("utf8mb4_bin"))
        ));
    }

    #[test]
    fn pg_index_definitions() {
        assert_eq!(
            pg_leading("CREATE UNIQUE INDEX u ON public.users USING btree (lower((email)::text))"),
            "lower((email)::text)"
        );
        assert_eq!(
            pg_leading("CREATE INDEX i ON public.users USING btree (email, id)"),
            "email"
        );
        assert_eq!(varchar_len("character varying(100)"), Some(100));
        assert_eq!(varchar_len("varchar(20)"), Some(20));
        assert_eq!(varchar_len("text"), None);
    }
}
