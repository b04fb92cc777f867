//! NOT NULL columns without a default that no attribute fills: each gets a value on insert
//! (`""`, `0`, `false`, `"now"`, `"!"` for a password, `1` for a `created_by_id`), or a
//! `DECIDE:` line when the draft cannot say.

use super::render::key;
use super::vocab::{is_in, norm, AUTHOR, PASSWORD};
use super::{Decision, Drafting};
use crate::mapping::host::{ColumnKind, HostColumn};

/// The filler a NOT NULL column without a default gets, with why; `None` when the draft
/// cannot say (a type the bridge does not bind).
pub(super) fn filler(c: &HostColumn, decide: &mut Option<String>) -> Option<(String, String)> {
    let n = norm(&c.name);
    Some(match c.kind? {
        ColumnKind::Text if is_in(c, PASSWORD) => (
            "value = \"!\", on = \"insert\"".into(),
            format!("{}: NOT NULL without a default; identity-provider users sign in through SSO and have no local password, and \"!\" matches no password hash", c.name),
        ),
        ColumnKind::Text => (
            "value = \"\", on = \"insert\"".into(),
            format!("{}: NOT NULL without a default; new rows get an empty string (set what the application expects)", c.name),
        ),
        ColumnKind::Int if is_in(c, AUTHOR) => (
            "value = 1, on = \"insert\"".into(),
            format!("{}: NOT NULL without a default, naming who wrote the row; 1 is usually the installation's first (system or admin) user, as the application's own importers record", c.name),
        ),
        ColumnKind::Int => {
            if n.ends_with("id") {
                *decide = Some(format!("{} is NOT NULL without a default and looks like a reference to another table; 0 is written into new rows, which a foreign key would refuse: name a row that exists", c.name));
            }
            (
                "value = 0, on = \"insert\"".into(),
                format!("{}: NOT NULL without a default; new rows get 0", c.name),
            )
        }
        ColumnKind::Bool => (
            "value = false, on = \"insert\"".into(),
            format!("{}: NOT NULL without a default; new rows get false", c.name),
        ),
        ColumnKind::Timestamp | ColumnKind::TimestampTz => (
            "value = \"now\", on = \"insert\"".into(),
            format!("{}: NOT NULL without a default; new rows get the time of creation", c.name),
        ),
    })
}

/// Fillers for the user table's NOT NULL columns nothing else fills.
pub(super) fn rules(d: &mut Drafting<'_>) {
    let t = d.table;
    for c in &t.columns {
        if c.nullable || c.has_default || c.generated || d.used.contains(&c.name) {
            continue;
        }
        let mut decide = None;
        match filler(c, &mut decide) {
            Some((body, why)) => d.out.rule(&c.name, &body, &why, decide.as_deref()),
            None => {
                let what = format!("{} ({}) is NOT NULL without a default and its type is not one the bridge writes; `check` reports it until a rule fills it", c.name, c.sql_type);
                d.out.comment(&format!("DECIDE: {what}"));
                d.out.line(format!(
                    "# {} = {{ value = …, on = \"insert\" }}",
                    key(&c.name)
                ));
                d.out.decisions.push(Decision {
                    line: d.out.lines.len(),
                    what,
                });
            }
        }
        d.used.insert(c.name.clone());
    }
}
