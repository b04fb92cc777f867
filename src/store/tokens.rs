//! Bearer tokens: created by the CLI, shown once, stored as a SHA-256 hash.
//!
//! A token is `scimb_` + 16 hex characters of public lookup id + 64 hex characters (256 bits)
//! of secret. The lookup id finds the row by index; the secret's hash is then compared in
//! constant time, so response timing says nothing about how much of a guess was right. A slow
//! password hash is unnecessary: the secret is 256 random bits, not a human password.

use chrono::{NaiveDateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::mapping::value::parse_timestamp;
use crate::mapping::HostValue;

use super::dialect;
use super::sql::Sql;
use super::{Db, StoreError};

pub const PREFIX: &str = "scimb_";
const LOOKUP_HEX: usize = 16;
const SECRET_HEX: usize = 64;

/// Seconds between `last_used_at` updates for one token; avoids a write per request.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub created_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

/// A freshly generated token: the text to show once, and what is stored.
pub struct NewToken {
    pub text: String,
    pub lookup: String,
    pub secret_hash: String,
}

pub fn generate() -> NewToken {
    let mut lookup = [0u8; LOOKUP_HEX / 2];
    let mut secret = [0u8; SECRET_HEX / 2];
    rand::rng().fill_bytes(&mut lookup);
    rand::rng().fill_bytes(&mut secret);
    let lookup = hex::encode(lookup);
    let secret = hex::encode(secret);
    NewToken {
        text: format!("{PREFIX}{lookup}{secret}"),
        secret_hash: hash(&secret),
        lookup,
    }
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits a presented token into (lookup, secret) if it has the right shape.
pub fn parse(presented: &str) -> Option<(&str, &str)> {
    let body = presented.strip_prefix(PREFIX)?;
    if body.len() != LOOKUP_HEX + SECRET_HEX || !body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(body.split_at(LOOKUP_HEX))
}

/// Whether `secret` hashes to `stored_hash`, in constant time.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    hash(secret)
        .as_bytes()
        .ct_eq(stored_hash.trim().as_bytes())
        .into()
}

/// Stores a new token under `name`.
///
/// # Errors
/// `Conflict` when the name is taken.
pub async fn create(db: &Db, name: &str) -> Result<String, StoreError> {
    let t = generate();
    let mut q = Sql::new();
    q.raw("INSERT INTO scim_tokens (name, lookup, secret_hash, created_at) VALUES (")
        .text(name)
        .raw(", ")
        .text(&t.lookup)
        .raw(", ")
        .text(&t.secret_hash)
        .raw(", ")
        .bind(HostValue::Timestamp(Utc::now().naive_utc()))
        .raw(")");
    db.write(async |c| c.exec(q).await).await?;
    Ok(t.text)
}

pub async fn list(db: &Db) -> Result<Vec<TokenInfo>, StoreError> {
    let mut c = db.reader().await?;
    let mut q = Sql::new();
    let text = dialect::text_type(db.dialect);
    q.owned(format!("SELECT name, CAST(created_at AS {text}), CAST(last_used_at AS {text}) FROM scim_tokens ORDER BY name"));
    Ok(c.rows(q)
        .await?
        .into_iter()
        .map(|r| TokenInfo {
            name: r.get(0).unwrap_or("").to_string(),
            created_at: r.get(1).and_then(parse_timestamp),
            last_used_at: r.get(2).and_then(parse_timestamp),
        })
        .collect())
}

/// Deletes the token; true when it existed. Takes effect on the next request.
pub async fn revoke(db: &Db, name: &str) -> Result<bool, StoreError> {
    let mut q = Sql::new();
    q.raw("DELETE FROM scim_tokens WHERE name = ").text(name);
    Ok(db.write(async |c| c.exec(q).await).await? > 0)
}

/// The name of the token `presented` is, or `None` when it is not a valid token.
pub async fn authenticate(db: &Db, presented: &str) -> Result<Option<String>, StoreError> {
    let Some((lookup, secret)) = parse(presented) else {
        return Ok(None);
    };
    let mut c = db.reader().await?;
    let mut q = Sql::new();
    let text = dialect::text_type(db.dialect);
    q.raw("SELECT name, secret_hash, ")
        .owned(format!("CAST(last_used_at AS {text})"))
        .raw(" FROM scim_tokens WHERE lookup = ")
        .text(lookup);
    let Some(row) = c.row(q).await? else {
        return Ok(None);
    };
    drop(c);
    if !verify(secret, row.get(1).unwrap_or("")) {
        return Ok(None);
    }
    let name = row.get(0).unwrap_or("").to_string();
    let now = Utc::now().naive_utc();
    let stale = row
        .get(2)
        .and_then(parse_timestamp)
        .is_none_or(|t| (now - t).num_seconds() >= LAST_USED_GRANULARITY_SECS);
    if stale {
        // Best effort: a busy database must not fail authentication.
        let mut q = Sql::new();
        q.raw("UPDATE scim_tokens SET last_used_at = ")
            .bind(HostValue::Timestamp(now))
            .raw(" WHERE lookup = ")
            .text(lookup);
        let _ = db.write(async |c| c.exec(q).await).await;
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_verify_only_themselves() {
        let t = generate();
        let (lookup, secret) = parse(&t.text).unwrap();
        assert_eq!(lookup, t.lookup);
        assert_eq!(secret.len() * 4, 256);
        assert!(verify(secret, &t.secret_hash));
        let other = generate();
        let (_, other_secret) = parse(&other.text).unwrap();
        assert!(!verify(other_secret, &t.secret_hash));
        assert_ne!(t.text, other.text);
        assert!(!t.secret_hash.contains(secret), "only the hash is stored");
    }

    #[test]
    fn malformed_tokens_are_rejected_before_any_lookup() {
        for bad in [
            "",
            "scimb_",
            "Bearer x",
            "scimb_zz",
            &format!("scimb_{}", "g".repeat(80)),
            &format!("other_{}", "a".repeat(80)),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
