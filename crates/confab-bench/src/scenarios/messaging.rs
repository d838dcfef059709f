//! Direct and fan-out traffic on Confab or a peer (NATS, Socket.IO): one population set up once,
//! then one open-loop window per offered rate (several for a sweep), each becoming a report.

use std::time::{Duration, Instant};

use serde_json::json;

use super::Ctx;
use crate::cli::{Pattern, Peer};
use crate::dial::{Dialer, open_all};
use crate::peers::nats::client::NatsUser;
use crate::peers::socketio::client::SocketIoUser;
use crate::peers::{PeerProcess, nats, socketio};
use crate::population;
use crate::process;
use crate::report::Report;
use crate::server::{Confab, ServerInfo};
use crate::shape::{Seat, Shape};
use crate::stats::Tally;
use crate::traffic::{self, Action, LoadClient, Window};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Confab,
    Nats,
    SocketIo,
}

impl Target {
    pub fn name(&self) -> &'static str {
        match self {
            Target::Confab => "confab",
            Target::Nats => "nats",
            Target::SocketIo => "socketio",
        }
    }
}

impl From<Peer> for Target {
    fn from(peer: Peer) -> Target {
        match peer {
            Peer::Nats => Target::Nats,
            Peer::Socketio => Target::SocketIo,
        }
    }
}

/// What one rate measured.
pub struct Step {
    pub started_at: String,
    pub rate: f64,
    pub tally: Tally,
    pub elapsed: Duration,
    /// CPU used during the window, in % of one core.
    pub server_cpu_pct: Option<f64>,
    pub bench_cpu_pct: Option<f64>,
    pub server_rss_kib: Option<u64>,
}

/// How the population came up.
#[derive(Default)]
struct Setup {
    connect_secs: f64,
    conversations_secs: f64,
    rss_connected_kib: Option<u64>,
}

/// A direct or fan-out scenario at its one rate.
pub async fn run_one(ctx: &Ctx, target: Target, pattern: &Pattern) -> anyhow::Result<()> {
    let scenario = pattern_name(target, pattern);
    for mut report in run_rates(ctx, target, pattern, &[pattern.rate()], &scenario).await? {
        ctx.emit(&mut report)?;
    }
    Ok(())
}

fn pattern_name(target: Target, pattern: &Pattern) -> String {
    let shape = pattern.shape().name();
    match target {
        Target::Confab => shape.to_string(),
        peer => format!("{}-{shape}", peer.name()),
    }
}

/// Sets up `pattern`'s population on `target` and runs one window per rate, in order.
pub async fn run_rates(
    ctx: &Ctx,
    target: Target,
    pattern: &Pattern,
    rates: &[f64],
    scenario: &str,
) -> anyhow::Result<Vec<Report>> {
    let shape = pattern.shape();
    anyhow::ensure!(shape.users() >= 2, "a messaging run needs at least 2 users");
    let needed = shape.users() as u64 + 100;
    anyhow::ensure!(
        needed <= ctx.machine.open_files_limit,
        "{} sessions need more open files than this process may hold ({}); use fewer users",
        shape.users(),
        ctx.machine.open_files_limit
    );
    let duration = Duration::from_secs_f64(pattern.duration());
    let (steps, setup, info, log, crashed) = match target {
        Target::Confab => {
            let mut confab = Confab::start(&ctx.server_options(), &ctx.tag(scenario)).await?;
            let result = async {
                let started = Instant::now();
                let (users, times) =
                    population::messaging_users(&confab, &shape, ctx.common.connect_concurrency).await?;
                eprintln!(
                    "{scenario}: {} users connected and conversations created in {:.1?}",
                    users.len(),
                    started.elapsed()
                );
                let setup = Setup {
                    connect_secs: times.connect.as_secs_f64(),
                    conversations_secs: times.conversations.as_secs_f64(),
                    rss_connected_kib: confab.rss_kib(),
                };
                anyhow::Ok((run_steps(ctx, users, &shape, rates, duration, confab.info.pid).await, setup))
            }
            .await;
            let crashed = confab.exited();
            let info = confab.info.clone();
            let log = confab.stop().await;
            let (steps, setup) = result?;
            (steps, setup, info, log, crashed)
        }
        Target::Nats => {
            let peer = nats::server::spawn(&ctx.common.nats_bin, &ctx.common.out, &ctx.tag(scenario)).await?;
            let open = |dialer: Dialer, i, listen: String, target| async move {
                NatsUser::open(&dialer, i, &listen, target).await
            };
            let (steps, setup, info, log) = run_on_peer(ctx, peer, open, &shape, rates, duration).await?;
            (steps, setup, info, log, None)
        }
        Target::SocketIo => {
            let c = &ctx.common;
            let peer = socketio::server::spawn(&c.node_bin, &c.socketio_dir, &c.out, &ctx.tag(scenario)).await?;
            let open = |dialer: Dialer, i, listen: String, target| async move {
                SocketIoUser::open(&dialer, i, &listen, target).await
            };
            let (steps, setup, info, log) = run_on_peer(ctx, peer, open, &shape, rates, duration).await?;
            (steps, setup, info, log, None)
        }
    };
    let reports = steps
        .iter()
        .map(|step| {
            let mut report = step_report(ctx, scenario, target, &shape, pattern.duration(), step, &setup, info.clone());
            report.server_log(log.clone());
            if let Some(status) = &crashed {
                report.note(format!("the server exited during the run: {status}"));
            }
            report
        })
        .collect();
    Ok(reports)
}

/// Connects every user of `shape` to `peer` with `open(dialer, user, listens on, sends to)`,
/// runs every rate, and stops the peer: its steps, setup, identity and log. A failed connection
/// fails the run.
async fn run_on_peer<C, F, Fut>(
    ctx: &Ctx,
    peer: PeerProcess,
    open: F,
    shape: &Shape,
    rates: &[f64],
    duration: Duration,
) -> anyhow::Result<(Vec<Step>, Setup, ServerInfo, Vec<String>)>
where
    C: LoadClient,
    F: Fn(Dialer, usize, String, String) -> Fut,
    Fut: Future<Output = Result<C, String>>,
{
    let dialer = Dialer { server: peer.addr };
    let (users, failures, elapsed) = open_all(0..shape.users(), ctx.common.connect_concurrency, |i| {
        let (listen, target) = shape.routes(i);
        open(dialer, i, listen, target)
    })
    .await;
    if !failures.is_empty() {
        let kind = peer.info.kind.clone();
        let _ = peer.stop().await;
        anyhow::bail!("{} {kind} connections failed: {failures:?}", failures.values().sum::<u64>());
    }
    let setup = Setup { connect_secs: elapsed.as_secs_f64(), rss_connected_kib: peer.rss_kib(), ..Setup::default() };
    let steps = run_steps(ctx, users, shape, rates, duration, peer.info.pid).await;
    let info = peer.info.clone();
    Ok((steps, setup, info, peer.stop().await))
}

/// Runs every rate over the same clients, handing them from one window to the next.
async fn run_steps<C: LoadClient>(
    ctx: &Ctx,
    mut clients: Vec<C>,
    shape: &Shape,
    rates: &[f64],
    duration: Duration,
    server_pid: Option<u32>,
) -> Vec<Step> {
    let seats = shape.seats();
    let mut steps = Vec::new();
    for &rate in rates {
        eprintln!("{}: {} at {rate} msg/s for {duration:?}", shape.name(), shape.describe());
        let started = Instant::now();
        let started_at = crate::report::now_rfc3339();
        let (returned, tally, cpu) = window(ctx, clients, &seats, rate, duration, server_pid).await;
        clients = returned;
        steps.push(Step {
            started_at,
            rate,
            tally,
            elapsed: started.elapsed(),
            server_cpu_pct: cpu.0,
            bench_cpu_pct: cpu.1,
            server_rss_kib: server_pid.and_then(process::rss_kib),
        });
    }
    steps
}

/// (server, bench) CPU seconds so far.
fn cpu_now(server_pid: Option<u32>) -> (Option<f64>, Option<f64>) {
    (server_pid.and_then(process::cpu_secs), process::cpu_secs(std::process::id()))
}

/// CPU use of (server, bench) while sending, in % of one core.
type CpuShare = (Option<f64>, Option<f64>);

/// One open-loop window: every client gets its schedule and a task; the tally is merged. CPU is
/// sampled over the sending period only (not the lead or drain time).
async fn window<C: LoadClient>(
    ctx: &Ctx,
    clients: Vec<C>,
    seats: &[Seat],
    rate: f64,
    duration: Duration,
    server_pid: Option<u32>,
) -> (Vec<C>, Tally, CpuShare) {
    // A lead time so that every task is spawned and waiting before the first send is due.
    let lead = Duration::from_millis(300 + clients.len() as u64 / 10);
    let window = Window::new(ctx.clock, lead, duration, ctx.drain(), ctx.common.body_bytes);
    let tasks: Vec<_> = clients
        .into_iter()
        .zip(seats)
        .map(|(client, seat)| {
            let schedule =
                vec![traffic::schedule_for(seat.turn, seats.len(), rate, window.start, Action::Send { target: 0 })];
            tokio::spawn(traffic::drive(client, seat.user as u32, schedule, window))
        })
        .collect();
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(window.start.into()).await;
        let before = cpu_now(server_pid);
        tokio::time::sleep_until(window.send_end.into()).await;
        let after = cpu_now(server_pid);
        let secs = window.send_end.saturating_duration_since(window.start).as_secs_f64();
        let pct = |before: Option<f64>, after: Option<f64>| Some((after? - before?) / secs * 100.0);
        (pct(before.0, after.0), pct(before.1, after.1))
    });
    let mut total = Tally::default();
    let mut clients = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok((client, tally)) => {
                total.merge(&tally);
                clients.push(client);
            }
            Err(_) => total.error("bench_task_panicked"),
        }
    }
    (clients, total, sampler.await.unwrap_or_default())
}

#[allow(clippy::too_many_arguments)]
fn step_report(
    ctx: &Ctx,
    scenario: &str,
    target: Target,
    shape: &Shape,
    duration: f64,
    step: &Step,
    setup: &Setup,
    info: ServerInfo,
) -> Report {
    let params = json!({
        "shape": shape.describe(),
        "users": shape.users(),
        "rate": step.rate,
        "duration_s": duration,
        "body_bytes": ctx.common.body_bytes,
        "drain_s": ctx.common.drain,
    });
    let mut report = Report::new(scenario, target.name(), params, ctx.machine.clone(), info);
    report.started_at = step.started_at.clone();
    let expected = step.tally.sent * shape.recipients() as u64;
    report.traffic(&step.tally, step.rate, duration, expected);
    report.metric("connect_secs", setup.connect_secs, "s");
    if setup.conversations_secs > 0.0 {
        report.metric("create_conversations_secs", setup.conversations_secs, "s");
    }
    if let Some(kib) = setup.rss_connected_kib {
        report.metric("server_rss_connected", kib as f64 / 1024.0, "MiB");
    }
    if let Some(kib) = step.server_rss_kib {
        report.metric("server_rss_end", kib as f64 / 1024.0, "MiB");
    }
    if let Some(pct) = step.server_cpu_pct {
        report.metric("server_cpu", pct, "% of a core");
    }
    if let Some(pct) = step.bench_cpu_pct {
        report.metric("bench_cpu", pct, "% of a core");
    }
    report.metric("window_secs", step.elapsed.as_secs_f64(), "s");
    match target {
        Target::Nats => report.note(
            "NATS core has no acknowledgements (no ack latency) and stores nothing; Confab acks after an fsynced SQLite commit.",
        ),
        Target::SocketIo => report.note(
            "The Socket.IO app (one Node.js process) relays through rooms and stores, authenticates and acknowledges nothing; Confab acks after an fsynced SQLite commit.",
        ),
        Target::Confab => {}
    }
    report
}
