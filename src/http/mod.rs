//! The HTTP edge: hyper 1 server with graceful shutdown, connection caps and timeouts, request
//! limits, authentication, routing and the single mapping of errors to SCIM responses.

pub mod accept;
pub mod connections;
pub mod drain;
pub mod error;
pub mod lifetime;
pub mod limits;
pub mod metrics;
pub mod response;
pub mod router;
pub mod server;
pub mod state;
pub mod throttle;
pub mod tls;

pub use connections::ConnectionSettings;
pub use server::{serve, serve_with_tls};
pub use state::{HttpSettings, State};
