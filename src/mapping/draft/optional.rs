//! Attributes a person may have or not: phone numbers, title, department, nickname, employee
//! number, time zone, locale and language, each on the column named for it; and the creation
//! and modification times.

use super::render::{limit, toml_str};
use super::vocab::{is_in, is_time, CREATED, UPDATED};
use super::Drafting;

/// Optional string attributes and the column names they go to. `free` ones may be stored as ""
/// when absent (a NOT NULL column then gets `default = ""`); the others are left alone on a
/// NOT NULL column, where "" would mean something wrong.
struct Optional {
    attr: &'static str,
    names: &'static [&'static str],
    free: bool,
    why: &'static str,
}

const OPTIONAL: &[Optional] = &[
    Optional {
        attr: "phoneNumbers[type eq \"work\"].value",
        names: &[
            "phone",
            "phonenumber",
            "telephone",
            "workphone",
            "businessphone",
            "officephone",
            "tel",
        ],
        free: true,
        why: "a phone column: the work number",
    },
    Optional {
        attr: "phoneNumbers[type eq \"mobile\"].value",
        names: &["mobile", "mobilephone", "cellphone", "cell", "mobilenumber"],
        free: true,
        why: "a mobile column: the mobile number",
    },
    Optional {
        attr: "title",
        names: &["title", "jobtitle", "designation", "position"],
        free: true,
        why: "the person's job title",
    },
    Optional {
        attr: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        names: &["department", "dept", "departmentname"],
        free: true,
        why: "the enterprise extension's department",
    },
    Optional {
        attr: "nickName",
        names: &["nickname", "nick"],
        free: true,
        why: "a nickname column",
    },
    Optional {
        attr: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        names: &[
            "employeenumber",
            "employeeid",
            "employeeno",
            "personnelnumber",
            "registrationnumber",
        ],
        free: true,
        why: "an employee number column",
    },
    Optional {
        attr: "timezone",
        names: &["timezone", "tz", "timezonename"],
        free: false,
        why: "the time zone (an IANA name such as Europe/Paris)",
    },
    Optional {
        attr: "locale",
        names: &["locale"],
        free: false,
        why: "the locale (such as en-US)",
    },
    Optional {
        attr: "preferredLanguage",
        names: &["language", "lang", "preferredlanguage"],
        free: false,
        why: "the preferred language (such as en)",
    },
];

/// Rules for the optional attributes whose column is there and not mapped yet.
pub(super) fn rules(d: &mut Drafting<'_>) {
    for o in OPTIONAL {
        let Some(c) = d.col(o.names, true).filter(|c| !d.used.contains(&c.name)) else {
            continue;
        };
        d.used.insert(c.name.clone());
        if c.nullable {
            d.out.rule(
                &c.name,
                &format!("attr = {}", toml_str(o.attr)),
                &format!("{}: {}{}", c.name, o.why, limit(c)),
                None,
            );
        } else if o.free {
            d.out.rule(
                &c.name,
                &format!("attr = {}, default = \"\"", toml_str(o.attr)),
                &format!(
                    "{}: {}; NOT NULL, so \"\" when none is sent{}",
                    c.name,
                    o.why,
                    limit(c)
                ),
                None,
            );
        } else {
            d.out.comment(&format!("{}: {} would fit, but the column is NOT NULL and an absent value has no good filler; left to the application.", c.name, o.why));
        }
    }
}

/// Creation and modification times: `"now"` on insert, or on every write.
pub(super) fn timestamps(d: &mut Drafting<'_>) {
    let t = d.table;
    for c in &t.columns {
        if !is_time(c) || d.used.contains(&c.name) {
            continue;
        }
        if is_in(c, CREATED) {
            d.out.rule(
                &c.name,
                "value = \"now\", on = \"insert\"",
                &format!("{}: when the row was created (UTC)", c.name),
                None,
            );
            d.used.insert(c.name.clone());
        } else if is_in(c, UPDATED) {
            d.out.rule(
                &c.name,
                "value = \"now\"",
                &format!(
                    "{}: when the row last changed (UTC), on every write",
                    c.name
                ),
                None,
            );
            d.used.insert(c.name.clone());
        }
    }
}
