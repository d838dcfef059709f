//! Liveness and readiness for load balancers and orchestrators.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use confab_proto::rest::Health;

use crate::app::App;
use crate::error::Error;

/// The process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok".into() })
}

/// The node can serve traffic: its database answers reads and commits a small write, and it is
/// not draining. A full disk or a database that refuses writes makes it not ready (503
/// `unavailable`) until writes work again.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = confab_proto::ErrorBody)))]
pub async fn readyz(State(app): State<Arc<App>>) -> Result<(StatusCode, axum::Json<Health>), Error> {
    if app.shutdown.is_triggered() {
        return Ok((StatusCode::SERVICE_UNAVAILABLE, axum::Json(Health { status: "draining".into() })));
    }
    app.store.ping().await?;
    app.store.probe_write().await?;
    Ok((StatusCode::OK, axum::Json(Health { status: "ready".into() })))
}
