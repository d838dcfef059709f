//! The Confab server as a library: [`Application`] builds and runs it; the `confab` binary and
//! the integration tests both start it through that one door.
//!
//! Layout (see ARCHITECTURE.md): `http` is the thin edge (REST routes and the WebSocket gateway);
//! `auth`, `users`, `conversations` and `messages` hold the rules that both REST and WebSocket
//! call; `hub` delivers events to connected sessions; `store` is the only place with SQL.

pub mod app;
pub mod auth;
pub mod bots;
pub mod cache;
pub mod clock;
pub mod config;
pub mod conversations;
pub mod egress;
pub mod error;
pub mod gifs;
pub mod http;
pub mod hub;
pub mod ids;
pub mod invitations;
#[cfg(test)]
mod layering;
pub mod limits;
pub mod media;
pub mod messages;
pub mod metrics;
pub mod node_lease;
pub mod node_log;
pub mod notifications;
pub mod people;
pub mod presence;
pub mod previews;
pub mod principal;
pub mod render;
pub mod shutdown;
pub mod startup;
pub mod stickers;
pub mod store;
pub mod sync;
pub mod tasks;
pub mod text;
pub mod timeline;
pub mod users;
pub mod webhooks;

pub use app::App;
pub use config::Config;
pub use startup::Application;
