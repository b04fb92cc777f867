#![no_main]
//! Any text: parsing never panics, a parsed filter prints as a filter that parses again, and
//! evaluating it against a resource never panics.
use libfuzzer_sys::fuzz_target;
use scim_bridge::scim::filter::Filter;
use scim_bridge::scim::resource::ResourceType;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(f) = Filter::parse(text) {
        let printed = f.to_string();
        if printed.len() <= scim_bridge::scim::filter::MAX_FILTER_LEN {
            assert!(Filter::parse(&printed).is_ok(), "{text:?} printed as {printed:?}, which does not parse");
        }
        let rt = ResourceType::user(&[]);
        let user = serde_json::json!({"userName": "a@b", "active": true, "emails": [{"value": "a@b", "type": "work"}], "name": {"givenName": "A"}});
        let _ = f.matches(&user, &|p| rt.case_exact(p));
    }
});
