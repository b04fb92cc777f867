//! List queries: `filter`, `startIndex`, `count` (RFC 7644 §3.4.2) and the ListResponse.

use serde_json::{json, Value};

use super::error::ScimError;
use super::filter::Filter;
use super::path::AttrPath;
use super::query::{Projection, SortOrder};
use super::schema::LIST_RESPONSE_SCHEMA;

/// Largest page served; advertised as `filter.maxResults` in ServiceProviderConfig.
pub const MAX_PAGE: u64 = 1000;
/// Page size when the client names none.
pub const DEFAULT_PAGE: u64 = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based, as in the RFC.
    pub start_index: u64,
    pub count: u64,
    pub projection: Projection,
    pub sort_by: Option<AttrPath>,
    pub sort_order: SortOrder,
}

impl ListQuery {
    /// Reads the query string. Follows RFC 7644 §3.4.2.4: a `startIndex` below 1 is 1, a
    /// negative `count` is 0; counts above [`MAX_PAGE`] are capped (the response says how many
    /// came back, so the client pages on).
    ///
    /// # Errors
    /// `invalidValue` for non-numeric paging values, `invalidFilter` for a bad filter.
    pub fn from_query(query: Option<&str>) -> Result<Self, ScimError> {
        let pairs = query.map(form_pairs).unwrap_or_default();
        Self::from_fields(pairs.iter().map(|(k, v)| (k.as_str(), v.clone())))
    }

    /// Reads a `POST /.search` body (RFC 7644 §3.4.3): the same parameters as JSON.
    ///
    /// # Errors
    /// As [`ListQuery::from_query`], plus `invalidSyntax` for a body that is not a SearchRequest.
    pub fn from_search_body(body: &serde_json::Value) -> Result<Self, ScimError> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::invalid_syntax("a search body must be a SearchRequest JSON object")
        })?;
        let mut fields = Vec::new();
        for (k, v) in obj {
            let text = match (k.to_ascii_lowercase().as_str(), v) {
                ("schemas", _) => continue,
                ("attributes" | "excludedattributes", serde_json::Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                (_, serde_json::Value::String(s)) => s.clone(),
                (_, serde_json::Value::Number(n)) => n.to_string(),
                (_, serde_json::Value::Null) => continue,
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "\"{k}\" has a value of the wrong type"
                    )))
                }
            };
            fields.push((k.clone(), text));
        }
        Self::from_fields(fields.iter().map(|(k, v)| (k.as_str(), v.clone())))
    }

    fn from_fields<'a>(fields: impl Iterator<Item = (&'a str, String)>) -> Result<Self, ScimError> {
        let mut q = ListQuery {
            filter: None,
            start_index: 1,
            count: DEFAULT_PAGE,
            projection: Projection::default(),
            sort_by: None,
            sort_order: SortOrder::Ascending,
        };
        let (mut attributes, mut excluded) = (None, None);
        for (k, v) in fields {
            match k.to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(Filter::parse(&v)?),
                "startindex" => q.start_index = parse_int(&v, "startIndex")?.max(1).unsigned_abs(),
                "count" => q.count = parse_int(&v, "count")?.max(0).unsigned_abs().min(MAX_PAGE),
                "attributes" => attributes = Some(v),
                "excludedattributes" => excluded = Some(v),
                "sortby" => {
                    q.sort_by =
                        Some(AttrPath::parse(&v).map_err(|e| {
                            ScimError::invalid_value(format!("sortBy: {}", e.detail))
                        })?);
                }
                "sortorder" => {
                    q.sort_order = match v.to_ascii_lowercase().as_str() {
                        "ascending" => SortOrder::Ascending,
                        "descending" => SortOrder::Descending,
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "sortOrder must be \"ascending\" or \"descending\", not {v:?}"
                            )))
                        }
                    }
                }
                _ => {}
            }
        }
        q.projection = Projection::parse(attributes.as_deref(), excluded.as_deref())?;
        Ok(q)
    }
}

fn parse_int(v: &str, name: &str) -> Result<i64, ScimError> {
    let v = v.trim();
    match v.parse::<i64>() {
        Ok(n) => Ok(n),
        // Huge numbers are still numbers: saturate instead of refusing.
        Err(_)
            if !v.is_empty()
                && v.trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            Ok(if v.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            })
        }
        Err(_) => Err(ScimError::invalid_value(format!(
            "\"{name}\" must be an integer, not \"{v}\""
        ))),
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte).
pub fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    bytes.get(i + 1).and_then(|&b| hex(b)),
                    bytes.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The ListResponse body. `itemsPerPage` is the number actually returned, never the count asked
/// for (an Okta certification failure seen in other servers).
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    // Built by hand: `json!` would serialise (copy) every resource of the page once more.
    let mut body = serde_json::Map::with_capacity(5);
    body.insert("schemas".into(), json!([LIST_RESPONSE_SCHEMA]));
    body.insert("totalResults".into(), total.into());
    body.insert("startIndex".into(), start_index.into());
    body.insert("itemsPerPage".into(), resources.len().into());
    body.insert("Resources".into(), Value::Array(resources));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_queries() {
        let q = ListQuery::from_query(Some(
            "filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        ))
        .unwrap();
        assert_eq!(q.start_index, 1);
        assert_eq!(q.count, 100);
        assert_eq!(
            q.filter.unwrap().to_string(),
            "userName eq \"test.user@okta.local\""
        );
        let q = ListQuery::from_query(Some("filter=userName+eq+%22a+b%22")).unwrap();
        assert_eq!(q.filter.unwrap().to_string(), "userName eq \"a b\"");
    }

    #[test]
    fn paging_bounds_follow_the_rfc() {
        let q = ListQuery::from_query(Some("startIndex=0&count=-5")).unwrap();
        assert_eq!((q.start_index, q.count), (1, 0));
        let q =
            ListQuery::from_query(Some("startIndex=-3&count=999999999999999999999999")).unwrap();
        assert_eq!((q.start_index, q.count), (1, MAX_PAGE));
        assert!(ListQuery::from_query(Some("count=ten")).is_err());
        assert!(ListQuery::from_query(Some("startIndex=")).is_err());
        assert_eq!(ListQuery::from_query(None).unwrap().count, DEFAULT_PAGE);
    }

    #[test]
    fn decoding_is_lossless_for_utf8_and_tolerates_stray_percent() {
        assert_eq!(percent_decode("J%C3%BCrgen"), "Jürgen");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn search_bodies_and_sorting() {
        let q = ListQuery::from_search_body(&serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"a\"", "startIndex": 2, "count": 5,
            "attributes": ["userName", "name.givenName"], "sortBy": "userName", "sortOrder": "descending"})).unwrap();
        assert_eq!((q.start_index, q.count), (2, 5));
        assert_eq!(q.projection.attributes.len(), 2);
        assert_eq!(q.sort_order, SortOrder::Descending);
        assert_eq!(q.sort_by.unwrap().attr, "userName");
        assert!(ListQuery::from_query(Some("sortOrder=sideways")).is_err());
        assert!(ListQuery::from_search_body(&serde_json::json!({"count": [1]})).is_err());
        let q = ListQuery::from_query(Some("excludedAttributes=members")).unwrap();
        assert!(!q.projection.wants("members"));
    }

    #[test]
    fn items_per_page_is_actual() {
        let r = list_response(2, 101, vec![]);
        assert_eq!(r["itemsPerPage"], 0);
        assert_eq!(r["totalResults"], 2);
    }
}
