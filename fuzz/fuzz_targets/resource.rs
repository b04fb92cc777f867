#![no_main]
//! Any JSON body: normalisation never panics, and is idempotent.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scim_bridge::scim::resource::ResourceType;

/// Built once: custom attribute names are leaked by design (once per process start), so
/// building them per input would look like a leak to the sanitizer.
fn types() -> &'static [ResourceType; 2] {
    static TYPES: OnceLock<[ResourceType; 2]> = OnceLock::new();
    TYPES.get_or_init(|| [ResourceType::user(&[("urn:x:custom".into(), vec!["badge".into()])]), ResourceType::group()])
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for rt in types() {
        if let Ok(n) = rt.normalize(&body) {
            assert_eq!(rt.normalize(&n).as_ref(), Ok(&n), "normalising twice changed the resource");
        }
    }
});
