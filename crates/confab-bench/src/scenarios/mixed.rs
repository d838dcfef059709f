//! `mixed`: something like a real evening. Most users idle; each has a direct conversation with
//! a partner, the first few are also in groups; at modest rates they write, type, and a fraction
//! reconnect every second (presence churn, within the grace period).

use std::time::{Duration, Instant};

use serde_json::json;

use super::Ctx;
use crate::cli::MixedArgs;
use crate::dial::Dialer;
use crate::population::{self, ConfabUser};
use crate::process;
use crate::report::Report;
use crate::server::Confab;
use crate::shape::Shape;
use crate::stats::Tally;
use crate::traffic::{self, Action, Window};

pub async fn run(ctx: &Ctx, args: &MixedArgs) -> anyhow::Result<()> {
    let mut confab = Confab::start(&ctx.server_options(), &ctx.tag("mixed")).await?;
    let result = measure(ctx, args, &confab).await;
    let crashed = confab.exited();
    let log = confab.stop().await;
    let mut report = result?;
    if let Some(status) = crashed {
        report.note(format!("the server exited during the run: {status}"));
    }
    report.server_log(log);
    ctx.emit(&mut report)
}

async fn measure(ctx: &Ctx, args: &MixedArgs, confab: &Confab) -> anyhow::Result<Report> {
    let users = args.users / 2 * 2;
    let direct = Shape::Direct { users };
    let groups = Shape::Fanout { groups: args.groups, members: args.group_size.max(2) };
    anyhow::ensure!(groups.users() <= users, "the groups need {} users but there are only {users}", groups.users());
    anyhow::ensure!(
        (users as u64) + 100 <= ctx.machine.open_files_limit,
        "{users} sessions exceed the open-files limit"
    );
    let params = json!({
        "users": users, "groups": args.groups, "group_size": args.group_size, "dm_rate": args.dm_rate,
        "group_rate": args.group_rate, "typing_rate": args.typing_rate, "churn_per_sec": args.churn,
        "duration_s": args.duration, "body_bytes": ctx.common.body_bytes,
    });
    let mut report = Report::new("mixed", "confab", params, ctx.machine.clone(), confab.info.clone());

    let concurrency = ctx.common.connect_concurrency;
    let opened = population::open_sessions(confab, 0..users, concurrency).await?;
    anyhow::ensure!(opened.failed() == 0, "{} sessions failed to open: {:?}", opened.failed(), opened.failures);
    report.metric("connect_secs", opened.elapsed.as_secs_f64(), "s");
    let sessions: Vec<_> = opened.sessions.into_iter().flatten().collect();
    let ids: Vec<String> = sessions.iter().map(|s| s.user_id.clone()).collect();
    let started = Instant::now();
    let dms = population::create_conversations(confab, &direct, &ids, &opened.tokens, 16).await?;
    let group_ids = population::create_conversations(confab, &groups, &ids, &opened.tokens, 16).await?;
    report.metric("create_conversations_secs", started.elapsed().as_secs_f64(), "s");
    eprintln!("mixed: {users} users, {} DMs and {} groups ready", dms.len(), group_ids.len());
    let rss_connected = confab.rss_kib();

    let window = Window::new(
        ctx.clock,
        Duration::from_millis(500),
        Duration::from_secs_f64(args.duration),
        ctx.drain(),
        ctx.common.body_bytes,
    );
    let direct_seats = direct.seats();
    let group_seats = groups.seats();
    let dialer = Dialer { server: confab.addr };
    let cpu_before = (confab.info.pid.and_then(process::cpu_secs), process::cpu_secs(std::process::id()));
    let measuring = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .zip(opened.tokens)
        .enumerate()
        .map(|(u, (session, token))| {
            let mut targets = vec![dms[direct_seats[u].conversation].clone()];
            let mut schedule = Vec::new();
            let mut every = |turn: usize, senders: usize, rate: f64, action: Action| {
                if rate > 0.0 {
                    schedule.push(traffic::schedule_for(turn, senders, rate, window.start, action));
                }
            };
            every(direct_seats[u].turn, users, args.dm_rate, Action::Send { target: 0 });
            if let Some(seat) = group_seats.get(u) {
                targets.push(group_ids[seat.conversation].clone());
                every(seat.turn, groups.users(), args.group_rate, Action::Send { target: 1 });
            }
            every(u, users, args.typing_rate, Action::Typing { target: 0 });
            every(u, users, args.churn * users as f64, Action::Reconnect);
            let user = ConfabUser { session: Some(session), targets, dialer, index: u, token, sent: 0 };
            tokio::spawn(traffic::drive(user, u as u32, schedule, window))
        })
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        match task.await {
            Ok((_, t)) => tally.merge(&t),
            Err(_) => tally.error("bench_task_panicked"),
        }
    }
    let elapsed = measuring.elapsed().as_secs_f64();
    let cpu_after = (confab.info.pid.and_then(process::cpu_secs), process::cpu_secs(std::process::id()));

    let sends = |target: usize| tally.sent_by_target.get(target).copied().unwrap_or(0);
    let expected = sends(0) + sends(1) * groups.recipients() as u64;
    report.traffic(&tally, args.dm_rate + args.group_rate, args.duration, expected);
    report.metric("direct_sent", sends(0) as f64, "msgs");
    report.metric("group_sent", sends(1) as f64, "msgs");
    report.metric("typing_received", tally.typing_received as f64, "events");
    report.metric("reconnects", tally.reconnects as f64, "sessions");
    if let Some(kib) = rss_connected {
        report.metric("server_rss_connected", kib as f64 / 1024.0, "MiB");
    }
    if let Some(kib) = confab.rss_kib() {
        report.metric("server_rss_end", kib as f64 / 1024.0, "MiB");
    }
    let cpu = |before: Option<f64>, after: Option<f64>| Some((after? - before?) / elapsed * 100.0);
    if let Some(pct) = cpu(cpu_before.0, cpu_after.0) {
        report.metric("server_cpu", pct, "% of a core");
    }
    if let Some(pct) = cpu(cpu_before.1, cpu_after.1) {
        report.metric("bench_cpu", pct, "% of a core");
    }
    report.note("a message sent just before its session reconnects loses its ack with that session (acked < sent); deliveries to a reconnecting session would be missing (a real client syncs them)");
    Ok(report)
}
