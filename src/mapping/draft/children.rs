//! Tables around the user table: an email child table (one row per address, its primary
//! marked by a flag or by a pointer column of the user table), and the other tables that
//! point at users, which the draft names but leaves alone.

use super::fillers::filler;
use super::render::{key, toml_str, Out};
use super::table::single_key;
use super::vocab::{is_in, is_text, norm, EMAIL};
use super::Drafting;
use crate::mapping::host::{ColumnKind, HostColumn, HostTable};

/// The email child table of `user`: another table pointing at it by a parent column and holding
/// an address column, with a key the database fills.
pub(super) struct EmailChild<'t> {
    pub(super) table: &'t HostTable,
    pub(super) key: &'t HostColumn,
    pub(super) parent: &'t HostColumn,
    pub(super) address: &'t HostColumn,
    pub(super) flag: Option<&'t HostColumn>,
}

/// Column names by which another table points at a row of `user`: named after the table
/// (`ost_staff` → `staff_id`, `ost_staff_id`; `glpi_users` → `users_id`, `user_id`).
fn parent_names(user: &HostTable) -> Vec<String> {
    let n = user.name.to_ascii_lowercase();
    let base = n.rsplit('_').next().unwrap_or(&n).to_string();
    let mut v = Vec::new();
    for b in [n.clone(), base.clone()] {
        v.push(norm(&format!("{b}_id")));
        if let Some(s) = b.strip_suffix('s') {
            v.push(norm(&format!("{s}_id")));
        }
    }
    v
}

fn parent_column<'t>(t: &'t HostTable, user: &HostTable) -> Option<&'t HostColumn> {
    let names = parent_names(user);
    let key_kind = single_key(user).and_then(|k| k.kind);
    t.columns
        .iter()
        .find(|c| !c.primary_key && names.contains(&norm(&c.name)) && c.kind == key_kind)
}

pub(super) fn email_child<'t>(tables: &'t [HostTable], user: &HostTable) -> Option<EmailChild<'t>> {
    tables.iter().find_map(|t| {
        if t.name == user.name || t.name.starts_with("scim_") {
            return None;
        }
        let key = single_key(t).filter(|k| k.generated)?;
        let parent = parent_column(t, user)?;
        let address = t.columns.iter().find(|c| {
            is_text(c) && (is_in(c, EMAIL) || norm(&c.name) == "address") && c.name != key.name
        })?;
        let flag = t.columns.iter().find(|c| {
            matches!(c.kind, Some(ColumnKind::Bool | ColumnKind::Int))
                && [
                    "isdefault",
                    "isprimary",
                    "primary",
                    "default",
                    "main",
                    "ismain",
                ]
                .contains(&norm(&c.name).as_str())
        });
        Some(EmailChild {
            table: t,
            key,
            parent,
            address,
            flag,
        })
    })
}

/// The user table's pointer to the primary email's row, when the child table has no flag of
/// its own; taken out of the fillers' reach.
pub(super) fn primary_pointer<'t>(
    d: &mut Drafting<'t>,
    child: Option<&EmailChild<'_>>,
) -> Option<&'t HostColumn> {
    let t = d.table;
    let pointer = child.filter(|ch| ch.flag.is_none()).and_then(|_| {
        t.columns.iter().find(|c| {
            !d.used.contains(&c.name)
                && c.kind == Some(ColumnKind::Int)
                && [
                    "defaultemailid",
                    "primaryemailid",
                    "emailid",
                    "defaultemail",
                    "mainemailid",
                ]
                .contains(&norm(&c.name).as_str())
        })
    });
    if let Some(p) = pointer {
        d.used.insert(p.name.clone());
    }
    pointer
}

/// The `[[users.children]]` section for the email child table.
pub(super) fn section(
    out: &mut Out,
    t: &HostTable,
    ch: &EmailChild<'_>,
    pointer: Option<&HostColumn>,
) {
    out.line("");
    out.comment(&format!(
        "Emails: {} holds one row per address ({} points at the user); every write makes the rows match the addresses sent, keeping the keys of addresses still sent.",
        ch.table.name, ch.parent.name
    ));
    out.line("[[users.children]]");
    out.line(format!("table = {}", toml_str(&ch.table.name)));
    out.line(format!("key = {}", toml_str(&ch.key.name)));
    out.line(format!("parent = {}", toml_str(&ch.parent.name)));
    out.line("attr = \"emails\"");
    match (ch.flag, pointer) {
        (Some(f), _) => {
            out.comment(&format!("{} marks the primary address.", f.name));
            out.line(format!("primary = {{ flag = {} }}", toml_str(&f.name)));
        }
        (None, Some(p)) => {
            out.comment(&format!(
                "{}.{} points at the primary address's row.",
                t.name, p.name
            ));
            out.line(format!("primary = {{ pointer = {} }}", toml_str(&p.name)));
        }
        (None, None) => out
            .comment("No column marks the primary address: the lowest key is reported as primary."),
    }
    let (cols, notes) = child_columns(ch);
    for n in notes {
        out.comment(&n);
    }
    out.line(format!("columns = {{ {} }}", cols.join(", ")));
}

/// The child table's `columns`: the address, and a filler for each NOT NULL column without a
/// default; with the fillers' reasons.
fn child_columns(ch: &EmailChild<'_>) -> (Vec<String>, Vec<String>) {
    let mut cols = vec![format!(
        "{} = {{ attr = \"value\", transform = [\"trim\", \"lowercase\"] }}",
        key(&ch.address.name)
    )];
    let mut notes = Vec::new();
    for c in &ch.table.columns {
        if c.nullable
            || c.has_default
            || c.generated
            || c.name == ch.key.name
            || c.name == ch.parent.name
            || c.name == ch.address.name
        {
            continue;
        }
        let mut decide = None;
        if let Some((body, why)) = filler(c, &mut decide) {
            cols.push(format!("{} = {{ {body} }}", key(&c.name)));
            notes.push(why);
        }
    }
    (cols, notes)
}

/// A note naming the tables that point at users and that the draft leaves alone.
pub(super) fn unmapped(
    out: &mut Out,
    tables: &[HostTable],
    t: &HostTable,
    child: Option<&EmailChild<'_>>,
) {
    let related: Vec<String> = tables
        .iter()
        .filter(|o| o.name != t.name && child.is_none_or(|ch| ch.table.name != o.name))
        .filter_map(|o| parent_column(o, t).map(|p| format!("{}.{}", o.name, p.name)))
        .collect();
    if !related.is_empty() {
        out.line("");
        out.comment(&format!(
            "Not mapped: tables that point at {} ({}). If the application needs a row there for every user (a role, an account), add a [[users.joined]] section (README, \"Users spread over several tables\").",
            t.name,
            related.join(", ")
        ));
    }
}
