//! Database refusals of a value: a constraint (CHECK, NOT NULL, foreign key, unique) or a
//! value the column cannot hold (too long, out of range, not of the column's type or enum).
//! They are the client's to fix, so they answer 400/409 — never a 500 — and they name the
//! column when the driver does. The database's message, which may quote the value, stays in
//! the log.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind};

/// What the database refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    Unique,
    NotNull,
    ForeignKey,
    Check,
    TooLong,
    OutOfRange,
    /// Not a value of the column's type (an enum label, a number, a date).
    BadValue,
}

impl RefusalKind {
    /// Why, in words for the client.
    pub fn reason(self) -> &'static str {
        match self {
            RefusalKind::Unique => "another row already holds this value",
            RefusalKind::NotNull => "the column requires a value",
            RefusalKind::ForeignKey => "it refers to a row that does not exist",
            RefusalKind::Check => "it does not satisfy the table's CHECK constraint",
            RefusalKind::TooLong => "it is longer than the column holds",
            RefusalKind::OutOfRange => "it is out of the column's range",
            RefusalKind::BadValue => "it is not a value the column accepts",
        }
    }
}

/// A refusal, with what the driver said about where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
    /// The database's own message, for the log only (it may quote the value).
    pub cause: String,
}

impl Refusal {
    /// What the client is told: the column and constraint by name, never a value.
    pub fn detail(&self) -> String {
        let mut s = String::from("the application's database refused the value");
        if let Some(c) = &self.column {
            s.push_str(&format!(" for column \"{c}\""));
        }
        if let Some(t) = &self.table {
            s.push_str(&format!(" of table \"{t}\""));
        }
        s.push_str(": ");
        s.push_str(self.kind.reason());
        if let Some(k) = &self.constraint {
            s.push_str(&format!(" (\"{k}\")"));
        }
        s
    }
}

/// Classifies a database error as a refusal of a value, or `None` when it is something else
/// (a lost connection, a bug).
pub fn classify(kind: &DatabaseErrorKind, info: &dyn DatabaseErrorInformation) -> Option<Refusal> {
    let message = info.message();
    let lower = message.to_ascii_lowercase();
    let kind = match kind {
        DatabaseErrorKind::UniqueViolation => RefusalKind::Unique,
        DatabaseErrorKind::NotNullViolation => RefusalKind::NotNull,
        DatabaseErrorKind::ForeignKeyViolation => RefusalKind::ForeignKey,
        DatabaseErrorKind::CheckViolation => RefusalKind::Check,
        _ => by_message(&lower)?,
    };
    let (table, column) = match (info.table_name(), info.column_name()) {
        // PostgreSQL says where; the others only in their messages.
        (t, Some(c)) => (t.map(str::to_string), Some(c.to_string())),
        (t, None) => {
            let (mt, mc) = location_in(message, kind);
            (
                t.map(str::to_string).or(mt),
                mc.or_else(|| key_column(info.details())),
            )
        }
    };
    Some(Refusal {
        kind,
        table,
        column,
        constraint: info
            .constraint_name()
            .map(str::to_string)
            .or_else(|| constraint_in(message)),
        cause: match info.details() {
            Some(d) => format!("{message} ({d})"),
            None => message.to_string(),
        },
    })
}

/// Refusals the drivers report without a kind: PostgreSQL's data exceptions (SQLSTATE class
/// 22), MySQL/MariaDB's strict-mode errors, MariaDB's CHECK failure, SQLite's STRICT tables.
fn by_message(m: &str) -> Option<RefusalKind> {
    Some(
        if m.contains("value too long") || m.contains("data too long") {
            RefusalKind::TooLong
        } else if m.contains("out of range") {
            RefusalKind::OutOfRange
        } else if m.contains("invalid input value for enum")
            || m.contains("invalid input syntax for type")
            || m.contains("incorrect") && m.contains("value")
            || m.contains("data truncated for column")
            || m.contains("cannot store")
            || m.contains("datatype mismatch")
            || m.contains("date/time field value out of range")
        {
            RefusalKind::BadValue
        } else if m.starts_with("constraint ") && m.contains(" failed for ") {
            // MariaDB: CONSTRAINT `phone_len` failed for `db`.`users`
            RefusalKind::Check
        } else if m.contains("doesn't have a default value") || m.contains("cannot be null") {
            RefusalKind::NotNull
        } else {
            return None;
        },
    )
}

/// (table, column) from a message: SQLite's `NOT NULL constraint failed: users.email`,
/// MySQL's `Column 'email' cannot be null`, `Data too long for column 'phone' at row 1`,
/// `… FOREIGN KEY (`org_id`) REFERENCES …`.
fn location_in(message: &str, kind: RefusalKind) -> (Option<String>, Option<String>) {
    if let Some((_, rest)) = message.split_once(" constraint failed: ") {
        if kind != RefusalKind::Check {
            let first = rest.split(',').next().unwrap_or(rest).trim();
            if let Some((t, c)) = first.split_once('.') {
                if is_identifier(t) && is_identifier(c) {
                    return (Some(t.to_string()), Some(c.to_string()));
                }
            }
        }
        return (None, None);
    }
    for marker in ["for column '", "Column '", "Field '", "FOREIGN KEY (`"] {
        if let Some((_, rest)) = message.split_once(marker) {
            let name: String = rest
                .chars()
                .take_while(|c| *c != '\'' && *c != '`')
                .collect();
            if is_identifier(&name) {
                return (None, Some(name));
            }
        }
    }
    (None, None)
}

/// PostgreSQL's detail `Key (email)=(…) already exists.`: the column, not the value.
fn key_column(details: Option<&str>) -> Option<String> {
    let rest = details?.strip_prefix("Key (")?;
    let name = rest.split(')').next()?;
    is_identifier(name).then(|| name.to_string())
}

/// SQLite's `CHECK constraint failed: phone_len`, MySQL's `Check constraint 'phone_len' is
/// violated.`, MariaDB's `CONSTRAINT `phone_len` failed …` — when the name is a name (an
/// expression could quote a literal).
fn constraint_in(message: &str) -> Option<String> {
    let name = if let Some((_, rest)) = message.split_once("CHECK constraint failed: ") {
        rest.trim().to_string()
    } else if let Some((_, rest)) = message
        .split_once("onstraint '")
        .or_else(|| message.split_once("CONSTRAINT `"))
    {
        rest.chars()
            .take_while(|c| *c != '\'' && *c != '`')
            .collect()
    } else {
        return None;
    };
    is_identifier(&name).then_some(name)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info {
        message: &'static str,
        details: Option<&'static str>,
        table: Option<&'static str>,
        column: Option<&'static str>,
        constraint: Option<&'static str>,
    }

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            self.details
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            self.table
        }
        fn column_name(&self) -> Option<&str> {
            self.column
        }
        fn constraint_name(&self) -> Option<&str> {
            self.constraint
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn msg(message: &'static str) -> Info {
        Info {
            message,
            details: None,
            table: None,
            column: None,
            constraint: None,
        }
    }

    fn r(kind: &DatabaseErrorKind, info: &Info) -> Refusal {
        classify(kind, info).expect("a refusal")
    }

    #[test]
    fn sqlite_messages() {
        use DatabaseErrorKind::*;
        let x = r(
            &NotNullViolation,
            &msg("NOT NULL constraint failed: users.email"),
        );
        assert_eq!(
            (x.kind, x.table.as_deref(), x.column.as_deref()),
            (RefusalKind::NotNull, Some("users"), Some("email"))
        );
        let x = r(&CheckViolation, &msg("CHECK constraint failed: phone_len"));
        assert_eq!(
            (x.kind, x.constraint.as_deref()),
            (RefusalKind::Check, Some("phone_len"))
        );
        let x = r(
            &CheckViolation,
            &msg("CHECK constraint failed: length(phone) <= 20"),
        );
        assert_eq!(x.constraint, None, "an expression is not shown");
        let x = r(
            &UniqueViolation,
            &msg("UNIQUE constraint failed: users.email"),
        );
        assert_eq!(x.column.as_deref(), Some("email"));
        assert_eq!(
            r(&ForeignKeyViolation, &msg("FOREIGN KEY constraint failed")).kind,
            RefusalKind::ForeignKey
        );
    }

    #[test]
    fn postgres_errors() {
        use DatabaseErrorKind::*;
        let x = r(
            &UniqueViolation,
            &Info {
                message: "duplicate key value violates unique constraint \"users_email_key\"",
                details: Some("Key (email)=(ann@x) already exists."),
                table: Some("users"),
                column: None,
                constraint: Some("users_email_key"),
            },
        );
        assert_eq!(x.column.as_deref(), Some("email"));
        assert!(!x.detail().contains("ann@x"), "{}", x.detail());
        assert!(x.cause.contains("ann@x"), "the log keeps it");
        let x = r(
            &Unknown,
            &msg("value too long for type character varying(20)"),
        );
        assert_eq!(x.kind, RefusalKind::TooLong);
        let x = r(
            &Unknown,
            &msg("invalid input value for enum user_type: \"robot\""),
        );
        assert_eq!(x.kind, RefusalKind::BadValue);
        assert!(!x.detail().contains("robot"));
        assert_eq!(
            r(&Unknown, &msg("integer out of range")).kind,
            RefusalKind::OutOfRange
        );
        assert!(classify(&Unknown, &msg("relation \"users\" does not exist")).is_none());
        assert!(classify(&ClosedConnection, &msg("connection closed")).is_none());
    }

    #[test]
    fn mysql_and_mariadb_messages() {
        use DatabaseErrorKind::*;
        let x = r(&Unknown, &msg("Data too long for column 'phone' at row 1"));
        assert_eq!(
            (x.kind, x.column.as_deref()),
            (RefusalKind::TooLong, Some("phone"))
        );
        let x = r(
            &Unknown,
            &msg("Out of range value for column 'age' at row 1"),
        );
        assert_eq!(
            (x.kind, x.column.as_deref()),
            (RefusalKind::OutOfRange, Some("age"))
        );
        let x = r(&Unknown, &msg("Data truncated for column 'kind' at row 1"));
        assert_eq!(
            (x.kind, x.column.as_deref()),
            (RefusalKind::BadValue, Some("kind"))
        );
        let x = r(&NotNullViolation, &msg("Column 'email' cannot be null"));
        assert_eq!(x.column.as_deref(), Some("email"));
        let x = r(
            &Unknown,
            &msg("CONSTRAINT `phone_len` failed for `test`.`users`"),
        );
        assert_eq!(
            (x.kind, x.constraint.as_deref()),
            (RefusalKind::Check, Some("phone_len"))
        );
        let x = r(
            &CheckViolation,
            &msg("Check constraint 'phone_len' is violated."),
        );
        assert_eq!(x.constraint.as_deref(), Some("phone_len"));
        let x = r(
            &ForeignKeyViolation,
            &msg("Cannot add or update a child row: a foreign key constraint fails (`t`.`users`, CONSTRAINT `fk_org` FOREIGN KEY (`org_id`) REFERENCES `orgs` (`id`))"),
        );
        assert_eq!(x.column.as_deref(), Some("org_id"));
        assert_eq!(
            r(
                &Unknown,
                &msg("Incorrect integer value: 'x' for column 'age' at row 1")
            )
            .kind,
            RefusalKind::BadValue
        );
    }
}
