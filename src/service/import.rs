//! Provisioning existing users: classifying each host row before the identity provider sees
//! it, for `scim-bridge import`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::mapping::compile::MatchAt;
use crate::mapping::{HostValue, UserMapping};
use crate::store::users::{Collision, HostUser, Planned, ORIGIN_DELETED, ORIGIN_IMPORT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A create with this userName will adopt the row.
    Adoptable,
    /// A SCIM identity already owns the row (or `import --apply` pre-linked it).
    Linked,
    /// Another row holds the same userName or match value: a create would be refused with 409.
    Ambiguous,
    /// The row has no usable userName; the identity provider cannot match it.
    NoUserName,
    /// The mapping protects the row (`users.protect`): a create with its userName is refused.
    Protected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Adoptable => "adoptable",
            Status::Linked => "linked",
            Status::Ambiguous => "ambiguous",
            Status::NoUserName => "no_user_name",
            Status::Protected => "protected",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub id: String,
    pub user_name: Option<String>,
    pub status: Status,
    pub detail: String,
}

fn norm(s: &str) -> String {
    crate::scim::Folded::new(s).as_str().to_string()
}

/// Match values several host rows share, keyed by their folded form
/// ([`crate::store::users::match_collisions`]).
pub type Collisions = HashMap<String, Collision>;

/// [`Collisions`] from the store's list.
pub fn by_value(list: Vec<Collision>) -> Collisions {
    list.into_iter().map(|c| (norm(&c.value), c)).collect()
}

/// The values a POST could match this row by: its served userName and its match columns.
fn match_values(m: &UserMapping, u: &HostUser, user_name: &str) -> Vec<String> {
    let mut values = vec![norm(user_name)];
    values.extend(match_column_values(m, u).iter().map(|(_, v)| norm(v)));
    values
}

/// The row's values in the mapping's match columns (main, joined and child tables), with the
/// column each came from, as stored, non-empty, in the order `users.match` lists them.
fn match_column_values(m: &UserMapping, u: &HostUser) -> Vec<(String, String)> {
    let text = |v: &HostValue| match v {
        HostValue::Text(t) if !t.trim().is_empty() => Some(t.clone()),
        _ => None,
    };
    let mut out = Vec::new();
    for mc in &m.match_columns {
        match mc.at {
            MatchAt::Table(at) => {
                let i = m
                    .read_columns
                    .iter()
                    .position(|(a, c)| *a == at && c == &mc.column);
                if let Some(v) = i.and_then(|i| u.values.get(i)).and_then(text) {
                    out.push((mc.column.clone(), v));
                }
            }
            MatchAt::Child(ci) => {
                let (Some(child), Some(rows)) = (m.children.get(ci), u.children.get(ci)) else {
                    continue;
                };
                let Some(i) = child.read_columns.iter().position(|c| c == &mc.column) else {
                    continue;
                };
                out.extend(
                    rows.iter()
                        .filter_map(|r| r.values.get(i).and_then(text))
                        .map(|v| (mc.column.clone(), v)),
                );
            }
        }
    }
    out
}

/// What a create would do with this host row. `collisions` holds the match values several
/// rows share ([`crate::store::users::match_collisions`]).
pub fn classify(m: &UserMapping, u: &HostUser, collisions: &Collisions) -> Verdict {
    let view = m.to_resource(&u.values, &u.children, None);
    let user_name = view
        .get("userName")
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty());
    let verdict = |status, detail: String| Verdict {
        id: u.key.clone(),
        user_name: user_name.clone(),
        status,
        detail,
    };
    if let Some(p) = u.protected.and_then(|i| m.protect.get(i)) {
        return verdict(
            Status::Protected,
            format!(
                "{} (users.protect): SCIM will not adopt or change it",
                p.reason
            ),
        );
    }
    if let Some(l) = &u.link {
        if l.deleted {
            return verdict(
                Status::Linked,
                format!(
                    "deleted over SCIM as {:?}; a create with that userName adopts the row again",
                    l.user_name
                ),
            );
        }
        return verdict(Status::Linked, format!("linked as {:?}", l.user_name));
    }
    let ambiguous = |c: &Collision| {
        verdict(
            Status::Ambiguous,
            format!(
                "rows {} hold the same value case-insensitively: {}",
                collision_rows(c),
                collision_outcome(c)
            ),
        )
    };
    let Some(name) = &user_name else {
        // A create compares its userName with every match column (`users.match`): a row
        // serving no userName is still adopted by one carrying, say, its email.
        let columns = match_column_values(m, u);
        if let Some(c) = columns.iter().find_map(|(_, v)| collisions.get(&norm(v))) {
            return ambiguous(c);
        }
        if let Some((column, v)) = columns.first() {
            return verdict(
                Status::Adoptable,
                format!(
                    "column \"{}\" is empty: a create whose userName is {v:?} adopts it by \"{column}\" (users.match); --apply does not pre-link it",
                    m.user_name_rule().column
                ),
            );
        }
        let fix = if m.fallbacks.iter().any(|f| f.attr.is_core("userName")) {
            "and so are its users.read_fallback attributes"
        } else {
            "serve another attribute with users.read_fallback (e.g. userName = \"emails.value\")"
        };
        return verdict(
            Status::NoUserName,
            format!("column \"{}\" is empty; {fix}", m.user_name_rule().column),
        );
    };
    let values = match_values(m, u, name);
    if let Some(c) = values.iter().find_map(|v| collisions.get(v)) {
        return ambiguous(c);
    }
    let inactive = m.active.is_some() && view.get("active") == Some(&Value::Bool(false));
    let detail = match (inactive, m.adopt_state) {
        (false, _) => String::new(),
        (true, crate::mapping::model::AdoptState::Keep) => {
            "inactive in the application: adoption keeps it inactive (users.adopt_state = \"keep\")".into()
        }
        (true, crate::mapping::model::AdoptState::Idp) => {
            "inactive in the application: adoption will activate it if the request says active (users.adopt_state = \"idp\")".into()
        }
    };
    verdict(Status::Adoptable, detail)
}

/// What a POST with a userName several host rows hold does, in words (for `check` and
/// `import`): adopt the row already linked to it, or answer 409.
pub fn collision_outcome(c: &Collision) -> String {
    match &c.owner {
        Some((k, o)) if o == ORIGIN_IMPORT || o == ORIGIN_DELETED => {
            format!("a POST of userName {:?} adopts {k}, the row already linked to it", c.value)
        }
        Some((k, _)) => format!(
            "a POST of userName {:?} answers 409: it is already provisioned as user {k}",
            c.value
        ),
        None => format!(
            "a POST of userName {:?} (in any case) answers 409, adopting neither: merge or rename the rows in the application",
            c.value
        ),
    }
}

/// The rows of a collision, as `id table.column "spelling"`.
pub fn collision_rows(c: &Collision) -> String {
    c.rows
        .iter()
        .map(|(k, place, v)| format!("{k} {place} {v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The link `import --apply` writes for an adoptable row. Its record of what the identity
/// provider sent holds only the userName: the provider has sent nothing yet, and a later PUT
/// must not take the application's values for the provider's and clear them.
pub fn prelink_plan(user_name: &str) -> Planned {
    let mut resource = serde_json::Map::new();
    resource.insert(
        "schemas".into(),
        Value::Array(vec![Value::String(
            crate::scim::schema::USER_SCHEMA.to_string(),
        )]),
    );
    resource.insert("userName".into(), Value::String(user_name.to_string()));
    Planned {
        row: Default::default(),
        user_name: user_name.to_string(),
        external_id: None,
        resource: Value::Object(resource),
        state: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::convert::tests::mapping;
    use crate::mapping::ColumnKind;

    fn user(key: &str, email: Option<&str>) -> HostUser {
        let m = mapping();
        let values = m
            .read_columns
            .iter()
            .map(|(_, c)| match (c.as_str(), email) {
                ("email", Some(e)) => HostValue::Text(e.into()),
                ("status", _) => HostValue::Int(1),
                _ => HostValue::Null(ColumnKind::Text),
            })
            .collect();
        HostUser {
            key: key.into(),
            children: vec![],
            values,
            link: None,
            stored: None,
            protected: None,
            groups: None,
        }
    }

    #[test]
    fn classification() {
        let m = mapping();
        let shared = by_value(vec![Collision {
            value: "dup@example.com".into(),
            rows: vec![
                ("2".into(), "users.email".into(), " DUP@example.com".into()),
                ("7".into(), "users.email".into(), "dup@example.com".into()),
            ],
            owner: None,
        }]);
        assert_eq!(
            classify(&m, &user("1", Some("Alice@Example.com")), &shared).status,
            Status::Adoptable
        );
        let v = classify(&m, &user("2", Some(" DUP@example.com")), &shared);
        assert_eq!(v.status, Status::Ambiguous);
        assert!(
            v.detail.contains("7 users.email \"dup@example.com\"")
                && v.detail.contains("answers 409"),
            "{}",
            v.detail
        );
        assert_eq!(
            classify(&m, &user("3", None), &shared).status,
            Status::NoUserName
        );
        assert_eq!(
            classify(&m, &user("4", Some("  ")), &shared).status,
            Status::NoUserName
        );
    }
}
