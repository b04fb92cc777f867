use std::process::ExitCode;
use std::time::Duration;

use crate::config::Settings;
use crate::mapping::compile::{Joined, Lookup, PrimaryMark, Problem, Rule, Source, UserMapping};
use crate::mapping::model::When;
use crate::mapping::transform::Transform;
use crate::mapping::HostTable;
use crate::store::dialect::Dialect;
use crate::store::{journal, migrate, Db};

/// Prints every problem found; exit 1 when any is an error.
pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let url = settings.db_url()?;
    println!("config:   ok");
    super::ensure_database_file(settings, &url)?;
    let db = super::connect_with_retry(settings, &url, Duration::from_secs(3)).await?;
    println!("database: {url:?} ({}) reachable", db.dialect);
    describe_pool(settings, &db);
    describe_journal(&db, settings.database.sqlite_wal).await?;
    let pending = migrate::migrate(&url, false).await?.pending;
    if pending.is_empty() {
        println!("bridge tables: up to date");
    } else {
        println!("bridge tables: {} migration(s) pending ({}); `scim-bridge migrate` or serve with migrate_on_start applies them", pending.len(), pending.join(", "));
    }
    let (compiled, table) = super::compile_mapping(settings, &db).await?;
    println!("mapping:  {}", settings.mapping_path().display());
    let mut problems = compiled.problems.clone();
    if let (Some(m), Some(t)) = (&compiled.mapping, &table) {
        describe_users(m, t);
        describe_extensions(m);
        describe_protected(&db, m).await?;
        describe_grants(m);
        describe_groups(m);
        problems.extend(without_user_name(&db, m).await?);
        problems.extend(describe_collisions(&db, m, pending.is_empty()).await?);
    }
    Ok(print_problems(&problems))
}

/// The pool the bridge runs with — the size and the rule that gave it (`database.pool_size = 0`
/// derives it from the backend) — and the requests per token that follow from it.
fn describe_pool(settings: &Settings, db: &Db) {
    let pool = db.pool_size();
    let size = match db.dialect {
        Dialect::Sqlite => format!("{} reader(s) + 1 writer", pool.size),
        _ => format!("{} connection(s)", pool.size),
    };
    println!("pool:     {size} ({})", pool.why);
    let per_token = if settings.limits.per_token_in_flight == 0 {
        "limits.per_token_in_flight = 0: twice the pool"
    } else {
        "limits.per_token_in_flight"
    };
    println!(
        "requests: {} at once per token ({per_token})",
        settings.token_in_flight(pool.size)
    );
}

/// SQLite's journal mode as read and, when it is not WAL, what WAL would buy and how to switch
/// it: the bridge never switches a host's file itself.
async fn describe_journal(db: &Db, sqlite_wal: bool) -> anyhow::Result<()> {
    let Some(mode) = journal::mode(db).await? else {
        return Ok(());
    };
    println!("journal:  {mode} (PRAGMA journal_mode)");
    if mode == "wal" {
        return Ok(());
    }
    if sqlite_wal {
        println!("    database.sqlite_wal = true: the bridge's writer switches the file to WAL when it opens (the first write after serve starts)");
    } else {
        println!("    not WAL: in WAL mode reads run beside a write and commits are cheaper — creates ~1,890/s instead of ~736/s, PATCH ~1,967/s instead of ~752/s (issue 18's side-by-side run, 2 cores); database.sqlite_wal = true switches it (and sets synchronous = NORMAL on the bridge's writer), but it changes the file for the application too: a -wal and a -shm file beside it, every program using it on this machine (no network file system), and a power cut may undo the last commits");
    }
    Ok(())
}

/// Host rows whose match values collide case-insensitively (the first 20 values), each with
/// what a POST of that userName does; a warning when there are any.
async fn describe_collisions(
    db: &Db,
    m: &UserMapping,
    links: bool,
) -> anyhow::Result<Option<Problem>> {
    use crate::service::import::{collision_outcome, collision_rows};
    let (total, list) = crate::store::users::match_collisions(db, m, 20, links).await?;
    if total == 0 {
        return Ok(None);
    }
    println!(
        "collisions: {total} value(s) held by several rows, compared case-insensitively as users.match adopts{}",
        if total > 20 { " (the first 20)" } else { "" }
    );
    for c in &list {
        println!(
            "    {:?}: {}; {}",
            c.value,
            collision_rows(c),
            collision_outcome(c)
        );
    }
    Ok(Some(Problem {
        error: false,
        key: "users.match".into(),
        message: format!(
            "{total} value(s) of the match columns are held by several host rows (listed under \"collisions\"): a POST of such a userName answers 409 unless one row is linked to it; merge or rename the rows in the application before assigning those people"
        ),
    }))
}

/// Host rows that would be served without a userName (RFC 7643 requires one, and an
/// identity provider's import cannot match them): a warning naming a few, and the fix — a
/// `read_fallback`, or another one when the mapping's fallbacks are empty too.
async fn without_user_name(db: &Db, m: &UserMapping) -> anyhow::Result<Option<Problem>> {
    use crate::scim::filter::Filter;
    use crate::scim::path::AttrPath;
    let absent = Filter::Not(Box::new(Filter::Present(AttrPath::simple("userName"))));
    let pred = m.predicate(&absent)?;
    let (total, keys) = crate::store::users::keys_matching(db, m, &pred, 10).await?;
    if total == 0 {
        return Ok(None);
    }
    let ids: Vec<&str> = keys.iter().map(String::as_str).collect();
    let more = if total > ids.len() as u64 {
        ", …"
    } else {
        ""
    };
    let fix = match m.fallbacks.iter().find(|f| f.attr.is_core("userName")) {
        Some(f) => format!(
            "their {} is empty too: add another attribute to users.read_fallback.userName, or give them a login in the application",
            f.from.iter().map(|t| format!("\"{}\"", t.text)).collect::<Vec<_>>().join(", ")
        ),
        None => "serve them another attribute under [users], e.g. read_fallback = { userName = \"emails.value\" } (the primary email), and add its column to users.match so a POST of that userName adopts the row".into(),
    };
    Ok(Some(Problem {
        error: false,
        key: "users.read_fallback".into(),
        message: format!(
            "{total} host row(s) would be served without a userName (ids {}{more}), which identity providers cannot match: {fix}",
            ids.join(", ")
        ),
    }))
}

/// The user table, its rules, and its joined and child tables with theirs.
fn describe_users(m: &UserMapping, t: &HostTable) {
    println!(
        "table:    {} (key {}, {} columns, {} mapped); on_delete = \"{}\"",
        t.name,
        m.key.name,
        t.columns.len(),
        m.rules.len(),
        m.on_delete.as_str()
    );
    for r in m.rules.iter().filter(|r| r.at == 0) {
        println!("{}", describe(r));
    }
    for (i, j) in m.joined.iter().enumerate() {
        let mut when = String::new();
        for (c, v) in &j.conditions {
            when.push_str(&format!(", {c} = {}", v.display()));
        }
        if j.on == When::Insert {
            when.push_str("; created only for users the bridge inserts");
        }
        if j.skip_if_absent {
            when.push_str("; only while its attribute is present, deleted when it is removed");
        }
        let holds = if j.user_column == m.key.name {
            "user key".to_string()
        } else if j.before_user {
            format!(
                "the user's {} (the row is inserted first; its new key written there)",
                j.user_column
            )
        } else {
            format!("the user's {}, kept in step when it changes", j.user_column)
        };
        println!(
            "  joined {} (one row per user: {} = {holds}{when})",
            j.table, j.parent
        );
        for r in m.rules.iter().filter(|r| r.at == i + 1) {
            println!("{}", describe(r));
        }
    }
    for c in &m.children {
        let primary = match &c.primary {
            PrimaryMark::Pointer { column, .. } => {
                format!("{}.{column} points at the primary", m.table)
            }
            PrimaryMark::Flag { column, .. } => format!("{column} marks the primary"),
            PrimaryMark::First => "the lowest key is the primary".into(),
        };
        println!(
            "  children {} ← {} (one row per value; {primary})",
            c.table, c.attr
        );
        for r in &c.rules {
            println!("{}", describe(r));
        }
    }
    let order = insert_order(m);
    if order.len() > 1 {
        println!("  insert order for a new user (derived from where each key goes):");
        for (n, step) in order.iter().enumerate() {
            println!("    {}. {step}", n + 1);
        }
    }
    for (name, actions) in [
        ("on_deactivate", &m.on_deactivate),
        ("on_reactivate", &m.on_reactivate),
    ] {
        if !actions.is_empty() {
            println!("  {name} (when the identity provider changes active, same transaction):");
            for line in actions.describe() {
                println!("    {line}");
            }
        }
    }
}

/// The tables a create writes, in the order `store::users::write::insert_new` writes them —
/// which follows from where each key goes, so the mapping declares no order: rows whose key
/// a column holds (a lookup's row, a principal the user's row points at) come before that
/// row, rows holding the user's key or login after it, the primary pointer last.
fn insert_order(m: &UserMapping) -> Vec<String> {
    let mut out = Vec::new();
    // Lookups first, as the store resolves them: the user's rules, then each joined table's.
    for r in &m.rules {
        if let Some(l) = r.lookup.as_ref().filter(|l| l.create) {
            let holder = match r.at.checked_sub(1).and_then(|i| m.joined.get(i)) {
                Some(j) => &j.table,
                None => &m.table,
            };
            out.push(format!(
                "{} (lookup), only when no row holds the value; its key goes into {holder}.{}",
                l.table, r.column
            ));
        }
    }
    let presence = |j: &Joined| {
        if j.skip_if_absent {
            ", only when its attribute has a value"
        } else {
            ""
        }
    };
    for j in m.joined.iter().filter(|j| j.before_user) {
        out.push(format!(
            "{}{}; its new key goes into {}.{}",
            j.table,
            presence(j),
            m.table,
            j.user_column
        ));
    }
    out.push(format!("{} (the user's row)", m.table));
    for j in m.joined.iter().filter(|j| !j.before_user) {
        let holds = if j.user_column == m.key.name {
            "the user's key".to_string()
        } else {
            format!("the user's {}", j.user_column)
        };
        out.push(format!(
            "{}{}; {} holds {holds}",
            j.table,
            presence(j),
            j.parent
        ));
    }
    for c in &m.children {
        let then = match &c.primary {
            PrimaryMark::Pointer { column, .. } => {
                format!("; then {}.{column} is pointed at the primary", m.table)
            }
            _ => String::new(),
        };
        out.push(format!("{} (one row per {} value){then}", c.table, c.attr));
    }
    out
}

/// Custom extensions (`[extensions]` and custom URNs the columns name): each attribute with
/// its type and where it is kept — a column, or the bridge's record when none maps it.
fn describe_extensions(m: &UserMapping) {
    for ext in m.resource_type.extensions.iter().skip(1) {
        println!("extension {}:", ext.id);
        for a in &ext.attrs {
            let column = m.rules.iter().find(|r| {
                r.attrs().iter().any(|t| {
                    t.path.attr == a.name
                        && t.path
                            .urn
                            .as_deref()
                            .is_some_and(|u| u.eq_ignore_ascii_case(&ext.id))
                })
            });
            let at = match column {
                Some(r) if r.at == 0 => format!("column {}.{}", m.table, r.column),
                Some(r) => format!("column {}.{}", m.joined[r.at - 1].table, r.column),
                None => "kept in the bridge's record (scim_users.resource), no column".into(),
            };
            let plural = if a.multi { ", multi-valued" } else { "" };
            println!("  {} ({}{plural}) → {at}", a.name, a.ty.as_str());
        }
    }
}

/// What members of each pushed group get (`[[users.grants]]`) and what leaving writes back,
/// so the operator sees the role each group confers before Okta pushes it.
fn describe_grants(m: &UserMapping) {
    let pairs = |v: &[(String, crate::mapping::HostValue)]| {
        v.iter()
            .map(|(c, v)| format!("{c} = {}", v.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for g in &m.grants {
        let mut gives: Vec<String> = Vec::new();
        if !g.set.is_empty() {
            gives.push(format!(
                "{} (otherwise {})",
                pairs(&g.set),
                pairs(&g.otherwise)
            ));
        }
        if let Some(r) = &g.row {
            gives.push(format!(
                "a {} row ({} = user key, {})",
                r.table,
                r.parent,
                pairs(&r.values)
            ));
        }
        println!(
            "grant:    members of \"{}\" get {} (users.grants)",
            g.group,
            gives.join(" and ")
        );
    }
}

/// One rule as a line: the column, then where its value comes from in the mapping file's own
/// words (`transform = [...]`, `flag = 2`, `on = "insert"`).
fn describe(r: &Rule) -> String {
    let src = match &r.source {
        Source::Attr(a) => a.text.clone(),
        Source::Const(_) if r.own_key => "the row's own key (written just after the insert)".into(),
        Source::Const(_) if r.key_of.is_some() => format!(
            "the key of the user's {} row (inserted before)",
            r.key_of.as_deref().unwrap_or_default()
        ),
        Source::Const(v) => format!("constant {}", v.display()),
        Source::Now => "now".to_string(),
        Source::Template(_) => format!(
            "template of {}",
            r.attrs()
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let src = match &r.lookup {
        Some(l) => format!("{src}, {}", describe_lookup(l)),
        None => src,
    };
    let flag = r.flag.map(|b| format!(", flag = {b}")).unwrap_or_default();
    let words: Vec<String> = r
        .transforms
        .iter()
        .filter_map(|t| transform_word(*t).map(|w| format!("\"{w}\"")))
        .collect();
    let mut transforms = if words.is_empty() {
        String::new()
    } else {
        format!(", transform = [{}]", words.join(", "))
    };
    for t in &r.transforms {
        if let Transform::Truncate(n) = t {
            transforms.push_str(&format!(", truncate = {n}"));
        }
    }
    let on = if r.on == When::Insert {
        ", on = \"insert\""
    } else {
        ""
    };
    let column = match &r.json {
        Some(j) => format!("{}[\"{}\"]", r.column, j.key),
        None => r.column.clone(),
    };
    format!("    {column:<22} ← {src}{transforms}{flag}{on}")
}

/// Where a lookup finds its key, and what a row it creates holds besides the value.
fn describe_lookup(l: &Lookup) -> String {
    let mut out = format!(
        "stored as {}.{} of the row whose {} holds it (ignoring case)",
        l.table, l.key.name, l.column
    );
    if l.create {
        out.push_str("; a new row when none does");
        let set: Vec<String> = l
            .set
            .iter()
            .map(|r| describe(r).split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if !set.is_empty() {
            out.push_str(&format!(", with {}", set.join(", ")));
        }
        out.push_str(" (an existing row is never changed)");
    }
    out
}

/// The rows `[[users.protect]]` keeps out of SCIM's reach (the first 20).
async fn describe_protected(db: &Db, m: &UserMapping) -> anyhow::Result<()> {
    if m.protect.is_empty() {
        return Ok(());
    }
    let rows = crate::store::users::protected(db, m, 21).await?;
    println!(
        "protected: {} row(s){} — SCIM never adopts or changes them (users.protect)",
        rows.len().min(20),
        if rows.len() > 20 { " or more" } else { "" }
    );
    for (key, name, i) in rows.iter().take(20) {
        println!(
            "    {key:<10} {:<32} {}",
            name.as_deref().unwrap_or("-"),
            m.protect[*i].reason
        );
    }
    Ok(())
}

/// Where groups are kept: the host's group and membership tables with their rules, or the
/// bridge's own tables.
fn describe_groups(m: &UserMapping) {
    let Some(g) = &m.host_groups else {
        println!("groups:   kept in the bridge only (no [groups] section)");
        return;
    };
    println!(
        "groups:   {} (key {}), members in {} ({}, {}); on_delete = \"{}\"",
        g.table,
        g.key.name,
        g.members.table,
        g.members.group,
        g.members.user,
        g.on_delete.as_str()
    );
    for r in g.rules.iter().chain(&g.members.rules) {
        println!("{}", describe(r));
    }
}

/// Every problem, then the counts; failure when any is an error.
fn print_problems(problems: &[Problem]) -> ExitCode {
    let errors = problems.iter().filter(|p| p.error).count();
    let warnings = problems.len() - errors;
    for p in problems {
        println!("{p}");
    }
    println!("{errors} error(s), {warnings} warning(s)");
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A transform as the mapping file spells it (the names `transform = …` accepts); `truncate`
/// is a key of its own.
fn transform_word(t: Transform) -> Option<&'static str> {
    Some(match t {
        Transform::Trim => "trim",
        Transform::Lowercase => "lowercase",
        Transform::Uppercase => "uppercase",
        Transform::Not => "not",
        Transform::NullIfEmpty => "null_if_empty",
        Transform::Truncate(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::model::OnDelete;

    #[test]
    fn words_are_the_ones_the_mapping_file_accepts() {
        for t in [
            Transform::Trim,
            Transform::Lowercase,
            Transform::Uppercase,
            Transform::Not,
            Transform::NullIfEmpty,
        ] {
            assert_eq!(transform_word(t).and_then(Transform::parse), Some(t));
        }
        assert_eq!(transform_word(Transform::Truncate(10)), None);
        for d in [
            OnDelete::Deactivate,
            OnDelete::Delete,
            OnDelete::Ignore,
            OnDelete::SoftDelete,
        ] {
            let parsed: toml::Value = toml::from_str(&format!("x = \"{}\"", d.as_str())).unwrap();
            let back: OnDelete = parsed["x"].clone().try_into().unwrap();
            assert_eq!(back, d);
        }
    }
}
