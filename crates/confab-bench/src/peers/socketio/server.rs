//! The Socket.IO app for one run: `node server.mjs <port>` from `peers/socketio/` of this crate
//! (or `--socketio-dir`), whose dependencies `npm ci` installs.

use std::net::SocketAddr;
use std::path::Path;

use tokio::process::Command;

use crate::peers::PeerProcess;
use crate::process;
use crate::server::ServerInfo;

/// Starts the app in `dir` on a free port.
pub async fn spawn(node: &Path, dir: &Path, log_dir: &Path, tag: &str) -> anyhow::Result<PeerProcess> {
    let script = dir.join("server.mjs");
    anyhow::ensure!(script.is_file(), "no Socket.IO app at {}", script.display());
    let package = dir.join("node_modules/socket.io/package.json");
    let installed = std::fs::read_to_string(&package)
        .map_err(|_| anyhow::anyhow!("Socket.IO is not installed: run `npm ci` in {}", dir.display()))?;
    let version = serde_json::from_str::<serde_json::Value>(&installed)
        .ok()
        .and_then(|p| p["version"].as_str().map(|v| format!("socket.io {v}")));
    let node_version = Command::new(node).arg("--version").output().await.ok();
    let info = ServerInfo {
        kind: "socketio".into(),
        version: version.map(|v| match &node_version {
            Some(out) => format!("{v} on node {}", String::from_utf8_lossy(&out.stdout).trim()),
            None => v,
        }),
        binary: Some(script.display().to_string()),
        ..ServerInfo::default()
    };
    let port = process::free_port()?;
    let mut command = Command::new(node);
    command.arg(&script).arg(port.to_string()).current_dir(dir);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    PeerProcess::spawn(command, addr, log_dir.join(format!("{tag}-socketio.log")), None, info).await
}
