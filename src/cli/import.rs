use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use super::ImportFormat;
use crate::config::Settings;
use crate::service::import::{by_value, classify, prelink_plan, Status, Verdict};
use crate::store::users as store;

/// Rows read per page; memory stays flat whatever the table size.
const PAGE: usize = 1000;

pub(super) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_row(out: &mut impl Write, format: ImportFormat, v: &Verdict) -> std::io::Result<()> {
    let name = v.user_name.as_deref().unwrap_or("");
    match format {
        ImportFormat::Table => writeln!(
            out,
            "{:<12} {:<40} {:<13} {}",
            v.id,
            name,
            v.status.as_str(),
            v.detail
        ),
        ImportFormat::Csv => writeln!(
            out,
            "{},{},{},{}",
            csv_field(&v.id),
            csv_field(name),
            v.status.as_str(),
            csv_field(&v.detail)
        ),
        ImportFormat::Json => writeln!(out, "{}", serde_json::to_string(v).unwrap_or_default()),
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct Progress {
    total: u64,
    done: u64,
    on: bool,
}

impl Progress {
    fn tick(&mut self, n: usize) {
        self.done += n as u64;
        if self.on && self.total > 0 {
            let pct = (self.done * 100 / self.total).min(100);
            let filled = (pct / 4) as usize;
            eprint!(
                "\r[{}{}] {pct:>3}% {}/{} rows",
                "#".repeat(filled),
                ".".repeat(25 - filled),
                self.done,
                self.total
            );
        }
    }
    fn finish(&self) {
        if self.on {
            eprintln!();
        }
    }
}

pub async fn run(
    settings: &Settings,
    apply: bool,
    format: ImportFormat,
) -> anyhow::Result<ExitCode> {
    let app = if apply {
        super::prepare(settings, Duration::from_secs(5)).await?
    } else {
        super::prepare_dry_run(settings, Duration::from_secs(5)).await?
    };
    let m = &app.users;
    let total = store::count(&app.db, m).await?;
    let shared = by_value(
        store::match_collisions(&app.db, m, usize::MAX, true)
            .await?
            .1,
    );
    let mut progress = Progress {
        total,
        done: 0,
        on: std::io::stderr().is_terminal(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        ImportFormat::Table => writeln!(
            out,
            "{:<12} {:<40} {:<13} DETAIL",
            "ID", "USERNAME", "STATUS"
        )?,
        ImportFormat::Csv => writeln!(out, "id,user_name,status,detail")?,
        ImportFormat::Json => {}
    }
    let mut counts = [0u64; 5];
    let mut linked_now = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store::page_after(&app.db, m, after.as_deref(), PAGE).await?;
        let mut to_link = Vec::new();
        for u in &page {
            let v = classify(m, u, &shared);
            counts[v.status as usize] += 1;
            if apply && v.status == Status::Adoptable {
                if let Some(name) = &v.user_name {
                    to_link.push((u.key.clone(), prelink_plan(name)));
                }
            }
            print_row(&mut out, format, &v)?;
        }
        if apply && !to_link.is_empty() {
            linked_now += store::prelink(&app.db, m, &to_link).await?;
        }
        progress.tick(page.len());
        if page.len() < PAGE {
            break;
        }
        after = page.last().map(|u| u.key.clone());
    }
    out.flush()?;
    progress.finish();
    eprintln!(
        "{} rows: {} adoptable, {} linked, {} ambiguous, {} without a userName, {} protected{}",
        counts.iter().sum::<u64>(),
        counts[Status::Adoptable as usize],
        counts[Status::Linked as usize],
        counts[Status::Ambiguous as usize],
        counts[Status::NoUserName as usize],
        counts[Status::Protected as usize],
        if apply {
            format!("; pre-linked {linked_now} (the identity provider's first create for each adopts it)")
        } else {
            "; dry run, nothing written (--apply pre-links the adoptable rows)".to_string()
        }
    );
    if counts[Status::Ambiguous as usize] > 0 {
        eprintln!("ambiguous rows would answer Okta's create with 409: merge or rename them in the application first");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn reconcile(settings: &Settings, fix: bool) -> anyhow::Result<ExitCode> {
    let app = if fix {
        super::prepare(settings, Duration::from_secs(5)).await?
    } else {
        super::prepare_dry_run(settings, Duration::from_secs(5)).await?
    };
    let m = &app.users;
    let dangling = store::dangling_links(&app.db, m).await?;
    // Only the host's userName is wanted here, not the collisions.
    let shared = crate::service::import::Collisions::new();
    let mut renamed = Vec::new();
    let mut deleted = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store::page_after(&app.db, m, after.as_deref(), PAGE).await?;
        for u in &page {
            if let Some(l) = u.link.as_ref().filter(|l| l.deleted) {
                deleted.push((u.key.clone(), l.user_name.clone()));
                continue;
            }
            if let Some(l) = &u.link {
                let host_name = classify(
                    m,
                    &crate::store::users::HostUser {
                        link: None,
                        ..u.clone()
                    },
                    &shared,
                )
                .user_name;
                if !host_name
                    .as_deref()
                    .is_some_and(|h| crate::scim::Folded::same(h, &l.user_name))
                {
                    renamed.push((
                        u.key.clone(),
                        l.user_name.clone(),
                        host_name.unwrap_or_default(),
                    ));
                }
            }
        }
        if page.len() < PAGE {
            break;
        }
        after = page.last().map(|u| u.key.clone());
    }
    for (k, name) in &dangling {
        println!("deleted-in-app  id {k:<10} {name:?}: the application deleted the row; the bridge answers 404 for it{}", if fix { " (link removed)" } else { "" });
    }
    for (k, name) in &deleted {
        println!("deleted-by-idp  id {k:<10} {name:?}: deleted over SCIM, the application keeps the row (on_delete = \"{}\"); SCIM answers 404 for it until the identity provider creates {name:?} again, which adopts the row", m.on_delete.as_str());
    }
    for (k, idp, host) in &renamed {
        println!("renamed-in-app  id {k:<10} the identity provider knows {idp:?}, the application now holds {host:?}; the next update from the IdP writes its value back");
    }
    if fix && !dangling.is_empty() {
        let keys: Vec<String> = dangling.iter().map(|(k, _)| k.clone()).collect();
        store::forget_links(&app.db, m, &keys).await?;
    }
    println!(
        "{} link(s) to deleted rows{}, {} userName(s) changed in the application, {} user(s) deleted over SCIM with the row kept",
        dangling.len(),
        if fix { " removed" } else { "" },
        renamed.len(),
        deleted.len()
    );
    Ok(ExitCode::SUCCESS)
}
