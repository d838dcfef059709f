//! `connections --nodes K`: more sessions than one process may hold. The bench spawns K cluster
//! nodes on one PostgreSQL and one Redis, and worker processes of its own (`connections --url
//! <node> --hold-until-stdin-closes`), each within the open-files limit; once every worker has
//! its sessions open it holds them, reads every node's memory, then closes the workers' stdin
//! and adds up their reports.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use super::SPARE_FILES;
use crate::auth;
use crate::cli::ConnectionsArgs;
use crate::report::Report;
use crate::scenarios::Ctx;
use crate::server::{Cluster, Confab};

/// How long a worker may take to open its sessions.
const OPEN_TIMEOUT: Duration = Duration::from_secs(300);

pub async fn run(ctx: &Ctx, args: &ConnectionsArgs, limit: u64) -> anyhow::Result<()> {
    let (Some(database_url), Some(redis_url)) = (&args.database_url, &args.redis_url) else {
        bail!("--nodes needs --database-url (a PostgreSQL database the bench may fill) and --redis-url")
    };
    let per_process = (limit.saturating_sub(SPARE_FILES + 100)) as usize;
    anyhow::ensure!(
        args.count <= per_process * args.nodes,
        "{} sessions over {} nodes is more than {per_process} per node; add nodes",
        args.count,
        args.nodes
    );
    let cluster =
        Cluster { database_url: database_url.clone(), redis_url: redis_url.clone(), secret: auth::random_secret() };
    let options = ctx.server_options();
    let mut nodes = Vec::new();
    for node in 0..args.nodes {
        // One at a time: the first one migrates the shared database.
        nodes.push(Confab::spawn_node(&options, &ctx.tag(&format!("connections-node{node}")), Some(&cluster)).await?);
    }
    let result = measure(ctx, args, &nodes, &cluster, per_process).await;
    let mut logs = Vec::new();
    for node in nodes {
        logs.extend(node.stop().await);
    }
    ctx.emit_with_log(result, logs)
}

struct Worker {
    child: Child,
    count: usize,
}

async fn measure(
    ctx: &Ctx,
    args: &ConnectionsArgs,
    nodes: &[Confab],
    cluster: &Cluster,
    per_process: usize,
) -> anyhow::Result<Report> {
    let workers_needed = args.count.div_ceil(per_process).max(nodes.len());
    let params = json!({
        "count": args.count, "hold_s": args.hold, "nodes": nodes.len(), "bench_processes": workers_needed,
        "connect_concurrency": ctx.common.connect_concurrency,
    });
    let mut report = Report::new("connections", "confab", params, ctx.machine.clone(), nodes[0].info.clone());
    let rss = || nodes.iter().map(Confab::rss_kib).sum::<Option<u64>>();
    let rss_before = rss();

    let exe = std::env::current_exe().context("locating the bench binary for its workers")?;
    let out = ctx.common.out.join("workers");
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..workers_needed {
        let count = args.count / workers_needed + usize::from(w < args.count % workers_needed);
        let node = &nodes[w % nodes.len()];
        let child = Command::new(&exe)
            .arg("connections")
            .args(["--url", &node.base_url, "--hs256-secret", &cluster.secret])
            .args(["--count", &count.to_string(), "--hold-until-stdin-closes"])
            .args(["--connect-concurrency", &ctx.common.connect_concurrency.to_string()])
            .arg("--out")
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting a bench worker")?;
        workers.push(Worker { child, count });
    }
    for worker in &mut workers {
        wait_for_hold(worker).await?;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    eprintln!("connections: {} sessions open over {} nodes in {connect_secs:.1}s", args.count, nodes.len());
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    let rss_after = rss();

    let (mut opened, mut failed, mut dropped) = (0.0, 0.0, 0.0);
    for mut worker in workers {
        drop(worker.child.stdin.take()); // the worker stops holding, reports and exits
        let mut stdout = String::new();
        if let Some(mut pipe) = worker.child.stdout.take() {
            pipe.read_to_string(&mut stdout).await?;
        }
        worker.child.wait().await?;
        let Some(path) = stdout.lines().filter_map(|l| l.strip_prefix("wrote ")).find(|p| p.ends_with(".json")) else {
            bail!("a worker of {} sessions wrote no report", worker.count)
        };
        let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let metric = |name: &str| {
            result["metrics"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["name"] == name))
                .and_then(|m| m["value"].as_f64())
        };
        opened += metric("sessions_opened").unwrap_or(0.0);
        failed += metric("sessions_failed").unwrap_or(0.0);
        dropped += metric("dropped_while_held").unwrap_or(0.0);
    }
    report.metric("sessions_opened", opened, "sessions");
    report.metric("sessions_failed", failed, "sessions");
    report.metric("dropped_while_held", dropped, "sessions");
    report.metric("provision_and_connect_secs", connect_secs, "s");
    report.metric("sessions_per_sec", opened / connect_secs, "sessions/s (users provisioned too)");
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        report.metric("server_rss_before", before as f64 / 1024.0, "MiB (all nodes)");
        report.metric("server_rss_after", after as f64 / 1024.0, "MiB (all nodes)");
        if opened > 0.0 {
            report.metric("server_rss_per_session", (after.saturating_sub(before) * 1024) as f64 / opened, "bytes");
        }
    }
    report.note(format!("worker reports: {}", out.display()));
    Ok(report)
}

/// Reads the worker's progress until it holds its sessions.
async fn wait_for_hold(worker: &mut Worker) -> anyhow::Result<()> {
    let stderr = worker.child.stderr.take().context("a worker's stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let holding = async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("holding until stdin closes") {
                return Ok(());
            }
        }
        bail!("a worker of {} sessions exited before holding them", worker.count)
    };
    tokio::time::timeout(OPEN_TIMEOUT, holding).await.context("a worker took too long to open its sessions")??;
    // Keep draining its stderr so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(())
}
