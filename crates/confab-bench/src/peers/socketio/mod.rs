//! A hand-rolled Socket.IO chat app as a point of comparison (`peers/socketio/server.mjs`, one
//! Node.js process): the same direct and fan-out patterns, routed through Socket.IO rooms. It
//! stands for what many applications build instead of adopting a chat server — no storage, no
//! acknowledgement, no ordering per conversation.

pub mod client;
pub mod server;
