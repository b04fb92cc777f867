//! Provisioning existing users: classifying each host row before the identity provider sees
//! it, for `scim-bridge import`.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

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
    let Some(name) = &user_name else {
        return verdict(
            Status::NoUserName,
            format!("column \"{}\" is empty", m.user_name_rule().column),
        );
    };
    let mut values = vec![norm(name)];
    for mc in &m.match_columns {
        let crate::mapping::compile::MatchAt::Table(at) = mc.at else {
            continue;
        };
        if let Some(i) = m
            .read_columns
            .iter()
            .position(|(a, c)| *a == at && c == &mc.column)
        {
            if let crate::mapping::HostValue::Text(t) = &u.values[i] {
                values.push(norm(t));
            }
        }
    }
    if let Some(v) = values.iter().find(|v| shared.contains(*v)) {
        return verdict(
            Status::Ambiguous,
            format!(
                "another row also holds {v:?} in {}",
                m.match_columns
                    .iter()
                    .map(|c| c.column.as_str())
                    .collect::<Vec<_>>()
                    .join("/")
            ),
        );
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
