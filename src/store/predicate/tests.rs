//! Rendering of predicates as SQL, per dialect.

use super::*;

fn ctx(d: Dialect) -> PredCtx<'static> {
    PredCtx {
        dialect: d,
        host_table: "users",
        key: "id",
        key_kind: ColumnKind::Int,
        users: None,
    }
}

#[test]
fn renders_index_friendly_case_insensitive_equality() {
    let p = Pred::Cmp {
        target: Target::Column("email".into()),
        op: CompareOp::Eq,
        value: HostValue::Text("a@b".into()),
        fold_case: true,
    };
    let mut q = Sql::new();
    render(&mut q, &ctx(Dialect::Postgres), &p);
    assert_eq!(
        q.describe().0,
        "(\"h\".\"email\" IS NOT NULL AND lower(\"h\".\"email\") = lower(?))"
    );
    let mut q = Sql::new();
    render(&mut q, &ctx(Dialect::Sqlite), &p);
    assert_eq!(
        q.describe().0,
        "(\"h\".\"email\" IS NOT NULL AND \"h\".\"email\" = ? COLLATE NOCASE)"
    );
}

#[test]
fn like_patterns_escape_metacharacters() {
    let p = Pred::Cmp {
        target: Target::Column("email".into()),
        op: CompareOp::Co,
        value: HostValue::Text("50%_off!".into()),
        fold_case: true,
    };
    let mut q = Sql::new();
    render(&mut q, &ctx(Dialect::Mysql), &p);
    let (sql, binds) = q.describe();
    assert!(sql.contains("LIKE ? ESCAPE '!'"), "{sql}");
    assert_eq!(binds, vec!["\"%50!%!_off!!%\"".to_string()]);
    let exact = Pred::Cmp {
        target: Target::Column("code".into()),
        op: CompareOp::Sw,
        value: HostValue::Text("A*".into()),
        fold_case: false,
    };
    let mut q = Sql::new();
    render(&mut q, &ctx(Dialect::Sqlite), &exact);
    assert_eq!(q.describe().1, vec!["\"A[*]*\"".to_string()]);
}

#[test]
fn one_child_row_answers_a_whole_value_filter_and_its_primary_is_the_read_one() {
    use crate::mapping::compile::PrimaryMark;
    use crate::scim::filter::Filter;
    let mut m = crate::mapping::predicate::value_paths::child_rows();
    let p = m
        .predicate(&Filter::parse(r#"emails[type eq "work"].value eq "a@x""#).unwrap())
        .unwrap();
    let sql = |m: &UserMapping| {
        let mut q = Sql::new();
        render(&mut q, &PredCtx::users(Dialect::Postgres, m), &p);
        q.describe()
    };
    // Flagged (GLPI's is_default): the first flagged row, else the lowest key.
    let (text, binds) = sql(&m);
    assert_eq!(
        text,
        "EXISTS (SELECT 1 FROM \"useremails\" c WHERE c.\"users_id\" = \"h\".\"id\" AND \
         ((((c.\"is_default\" IS NOT NULL AND c.\"is_default\" <> ?) AND NOT EXISTS (SELECT 1 FROM \"useremails\" c2 WHERE c2.\"users_id\" = \"h\".\"id\" AND \
         (c2.\"is_default\" IS NOT NULL AND c2.\"is_default\" <> ?) AND c2.\"id\" < c.\"id\")) \
         OR (NOT EXISTS (SELECT 1 FROM \"useremails\" c2 WHERE c2.\"users_id\" = \"h\".\"id\" AND (c2.\"is_default\" IS NOT NULL AND c2.\"is_default\" <> ?)) \
         AND NOT EXISTS (SELECT 1 FROM \"useremails\" c2 WHERE c2.\"users_id\" = \"h\".\"id\" AND c2.\"id\" < c.\"id\"))) \
         AND (\"c\".\"email\" IS NOT NULL AND lower(\"c\".\"email\") = lower(?))))"
    );
    assert_eq!(binds, vec!["0", "0", "0", "\"a@x\""]);
    // The lowest key.
    m.children[0].primary = PrimaryMark::First;
    let (text, _) = sql(&m);
    assert!(
        text.contains("AND (NOT EXISTS (SELECT 1 FROM \"useremails\" c2 WHERE c2.\"users_id\" = \"h\".\"id\" AND c2.\"id\" < c.\"id\") AND (\"c\".\"email\""),
        "{text}"
    );
    // A pointer in the user's row (osTicket's default_email_id), of another type than the
    // key: compared as text.
    m.children[0].primary = PrimaryMark::Pointer {
        column: "default_email".into(),
        kind: ColumnKind::Text,
    };
    let (text, _) = sql(&m);
    assert!(
        text.contains(
            "(CAST(c.\"id\" AS TEXT) = CAST(\"h\".\"default_email\" AS TEXT) OR (NOT EXISTS"
        ),
        "{text}"
    );
    // A plain value filter stays one EXISTS per comparison, as before.
    let p = m
        .predicate(&Filter::parse(r#"emails.value eq "a@x""#).unwrap())
        .unwrap();
    let mut q = Sql::new();
    render(&mut q, &PredCtx::users(Dialect::Sqlite, &m), &p);
    assert_eq!(
        q.describe().0,
        "EXISTS (SELECT 1 FROM \"useremails\" c WHERE c.\"users_id\" = \"h\".\"id\" AND (\"c\".\"email\" IS NOT NULL AND \"c\".\"email\" = ? COLLATE NOCASE))"
    );
}

#[test]
fn null_forms_enum_labels_and_binary_text_compare_as_the_column_needs() {
    use crate::scim::filter::Filter;
    let m = crate::mapping::compile::tests::reach_mapping();
    let sql = |d: Dialect, p: &Pred| {
        let mut q = Sql::new();
        render(&mut q, &PredCtx::users(d, &m), p);
        q.describe()
    };
    // The scope: `{ null = true }` is IS NULL, alone or among values; enum labels are
    // compared with the column's text.
    let (text, binds) = sql(Dialect::Postgres, &scoped(&m, None).unwrap());
    for part in [
        "\"h\".\"DeletedAt\" IS NULL",
        "((\"h\".\"Archived\" IS NOT NULL AND \"h\".\"Archived\" = ?) OR \"h\".\"Archived\" IS NULL)",
        "((\"h\".\"Kind\" IS NOT NULL AND CAST(\"h\".\"Kind\" AS TEXT) = ?) OR (\"h\".\"Kind\" IS NOT NULL AND CAST(\"h\".\"Kind\" AS TEXT) = ?))",
    ] {
        assert!(text.contains(part), "{part}\n{text}");
    }
    assert_eq!(binds, vec!["0", "\"agent\"", "\"customer\""]);
    let not_null = Pred::Not(Box::new(Pred::Cmp {
        target: Target::Column("DeletedAt".into()),
        op: CompareOp::Eq,
        value: HostValue::Null(ColumnKind::Timestamp),
        fold_case: false,
    }));
    assert_eq!(
        sql(Dialect::Mysql, &not_null).0,
        "NOT (\"h\".\"DeletedAt\" IS NULL)"
    );
    // A filter on the enum column: its text, folded (userType is not caseExact).
    let p = m
        .predicate(&Filter::parse(r#"userType eq "Agent""#).unwrap())
        .unwrap();
    assert_eq!(
        sql(Dialect::Postgres, &p).0,
        "(\"h\".\"Kind\" IS NOT NULL AND lower(CAST(\"h\".\"Kind\" AS TEXT)) = lower(?))"
    );
    // A binary column on MySQL compares as text when case does not matter.
    let p = m
        .predicate(&Filter::parse(r#"title co "Boss""#).unwrap())
        .unwrap();
    assert_eq!(
        sql(Dialect::Mysql, &p).0,
        "(\"h\".\"Signature\" IS NOT NULL AND CAST(\"h\".\"Signature\" AS CHAR) LIKE ? ESCAPE '!')"
    );
    assert_eq!(
        sql(Dialect::Sqlite, &p).0,
        "(\"h\".\"Signature\" IS NOT NULL AND \"h\".\"Signature\" LIKE ? ESCAPE '!')"
    );
}

#[test]
fn external_id_uses_the_link_table_with_a_typed_key() {
    let p = Pred::Cmp {
        target: Target::ExternalId,
        op: CompareOp::Eq,
        value: HostValue::Text("00u1".into()),
        fold_case: false,
    };
    let mut q = Sql::new();
    render(&mut q, &ctx(Dialect::Mysql), &p);
    let sql = q.describe().0;
    assert!(sql.starts_with("\"h\".\"id\" IN (SELECT CAST(l.host_key AS SIGNED) FROM scim_users l WHERE l.host_table = ? AND l.external_id = ?"), "{sql}");
}
