//! Whether the person may sign in: the column that holds `active` (plain, inverted, a status
//! code, or a deleted flag as a last resort), `on_delete`, and the `scope` that hides rows the
//! application marked deleted.

use super::render::key;
use super::vocab::{is_time, ACTIVE, DELETED, DELETED_AT, INACTIVE, LOCKED, STATUS};
use super::Drafting;
use crate::mapping::host::{ColumnKind, HostColumn};

/// The column that holds `active`, and how.
pub(super) enum Active<'c> {
    Plain(&'c HostColumn),
    Inverted(&'c HostColumn),
    Status(&'c HostColumn),
    Deleted(&'c HostColumn),
}

fn flag_like(c: &&HostColumn) -> bool {
    matches!(c.kind, Some(ColumnKind::Bool | ColumnKind::Int))
}

/// The `[users]` settings that follow from the state column: `on_delete`, `scope` on a
/// deleted flag, a note on a deletion time. Returns the column `active` goes to.
pub(super) fn settings<'t>(d: &mut Drafting<'t>) -> Option<Active<'t>> {
    let active = d
        .col(ACTIVE, false)
        .filter(flag_like)
        .map(Active::Plain)
        .or_else(|| {
            d.col(INACTIVE, false)
                .filter(flag_like)
                .map(Active::Inverted)
        })
        .or_else(|| {
            d.col(STATUS, false)
                .filter(|c| matches!(c.kind, Some(ColumnKind::Int | ColumnKind::Text)))
                .map(Active::Status)
        })
        .or_else(|| d.col(LOCKED, false).filter(flag_like).map(Active::Inverted))
        .or_else(|| d.col(DELETED, false).filter(flag_like).map(Active::Deleted));
    let deleted = d.col(DELETED, false).filter(flag_like);
    let scope_deleted = match (&active, deleted) {
        (Some(Active::Deleted(_)), _) | (_, None) => None,
        (_, Some(d)) => Some(d),
    };
    let out = &mut d.out;
    if active.is_some() {
        out.comment("DELETE /Users/{id} (Entra ID's hard delete, JumpCloud's set-up test) writes active = false; the row and its tickets stay.");
        out.line("on_delete = \"deactivate\"");
    } else {
        out.decide_setting(
            "on_delete = \"ignore\"",
            "no column holds whether a person is active, so deactivation (active = false, what Okta and Entra ID send on unassignment) is kept by the bridge only and the person can still sign in to the application; map a column with attr = \"active\" and set on_delete = \"deactivate\", or use on_delete = \"soft_delete\" / \"delete\"",
        );
    }
    if let Some(c) = scope_deleted {
        let zero = if c.kind == Some(ColumnKind::Bool) {
            "false"
        } else {
            "0"
        };
        out.comment(&format!("{}: rows marked deleted by the application are not SCIM users (they are hidden from lists, filters and adoption).", c.name));
        out.line(format!("scope = {{ {} = {zero} }}", key(&c.name)));
        d.used.insert(c.name.clone());
    }
    if let Some(c) = d.col(DELETED_AT, false).filter(|c| is_time(c)) {
        d.out.comment(&format!("{}: rows the application deleted (a deletion time set) are still listed; a scope cannot test for NULL, so check them with `scim-bridge import`.", c.name));
    }
    active
}

/// A rule's body, its reason and what the operator must decide.
type Rule = (String, String, Option<String>);

/// The rule for `active` on its column.
pub(super) fn rule(d: &mut Drafting<'_>, active: Option<&Active<'_>>) {
    let Some(active) = active else {
        return;
    };
    let (c, (body, why, decide)) = match active {
        Active::Plain(c) => (c, plain(c)),
        Active::Inverted(c) => (c, inverted(c)),
        Active::Status(c) => (c, status(c)),
        Active::Deleted(c) => (c, deleted(c)),
    };
    d.out.rule(&c.name, &body, &why, decide.as_deref());
    d.used.insert(c.name.clone());
}

fn plain(c: &HostColumn) -> Rule {
    let body = if c.kind == Some(ColumnKind::Bool) {
        "attr = \"active\", default = true".to_string()
    } else {
        "attr = \"active\", map = { true = 1, false = 0 }, default = true".to_string()
    };
    let why = format!(
        "{}: whether the person may sign in; deactivation (active = false) writes it{}",
        c.name,
        if c.kind == Some(ColumnKind::Bool) {
            ""
        } else {
            " as 0, activation as 1"
        }
    );
    (body, why, None)
}

fn inverted(c: &HostColumn) -> Rule {
    let body = if c.kind == Some(ColumnKind::Bool) {
        "attr = \"active\", transform = \"not\", default = true".to_string()
    } else {
        "attr = \"active\", map = { true = 0, false = 1 }, default = true".to_string()
    };
    let why = format!(
        "{}: the opposite of active; deactivation sets it, activation clears it",
        c.name
    );
    (body, why, None)
}

fn status(c: &HostColumn) -> Rule {
    let body = if c.kind == Some(ColumnKind::Int) {
        "attr = \"active\", map = { true = 1, false = 0 }, read_default = false, default = true"
    } else {
        "attr = \"active\", map = { true = \"active\", false = \"inactive\" }, read_default = false, default = true"
    };
    let why = format!(
        "{}: the account's state; any other value reads as inactive",
        c.name
    );
    let decide = format!("{} is a status code, and which codes mean active and inactive is the application's choice: the draft guesses {}; put the application's codes in map", c.name, if c.kind == Some(ColumnKind::Int) { "1 and 0" } else { "\"active\" and \"inactive\"" });
    (body.to_string(), why, Some(decide))
}

fn deleted(c: &HostColumn) -> Rule {
    let body = if c.kind == Some(ColumnKind::Bool) {
        "attr = \"active\", transform = \"not\", default = true".to_string()
    } else {
        "attr = \"active\", map = { true = 0, false = 1 }, default = true".to_string()
    };
    let why = format!(
        "{}: the only state column; deactivation marks the row deleted",
        c.name
    );
    let decide = format!("no active or disabled column: deactivation marks {} instead; check that the application treats such rows as unable to sign in", c.name);
    (body, why, Some(decide))
}
