//! What a protected row's protection becomes for the bridge once its own grants are taken
//! out: `[[users.grants]]` may give a user exactly the role `[[users.protect]]` guards (the
//! demo protects `role = "agent"`; members of "Helpdesk Agents" get it). The bridge must not
//! lock itself out of the users it promoted, while a row the application made privileged —
//! before or after — stays out of reach. So a protect comparison is dropped only where a grant
//! the bridge holds for that very user explains the value it tests.

use super::compiled::Grant;
use super::predicate::{Pred, Target};
use crate::scim::filter::CompareOp;

/// `p` with every test that one of `held` explains replaced by false: a comparison
/// `column = value` where a held grant sets that column to that value, and a row test
/// (`has = { table, where }`) that the row a held grant writes would meet. Tests inside a
/// `not` are kept as they are — rewriting them would widen the protection, never narrow it.
pub fn without_grants(p: &Pred, held: &[&Grant]) -> Pred {
    match p {
        Pred::And(v) => Pred::And(v.iter().map(|x| without_grants(x, held)).collect()),
        Pred::Or(v) => Pred::Or(v.iter().map(|x| without_grants(x, held)).collect()),
        Pred::Cmp {
            target: Target::Column(column),
            op: CompareOp::Eq,
            value,
            ..
        } if held.iter().any(|g| {
            g.set
                .iter()
                .any(|(c, v)| c == column && v.loosely_equals(value))
        }) =>
        {
            Pred::False
        }
        Pred::Exists {
            table, conditions, ..
        } if held.iter().filter_map(|g| g.row.as_ref()).any(|r| {
            &r.table == table
                && conditions.iter().all(|(c, v)| {
                    r.values
                        .iter()
                        .any(|(rc, rv)| rc == c && rv.loosely_equals(v))
                })
        }) =>
        {
            Pred::False
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::compiled::GrantRow;
    use crate::mapping::HostValue;

    fn eq(column: &str, v: &str) -> Pred {
        Pred::Cmp {
            target: Target::Column(column.into()),
            op: CompareOp::Eq,
            value: HostValue::Text(v.into()),
            fold_case: false,
        }
    }

    fn agent() -> Grant {
        Grant {
            group: "helpdesk agents".into(),
            set: vec![("role".into(), HostValue::Text("agent".into()))],
            otherwise: vec![("role".into(), HostValue::Text("customer".into()))],
            row: None,
        }
    }

    #[test]
    fn only_the_granted_value_is_explained() {
        let protect = Pred::Or(vec![eq("role", "admin"), eq("role", "agent")]);
        let g = agent();
        assert_eq!(
            without_grants(&protect, &[&g]),
            Pred::Or(vec![eq("role", "admin"), Pred::False]),
            "an admin row stays protected; an agent row the bridge granted does not"
        );
        assert_eq!(without_grants(&protect, &[]), protect, "no grant held");
        let negated = Pred::Not(Box::new(eq("role", "agent")));
        assert_eq!(without_grants(&negated, &[&g]), negated);
    }

    #[test]
    fn a_row_test_is_explained_by_the_row_granted() {
        let exists = |id: i64| Pred::Exists {
            table: "roles_users".into(),
            parent: "user_id".into(),
            conditions: vec![("role_id".into(), HostValue::Int(id))],
        };
        let g = Grant {
            row: Some(GrantRow {
                table: "roles_users".into(),
                parent: "user_id".into(),
                values: vec![("role_id".into(), HostValue::Int(2))],
            }),
            ..agent()
        };
        assert_eq!(without_grants(&exists(2), &[&g]), Pred::False);
        assert_eq!(
            without_grants(&exists(1), &[&g]),
            exists(1),
            "the Admin row is not the one granted"
        );
    }
}
