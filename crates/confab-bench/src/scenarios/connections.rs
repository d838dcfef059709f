//! `connections`: many authenticated, idle sessions. Users are provisioned first (over REST, on
//! first sight of their tokens) so that the connect rate measures sessions, not user creation;
//! then the server's memory is read before and after opening the sessions.

use std::time::{Duration, Instant};

use confab_client::Client;
use futures_util::{StreamExt, stream};
use serde_json::json;
use tokio::sync::watch;

use super::Ctx;
use crate::cli::ConnectionsArgs;
use crate::population;
use crate::report::Report;
use crate::server::Confab;
use crate::traffic::Inbound;

mod spread;

/// Files the bench keeps for itself besides the sessions (runtime, HTTP pool, logs).
const SPARE_FILES: u64 = 200;

pub async fn run(ctx: &Ctx, args: &ConnectionsArgs) -> anyhow::Result<()> {
    let limit = ctx.machine.open_files_limit;
    if args.nodes > 1 {
        return spread::run(ctx, args, limit).await;
    }
    anyhow::ensure!(
        args.count as u64 + SPARE_FILES <= limit,
        "{} sessions need {} open files in the bench (and as many in a spawned server), more than the \
         limit of {limit} per process on this machine; spread them with --nodes (several server and \
         bench processes) or lower --count",
        args.count,
        args.count as u64 + SPARE_FILES
    );
    let confab = Confab::start(&ctx.server_options(), &ctx.tag("connections")).await?;
    let result = measure(ctx, args, &confab).await;
    let log = confab.stop().await;
    ctx.emit_with_log(result, log)
}

async fn measure(ctx: &Ctx, args: &ConnectionsArgs, confab: &Confab) -> anyhow::Result<Report> {
    let concurrency = ctx.common.connect_concurrency;
    let params = json!({ "count": args.count, "hold_s": args.hold, "connect_concurrency": concurrency });
    let mut report = Report::new("connections", "confab", params, ctx.machine.clone(), confab.info.clone());

    // 1. Users, created by their first authenticated request.
    let client = Client::new(&confab.base_url)?;
    let tokens = (0..args.count).map(|i| confab.minter.token(i)).collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    let provisioned: Vec<bool> = stream::iter(&tokens)
        .map(|token| {
            let user = client.with_token(token);
            async move { user.me().await.is_ok() }
        })
        .buffer_unordered(concurrency.clamp(1, 32))
        .collect()
        .await;
    let provision_secs = started.elapsed().as_secs_f64();
    let provision_failed = provisioned.iter().filter(|ok| !**ok).count();
    eprintln!("connections: {} users provisioned in {provision_secs:.1}s", args.count - provision_failed);
    report.metric("users_provisioned", (args.count - provision_failed) as f64, "users");
    report.metric("provision_per_sec", args.count as f64 / provision_secs, "users/s");
    if provision_failed > 0 {
        report.errors.insert("provision_failed".into(), provision_failed as u64);
    }

    // 2. Sessions.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = confab.rss_kib();
    let opened = population::open_sessions(confab, 0..args.count, concurrency).await?;
    let open = opened.sessions.iter().filter(|s| s.is_some()).count();
    eprintln!("connections: {open} sessions open in {:.1?}", opened.elapsed);
    report.metric("sessions_opened", open as f64, "sessions");
    report.metric("sessions_failed", opened.failed() as f64, "sessions");
    report.metric("connect_secs", opened.elapsed.as_secs_f64(), "s");
    report.metric("connect_per_sec", open as f64 / opened.elapsed.as_secs_f64(), "sessions/s");
    for (kind, n) in &opened.failures {
        report.errors.insert(format!("connect_{kind}"), *n);
    }
    if let Some(first) = &opened.first_failure {
        report.note(format!("first connect failure: {first}"));
    }

    // 3. Hold them, reading (so pings are answered), then measure memory again.
    let (stop, stopped) = watch::channel(false);
    let readers: Vec<_> = opened
        .sessions
        .into_iter()
        .flatten()
        .map(|mut session| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        inbound = session.next_inbound() => if let Inbound::Closed(reason) = inbound { return Some(reason) },
                        _ = stopped.changed() => return None,
                    }
                }
            })
        })
        .collect();
    if args.hold_until_stdin_closes {
        eprintln!("connections: holding until stdin closes");
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
    } else {
        tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    }
    let rss_after = confab.rss_kib();
    let _ = stop.send(true);
    let mut dropped = 0;
    for reader in readers {
        if let Ok(Some(reason)) = reader.await {
            dropped += 1;
            *report.errors.entry(format!("dropped_{reason}")).or_default() += 1;
        }
    }
    report.metric("dropped_while_held", dropped as f64, "sessions");
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        report.metric("server_rss_before", before as f64 / 1024.0, "MiB");
        report.metric("server_rss_after", after as f64 / 1024.0, "MiB");
        if open > 0 {
            report.metric(
                "server_rss_per_session",
                (after.saturating_sub(before) * 1024) as f64 / open as f64,
                "bytes",
            );
        }
    }
    report.latency("connect", &opened.latency);
    Ok(report)
}
