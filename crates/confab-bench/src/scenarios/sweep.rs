//! Several runs side by side: `sweep` (one pattern at several offered rates, plotted as
//! throughput and p99 against load) and `compare` (Confab, then each peer, same parameters).

use std::path::PathBuf;

use super::Ctx;
use super::messaging::{self, Target};
use crate::cli::Pattern;
use crate::report::{self, Report};
use crate::svg;

pub async fn sweep(ctx: &Ctx, targets: &[Target], pattern: &Pattern, rates: &[f64]) -> anyhow::Result<()> {
    anyhow::ensure!(!rates.is_empty(), "--rates needs at least one rate");
    let shape = pattern.shape();
    let scenario = format!("sweep-{}", shape.name());
    let mut all = Vec::new();
    for &target in targets {
        for mut report in messaging::run_rates(ctx, target, pattern, rates, &scenario).await? {
            ctx.emit(&mut report)?;
            all.push(report);
        }
    }
    println!("{}", report::sweep_table(&all));
    let path = plot(ctx, &scenario, &all, shape.recipients())?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Throughput (messages fully delivered per second) and p99 against offered load, per target.
fn plot(ctx: &Ctx, scenario: &str, reports: &[Report], recipients: usize) -> anyhow::Result<PathBuf> {
    let mut throughput = Vec::new();
    let mut p99 = Vec::new();
    for target in [Target::Confab, Target::Nats, Target::SocketIo].map(|t| t.name()) {
        let runs: Vec<&Report> = reports.iter().filter(|r| r.target == target).collect();
        if runs.is_empty() {
            continue;
        }
        let offered = |r: &Report| r.get("offered_rate").unwrap_or(0.0);
        throughput.push(svg::Series {
            label: target.into(),
            points: runs
                .iter()
                .map(|r| (offered(r), r.get("delivered_per_sec").unwrap_or(0.0) / recipients.max(1) as f64))
                .collect(),
        });
        p99.push(svg::Series {
            label: target.into(),
            points: runs
                .iter()
                .filter_map(|r| r.summary_of("delivery").map(|s| (offered(r), s.p99 as f64 / 1000.0)))
                .collect(),
        });
    }
    std::fs::create_dir_all(&ctx.common.out)?;
    let path = ctx.common.out.join(format!("{}.svg", ctx.tag(scenario)));
    let title = format!("{scenario}: throughput and p99 against offered load ({} cores)", ctx.machine.cores);
    std::fs::write(&path, svg::load_plot(&title, &throughput, &p99))?;
    Ok(path)
}

pub async fn compare(ctx: &Ctx, peers: &[Target], pattern: &Pattern) -> anyhow::Result<()> {
    let scenario = format!("compare-{}", pattern.shape().name());
    let mut reports = Vec::new();
    for &target in std::iter::once(&Target::Confab).chain(peers) {
        for mut report in messaging::run_rates(ctx, target, pattern, &[pattern.rate()], &scenario).await? {
            ctx.emit(&mut report)?;
            reports.push(report);
        }
    }
    if let [confab, peers @ ..] = reports.as_slice() {
        for peer in peers {
            println!("{}", report::comparison_table(confab, peer));
        }
        let names: Vec<&str> = peers.iter().map(|r| r.target.as_str()).collect();
        let series: Vec<svg::Series> = reports
            .iter()
            .filter_map(|r| {
                r.curves.get("delivery").map(|curve| svg::Series {
                    label: format!("{} delivery", r.target),
                    points: curve.iter().map(|&(q, us)| (q, us as f64)).collect(),
                })
            })
            .collect();
        let path = ctx.common.out.join(format!("{}-latency.svg", ctx.tag(&scenario)));
        std::fs::write(
            &path,
            svg::percentile_plot(&format!("{scenario}: delivery latency, Confab and {}", names.join(", ")), &series),
        )?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
