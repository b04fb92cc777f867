//! Group writes and `[[users.grants]]`: a change to a pushed group whose name (before or
//! after the change) is a grant's group re-decides the grants of everyone who was or is a
//! member, in the group write's transaction. Groups no grant names cost nothing.

use crate::mapping::compile::UserMapping;
use crate::scim::Folded;
use crate::store::dialect::Dialect;
use crate::store::{Conn, StoreError};

use super::members::member_keys;

fn grants_name(users: &UserMapping, names: &[&str]) -> bool {
    names.iter().any(|n| {
        let n = Folded::new(n);
        users.grants.iter().any(|g| g.group == n.as_str())
    })
}

/// The members before the change, when the change can move grants (else none).
pub(super) async fn members_before(
    c: &mut Conn,
    users: &UserMapping,
    id: &str,
    names: &[&str],
) -> Result<Vec<String>, StoreError> {
    if !grants_name(users, names) {
        return Ok(Vec::new());
    }
    member_keys(c, id).await
}

/// Re-decides the grants of the members before and after the change.
pub(super) async fn resync(
    c: &mut Conn,
    d: Dialect,
    users: &UserMapping,
    id: &str,
    names: &[&str],
    before: Vec<String>,
) -> Result<(), StoreError> {
    if !grants_name(users, names) {
        return Ok(());
    }
    let mut keys = before;
    keys.extend(member_keys(c, id).await?);
    keys.sort();
    keys.dedup();
    for k in keys {
        crate::store::users::grants::sync(c, d, users, &k).await?;
    }
    Ok(())
}
