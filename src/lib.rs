//! scim-bridge: a SCIM 2.0 provisioning sidecar that writes identity-provider users straight
//! into an existing application's own tables, through a per-deployment TOML mapping.
//!
//! # Layout
//! - [`scim`]: the protocol, pure — resources, filters, PATCH, lists, discovery, errors.
//! - [`mapping`]: the TOML mapping, its validation against the live schema, and the
//!   translation between SCIM resources and host rows, pure.
//! - [`store`]: the databases — pools per backend, the bridge's own tables, dynamic SQL for the
//!   host tables, introspection. The only module that writes SQL.
//! - [`service`]: one function per SCIM operation, tying mapping and store together.
//! - [`http`]: hyper server, routing, limits, authentication, SCIM error responses.
//! - [`cli`]: the `scim-bridge` commands.
//! - [`config`]: layered settings (file, then `SCIM_BRIDGE__…` environment).

pub mod cli;
pub mod config;
pub mod http;
pub mod mapping;
pub mod scim;
pub(crate) mod service;
pub mod store;
pub(crate) mod telemetry;
