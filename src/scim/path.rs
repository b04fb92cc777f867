//! Attribute paths (RFC 7644 §3.10): `userName`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.

use std::fmt;

use super::error::ScimError;
use super::schema::{self, Legacy};

/// A parsed attribute path. `urn` is the schema URN prefix when one was written; names keep
/// the spelling the client used — resolution against the schema is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub fn simple(attr: &str) -> Self {
        AttrPath {
            urn: None,
            attr: attr.to_string(),
            sub: None,
        }
    }

    /// Parses one attribute path. URNs contain dots (`2.0`), so the URN is split off at its
    /// last colon before the attribute name is split at the dot.
    ///
    /// A legacy schema URN (see [`schema::legacy`]) is read as the RFC 7643 one it stands for:
    /// `urn:scim:schemas:core:2.0:userName` is `userName` (the core schema of whichever
    /// resource), `urn:scim:schemas:extension:enterprise:2.0:department` is the enterprise
    /// extension's `department`, and the bare legacy enterprise URN names the whole extension
    /// as `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` does.
    ///
    /// # Errors
    /// `invalidPath` when the text is empty, has more than one sub-attribute level, or holds
    /// characters no attribute name may contain.
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        let text = text.trim();
        match schema::legacy(text) {
            Some(Legacy::Enterprise) => return AttrPath::parse(schema::ENTERPRISE_USER_SCHEMA),
            Some(Legacy::Core) => {
                return Err(ScimError::invalid_path(format!(
                    "\"{text}\" names a schema but no attribute"
                )))
            }
            None => {}
        }
        let (urn, rest) = if is_urn(text) {
            match text.rfind(':') {
                Some(i) if i + 1 < text.len() => {
                    let urn = match schema::legacy(&text[..i]) {
                        Some(Legacy::Core) => None,
                        Some(Legacy::Enterprise) => {
                            Some(schema::ENTERPRISE_USER_SCHEMA.to_string())
                        }
                        None => Some(text[..i].to_string()),
                    };
                    (urn, &text[i + 1..])
                }
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "\"{text}\" names a schema but no attribute"
                    )))
                }
            }
        } else {
            (None, text)
        };
        let mut parts = rest.split('.');
        let attr = parts.next().unwrap_or_default();
        let sub = parts.next();
        if parts.next().is_some() {
            return Err(ScimError::invalid_path(format!(
                "\"{text}\" is nested too deeply: SCIM attributes have at most one sub-attribute level"
            )));
        }
        if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
            return Err(ScimError::invalid_path(format!(
                "\"{text}\" is not a valid attribute path"
            )));
        }
        Ok(AttrPath {
            urn,
            attr: attr.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// The same path with the URN written out, for messages and lookups.
    pub fn with_sub(&self, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: self.urn.clone(),
            attr: self.attr.clone(),
            sub: sub.map(str::to_string),
        }
    }
}

/// Whether `s` starts with `urn:` (any case). Byte-safe: the fuzzer found that slicing the
/// first four bytes panics when a multi-byte character straddles them.
pub fn is_urn(s: &str) -> bool {
    s.len() > 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA; `$ref`
/// is the one reserved exception.
pub fn valid_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        write!(f, "{}", self.attr)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_sub_and_urn_paths() {
        assert_eq!(
            AttrPath::parse("userName").unwrap(),
            AttrPath::simple("userName")
        );
        let p = AttrPath::parse("name.givenName").unwrap();
        assert_eq!(
            (p.attr.as_str(), p.sub.as_deref()),
            ("name", Some("givenName"))
        );
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(
            (p.attr.as_str(), p.sub.as_deref()),
            ("manager", Some("value"))
        );
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
        assert_eq!(
            AttrPath::parse("members.$ref").unwrap().sub.as_deref(),
            Some("$ref")
        );
    }

    #[test]
    fn legacy_schema_urns_read_as_the_rfc_ones() {
        let p = AttrPath::parse("urn:scim:schemas:core:2.0:name.givenName").unwrap();
        assert_eq!(p, AttrPath::parse("name.givenName").unwrap());
        let p = AttrPath::parse("URN:SCIM:SCHEMAS:CORE:1.0:userName").unwrap();
        assert_eq!(p, AttrPath::simple("userName"));
        let p = AttrPath::parse("urn:scim:schemas:extension:enterprise:2.0:manager.value").unwrap();
        assert_eq!(
            p,
            AttrPath::parse(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
            )
            .unwrap()
        );
        // The bare enterprise URN names the whole extension, as the RFC URN does.
        assert_eq!(
            AttrPath::parse("urn:scim:schemas:extension:enterprise:1.0").unwrap(),
            AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap()
        );
        assert!(AttrPath::parse("urn:scim:schemas:core:2.0").is_err());
    }

    #[test]
    fn multibyte_text_never_panics() {
        // Found by the fuzzer: "mae\u{59a}qlu" made the URN check slice inside a character.
        assert!(AttrPath::parse("mae\u{59a}qlu]").is_err());
        assert!(AttrPath::parse("urn\u{e9}x").is_err());
        assert!(!is_urn("ur\u{59a}"));
        assert!(is_urn("URN:x:y"));
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in ["", "a.b.c", "1abc", "na me", "urn:x:", "emails[", "a;drop"] {
            let e = AttrPath::parse(bad).unwrap_err();
            assert_eq!(
                e.scim_type,
                Some(super::super::error::ScimType::InvalidPath),
                "{bad}"
            );
        }
    }
}
