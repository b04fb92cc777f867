//! The filter parser: a hand-written lexer and a recursive-descent parser with the cost caps of
//! [`super::MAX_FILTER_LEN`], [`super::MAX_TERMS`] and [`super::MAX_DEPTH`].

use serde_json::Value;

use super::{CompValue, CompareOp, Filter, MAX_DEPTH, MAX_FILTER_LEN, MAX_TERMS};
use crate::scim::error::ScimError;
use crate::scim::path::AttrPath;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `.sub` directly after `]` (Entra writes `emails[type eq "work"].value eq "…"`).
    SubAttr(String),
    Word(String),
    Str(String),
    Num(serde_json::Number),
}

fn lex(input: &str) -> Result<Vec<Tok>, ScimError> {
    let bytes = input.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let single = match c {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            _ => None,
        };
        if let Some(t) = single {
            toks.push(t);
            i += 1;
            if c == b']' && bytes.get(i) == Some(&b'.') {
                let end = word_end(bytes, i + 1);
                toks.push(Tok::SubAttr(input[i + 1..end].to_string()));
                i = end;
            }
            continue;
        }
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'"' => {
                let (s, end) = lex_string(input, i)?;
                toks.push(Tok::Str(s));
                i = end;
            }
            _ if is_word_byte(c) => {
                let end = word_end(bytes, i);
                toks.push(word_or_number(&input[i..end]));
                i = end;
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err(ScimError::invalid_filter(format!(
                    "unexpected character '{ch}' at position {i}; string values must be in double quotes"
                )));
            }
        }
    }
    Ok(toks)
}

/// A JSON string literal starting at `start` (a `"`), escapes included; serde_json does the
/// decoding. Returns the string and the index just past the closing quote.
fn lex_string(input: &str, start: usize) -> Result<(String, usize), ScimError> {
    let bytes = input.as_bytes();
    let mut i = start + 1;
    loop {
        match bytes.get(i) {
            None => {
                return Err(ScimError::invalid_filter(
                    "a string in the filter is not closed with \"",
                ))
            }
            Some(b'\\') => i += 2,
            Some(b'"') => {
                i += 1;
                break;
            }
            Some(_) => i += 1,
        }
    }
    let raw = &input[start..i.min(input.len())];
    let s: String = serde_json::from_str(raw)
        .map_err(|_| ScimError::invalid_filter(format!("{raw} is not a valid JSON string")))?;
    Ok((s, i))
}

fn word_end(bytes: &[u8], start: usize) -> usize {
    let mut j = start;
    while j < bytes.len() && is_word_byte(bytes[j]) {
        j += 1;
    }
    j
}

/// A word starting with a digit or `-` is a number when it parses as one.
fn word_or_number(w: &str) -> Tok {
    let first = w.as_bytes()[0];
    if first == b'-' || first.is_ascii_digit() {
        if let Ok(n) = serde_json::from_str::<serde_json::Number>(w) {
            return Tok::Num(n);
        }
    }
    Tok::Word(w.to_string())
}

fn is_word_byte(b: u8) -> bool {
    // Attribute paths (with URNs), keywords, numbers and lenient bare values.
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'$' | b'-' | b'_' | b'+' | b'@')
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.and_expr(depth)?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and_expr(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.unary(depth)?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth > MAX_DEPTH {
            return Err(ScimError::invalid_filter(format!(
                "the filter is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        if self.peek_keyword("not") && matches!(self.toks.get(self.pos + 1), Some(Tok::LParen)) {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.group(depth + 1)?)));
        }
        if matches!(self.peek(), Some(Tok::LParen)) {
            return self.group(depth + 1);
        }
        self.attr_expr(depth)
    }

    fn group(&mut self, depth: usize) -> Result<Filter, ScimError> {
        self.expect(&Tok::LParen, "(")?;
        let inner = self.or_expr(depth)?;
        self.expect(&Tok::RParen, ")")?;
        Ok(inner)
    }

    fn expect(&mut self, tok: &Tok, shown: &str) -> Result<(), ScimError> {
        match self.next() {
            Some(t) if t == *tok => Ok(()),
            Some(t) => Err(ScimError::invalid_filter(format!(
                "expected '{shown}' but found {}",
                describe(&t)
            ))),
            None => Err(ScimError::invalid_filter(format!(
                "the filter ends where '{shown}' was expected"
            ))),
        }
    }

    fn attr_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let path = match self.next() {
            Some(Tok::Word(w)) => {
                AttrPath::parse(&w).map_err(|e| ScimError::invalid_filter(e.detail))?
            }
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an attribute name but found {}",
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(
                    "the filter ends where an attribute name was expected",
                ))
            }
        };
        if matches!(self.peek(), Some(Tok::LBracket)) {
            if path.sub.is_some() {
                return Err(ScimError::invalid_filter(format!("\"{path}\": a value filter applies to a multi-valued attribute, not a sub-attribute")));
            }
            self.pos += 1;
            let inner = self.or_expr(depth + 1)?;
            self.expect(&Tok::RBracket, "]")?;
            if let Some(Tok::SubAttr(sub)) = self.peek().cloned() {
                // attr[f].sub op value  ==  attr[f and sub op value]
                self.pos += 1;
                let rel = self.comparison(
                    AttrPath::parse(&sub).map_err(|e| ScimError::invalid_filter(e.detail))?,
                )?;
                return Ok(Filter::ValuePath(
                    path,
                    Box::new(Filter::And(Box::new(inner), Box::new(rel))),
                ));
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.comparison(path)
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(ScimError::invalid_filter(format!(
                "the filter has more than {MAX_TERMS} terms"
            )));
        }
        let op_word = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an operator after \"{path}\" but found {}",
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path}\" needs an operator such as eq, co or pr"
                )))
            }
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&op_word).ok_or_else(|| {
            ScimError::invalid_filter(format!(
                "\"{op_word}\" is not a filter operator; use one of eq ne co sw ew gt ge lt le pr"
            ))
        })?;
        let value = match self.next() {
            Some(Tok::Str(s)) => CompValue::Str(s),
            Some(Tok::Num(n)) => CompValue::Num(n),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                // Entra's documentation shows `externalId eq jyoung`: accept a bare word as a string.
                _ => CompValue::Str(w),
            },
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected a value after \"{path} {op_word}\" but found {}",
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path} {op_word}\" needs a value"
                )))
            }
        };
        Ok(Filter::Compare(path, op, value))
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::SubAttr(s) => format!("'.{s}'"),
        Tok::Word(w) => format!("'{w}'"),
        Tok::Str(s) => Value::String(s.clone()).to_string(),
        Tok::Num(n) => n.to_string(),
    }
}

impl Filter {
    /// Parses a filter expression.
    ///
    /// # Errors
    /// `invalidFilter` with a message naming what was wrong and where.
    pub fn parse(input: &str) -> Result<Filter, ScimError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(ScimError::invalid_filter(format!(
                "the filter is longer than {MAX_FILTER_LEN} bytes"
            )));
        }
        if input.trim().is_empty() {
            return Err(ScimError::invalid_filter("the filter is empty"));
        }
        let toks = lex(input)?;
        let mut p = Parser {
            toks,
            pos: 0,
            terms: 0,
        };
        let f = p.or_expr(0)?;
        if let Some(t) = p.peek() {
            return Err(ScimError::invalid_filter(format!(
                "unexpected {} after a complete expression; join expressions with 'and' or 'or'",
                describe(t)
            )));
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn parses_okta_lookup() {
        assert_eq!(
            p(r#"userName eq "test.user@okta.local""#),
            Filter::Compare(
                AttrPath::simple("userName"),
                CompareOp::Eq,
                CompValue::Str("test.user@okta.local".into())
            )
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = p(r#"a eq "1" or b eq "2" and c eq "3""#);
        assert!(
            matches!(&f, Filter::Or(_, b) if matches!(**b, Filter::And(..))),
            "{f:?}"
        );
        let f = p(r#"(a eq "1" or b eq "2") and c eq "3""#);
        assert!(
            matches!(&f, Filter::And(a, _) if matches!(**a, Filter::Or(..))),
            "{f:?}"
        );
        assert_eq!(f.to_string(), r#"(a eq "1" or b eq "2") and c eq "3""#);
    }

    #[test]
    fn not_pr_literals_and_keywords_case_insensitive() {
        let f = p(r#"NOT (title PR) AnD active Eq TRUE and x eq null and n gt -1.5"#);
        assert_eq!(
            f.to_string(),
            "not (title pr) and active eq true and x eq null and n gt -1.5"
        );
    }

    #[test]
    fn printing_round_trips_without_adding_depth() {
        // Found by the fuzzer: fully parenthesised printing of a long `or` chain exceeded the
        // nesting limit on re-parse.
        let long = vec![r#"emails[type eq "w" or value co "x"]"#; 40].join(" or ");
        let f = p(&long);
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), p(&f.to_string()));
    }

    #[test]
    fn value_paths_and_entra_trailing_sub_attribute() {
        let f = p(r#"emails[type eq "work" and value co "@example.com"]"#);
        assert!(matches!(f, Filter::ValuePath(ref a, _) if a.attr == "emails"));
        let f = p(r#"emails[type eq "work"].value eq "a@b.c""#);
        assert_eq!(
            f.to_string(),
            r#"emails[type eq "work" and value eq "a@b.c"]"#
        );
    }

    #[test]
    fn extension_urn_paths() {
        let f = p(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales""#,
        );
        let Filter::Compare(path, _, _) = f else {
            panic!()
        };
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.attr, "department");
    }

    #[test]
    fn bare_word_value_is_a_string() {
        assert_eq!(
            p("externalId eq jyoung"),
            Filter::Compare(
                AttrPath::simple("externalId"),
                CompareOp::Eq,
                CompValue::Str("jyoung".into())
            )
        );
    }

    #[test]
    fn string_escapes_are_json() {
        assert_eq!(
            p(r#"userName eq "a\"b\\c\u00e9""#),
            Filter::Compare(
                AttrPath::simple("userName"),
                CompareOp::Eq,
                CompValue::Str("a\"b\\cé".into())
            )
        );
    }

    #[test]
    fn errors_are_invalid_filter_with_a_reason() {
        for (bad, needle) in [
            ("", "empty"),
            ("userName", "operator"),
            ("userName eq", "needs a value"),
            ("userName xx \"a\"", "not a filter operator"),
            ("userName eq \"a", "not closed"),
            ("(userName eq \"a\"", "')'"),
            ("userName eq \"a\" userName eq \"b\"", "join expressions"),
            ("userName eq 'a'", "double quotes"),
            ("emails[type eq \"work\"", "']'"),
        ] {
            let e = Filter::parse(bad).unwrap_err();
            assert_eq!(
                e.scim_type,
                Some(crate::scim::error::ScimType::InvalidFilter),
                "{bad}"
            );
            assert!(e.detail.contains(needle), "{bad}: {}", e.detail);
        }
    }

    #[test]
    fn pathological_filters_are_refused_quickly() {
        let many = vec![r#"userName eq "x""#; 500].join(" or ");
        let e = Filter::parse(&many).unwrap_err();
        assert!(
            e.detail.contains("terms") || e.detail.contains("longer"),
            "{}",
            e.detail
        );
        let deep = format!("{}userName eq \"x\"{}", "(".repeat(200), ")".repeat(200));
        assert!(Filter::parse(&deep).unwrap_err().detail.contains("nested"));
        let huge = "a".repeat(MAX_FILTER_LEN + 1);
        assert!(Filter::parse(&huge).unwrap_err().detail.contains("longer"));
    }
}
