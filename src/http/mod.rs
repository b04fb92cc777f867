//! The HTTP edge: hyper 1 server with graceful shutdown, request limits, authentication,
//! routing and the single mapping of errors to SCIM responses.

pub mod error;
pub mod limits;
pub mod metrics;
pub mod response;
pub mod router;
pub mod server;
pub mod tls;

pub use router::{HttpSettings, State};
pub use server::{serve, serve_with_tls};
