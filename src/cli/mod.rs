//! The `scim-bridge` command line. Each command is: config → logging → work.

mod audit;
mod check;
mod import;
mod init;
mod preview;
mod serve;
pub use serve::{http_settings, limits};
mod token;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tracing::{info, warn};

use crate::config::Settings;
use crate::mapping::{self, UserMapping};
use crate::service::App;
use crate::store::{self, demo, introspect, migrate, Db, DbUrl, StoreError};

/// SCIM 2.0 provisioning sidecar: identity providers (Okta, Entra ID, OneLogin, JumpCloud)
/// create, update and deactivate users over SCIM; scim-bridge writes them into your
/// application's own user table through a TOML field mapping.
///
/// Typical first run: `scim-bridge check`, then `scim-bridge token create --name okta`, then
/// `scim-bridge serve`.
#[derive(Debug, Parser)]
#[command(name = "scim-bridge", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file. Every key can also be set with SCIM_BRIDGE__SECTION__KEY
    /// environment variables (e.g. SCIM_BRIDGE__DATABASE__URL).
    #[arg(
        long,
        short,
        global = true,
        default_value = "config.toml",
        env = "SCIM_BRIDGE_CONFIG"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SCIM server (what the systemd unit starts).
    ///
    /// Connects to the database (retrying while it is unreachable), applies the bridge's own
    /// migrations if database.migrate_on_start is true, validates the mapping against the live
    /// schema (refusing to start on errors), then serves SCIM under server.base_path until
    /// SIGTERM or SIGINT, letting in-flight requests finish.
    Serve,
    /// Apply the bridge's own database migrations (tables named scim_*) and exit.
    ///
    /// Host application tables are never created or changed. With --dry-run, only list what is
    /// pending.
    Migrate {
        /// List pending migrations without applying them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create, list and revoke the bearer tokens identity providers authenticate with.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Report, for every user row of the application, what Okta's "Provision existing users"
    /// will do with it: adopt it, find it already linked, refuse it as ambiguous (two rows share
    /// the userName), or be unable to match it (no userName). Reads page by page, so any table
    /// size works. Dry run unless --apply, which pre-links the adoptable rows; safe to re-run.
    Import {
        /// Pre-link adoptable rows (the identity provider's first create for each adopts it).
        #[arg(long)]
        apply: bool,
        /// Output: table, json (one object per line) or csv.
        #[arg(long, value_enum, default_value = "table")]
        format: ImportFormat,
    },
    /// Report drift between the bridge's links and the application's rows: rows deleted inside
    /// the application, userNames changed there. With --fix, forget links to deleted rows.
    Reconcile {
        /// Remove links whose host row no longer exists (host rows are never touched).
        #[arg(long)]
        fix: bool,
    },
    /// Show the audit trail: every change the bridge made — when, by which token, to which
    /// user or group, which operation, which attributes (never their secret values). Newest
    /// first.
    Audit {
        /// Only entries for this userName (case-insensitive).
        #[arg(long)]
        user: Option<String>,
        /// Only entries at or after this time (UTC), e.g. 2026-11-01 or 2026-11-01T08:00:00Z.
        #[arg(long)]
        since: Option<String>,
        /// Only this operation (users: create, adopt, replace, patch, deactivate, delete,
        /// soft_delete, unlink; groups: create, update, delete).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(audit::OPERATIONS))]
        operation: Option<String>,
        /// Most entries shown.
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Output: table, json (one object per line) or csv.
        #[arg(long, value_enum, default_value = "table")]
        format: ImportFormat,
    },
    /// Validate the configuration and mapping against the live database and report every
    /// problem: unknown tables or columns, NOT NULL columns nothing fills, types that cannot
    /// hold the mapped values, missing indexes for userName lookups. Exits 1 on errors.
    Check,
    /// Start a deployment: write a commented config.toml and, with --database, a mapping
    /// drafted from the application's live schema, then check it.
    ///
    /// Without --database: the shipped config.toml (the embedded SQLite demo) and
    /// mappings/demo.toml beside it. With --database URL: the user table is chosen by its
    /// columns, login, email, names, active state and timestamps are guessed by name and type,
    /// NOT NULL columns get fillers, each guess is commented with why, and lines marked DECIDE
    /// need the operator's decision. Nothing is written to the database. Existing files are
    /// never overwritten without --force. The files go where --config points (config.toml by
    /// default), the mapping beside it.
    ///
    /// Example: scim-bridge --config /etc/scim-bridge/config.toml init --database postgres://helpdesk@127.0.0.1/helpdesk
    Init(init::InitArgs),
    /// Print a shell completion script, e.g. `scim-bridge completions bash >
    /// /usr/share/bash-completion/completions/scim-bridge`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `scim-bridge man | man -l -`; with --dir, write
    /// scim-bridge.1 and a page per command (scim-bridge-serve.1, …) into that directory.
    Man {
        /// Write every page into this directory instead of printing the main one.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Show what a SCIM request would do to the application's tables, without writing: every
    /// statement the bridge would send, with its bound values, then the answer the identity
    /// provider would get. The request runs for real inside a transaction that is rolled back,
    /// so adoption lookups and generated keys are shown as they would happen (on PostgreSQL and
    /// MySQL an auto-increment counter may still advance). Like serve, it creates the bridge's
    /// own scim_* tables first when database.migrate_on_start is true; application rows are
    /// never written.
    ///
    /// Example: scim-bridge preview user.json; echo '{…}' | scim-bridge preview
    Preview {
        /// File holding the SCIM User (create, replace) or PatchOp (patch) as JSON; stdin when
        /// absent or "-".
        file: Option<std::path::PathBuf>,
        /// create (POST /Users), replace (PUT /Users/{id}) or patch (PATCH /Users/{id}).
        #[arg(long, value_enum, default_value = "create")]
        operation: PreviewOperation,
        /// The user's id, for replace and patch.
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewOperation {
    Create,
    Replace,
    Patch,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ImportFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once. Only its hash is stored; it cannot be shown again.
    ///
    /// Give the printed token to the identity provider (Okta: Authentication Mode
    /// "HTTP Header", Authorization: Bearer <token>).
    Create {
        /// A name for the token, e.g. the identity provider using it ("okta").
        #[arg(long)]
        name: String,
    },
    /// List tokens: name, when created, when last used. Secrets are never shown.
    List,
    /// Revoke a token by name; requests using it are refused immediately.
    Revoke {
        /// The token's name, as shown by `token list`.
        #[arg(long)]
        name: String,
    },
}

/// Runs the command and turns its outcome into an exit code: 0 success, 1 failure, 2 invalid
/// configuration or mapping.
pub fn main(cli: Cli) -> ExitCode {
    // Commands that need no configuration (init writes it).
    let command = match cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "scim-bridge",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Man { dir } => return man(dir),
        Command::Init(args) => return init::main(&cli.config, args),
        other => other,
    };
    let settings = match Settings::load(&cli.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scim-bridge: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&settings.log.format, &settings.log.level);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scim-bridge: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match command {
            Command::Init(_) | Command::Completions { .. } | Command::Man { .. } => {
                unreachable!("handled before the configuration is read")
            }
            Command::Serve => serve::run(&settings).await,
            Command::Migrate { dry_run } => run_migrate(&settings, dry_run).await,
            Command::Token(t) => token::run(&settings, t).await,
            Command::Check => check::run(&settings).await,
            Command::Preview {
                file,
                operation,
                id,
            } => Box::pin(preview::run(&settings, file, operation, id)).await,
            Command::Import { apply, format } => import::run(&settings, apply, format).await,
            Command::Reconcile { fix } => import::reconcile(&settings, fix).await,
            Command::Audit {
                user,
                since,
                operation,
                limit,
                format,
            } => audit::run(&settings, user, since, operation, limit, format).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scim-bridge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The manual page, rendered from the same definitions as `--help`.
fn man(dir: Option<PathBuf>) -> ExitCode {
    use clap::CommandFactory;
    let written = match dir {
        None => clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock()),
        Some(d) => {
            std::fs::create_dir_all(&d).and_then(|()| clap_mangen::generate_to(Cli::command(), &d))
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scim-bridge: cannot write the manual page: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Creates the demo database when configured, refuses to invent a missing SQLite file
/// otherwise.
fn ensure_database_file(settings: &Settings, url: &DbUrl) -> anyhow::Result<()> {
    if let DbUrl::Sqlite(path) = url {
        if settings.database.create_demo {
            if demo::ensure_wal(path).context("creating the demo database")? {
                info!(path = %path.display(), "created the demo helpdesk database in WAL mode (database.create_demo = true)");
            }
        } else if !path.exists() {
            bail!(
                "database file {} does not exist; set database.url to the application's SQLite file (the bridge never creates one, except the demo with database.create_demo = true)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Connects, retrying with backoff for up to `retry_for` while the database is unreachable.
pub async fn connect_with_retry(
    settings: &Settings,
    url: &DbUrl,
    retry_for: Duration,
) -> anyhow::Result<Db> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        match Db::connect(url, &settings.db_options()).await {
            Ok(db) => return Ok(db),
            // No such database, bad credentials, TLS refused: no retry can cure it.
            Err(StoreError::Unavailable(why)) if store::permanent_connect_error(&why).is_some() => {
                return Err(connect_error(url, &why));
            }
            Err(StoreError::Unavailable(why)) if started.elapsed() < retry_for => {
                warn!(database = ?url, cause = %driver_cause(&why), retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "database unreachable; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(StoreError::Unavailable(why)) => return Err(connect_error(url, &why)),
            Err(e) => return Err(e).with_context(|| format!("connecting to {url:?}")),
        }
    }
}

/// The driver's reason without the connection pool's wording around it.
fn driver_cause(why: &str) -> &str {
    why.strip_prefix("Error occurred while creating a new object: ")
        .unwrap_or(why)
}

/// "cannot connect to URL: reason", and the fix when the reason is a permanent one.
pub(crate) fn connect_error(url: &DbUrl, why: &str) -> anyhow::Error {
    let cause = driver_cause(why);
    match store::permanent_connect_error(why) {
        Some(fix) => anyhow::anyhow!("cannot connect to {url:?}: {cause}\n  fix: {fix}"),
        None => anyhow::anyhow!("cannot connect to {url:?}: {cause} (the database is unreachable)"),
    }
}

/// Everything `serve` needs: database, migrations, validated mapping.
///
/// # Errors
/// Unreachable database, failed migrations, or mapping errors (each listed).
pub async fn prepare(settings: &Settings, retry_for: Duration) -> anyhow::Result<App> {
    prepare_for(settings, retry_for, false).await
}

/// What `preview` and `import` (without `--apply`) need: like [`prepare`], but the bridge's
/// migrations are never applied, whatever `database.migrate_on_start` says — a dry run writes
/// nothing to the application's database, its schema included.
///
/// # Errors
/// As [`prepare`], and when the bridge's tables are not (all) in the database yet.
pub async fn prepare_dry_run(settings: &Settings, retry_for: Duration) -> anyhow::Result<App> {
    prepare_for(settings, retry_for, true).await
}

async fn prepare_for(
    settings: &Settings,
    retry_for: Duration,
    dry_run: bool,
) -> anyhow::Result<App> {
    let url = settings.db_url()?;
    ensure_database_file(settings, &url)?;
    let db = connect_with_retry(settings, &url, retry_for).await?;
    if dry_run {
        require_migrations(&url, "a dry run does not create them (it writes nothing to the application's database); run `scim-bridge migrate`, which creates only tables named scim_*, then run this again").await?;
    } else {
        apply_or_require_migrations(settings, &url).await?;
    }
    let users = load_mapping(settings, &db).await?;
    Ok(App {
        db: std::sync::Arc::new(db),
        users,
        groups: crate::scim::resource::ResourceType::group(),
        pager: Default::default(),
    })
}

async fn apply_or_require_migrations(settings: &Settings, url: &DbUrl) -> anyhow::Result<()> {
    if settings.database.migrate_on_start {
        let r = migrate::migrate(url, true).await?;
        for m in &r.applied {
            info!(migration = %m, "applied migration");
        }
    } else {
        require_migrations(
            url,
            "run `scim-bridge migrate` or set database.migrate_on_start = true",
        )
        .await?;
    }
    Ok(())
}

/// Fails, naming `fix`, when any of the bridge's migrations is not applied; reads only.
async fn require_migrations(url: &DbUrl, fix: &str) -> anyhow::Result<()> {
    let r = migrate::migrate(url, false).await?;
    if !r.pending.is_empty() {
        bail!(
            "the bridge's tables need migrations ({}); {fix}",
            r.pending.join(", ")
        );
    }
    Ok(())
}

/// Loads the mapping file and validates it against the live table; every problem is listed.
pub async fn load_mapping(settings: &Settings, db: &Db) -> anyhow::Result<UserMapping> {
    let (compiled, _) = compile_mapping(settings, db).await?;
    for p in compiled.problems.iter().filter(|p| !p.error) {
        warn!(key = %p.key, "mapping: {}", p.message);
    }
    let errors: Vec<String> = compiled
        .problems
        .iter()
        .filter(|p| p.error)
        .map(|p| format!("  {}: {}", p.key, p.message))
        .collect();
    match compiled.mapping {
        Some(m) if errors.is_empty() => Ok(m),
        _ => bail!("the mapping {} does not fit the database:\n{}\n(run `scim-bridge check` for the full report)", settings.mapping_path().display(), errors.join("\n")),
    }
}

async fn compile_mapping(
    settings: &Settings,
    db: &Db,
) -> anyhow::Result<(mapping::Compiled, Option<mapping::HostTable>)> {
    let path = settings.mapping_path();
    // The error's text already names its cause; passed on as text so it is said once.
    let file = mapping::load_file(&path).map_err(|e| match e {
        mapping::compile::MappingError::Read { .. } => anyhow::anyhow!(
            "{e}\n  fix: set mapping.file in the configuration to your mapping file, copy a preset from mappings/, or draft one with `scim-bridge init --database URL`"
        ),
        other => anyhow::anyhow!("{other}"),
    })?;
    let mut tables = std::collections::HashMap::new();
    for name in mapping::compile::tables_named(&file) {
        if let Some(t) = introspect::table(db, &name).await? {
            tables.insert(name, t);
        }
    }
    let all = if tables.len() < mapping::compile::tables_named(&file).len() {
        introspect::tables(db).await?
    } else {
        vec![]
    };
    let main = tables.get(&file.users.table).cloned();
    let mut compiled = mapping::compile(&file, &tables, &all);
    // Tables that cannot roll back (MySQL MyISAM): a table-wide fact the mapping cannot see.
    let live: Vec<&str> = tables.values().map(|t| t.name.as_str()).collect();
    let engines = introspect::engines(db, &live).await?;
    compiled
        .problems
        .extend(mapping::compile::engine_problems(&file, &tables, &engines));
    Ok((compiled, main))
}

async fn run_migrate(settings: &Settings, dry_run: bool) -> anyhow::Result<ExitCode> {
    let url = settings.db_url()?;
    ensure_database_file(settings, &url)?;
    let r = store::migrate::migrate(&url, !dry_run).await?;
    if dry_run {
        if r.pending.is_empty() {
            println!("no pending migrations");
        }
        for m in r.pending {
            println!("pending: {m}");
        }
    } else {
        if r.applied.is_empty() {
            println!("already up to date");
        }
        for m in r.applied {
            println!("applied: {m}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the database for the token commands: same checks as serve, no mapping needed.
async fn open_for_admin(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.db_url()?;
    ensure_database_file(settings, &url)?;
    let db = connect_with_retry(settings, &url, Duration::from_secs(5)).await?;
    apply_or_require_migrations(settings, &url).await?;
    Ok(db)
}
