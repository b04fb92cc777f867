//! `scim-bridge audit`: the audit trail as a table, JSON lines or CSV.

use std::process::ExitCode;

use super::import::csv_field;
use super::ImportFormat;
use crate::config::Settings;

/// The operations the bridge records (`scim_audit.operation`): users' create, adopt, replace,
/// patch, deactivate, delete, soft_delete and unlink; groups' create, update and delete; grant
/// and revoke (`[[users.grants]]`, on the user).
pub const OPERATIONS: &[&str] = &[
    "create",
    "adopt",
    "replace",
    "patch",
    "deactivate",
    "delete",
    "soft_delete",
    "unlink",
    "update",
    "grant",
    "revoke",
];

pub async fn run(
    settings: &Settings,
    user: Option<String>,
    since: Option<String>,
    operation: Option<String>,
    limit: u64,
    format: ImportFormat,
) -> anyhow::Result<ExitCode> {
    let since = match since {
        None => None,
        Some(s) => Some(crate::mapping::value::parse_timestamp(&s).ok_or_else(|| {
            anyhow::anyhow!(
                "--since {s:?} is not a date or time; use e.g. 2026-11-01 or 2026-11-01T08:00:00Z"
            )
        })?),
    };
    let db = super::open_for_admin(settings).await?;
    let entries = crate::store::audit::read(
        &db,
        &crate::store::audit::Query {
            user_name: user,
            since,
            operation,
            limit,
        },
    )
    .await?;
    match format {
        ImportFormat::Json => {
            for e in &entries {
                println!("{}", serde_json::to_string(e)?);
            }
        }
        ImportFormat::Csv => {
            println!("at,token,resource_type,resource_id,operation,user_name,attributes");
            for e in &entries {
                println!(
                    "{},{},{},{},{},{},{}",
                    csv_field(e.at.as_deref().unwrap_or("")),
                    csv_field(&e.token),
                    csv_field(&e.resource_type),
                    csv_field(&e.resource_id),
                    csv_field(&e.operation),
                    csv_field(e.user_name.as_deref().unwrap_or("")),
                    csv_field(&e.attributes.join(","))
                );
            }
        }
        ImportFormat::Table => {
            println!(
                "{:<21} {:<12} {:<6} {:<38} {:<11} {:<30} ATTRIBUTES",
                "AT (UTC)", "TOKEN", "TYPE", "ID", "OPERATION", "USERNAME"
            );
            for e in &entries {
                println!(
                    "{:<21} {:<12} {:<6} {:<38} {:<11} {:<30} {}",
                    e.at.as_deref().unwrap_or(""),
                    e.token,
                    e.resource_type,
                    e.resource_id,
                    e.operation,
                    e.user_name.as_deref().unwrap_or("-"),
                    e.attributes.join(",")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
