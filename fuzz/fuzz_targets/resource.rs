#![no_main]
//! Any JSON body: normalisation never panics, and is idempotent.
use libfuzzer_sys::fuzz_target;
use scim_bridge::scim::resource::ResourceType;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for rt in [ResourceType::user(&[("urn:x:custom".into(), vec!["badge".into()])]), ResourceType::group()] {
        if let Ok(n) = rt.normalize(&body) {
            assert_eq!(rt.normalize(&n).as_ref(), Ok(&n), "normalising twice changed the resource");
        }
    }
});
