//! A private `nats-server` for one run: its own config with a WebSocket listener on a free port,
//! never the system service on 4222.

use std::net::SocketAddr;
use std::path::Path;

use tokio::process::Command;

use crate::peers::PeerProcess;
use crate::process;
use crate::server::ServerInfo;

/// Starts `binary` with a WebSocket listener; the process's `addr` is that listener.
pub async fn spawn(binary: &Path, log_dir: &Path, tag: &str) -> anyhow::Result<PeerProcess> {
    let dir = tempfile::Builder::new().prefix("confab-bench-nats-").tempdir()?;
    let client_port = process::free_port()?;
    let ws_port = process::free_port()?;
    let config = dir.path().join("nats.conf");
    std::fs::write(&config, config_text(client_port, ws_port))?;
    let version = Command::new(binary).arg("--version").output().await.ok();
    let info = ServerInfo {
        kind: "nats".into(),
        version: version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()),
        binary: Some(binary.display().to_string()),
        ..ServerInfo::default()
    };
    let mut command = Command::new(binary);
    command.arg("-c").arg(&config);
    let addr = SocketAddr::from(([127, 0, 0, 1], ws_port));
    PeerProcess::spawn(command, addr, log_dir.join(format!("{tag}-nats.log")), Some(dir), info).await
}

/// Plain-text WebSocket (no TLS) on loopback; the TCP listener is required but unused. The
/// pending-bytes limit is NATS's own slow-consumer guard, left at its default like Confab's queue.
fn config_text(client_port: u16, ws_port: u16) -> String {
    format!(
        "listen: \"127.0.0.1:{client_port}\"\n\
         max_connections: 100000\n\
         websocket {{\n  listen: \"127.0.0.1:{ws_port}\"\n  no_tls: true\n  compression: false\n}}\n"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_config_enables_plain_websocket_on_loopback() {
        let text = super::config_text(4300, 4301);
        assert!(text.contains("listen: \"127.0.0.1:4300\""));
        assert!(text.contains("websocket {\n  listen: \"127.0.0.1:4301\"\n  no_tls: true"));
    }
}
