//! The Confab server under test: spawned by the bench (fresh data directory, free port, external
//! HS256 auth with a random secret) or an already running one (`--url` + `--hs256-secret`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::process::{Child, Command};

use crate::auth::{self, Minter};
use crate::process;

/// Where the server comes from and how it is reached; filled from the command line.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub server_bin: Option<PathBuf>,
    pub server_config: Option<PathBuf>,
    pub url: Option<String>,
    pub hs256_secret: Option<String>,
    pub issuer: String,
    pub audience: String,
    pub server_pid: Option<u32>,
    /// Parent of the temporary data directory (the disk under it decides the fsync cost).
    pub data_parent: Option<PathBuf>,
    /// Where the spawned server's log goes.
    pub log_dir: PathBuf,
}

/// What the nodes of a spawned cluster share.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub database_url: String,
    pub redis_url: String,
    /// The external HS256 secret, so that one token is valid on every node.
    pub secret: String,
}

/// What the report says about the server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerInfo {
    pub kind: String,
    pub spawned: bool,
    pub version: Option<String>,
    pub commit: Option<String>,
    pub binary: Option<String>,
    pub data_dir: Option<String>,
    pub log: Option<String>,
    pub pid: Option<u32>,
}

/// A running Confab and the means to sign in to it.
pub struct Confab {
    pub base_url: String,
    pub addr: SocketAddr,
    pub minter: Minter,
    pub info: ServerInfo,
    child: Option<Child>,
    _data: Option<tempfile::TempDir>,
}

impl Confab {
    /// Spawns a server, or connects to the one named by `--url`.
    pub async fn start(options: &ServerOptions, tag: &str) -> anyhow::Result<Confab> {
        match &options.url {
            Some(url) => Confab::external(options, url).await,
            None => Confab::spawn(options, tag).await,
        }
    }

    async fn external(options: &ServerOptions, url: &str) -> anyhow::Result<Confab> {
        let Some(secret) = &options.hs256_secret else {
            bail!("--url needs --hs256-secret: the server's external HS256 secret, to mint tokens")
        };
        let base_url = url.trim_end_matches('/').to_owned();
        let addr = resolve(&base_url).await?;
        let info = ServerInfo {
            kind: "confab".into(),
            spawned: false,
            version: None,
            commit: None,
            pid: options.server_pid,
            ..ServerInfo::default()
        };
        let minter = Minter::new(secret, &options.issuer, &options.audience)?;
        Ok(Confab { base_url, addr, minter, info, child: None, _data: None })
    }

    async fn spawn(options: &ServerOptions, tag: &str) -> anyhow::Result<Confab> {
        Confab::spawn_node(options, tag, None).await
    }

    /// Spawns a server; with `cluster`, as one node of a cluster sharing its database, Redis and
    /// token secret with the others.
    pub async fn spawn_node(options: &ServerOptions, tag: &str, cluster: Option<&Cluster>) -> anyhow::Result<Confab> {
        let binary = find_binary(options.server_bin.as_deref())?;
        let data = match &options.data_parent {
            Some(parent) => tempfile::Builder::new().prefix("confab-bench-").tempdir_in(parent),
            None => tempfile::Builder::new().prefix("confab-bench-").tempdir(),
        }
        .context("creating the server's data directory")?;
        std::fs::create_dir_all(&options.log_dir)?;
        let log = options.log_dir.join(format!("{tag}-confab.log"));
        let secret = cluster.map_or_else(auth::random_secret, |c| c.secret.clone());
        let port = process::free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));

        let mut command = Command::new(&binary);
        command
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(data.path())
            .args(["--external-issuer", &options.issuer, "--external-audience", &options.audience])
            .args(["--external-hs256-secret", &secret])
            // The load is the point: thousands of users from a few loopback addresses, each
            // sending faster than the per-IP limits allow.
            .args(["--rate-limits", "false"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true);
        if let Some(config) = &options.server_config {
            command.arg("--config").arg(config);
        }
        if let Some(cluster) = cluster {
            command.args(["--database-url", &cluster.database_url, "--redis-url", &cluster.redis_url]);
        }
        let mut child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let base_url = format!("http://{addr}");
        let health = format!("{base_url}/healthz");
        let http = reqwest::Client::new();
        process::wait_until(&mut child, &log, || {
            let request = http.get(&health).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await?;

        let info = ServerInfo {
            kind: "confab".into(),
            spawned: true,
            version: version_of(&binary).await,
            commit: workspace_commit().await,
            binary: Some(binary.display().to_string()),
            data_dir: Some(data.path().display().to_string()),
            log: Some(log.display().to_string()),
            pid: child.id(),
        };
        let minter = Minter::new(&secret, &options.issuer, &options.audience)?;
        Ok(Confab { base_url, addr, minter, info, child: Some(child), _data: Some(data) })
    }

    /// The server's resident memory, when its pid is known (spawned, or `--server-pid`).
    pub fn rss_kib(&self) -> Option<u64> {
        self.info.pid.and_then(process::rss_kib)
    }

    /// Whether a spawned server is still running (a crash under load is worth reporting).
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        child.try_wait().ok().flatten().map(|status| status.to_string())
    }

    /// Stops a spawned server and returns the warnings and errors it logged.
    pub async fn stop(mut self) -> Vec<String> {
        if let Some(child) = self.child.as_mut() {
            process::stop(child).await;
        }
        self.info.log.as_deref().map(|log| process::logged_problems(Path::new(log))).unwrap_or_default()
    }
}

/// `--server-bin`, else `confab` next to this binary (both built into one target directory),
/// else `$CARGO_TARGET_DIR/release/confab`, else `target/release/confab`.
fn find_binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().as_deref().and_then(Path::parent) {
        candidates.push(dir.join("confab"));
        // A debug bench still prefers the release server: measuring a debug server is useless.
        if let Some(target) = dir.parent() {
            candidates.insert(0, target.join("release").join("confab"));
        }
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(target).join("release").join("confab"));
    }
    candidates.push(PathBuf::from("target/release/confab"));
    candidates.into_iter().find(|path| path.is_file()).context(
        "no confab binary found: build it (cargo build --release -p confab-server --bin confab) or pass --server-bin",
    )
}

async fn version_of(binary: &Path) -> Option<String> {
    let output = Command::new(binary).arg("--version").output().await.ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned()).filter(|v| !v.is_empty())
}

/// The commit of the workspace this bench was built from, `-dirty` with uncommitted changes.
pub async fn workspace_commit() -> Option<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let head = Command::new("git").args(["-C", dir, "rev-parse", "--short", "HEAD"]).output().await.ok()?;
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    if head.is_empty() {
        return None;
    }
    let status = Command::new("git").args(["-C", dir, "status", "--porcelain"]).output().await.ok()?;
    Some(if status.stdout.is_empty() { head } else { format!("{head}-dirty") })
}

/// The socket address of `http://host:port`.
async fn resolve(base_url: &str) -> anyhow::Result<SocketAddr> {
    let url = reqwest::Url::parse(base_url).with_context(|| format!("{base_url:?} is not a URL"))?;
    anyhow::ensure!(url.scheme() == "http", "only http:// servers are supported (the lean client speaks ws://)");
    let host = url.host_str().context("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    tokio::net::lookup_host((host, port)).await?.next().with_context(|| format!("{host} does not resolve"))
}
