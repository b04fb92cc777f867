//! The HTTP edge: hyper 1 server with graceful shutdown, connection caps and timeouts, request
//! limits, authentication, routing and the single mapping of errors to SCIM responses.

pub(crate) mod accept;
pub mod connections;
pub mod drain;
pub(crate) mod error;
pub(crate) mod lifetime;
pub(crate) mod limits;
pub mod metrics;
pub(crate) mod response;
pub(crate) mod router;
pub(crate) mod server;
pub(crate) mod state;
pub(crate) mod throttle;
pub mod tls;

pub use connections::ConnectionSettings;
pub use server::{serve, serve_with_tls};
pub use state::{HttpSettings, State};
