//! `confab-bench`: the load generator for Confab. It drives a real `confab` server (spawned with
//! a fresh data directory, or one given by `--url`) over real sockets, with a lean WebSocket
//! client of its own so that the generator is not what limits the server, and measures
//! latency without coordinated omission (open-loop sending, latency from the intended send
//! time). NATS runs the same patterns for comparison. See README.md for the commands.

mod auth;
mod cli;
mod dial;
mod peers;
mod population;
mod process;
mod report;
mod scenarios;
mod server;
mod shape;
mod stats;
mod svg;
mod traffic;
mod wire;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let open_files = dial::raise_open_files_limit();
    // reqwest is built without a default TLS provider and panics without one, even for http://.
    let _ = rustls::crypto::ring::default_provider().install_default();
    scenarios::run(cli, report::Machine::this(open_files)).await
}
