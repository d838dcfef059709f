//! `GET /metrics` for Prometheus, and the middleware that counts every HTTP request.
//! The registry and the text format live in `crate::metrics`; this is only the HTTP edge.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::Error;
use crate::metrics::{CONTENT_TYPE, Gauges, Metrics};

/// This node's counters, gauges and histograms in the Prometheus text format 0.0.4, every series
/// labelled `node`. Answers 404 when `metrics.enabled = false`. Not for the public internet:
/// restrict it to the monitoring network (docs/deployment.md).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4",
            content_type = "text/plain; version=0.0.4", body = String),
        (status = 404, description = "metrics are turned off (`metrics.enabled = false`)", body = confab_proto::ErrorBody),
    ))]
pub async fn metrics(State(app): State<Arc<App>>) -> Result<Response, Error> {
    if !app.config.metrics.enabled {
        return Err(Error::NotFound("route"));
    }
    let text = app.metrics.render(&Gauges { websocket_connections: app.hub.connection_count() });
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

/// Counts each answered request by method and status class (`confab_http_requests_total`).
pub async fn count_requests(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.http_request(method.as_str(), response.status().as_u16());
    response
}
