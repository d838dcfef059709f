//! The `confab` binary: parse the configuration, set up logging, run until SIGINT or SIGTERM.

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
    // Chosen here rather than at build so that every log line can carry it.
    let node_id = config.node_id.unwrap_or_else(rand::random) & 0x3ff;
    config.node_id = Some(node_id);
    init_logging(config.log_format, node_id);

    let application = Application::build(config).await?;
    let addr = application.local_addr();
    tracing::info!(%addr, "confab listening");
    println!("Confab is listening on http://{addr}");
    application.run_until_stopped(stop_signal()).await?;
    tracing::info!("confab stopped");
    Ok(())
}

fn init_logging(format: LogFormat, node: u16) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = format == LogFormat::Json;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(NodeTagged { node, json });
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
