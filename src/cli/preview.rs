//! `scim-bridge preview`: a SCIM request run as a dry run, its statements printed.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

use super::PreviewOperation;
use crate::config::Settings;
use crate::http::error::ApiError;
use crate::service;
use crate::store::preview;

pub async fn run(
    settings: &Settings,
    file: Option<PathBuf>,
    operation: PreviewOperation,
    id: Option<String>,
) -> anyhow::Result<ExitCode> {
    let text = match file.as_deref().filter(|f| f.as_os_str() != "-") {
        Some(f) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the resource from stdin")?;
            s
        }
    };
    let body: Value = serde_json::from_str(&text).context("the resource is not valid JSON")?;
    let id = match (operation, id) {
        (PreviewOperation::Create, _) => String::new(),
        (_, Some(id)) => id,
        (_, None) => bail!("--operation replace and patch need --id <the user's id>"),
    };
    let app = super::prepare_dry_run(settings, Duration::from_secs(3)).await?;
    let base = match settings.server.public_url.trim_end_matches('/') {
        "" => format!(
            "http://{}{}",
            settings.server.listen, settings.server.base_path
        ),
        u => u.to_string(),
    };
    // Boxed: the request path it runs (writes, grants) is a large future (clippy large_futures).
    let (result, statements) = preview::record(Box::pin(async {
        match operation {
            PreviewOperation::Create => service::users::create(&app, &body, &base).await.map(|o| {
                (
                    if o.adopted {
                        "201 (adopts an existing row)"
                    } else {
                        "201 (creates a row)"
                    },
                    o.answer.resource,
                )
            }),
            PreviewOperation::Replace => service::users::replace(&app, &id, &body, &base, None)
                .await
                .map(|a| ("200", a.resource)),
            PreviewOperation::Patch => service::users::patch(&app, &id, &body, &base, None)
                .await
                .map(|a| ("200", a.resource)),
        }
    }))
    .await;
    println!(
        "-- dry run against {:?} ({}): rolled back, nothing written",
        settings.database.url, app.db.dialect
    );
    for (sql, values) in &statements {
        println!("{sql};");
        if !values.is_empty() {
            println!("    -- values: {}", values.join(", "));
        }
    }
    match result {
        Ok((status, resource)) => {
            println!("-- answer: {status}");
            println!("{}", serde_json::to_string_pretty(&resource)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let e: ApiError = e.into();
            match e {
                ApiError::Scim(s) => {
                    println!("-- answer: {} (nothing would be written)", s.status);
                    println!("{}", serde_json::to_string_pretty(&s.to_json())?);
                    Ok(ExitCode::FAILURE)
                }
                other => Err(anyhow::anyhow!("{other}")),
            }
        }
    }
}
