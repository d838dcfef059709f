//! The HTTP edge: REST routes, the WebSocket gateway, the OpenAPI document and the web page.
//! Handlers only translate: extract → call a domain service → encode. Rules live in the services.

mod accounts;
mod bots;
mod conversations;
pub mod error;
mod extract;
mod gifs;
mod health;
mod invitations;
mod media;
mod messages;
mod metrics;
mod people;
mod serve;
mod stickers;
mod uploads;
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

use confab_proto::ErrorCode;

use crate::app::App;
use crate::error::Error;

pub use serve::serve;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Confab",
        description = "Self-hosted real-time chat. REST for requests, a WebSocket at /api/v1/ws for live events; see docs/protocol.md.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    // The web client's answer to sign-in and refresh (named in their descriptions, not a body).
    components(schemas(confab_proto::rest::WebSession)),
    tags(
        (name = "auth", description = "Built-in accounts, tokens and sessions"),
        (name = "conversations", description = "Direct and group conversations"),
        (name = "messages", description = "Sending and reading messages"),
        (name = "users", description = "User profiles and search"),
        (name = "people", description = "Contacts, blocks, restrictions, presence"),
        (name = "invitations", description = "Invitations to the host app's activities"),
        (name = "uploads", description = "Resumable uploads (tus 1.0.0), attachments, avatars, and serving files"),
        (name = "stickers", description = "The server's sticker packs, managed by its sticker admins"),
        (name = "bots", description = "Bot accounts and their tokens"),
        (name = "gifs", description = "GIF search through the server's provider, which never sees users"),
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

/// Answers every operation can give for the same reasons, documented once here rather than on
/// each handler (where they were missing): 401 where a token is required, 400 where a query or a
/// body is parsed, 413 and 415 where a body is read, 404 where a path names something.
fn document_standard_answers(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |description: &str| {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let located = |place: ParameterIn| {
                operation.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
            };
            let (query, path) = (located(ParameterIn::Query), located(ParameterIn::Path));
            let authenticated = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let body = operation.request_body.is_some();
            let mut answers = Vec::new();
            if authenticated {
                answers.push(("401", "missing_token, invalid_token, token_expired, session_revoked, …"));
            }
            if query || body {
                answers.push(("400", "invalid_parameter, invalid_json, or a rule of the operation"));
            }
            if body {
                answers.push(("413", "payload_too_large"));
                answers.push(("415", "unsupported_media_type: the body must be application/json"));
            }
            if path {
                answers.push(("404", "not_found: nothing by that id, or not visible to the caller"));
            }
            for (status, description) in answers {
                operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error(description));
            }
        }
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
        .routes(routes!(accounts::sessions, accounts::revoke_all_sessions))
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
        .routes(routes!(conversations::themes))
        .routes(routes!(conversations::set_theme, conversations::remove_theme))
        .routes(routes!(messages::send_message, messages::history))
        .routes(routes!(messages::edit_message, messages::delete_message))
        .routes(routes!(messages::edits))
        .routes(routes!(messages::remove_previews))
        .routes(routes!(messages::tones))
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
        .routes(routes!(uploads::capabilities, uploads::create))
        .routes(routes!(uploads::offset, uploads::status, uploads::append, uploads::terminate))
        .routes(routes!(media::attachment))
        .routes(routes!(media::file))
        .routes(routes!(media::thumbnail))
        .routes(routes!(media::avatar))
        .routes(routes!(media::set_my_avatar, media::remove_my_avatar))
        .routes(routes!(media::set_group_avatar, media::remove_group_avatar))
        .routes(routes!(stickers::packs, stickers::create_pack))
        .routes(routes!(stickers::delete_pack))
        .routes(routes!(stickers::add_sticker))
        .routes(routes!(stickers::remove_sticker))
        .routes(routes!(bots::create, bots::list))
        .routes(routes!(bots::get, bots::update))
        .routes(routes!(bots::rotate_token, bots::revoke_token))
        .routes(routes!(gifs::provider))
        .routes(routes!(gifs::search))
        .routes(routes!(gifs::preview))
        .routes(routes!(gifs::upload))
        .routes(routes!(ws::upgrade))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api().into_openapi();
    document_standard_answers(&mut doc);
    doc
}

pub fn router(app: Arc<App>) -> Router {
    let max_body = app.config.limits.max_request_bytes;
    let counted = app.metrics.clone();
    let (api, mut doc) = api().split_for_parts();
    document_standard_answers(&mut doc);
    #[cfg(feature = "ws-echo")]
    let api = api.route("/ws-echo", get(ws::echo));
    let doc = Arc::new(doc);
    api.route("/api/v1/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .merge(
            Router::new()
                .route("/", get(web::index))
                .route("/web/{*path}", get(web::file))
                .with_state(web::Csp::new(&app.config)),
        )
        .fallback(|| async { Error::NotFound("route") })
        // After every route: it applies to the routes registered before it. axum still adds `Allow`.
        .method_not_allowed_fallback(|| async {
            Error::invalid(ErrorCode::MethodNotAllowed, "this route does not take this method")
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(axum::middleware::map_response(uploads::with_tus_version))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // The URI's query is left out (a WebSocket ticket travels there), and so is the
            // capability in a media path.
            tracing::info_span!("http", method = %req.method(), path = %loggable_path(req.uri().path()))
        }))
        // Outermost, so that every answer counts: fallback 404s, body-limit 413s, upgrades (101).
        .layer(axum::middleware::from_fn_with_state(counted, metrics::count_requests))
        .with_state(app)
}

/// A request path fit for logs: the capability key of a media or avatar URL cut off.
fn loggable_path(path: &str) -> &str {
    for prefix in ["/api/v1/media/", "/api/v1/avatars/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let id = rest.split('/').next().unwrap_or_default();
            return &path[..prefix.len() + id.len()];
        }
    }
    path
}

#[cfg(test)]
mod tests {
    #[test]
    fn media_capabilities_stay_out_of_logs() {
        assert_eq!(super::loggable_path("/api/v1/media/12/SECRETKEY/thumbnail"), "/api/v1/media/12");
        assert_eq!(super::loggable_path("/api/v1/avatars/7/SECRETKEY"), "/api/v1/avatars/7");
        assert_eq!(super::loggable_path("/api/v1/conversations"), "/api/v1/conversations");
    }
}
