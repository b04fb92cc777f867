use std::process::ExitCode;
use std::time::Duration;

use crate::config::Settings;
use crate::mapping::compile::{PrimaryMark, Problem, Rule, Source, UserMapping};
use crate::mapping::model::When;
use crate::mapping::transform::Transform;
use crate::mapping::HostTable;
use crate::store::{migrate, Db};

/// Prints every problem found; exit 1 when any is an error.
pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let url = settings.db_url()?;
    println!("config:   ok");
    super::ensure_database_file(settings, &url)?;
    let db = super::connect_with_retry(settings, &url, Duration::from_secs(3)).await?;
    println!("database: {url:?} ({}) reachable", db.dialect);
    let pending = migrate::migrate(&url, false).await?.pending;
    if pending.is_empty() {
        println!("bridge tables: up to date");
    } else {
        println!("bridge tables: {} migration(s) pending ({}); `scim-bridge migrate` or serve with migrate_on_start applies them", pending.len(), pending.join(", "));
    }
    let (compiled, table) = super::compile_mapping(settings, &db).await?;
    println!("mapping:  {}", settings.mapping_path().display());
    if let (Some(m), Some(t)) = (&compiled.mapping, &table) {
        describe_users(m, t);
        describe_protected(&db, m).await?;
        describe_groups(m);
    }
    Ok(print_problems(&compiled.problems))
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
    let flag = r.flag.map(|b| format!(", flag = {b}")).unwrap_or_default();
    let transforms = if r.transforms.is_empty() {
        String::new()
    } else {
        format!(
            ", transform = [{}]",
            r.transforms
                .iter()
                .map(|t| format!("\"{}\"", transform_word(*t)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let on = if r.on == When::Insert {
        ", on = \"insert\""
    } else {
        ""
    };
    format!("    {:<22} ← {src}{transforms}{flag}{on}", r.column)
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

/// A transform as the mapping file spells it (the names `transform = …` accepts).
fn transform_word(t: Transform) -> &'static str {
    match t {
        Transform::Trim => "trim",
        Transform::Lowercase => "lowercase",
        Transform::Uppercase => "uppercase",
        Transform::Not => "not",
        Transform::NullIfEmpty => "null_if_empty",
    }
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
            assert_eq!(Transform::parse(transform_word(t)), Some(t));
        }
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
