pub mod mapping;
pub mod scim;
