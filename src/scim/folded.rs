//! Identifiers as the bridge compares them. RFC 7643 makes `userName` case-insensitive
//! (`caseExact: false`), and identity providers pad values with spaces; two spellings that
//! fold to the same [`Folded`] are the same user, group or value — everywhere, because the
//! rule lives here once.

use sha2::{Digest, Sha256};

/// A value trimmed and Unicode-lower-cased. Built only through [`Folded::new`], so a
/// comparison between two `Folded` can never forget one side's folding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Folded(String);

impl Folded {
    pub fn new(s: &str) -> Folded {
        Folded(s.trim().to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fixed-width digest of the folded value: unique indexes on it hold any length on
    /// every backend.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// Whether `a` and `b` are the same identifier.
    pub fn same(a: &str, b: &str) -> bool {
        Folded::new(a) == Folded::new(b)
    }
}

impl std::fmt::Display for Folded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_surrounding_space_do_not_matter() {
        assert_eq!(
            Folded::new(" Alice@Example.COM "),
            Folded::new("alice@example.com")
        );
        assert_eq!(Folded::new("ÄRGER@x").as_str(), "ärger@x");
        assert!(Folded::same("Maria.Garcia", "maria.garcia"));
        assert!(!Folded::same("maria.garcia", "maria garcia"));
        assert_eq!(
            Folded::new(" A@b ").digest(),
            Folded::new("a@B").digest(),
            "the digest is of the folded value"
        );
        assert_eq!(Folded::new("x").digest().len(), 64);
    }
}
