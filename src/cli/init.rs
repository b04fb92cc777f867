//! `scim-bridge init`: a commented config.toml (the shipped one is the template) and, with
//! `--database`, a mapping drafted from the live schema ([`crate::mapping::draft`]), then the
//! same validation as `scim-bridge check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::config::Settings;
use crate::mapping::draft;
use crate::store::{introspect, Db, DbOptions, DbUrl, StoreError};

/// The shipped configuration: `init` writes it, edited for the database when one is given.
pub const CONFIG_TEMPLATE: &str = include_str!("../../config.toml");
/// The demo mapping the shipped configuration names.
const DEMO_MAPPING: &str = include_str!("../../mappings/demo.toml");

/// Lines of the template `init --database` replaces; each must be present (a test keeps the
/// template and this list in step).
const SHIPPED_HEADER: &str =
    "# As shipped, this file runs the bridge on an embedded SQLite demo helpdesk.";
const SHIPPED_URL: &str = "url = \"sqlite://data/helpdesk-demo.db\"";
const SHIPPED_DEMO: &str = "create_demo = true";
const SHIPPED_MAPPING: &str = "file = \"mappings/demo.toml\"";

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The application's database (sqlite://PATH, postgres://…, mysql://…): its schema is read
    /// and a mapping drafted from it. Read only; nothing is written to it.
    #[arg(long)]
    pub database: Option<String>,
    /// Draft for this table instead of the one that looks most like a user table.
    #[arg(long, requires = "database")]
    pub table: Option<String>,
    /// Where the drafted mapping goes, relative to the configuration file's directory.
    #[arg(long, default_value = "mapping.toml", requires = "database")]
    pub mapping: PathBuf,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
}

/// Runs `init`; exit 0 when the files are written (and, with --database, the draft passes
/// `check`), 1 otherwise.
pub fn main(config: &Path, args: InitArgs) -> ExitCode {
    crate::telemetry::init("pretty", "warn");
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scim-bridge: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(config, args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scim-bridge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Refuses to overwrite any of `paths` without --force, before anything is written.
fn refuse_existing(paths: &[&Path], force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    let existing: Vec<String> = paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "{} already exist{}; nothing was written (pass --force to overwrite)",
            existing.join(" and "),
            if existing.len() == 1 { "s" } else { "" }
        );
    }
    Ok(())
}

fn write(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    Ok(())
}

/// The configuration for a real database: the template with the database, the demo switch
/// and the mapping file replaced, and a header saying where it came from.
pub fn config_for(url: &str, shown: &str, mapping: &str) -> String {
    let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
    CONFIG_TEMPLATE
        .replacen(
            SHIPPED_HEADER,
            &format!("# Written by `scim-bridge init` for {shown}; the mapping was drafted from its schema."),
            1,
        )
        .replacen(SHIPPED_URL, &format!("url = {}", quoted(url)), 1)
        .replacen(SHIPPED_DEMO, "create_demo = false", 1)
        .replacen(SHIPPED_MAPPING, &format!("file = {}", quoted(mapping)), 1)
}

/// Whether the URL carries a password (`scheme://user:secret@host`).
fn has_password(url: &str) -> bool {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => url[s + 3..at].contains(':'),
        _ => false,
    }
}

async fn run(config: &Path, args: InitArgs) -> anyhow::Result<ExitCode> {
    let dir = config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let Some(raw_url) = args.database else {
        let demo = dir.join("mappings/demo.toml");
        refuse_existing(&[config, &demo], args.force)?;
        write(config, CONFIG_TEMPLATE, false)?;
        write(&demo, DEMO_MAPPING, false)?;
        println!(
            "wrote {} (the shipped configuration: an embedded SQLite demo helpdesk) and {}",
            config.display(),
            demo.display()
        );
        println!("next: `scim-bridge --config {} serve` runs the demo; `scim-bridge init --database URL --force` drafts a mapping for your application's database", config.display());
        return Ok(ExitCode::SUCCESS);
    };
    let url = DbUrl::parse(&raw_url).map_err(|e| anyhow::anyhow!("--database: {e}"))?;
    // The configuration resolves relative paths against its own directory: store SQLite
    // paths absolute, so the file named here is the one the bridge opens.
    let url_text = match &url {
        DbUrl::Sqlite(p) => {
            if !p.exists() {
                bail!(
                    "--database: {} does not exist (init reads an application's database, it never creates one)",
                    p.display()
                );
            }
            let abs = std::fs::canonicalize(p).with_context(|| p.display().to_string())?;
            format!("sqlite://{}", abs.display())
        }
        _ => raw_url.clone(),
    };
    let mapping_path = dir.join(&args.mapping);
    refuse_existing(&[config, &mapping_path], args.force)?;

    let db = Db::connect(
        &url,
        &DbOptions {
            pool_size: 1,
            acquire_timeout: Duration::from_secs(10),
            sqlite_wal: false,
            sqlite_busy_timeout: Duration::from_secs(5),
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Unavailable(why) => super::connect_error(&url, &why),
        other => anyhow::anyhow!("cannot connect to {url:?}: {other}"),
    })?;
    let mut tables = Vec::new();
    for name in introspect::tables(&db).await? {
        if let Some(t) = introspect::table(&db, &name).await? {
            tables.push(t);
        }
    }
    let shown = format!("{url:?}");
    let d = draft::draft(&tables, args.table.as_deref(), &shown).map_err(anyhow::Error::msg)?;
    let mapping_name = args.mapping.display().to_string();
    write(&mapping_path, &d.text, false)?;
    write(
        config,
        &config_for(&url_text, &shown, &mapping_name),
        has_password(&url_text),
    )?;
    println!(
        "wrote {} (users in table \"{}\") and {}{}",
        mapping_path.display(),
        d.table,
        config.display(),
        if has_password(&url_text) {
            " (readable by you only: it holds the database password; under systemd, move the URL to SCIM_BRIDGE__DATABASE__URL in /etc/scim-bridge/env)"
        } else {
            ""
        }
    );
    print_other_candidates(&d);
    println!("checking the draft, as `scim-bridge check` does:");
    println!();
    let settings = Settings::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let code = super::check::run(&settings).await?;
    println!();
    if d.decisions.is_empty() {
        println!("no line of the draft is marked DECIDE; read its comments, then `scim-bridge preview` a create before connecting an identity provider");
    } else {
        println!(
            "{} line(s) of the draft need your decision (marked DECIDE):",
            d.decisions.len()
        );
        for x in &d.decisions {
            println!("  {}:{}: {}", mapping_path.display(), x.line, x.what);
        }
    }
    Ok(code)
}

/// The other tables that looked like user tables, so an operator whose users live in one of
/// them sees at once that `--table` picks it.
fn print_other_candidates(d: &draft::Draft) {
    let others: Vec<String> = d
        .candidates
        .iter()
        .filter(|c| c.table != d.table)
        .map(|c| format!("\"{}\" ({})", c.table, c.reasons.join(", ")))
        .collect();
    if !others.is_empty() {
        println!(
            "other tables that could hold users: {}; to draft from one of them, run init again with --table NAME",
            others.join("; ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_holds_every_line_init_replaces() {
        for line in [SHIPPED_HEADER, SHIPPED_URL, SHIPPED_DEMO, SHIPPED_MAPPING] {
            assert_eq!(
                CONFIG_TEMPLATE.matches(line).count(),
                1,
                "config.toml no longer holds {line:?} exactly once; update init.rs"
            );
        }
        let c = config_for(
            "postgres://app:pw@db/helpdesk",
            "postgres://app:***@db/helpdesk",
            "mapping.toml",
        );
        let v: toml::Value = toml::from_str(&c).unwrap();
        assert_eq!(
            v["database"]["url"].as_str(),
            Some("postgres://app:pw@db/helpdesk")
        );
        assert_eq!(v["database"]["create_demo"].as_bool(), Some(false));
        assert_eq!(v["mapping"]["file"].as_str(), Some("mapping.toml"));
        assert!(c.contains("Written by `scim-bridge init` for postgres://app:***@db/helpdesk"));
        assert!(!c.contains("As shipped"));
    }

    #[test]
    fn passwords_in_urls_are_noticed() {
        assert!(has_password("postgres://app:pw@db/x"));
        assert!(!has_password("postgres://app@db/x"));
        assert!(!has_password("sqlite:///var/lib/app.db"));
    }
}
