//! The in-memory filter evaluator: a filter tested against a resource (or one value of a
//! multi-valued attribute), with SCIM's case rules.

use serde_json::Value;

use super::{CompValue, CompareOp, Filter};
use crate::scim::error::ScimError;
use crate::scim::path::AttrPath;

impl Filter {
    /// Evaluates the filter against a JSON object (a resource, or one value of a multi-valued
    /// attribute for value-path filters). `case_exact` says whether a path compares case-exactly.
    ///
    /// # Errors
    /// `invalidFilter` for comparisons the RFC forbids, such as `gt` on a boolean.
    pub fn matches(
        &self,
        obj: &Value,
        case_exact: &dyn Fn(&AttrPath) -> bool,
    ) -> Result<bool, ScimError> {
        Ok(match self {
            Filter::And(a, b) => a.matches(obj, case_exact)? && b.matches(obj, case_exact)?,
            Filter::Or(a, b) => a.matches(obj, case_exact)? || b.matches(obj, case_exact)?,
            Filter::Not(a) => !a.matches(obj, case_exact)?,
            Filter::Present(p) => resolve(obj, p).iter().any(|v| is_present(v)),
            Filter::Compare(p, op, cv) => compare_matches(obj, p, *op, cv, case_exact(p))?,
            Filter::ValuePath(p, inner) => {
                let rel_exact = |rp: &AttrPath| case_exact(&p.with_sub(Some(&rp.attr)));
                match get_ci(obj, p) {
                    Some(Value::Array(items)) => {
                        let mut any = false;
                        for item in items {
                            if inner.matches(item, &rel_exact)? {
                                any = true;
                                break;
                            }
                        }
                        any
                    }
                    Some(v @ Value::Object(_)) => inner.matches(v, &rel_exact)?,
                    _ => false,
                }
            }
        })
    }
}

/// `path op value`: true when some value the path reaches compares true.
fn compare_matches(
    obj: &Value,
    p: &AttrPath,
    op: CompareOp,
    cv: &CompValue,
    exact: bool,
) -> Result<bool, ScimError> {
    let vals = resolve(obj, p);
    if *cv == CompValue::Null {
        let present = vals.iter().any(|v| is_present(v));
        return match op {
            CompareOp::Eq => Ok(!present),
            CompareOp::Ne => Ok(present),
            _ => Err(ScimError::invalid_filter(format!(
                "\"{p}\": null can only be compared with eq or ne"
            ))),
        };
    }
    for v in &vals {
        if compare(v, op, cv, exact, p)? {
            return Ok(true);
        }
    }
    if op == CompareOp::Ne {
        // `ne` on an absent attribute: nothing equals, so it matches.
        return Ok(!vals
            .iter()
            .any(|v| compare(v, CompareOp::Eq, cv, exact, p).unwrap_or(false)));
    }
    Ok(false)
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Looks up a key case-insensitively (RFC 7643 §2.1), URN-qualified paths included.
pub fn get_ci<'a>(obj: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let map = obj.as_object()?;
    let container = match &path.urn {
        Some(urn) => {
            let (_, ext) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(urn))?;
            ext.as_object()?
        }
        None => map,
    };
    container
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&path.attr))
        .map(|(_, v)| v)
}

/// All values a path reaches: `emails.value` yields each email's value.
fn resolve<'a>(obj: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(top) = get_ci(obj, path) else {
        return vec![];
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        None => items,
        Some(sub) => items
            .into_iter()
            .filter_map(|it| {
                it.as_object()?
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(sub))
                    .map(|(_, v)| v)
            })
            .collect(),
    }
}

fn compare(
    v: &Value,
    op: CompareOp,
    cv: &CompValue,
    exact: bool,
    p: &AttrPath,
) -> Result<bool, ScimError> {
    match (v, cv) {
        (Value::Bool(a), CompValue::Bool(b)) => match op {
            CompareOp::Eq => Ok(a == b),
            CompareOp::Ne => Ok(a != b),
            _ => Err(ScimError::invalid_filter(format!(
                "\"{p}\" is a boolean: only eq, ne and pr apply"
            ))),
        },
        (Value::Number(a), CompValue::Num(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            Ok(match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
                _ => {
                    return Err(ScimError::invalid_filter(format!(
                        "\"{p}\" is a number: co, sw and ew do not apply"
                    )))
                }
            })
        }
        (Value::String(a), CompValue::Str(b)) => Ok(compare_str(a, op, b, exact)),
        // Booleans sent as strings ("True"), compared with a boolean literal.
        (Value::String(a), CompValue::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            let eq = a.eq_ignore_ascii_case(if *b { "true" } else { "false" });
            Ok(if op == CompareOp::Eq { eq } else { !eq })
        }
        _ => Ok(false),
    }
}

/// String comparison with SCIM's case rules; `caseExact=false` folds case.
pub fn compare_str(a: &str, op: CompareOp, b: &str, exact: bool) -> bool {
    let (a, b) = if exact {
        (a.to_string(), b.to_string())
    } else {
        (a.to_lowercase(), b.to_lowercase())
    };
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }
    fn ci(_: &AttrPath) -> bool {
        false
    }

    #[test]
    fn evaluates_against_resources() {
        let user = json!({"userName": "Alice@Example.com", "active": true,
            "emails": [{"value": "a@work.example", "type": "work"}, {"value": "a@home.example", "type": "home"}],
            "name": {"givenName": "Alice"}});
        let t = |s: &str| p(s).matches(&user, &ci).unwrap();
        assert!(t(r#"username eq "alice@example.com""#));
        assert!(t(r#"emails.value eq "a@home.example""#));
        assert!(t(r#"emails[type eq "work" and value ew "work.example"]"#));
        assert!(!t(r#"emails[type eq "home" and value ew "work.example"]"#));
        assert!(t("active eq true and name.givenName sw \"al\""));
        assert!(t("not (title pr)"));
        assert!(t("title ne \"x\""));
        assert!(!t("title eq \"x\""));
        assert!(t("title eq null"));
        let exact = |_: &AttrPath| true;
        assert!(!p(r#"userName eq "alice@example.com""#)
            .matches(&user, &exact)
            .unwrap());
        assert!(p("active gt true").matches(&user, &ci).is_err());
    }
}
