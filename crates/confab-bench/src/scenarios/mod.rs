//! One module per scenario; this one holds what they share: the run context and how a finished
//! report is written out.

mod connections;
mod history;
mod messaging;
mod mixed;
mod sweep;
mod uploads;

use std::time::Duration;

use crate::cli::{Cli, Common, Pattern, Scenario, TargetChoice};
use crate::report::{self, Machine, Report};
use crate::server::ServerOptions;
use crate::traffic::Clock;
use messaging::Target;

/// What every scenario needs: the shared options, the machine, and the bench's clock.
pub struct Ctx {
    pub common: Common,
    pub machine: Machine,
    pub clock: Clock,
}

impl Ctx {
    pub fn server_options(&self) -> ServerOptions {
        let c = &self.common;
        ServerOptions {
            server_bin: c.server_bin.clone(),
            server_config: c.server_config.clone(),
            url: c.url.clone(),
            hs256_secret: c.hs256_secret.clone(),
            issuer: c.issuer.clone(),
            audience: c.audience.clone(),
            server_pid: c.server_pid,
            data_parent: c.data_parent.clone(),
            log_dir: c.out.clone(),
        }
    }

    /// A file-name prefix for this run's server logs.
    pub fn tag(&self, scenario: &str) -> String {
        let stamp: String = report::now_rfc3339().chars().filter(|c| c.is_ascii_digit()).take(14).collect();
        format!("{stamp}-{scenario}")
    }

    pub fn drain(&self) -> Duration {
        Duration::from_secs_f64(self.common.drain.max(0.0))
    }

    /// Saves the report, prints its Markdown and where the files went.
    /// Emits the report of a run against a spawned server, with what the server logged.
    pub fn emit_with_log(&self, result: anyhow::Result<Report>, log: Vec<String>) -> anyhow::Result<()> {
        let mut report = result?;
        report.server_log(log);
        self.emit(&mut report)
    }

    pub fn emit(&self, report: &mut Report) -> anyhow::Result<()> {
        let written = report.save(&self.common.out)?;
        println!("{}", report::markdown(report));
        for path in written {
            println!("wrote {}", path.display());
        }
        println!();
        Ok(())
    }
}

pub async fn run(cli: Cli, machine: Machine) -> anyhow::Result<()> {
    let ctx = Ctx { common: cli.common, machine, clock: Clock::new() };
    match cli.scenario {
        Scenario::Connections(args) => connections::run(&ctx, &args).await,
        Scenario::Direct(args) => messaging::run_one(&ctx, Target::Confab, &Pattern::Direct(args)).await,
        Scenario::Fanout(args) => messaging::run_one(&ctx, Target::Confab, &Pattern::Fanout(args)).await,
        Scenario::NatsDirect(args) => messaging::run_one(&ctx, Target::Nats, &Pattern::Direct(args)).await,
        Scenario::NatsFanout(args) => messaging::run_one(&ctx, Target::Nats, &Pattern::Fanout(args)).await,
        Scenario::SocketioDirect(args) => messaging::run_one(&ctx, Target::SocketIo, &Pattern::Direct(args)).await,
        Scenario::SocketioFanout(args) => messaging::run_one(&ctx, Target::SocketIo, &Pattern::Fanout(args)).await,
        Scenario::History(args) => history::run(&ctx, &args).await,
        Scenario::Mixed(args) => mixed::run(&ctx, &args).await,
        Scenario::Uploads(args) => uploads::run(&ctx, &args).await,
        Scenario::Compare { peers, pattern } => {
            let peers: Vec<Target> = peers.iter().map(|&p| Target::from(p)).collect();
            sweep::compare(&ctx, &peers, &pattern).await
        }
        Scenario::Sweep(args) => {
            let targets = match args.target {
                TargetChoice::Confab => vec![Target::Confab],
                TargetChoice::Nats => vec![Target::Nats],
                TargetChoice::Socketio => vec![Target::SocketIo],
                TargetChoice::Both => vec![Target::Confab, Target::Nats],
                TargetChoice::All => vec![Target::Confab, Target::Nats, Target::SocketIo],
            };
            sweep::sweep(&ctx, &targets, &args.pattern, &args.rates).await
        }
    }
}
