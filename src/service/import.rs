//! Provisioning existing users: classifying each host row before the identity provider sees
//! it, for `scim-bridge import`.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use crate::mapping::compile::MatchAt;
use crate::mapping::UserMapping;
use crate::store::users::{HostUser, Planned};

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

/// What a create would do with this host row. `shared` holds the match values several rows
/// share ([`crate::store::users::shared_match_values`]).
pub fn classify(m: &UserMapping, u: &HostUser, shared: &HashSet<String>) -> Verdict {
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
    let values = match_values(m, u);
    let ambiguous = |v: &str| {
        verdict(
            Status::Ambiguous,
            format!(
                "another row also holds {v:?} in {}",
                m.match_columns
                    .iter()
                    .map(|c| c.column.as_str())
                    .collect::<Vec<_>>()
                    .join("/")
            ),
        )
    };
    let Some(name) = &user_name else {
        // A create compares its userName with every match column (`users.match`): a row with
        // no userName of its own is still adopted by one carrying, say, its email.
        return match values.first() {
            Some((_, v)) if shared.contains(&norm(v)) => ambiguous(v),
            Some((column, v)) => verdict(
                Status::Adoptable,
                format!(
                    "column \"{}\" is empty: a create whose userName is {v:?} adopts it by \"{column}\" (users.match); --apply does not pre-link it",
                    m.user_name_rule().column
                ),
            ),
            None => verdict(
                Status::NoUserName,
                format!("column \"{}\" is empty", m.user_name_rule().column),
            ),
        };
    };
    let folded = norm(name);
    if shared.contains(&folded) {
        return ambiguous(&folded);
    }
    if let Some((_, v)) = values.iter().find(|(_, v)| shared.contains(&norm(v))) {
        return ambiguous(&norm(v));
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

/// The row's values in the mapping's match columns (main, joined and child tables), with the
/// column each came from, non-empty, in the order `users.match` lists them.
fn match_values(m: &UserMapping, u: &HostUser) -> Vec<(String, String)> {
    let text = |v: &crate::mapping::HostValue| match v {
        crate::mapping::HostValue::Text(t) if !t.trim().is_empty() => Some(t.clone()),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::convert::tests::mapping;
    use crate::mapping::{ColumnKind, HostValue};

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
        }
    }

    #[test]
    fn classification() {
        let m = mapping();
        let shared: HashSet<String> = ["dup@example.com".to_string()].into();
        assert_eq!(
            classify(&m, &user("1", Some("Alice@Example.com")), &shared).status,
            Status::Adoptable
        );
        let v = classify(&m, &user("2", Some(" DUP@example.com")), &shared);
        assert_eq!(v.status, Status::Ambiguous);
        assert!(v.detail.contains("dup@example.com"));
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
