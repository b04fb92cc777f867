//! What every request handler shares: the application, the HTTP settings, the limits and the
//! metrics. Its own module so that the router, the server and the metrics endpoint depend on
//! it without depending on each other.

use std::sync::{Arc, PoisonError, RwLock};
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

/// The application as requests see it. Each request takes one snapshot when it is admitted
/// and keeps it to its end, so a reload never changes the mapping under a request in flight.
pub struct Current(RwLock<Arc<App>>);

impl Current {
    pub fn load(&self) -> Arc<App> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `app` from the next request on; requests in flight finish on the one they took.
    pub fn replace(&self, app: App) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(app);
    }
}

impl From<App> for Current {
    fn from(app: App) -> Self {
        Current(RwLock::new(Arc::new(app)))
    }
}

pub struct State {
    pub app: Current,
    pub http: HttpSettings,
    pub limits: Limits,
    pub metrics: Metrics,
}

impl Exposition for State {
    fn exposition(&self) -> String {
        let db = &self.app.load().db;
        let mut s = self.metrics.render(&db.pool_usage(), &self.limits.usage());
        if let Some((commits, writes)) = db.group_commits() {
            super::metrics::render_group_commits(&mut s, commits, writes);
        }
        s
    }

    fn connection_settings(&self) -> ConnectionSettings {
        self.http.connections
    }
}
