//! NATS as the point of comparison: the same direct and fan-out patterns, sent through a NATS
//! server's WebSocket listener. NATS core does no auth lookups, no persistence and no ordering
//! per conversation, so it shows what the transport alone costs on this machine.

pub mod client;
pub mod proto;
pub mod server;
