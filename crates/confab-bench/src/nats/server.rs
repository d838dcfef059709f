//! A private `nats-server` for one run: its own config with a WebSocket listener on a free port,
//! never the system service on 4222.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::process;
use crate::server::ServerInfo;

pub struct NatsServer {
    pub ws_addr: SocketAddr,
    pub info: ServerInfo,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    pub async fn spawn(binary: &Path, log_dir: &Path, tag: &str) -> anyhow::Result<NatsServer> {
        let dir = tempfile::Builder::new().prefix("confab-bench-nats-").tempdir()?;
        let client_port = process::free_port()?;
        let ws_port = process::free_port()?;
        let config = dir.path().join("nats.conf");
        std::fs::write(&config, config_text(client_port, ws_port))?;
        std::fs::create_dir_all(log_dir)?;
        let log = log_dir.join(format!("{tag}-nats.log"));
        let mut child = Command::new(binary)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let ws_addr = SocketAddr::from(([127, 0, 0, 1], ws_port));
        process::wait_until(&mut child, &log, || process::listening(ws_addr)).await?;
        let version = Command::new(binary).arg("--version").output().await.ok();
        let info = ServerInfo {
            kind: "nats".into(),
            spawned: true,
            version: version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()),
            binary: Some(binary.display().to_string()),
            log: Some(log.display().to_string()),
            pid: child.id(),
            ..ServerInfo::default()
        };
        Ok(NatsServer { ws_addr, info, child, log, _dir: dir })
    }

    pub fn rss_kib(&self) -> Option<u64> {
        self.info.pid.and_then(process::rss_kib)
    }

    pub async fn stop(mut self) -> Vec<String> {
        process::stop(&mut self.child).await;
        process::logged_problems(&self.log)
    }
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
