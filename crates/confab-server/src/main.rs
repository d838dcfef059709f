//! The `confab` binary: parse the configuration, set up logging, run until SIGINT or SIGTERM.

use std::sync::atomic::{AtomicU16, Ordering};

use clap::Parser;
use confab_server::Application;
use confab_server::config::{Cli, Command, Config, LogFormat};
use confab_server::node_log::NodeTagged;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    let mut config = Config::load(args)?;
    // Alone, chosen here so that every log line carries it; a cluster node leases one at build
    // (lines before that carry the configured id, or 0).
    if config.redis_url.is_none() {
        config.node_id = Some(config.node_id.unwrap_or_else(rand::random) & 0x3ff);
    }
    NODE.store(config.node_id.unwrap_or(0), Ordering::Relaxed);
    init_logging(config.log_format);

    let application = Application::build(config).await?;
    NODE.store(application.app().node_id, Ordering::Relaxed);
    let addr = application.local_addr();
    tracing::info!(%addr, "confab listening");
    println!("Confab is listening on http://{addr}");
    application.run_until_stopped(stop_signal()).await?;
    tracing::info!("confab stopped");
    Ok(())
}

/// This node's id, for the log lines.
static NODE: AtomicU16 = AtomicU16::new(0);

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = format == LogFormat::Json;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(NodeTagged { node: &NODE, json });
    if json { builder.json().init() } else { builder.with_ansi(false).init() }
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
