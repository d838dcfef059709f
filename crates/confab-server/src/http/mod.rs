//! The HTTP edge: REST routes, the WebSocket gateway, the OpenAPI document and the web page.
//! Handlers only translate: extract → call a domain service → encode. Rules live in the services.

mod accounts;
mod conversations;
pub mod error;
mod extract;
mod health;
mod invitations;
mod messages;
mod metrics;
mod people;
mod web;
pub mod ws;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::error::Error;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Confab",
        description = "Self-hosted real-time chat. REST for requests, a WebSocket at /api/v1/ws for live events; see docs/protocol.md.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Built-in accounts, tokens and sessions"),
        (name = "conversations", description = "Direct and group conversations"),
        (name = "messages", description = "Sending and reading messages"),
        (name = "users", description = "User profiles and search"),
        (name = "people", description = "Contacts, blocks, restrictions, presence"),
        (name = "invitations", description = "Invitations to the host app's activities"),
        (name = "notifications", description = "The notification feed and unread counts"),
        (name = "gateway", description = "WebSocket connection"),
        (name = "operations", description = "Health, readiness and Prometheus metrics"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The REST routes with their OpenAPI description, kept together so they cannot drift apart.
fn api() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::refresh))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me, people::update_profile))
        .routes(routes!(people::own_presence, people::set_presence))
        .routes(routes!(people::search))
        .routes(routes!(people::contacts))
        .routes(routes!(people::request_contact, people::remove_contact))
        .routes(routes!(people::accept_contact))
        .routes(routes!(people::decline_contact))
        .routes(routes!(people::blocks))
        .routes(routes!(people::block, people::unblock))
        .routes(routes!(people::restrict, people::unrestrict))
        .routes(routes!(accounts::sessions))
        .routes(routes!(accounts::revoke_session))
        .routes(routes!(accounts::ws_ticket))
        .routes(routes!(accounts::user))
        .routes(routes!(conversations::create, conversations::list))
        .routes(routes!(conversations::get, conversations::update, conversations::delete))
        .routes(routes!(conversations::add_members))
        .routes(routes!(conversations::update_member, conversations::remove_member))
        .routes(routes!(conversations::mark_read))
        .routes(routes!(conversations::typing))
        .routes(routes!(conversations::audit))
        .routes(routes!(messages::send_message, messages::history))
        .routes(routes!(messages::edit_message, messages::delete_message))
        .routes(routes!(messages::edits))
        .routes(routes!(messages::add_reaction, messages::remove_reaction))
        .routes(routes!(messages::pins))
        .routes(routes!(messages::pin, messages::unpin))
        .routes(routes!(messages::sync))
        .routes(routes!(invitations::activities))
        .routes(routes!(invitations::send))
        .routes(routes!(invitations::accept))
        .routes(routes!(invitations::decline))
        .routes(routes!(invitations::cancel))
        .routes(routes!(invitations::notifications))
        .routes(routes!(invitations::mark_read))
        .routes(routes!(invitations::unread))
        .routes(routes!(invitations::set_level))
        .routes(routes!(ws::upgrade))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

pub fn router(app: Arc<App>) -> Router {
    let max_body = app.config.limits.max_request_bytes;
    let counted = app.metrics.clone();
    let (api, doc) = api().split_for_parts();
    let doc = Arc::new(doc);
    api.route("/api/v1/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .merge(
            Router::new()
                .route("/", get(web::index))
                .route("/web/{*path}", get(web::file))
                .with_state(web::Csp::new(&app.config)),
        )
        .fallback(|| async { Error::NotFound("route") })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // The URI's query is left out: a WebSocket ticket travels there.
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
        }))
        // Outermost, so that every answer counts: fallback 404s, body-limit 413s, upgrades (101).
        .layer(axum::middleware::from_fn_with_state(counted, metrics::count_requests))
        .with_state(app)
}
