use std::process::ExitCode;
use std::time::Duration;

use crate::config::Settings;
use crate::mapping::compile::Source;
use crate::store::migrate;

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
        println!(
            "table:    {} (key {}, {} columns, {} mapped)",
            t.name,
            m.key.name,
            t.columns.len(),
            m.rules.len()
        );
        for r in &m.rules {
            let src = match &r.source {
                Source::Attr(a) => a.text.clone(),
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
            println!(
                "  {:<24} ← {src}{}",
                r.column,
                if r.on == crate::mapping::model::When::Insert {
                    " (on insert)"
                } else {
                    ""
                }
            );
        }
    }
    let errors = compiled.problems.iter().filter(|p| p.error).count();
    let warnings = compiled.problems.len() - errors;
    for p in &compiled.problems {
        println!("{p}");
    }
    println!("{errors} error(s), {warnings} warning(s)");
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
