use std::process::ExitCode;

use anyhow::bail;

use super::TokenCommand;
use crate::config::Settings;
use crate::store::{tokens, StoreError};

pub async fn run(settings: &Settings, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let db = super::open_for_admin(settings).await?;
    match cmd {
        TokenCommand::Create { name } => {
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
                bail!("--name must be 1 to 100 printable characters");
            }
            match tokens::create(&db, &name).await {
                Ok(token) => {
                    println!("{token}");
                    eprintln!("Token {name:?} created. Copy it now: it is stored only as a hash and cannot be shown again.");
                    eprintln!("Okta: Authentication Mode \"HTTP Header\", Authorization: Bearer <the token above>.");
                    Ok(ExitCode::SUCCESS)
                }
                Err(StoreError::Conflict(_)) => {
                    bail!("a token named {name:?} exists; pick another name, or revoke it first")
                }
                Err(e) => Err(e.into()),
            }
        }
        TokenCommand::List => {
            let list = tokens::list(&db).await?;
            if list.is_empty() {
                println!("no tokens; create one with `scim-bridge token create --name okta`");
            } else {
                println!(
                    "{:<24} {:<20} {:<20}",
                    "NAME", "CREATED (UTC)", "LAST USED (UTC)"
                );
                let fmt = |t: Option<chrono::NaiveDateTime>| {
                    t.map_or("never".to_string(), |t| {
                        t.format("%Y-%m-%d %H:%M:%S").to_string()
                    })
                };
                for t in list {
                    println!(
                        "{:<24} {:<20} {:<20}",
                        t.name,
                        fmt(t.created_at),
                        fmt(t.last_used_at)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { name } => {
            if tokens::revoke(&db, &name).await? {
                println!("revoked {name:?}; requests using it are now refused");
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("no token named {name:?} (see `scim-bridge token list`)")
            }
        }
    }
}
