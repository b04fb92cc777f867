//! The person's name: given and family name columns, else a display name or one column for
//! the whole name.

use super::render::limit;
use super::vocab::{FIRST, FULL, LAST};
use super::Drafting;

/// Rules for the name columns not mapped yet.
pub(super) fn rules(d: &mut Drafting<'_>) {
    let first = d.col(FIRST, true);
    let last = d
        .col(LAST, true)
        .or_else(|| d.col(&["realname"], true).filter(|_| first.is_some()));
    for (c, attr, what) in [
        (first, "name.givenName", "the given name"),
        (last, "name.familyName", "the family name"),
    ] {
        if let Some(c) = c.filter(|c| !d.used.contains(&c.name)) {
            let default = if c.nullable { "" } else { ", default = \"\"" };
            d.out.rule(
                &c.name,
                &format!("attr = \"{attr}\"{default}"),
                &format!(
                    "{}: {what}{}{}",
                    c.name,
                    if c.nullable {
                        ""
                    } else {
                        "; NOT NULL, so \"\" when none is sent"
                    },
                    limit(c)
                ),
                None,
            );
            d.used.insert(c.name.clone());
        }
    }
    if first.is_none() && last.is_none() {
        if let Some(c) = d
            .col(&["displayname"], true)
            .filter(|c| !d.used.contains(&c.name))
        {
            let default = if c.nullable {
                ""
            } else {
                ", default = { attr = \"userName\" }"
            };
            d.out.rule(
                &c.name,
                &format!("attr = \"displayName\"{default}"),
                &format!("{}: the display name{}", c.name, limit(c)),
                None,
            );
            d.used.insert(c.name.clone());
        } else if let Some(c) = d.col(FULL, true).filter(|c| !d.used.contains(&c.name)) {
            d.out.rule(
                &c.name,
                "template = \"{name.givenName} {name.familyName}\", default = { attr = \"userName\" }",
                &format!("{}: one column for the whole name: given and family name joined by a space (split back at the space on reads), the userName when no name is sent{}", c.name, limit(c)),
                None,
            );
            d.used.insert(c.name.clone());
        }
    }
}
