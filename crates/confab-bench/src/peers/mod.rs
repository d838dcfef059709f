//! The servers Confab is compared with, each driven by the same open-loop engine and shapes:
//! NATS (a pure router: the transport alone) and a Socket.IO app (what a hand-rolled Node.js
//! chat server costs). Neither stores, authenticates nor acknowledges anything.

pub mod nats;
pub mod socketio;

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::process::{Child, Command};

use crate::process;
use crate::server::ServerInfo;

/// A peer server the bench spawned, killed when dropped.
pub struct PeerProcess {
    pub addr: SocketAddr,
    pub info: ServerInfo,
    child: Child,
    log: PathBuf,
    /// Scratch files the process needs while it runs (a config).
    _dir: Option<tempfile::TempDir>,
}

impl PeerProcess {
    /// Spawns `command` (its stderr to `log`, inside `dir` which lives as long as the process) and
    /// waits until it accepts connections on `addr`.
    pub async fn spawn(
        mut command: Command,
        addr: SocketAddr,
        log: PathBuf,
        dir: Option<tempfile::TempDir>,
        info: ServerInfo,
    ) -> anyhow::Result<PeerProcess> {
        if let Some(parent) = log.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let program = command.as_std().get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {program}: {e}"))?;
        process::wait_until(&mut child, &log, || process::listening(addr)).await?;
        let info = ServerInfo { spawned: true, log: Some(log.display().to_string()), pid: child.id(), ..info };
        Ok(PeerProcess { addr, info, child, log, _dir: dir })
    }

    pub fn rss_kib(&self) -> Option<u64> {
        self.info.pid.and_then(process::rss_kib)
    }

    pub async fn stop(mut self) -> Vec<String> {
        process::stop(&mut self.child).await;
        process::logged_problems(&self.log)
    }
}
