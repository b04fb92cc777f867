#![no_main]
//! Any JSON body: a PATCH either fails with a SCIM error or yields a canonical resource that
//! normalises to itself.
use libfuzzer_sys::fuzz_target;
use scim_bridge::scim::patch;
use scim_bridge::scim::resource::ResourceType;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let rt = ResourceType::user(&[]);
    let user = rt
        .normalize(&serde_json::json!({"userName": "a@b", "active": true, "emails": [{"value": "a@b", "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops", "manager": "7"}}))
        .unwrap();
    if let Ok(ops) = patch::parse_request(&body) {
        if let Ok(out) = patch::apply(&rt, &user, &ops) {
            assert!(out.is_object());
            assert!(rt.normalize(&out).is_ok(), "PATCH produced a resource that does not validate: {out}");
        }
    }
});
