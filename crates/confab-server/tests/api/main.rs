//! Integration tests: the real server on a random port, real clients over real sockets.
//! One test binary for all of them, so the workspace links it once.

mod accounts;
mod bad_input;
mod bots;
mod cluster;
mod conversations;
mod doubles;
mod egress;
mod expression;
mod external_auth;
mod faults;
mod gateway;
mod gifs;
mod groups;
mod helpers;
mod host_app;
mod invitations;
mod limits;
mod media;
mod messages;
mod notifications;
mod operations;
mod people;
mod previews;
mod socket;
mod stickers;
mod sync;
mod timeline;
