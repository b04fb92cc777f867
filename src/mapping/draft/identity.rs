//! Who the person is: the userName column (a login column, else an email column, else a name
//! column), the primary email column, and the columns adoption matches a create against.

use super::children::EmailChild;
use super::render::{limit, toml_str};
use super::vocab::{is_text, FIRST, LAST, LOGIN};
use super::Drafting;
use crate::mapping::host::HostColumn;

/// The rule for userName: its column, the rule's body, why, and what the operator must decide.
pub(super) struct UserName<'t> {
    pub(super) column: &'t HostColumn,
    body: &'static str,
    why: String,
    decide: Option<String>,
}

/// userName: a login column, else the email column, else a name column, else the first text
/// column (to decide).
///
/// # Errors
/// When the table has no text column besides its key.
pub(super) fn user_name<'t>(
    d: &Drafting<'t>,
    email: Option<&'t HostColumn>,
) -> Result<UserName<'t>, String> {
    let trim = "attr = \"userName\", transform = \"trim\"";
    let rule = |column: &'t HostColumn, body, why, decide| UserName {
        column,
        body,
        why,
        decide,
    };
    let has_person_name = d.col(FIRST, true).is_some() || d.col(LAST, true).is_some();
    if let Some(c) = d.col(LOGIN, true) {
        Ok(rule(c, trim, format!("{}: its name says login; Okta, Entra ID and the others identify people by userName", c.name), None))
    } else if let Some(c) = email {
        Ok(rule(c, "attr = \"userName\", transform = [\"trim\", \"lowercase\"]", format!("{}: no login column, so userName is the email address (identity providers default userName to the email); stored in lower case", c.name), None))
    } else if let Some(c) = d.col(&["name"], true).filter(|_| has_person_name) {
        Ok(rule(c, trim, format!("{}: no login or email column; other columns hold the person's name, so this is taken as the login", c.name), None))
    } else if let Some(c) = d
        .table
        .columns
        .iter()
        .find(|c| c.name != d.key.name && is_text(c))
    {
        Ok(rule(c, trim, format!("{}: no login, email or name column; the first text column", c.name), Some(format!("no column looks like a login; {} holds userName, which identity providers use to find people: name the right column", c.name))))
    } else {
        Err(format!(
            "table \"{}\" has no text column to hold userName",
            d.table.name
        ))
    }
}

/// `match = [...]`: the userName column, the email column and the child table's addresses.
pub(super) fn adoption(
    d: &mut Drafting<'_>,
    un: &UserName<'_>,
    email: Option<&HostColumn>,
    child: Option<&EmailChild<'_>>,
) {
    let mut matches = vec![un.column.name.clone()];
    if let Some(e) = email.filter(|e| e.name != un.column.name) {
        matches.push(e.name.clone());
    }
    if let Some(ch) = child {
        matches.push(format!("{}.{}", ch.table.name, ch.address.name));
    }
    d.out.comment("Okta \"Provision existing users\": a create whose userName equals one of these columns (trimmed, case-insensitively) adopts that row instead of inserting a duplicate.");
    d.out.line(format!(
        "match = [{}]",
        matches
            .iter()
            .map(|m| toml_str(m))
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

/// The userName rule, then the primary email's when it is another column.
pub(super) fn rules(d: &mut Drafting<'_>, un: &UserName<'_>, email: Option<&HostColumn>) {
    d.out
        .rule(&un.column.name, un.body, &un.why, un.decide.as_deref());
    if let Some(e) = email.filter(|e| e.name != un.column.name) {
        let default = if e.nullable {
            ""
        } else {
            ", default = { attr = \"userName\" }"
        };
        d.out.rule(
            &e.name,
            &format!("attr = \"emails.value\", transform = [\"trim\", \"lowercase\"]{default}"),
            &format!("{}: the primary email (the first one when none is marked primary), stored in lower case{}{}", e.name, if e.nullable { "" } else { "; NOT NULL, so the userName when no email is sent" }, limit(e)),
            None,
        );
        d.used.insert(e.name.clone());
    }
}
