//! What every request handler shares: the application, the HTTP settings, the limits and the
//! metrics. Its own module so that the router, the server and the metrics endpoint depend on
//! it without depending on each other.

use std::time::Duration;

use super::connections::ConnectionSettings;
use super::limits::Limits;
use super::metrics::{Exposition, Metrics};
use crate::service::App;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_path: String,
    pub public_url: Option<String>,
    pub body_limit: u64,
    pub request_timeout: Duration,
    pub trust_forwarded_for: bool,
    /// Connection caps and timeouts (the accept loop's, not the router's).
    pub connections: ConnectionSettings,
}

pub struct State {
    pub app: App,
    pub http: HttpSettings,
    pub limits: Limits,
    pub metrics: Metrics,
}

impl Exposition for State {
    fn exposition(&self) -> String {
        self.metrics
            .render(&self.app.db.pool_usage(), &self.limits.usage())
    }

    fn connection_settings(&self) -> ConnectionSettings {
        self.http.connections
    }
}
