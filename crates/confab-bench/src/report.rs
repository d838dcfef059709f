//! The result of a run: a JSON file (everything, for later comparison), a Markdown summary on
//! stdout (for docs/benchmarks.md), and the latency plot beside the JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::server::ServerInfo;
use crate::stats::{Latency, Summary, Tally};
use crate::svg;

#[derive(Clone, Debug, Serialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct LatencyRow {
    pub name: String,
    #[serde(flatten)]
    pub summary: Summary,
}

/// The machine a run was measured on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: Option<String>,
    pub memory_mib: Option<u64>,
    pub kernel: Option<String>,
    pub open_files_limit: u64,
}

impl Machine {
    pub fn this(open_files_limit: u64) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            cpu: cpuinfo
                .lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned()),
            memory_mib: meminfo
                .lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
                .map(|kib| kib / 1024),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
            open_files_limit,
        }
    }
}

/// One run of one scenario against one target.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub target: String,
    pub started_at: String,
    pub finished_at: String,
    pub params: serde_json::Value,
    pub machine: Machine,
    pub server: ServerInfo,
    pub metrics: Vec<Metric>,
    pub latency_us: Vec<LatencyRow>,
    pub errors: BTreeMap<String, u64>,
    /// Warnings and errors from the server's log (first lines only).
    pub server_log: Vec<String>,
    pub notes: Vec<String>,
    /// Percentile curves `(quantile, µs)` per latency, for plots.
    pub curves: BTreeMap<String, Vec<(f64, u64)>>,
}

/// Lines of the server log kept in a report.
const SERVER_LOG_LINES: usize = 20;

pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

impl Report {
    pub fn new(
        scenario: &str,
        target: &str,
        params: serde_json::Value,
        machine: Machine,
        server: ServerInfo,
    ) -> Report {
        Report {
            scenario: scenario.into(),
            target: target.into(),
            started_at: now_rfc3339(),
            finished_at: String::new(),
            params,
            machine,
            server,
            metrics: Vec::new(),
            latency_us: Vec::new(),
            errors: BTreeMap::new(),
            server_log: Vec::new(),
            notes: Vec::new(),
            curves: BTreeMap::new(),
        }
    }

    pub fn metric(&mut self, name: &str, value: f64, unit: &str) {
        self.metrics.push(Metric { name: name.into(), value, unit: unit.into() });
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|m| m.name == name).map(|m| m.value)
    }

    pub fn latency(&mut self, name: &str, latency: &Latency) {
        if latency.len() == 0 {
            return;
        }
        self.latency_us.push(LatencyRow { name: name.into(), summary: latency.summary() });
        self.curves.insert(name.into(), latency.curve());
    }

    pub fn summary_of(&self, name: &str) -> Option<&Summary> {
        self.latency_us.iter().find(|row| row.name == name).map(|row| &row.summary)
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn server_log(&mut self, lines: Vec<String>) {
        if lines.len() > SERVER_LOG_LINES {
            self.note(format!(
                "the server logged {} warnings/errors; the first {SERVER_LOG_LINES} are kept",
                lines.len()
            ));
        }
        self.server_log = lines.into_iter().take(SERVER_LOG_LINES).collect();
    }

    /// The standard figures of a messaging run (direct, fan-out, mixed), from its merged tally;
    /// `expected` deliveries are the sends times their recipients.
    pub fn traffic(&mut self, tally: &Tally, offered_rate: f64, duration_secs: f64, expected: u64) {
        self.metric("offered_rate", offered_rate, "msg/s");
        self.metric("sent", tally.sent as f64, "msgs");
        self.metric("sent_per_sec", tally.sent as f64 / duration_secs, "msg/s");
        self.metric("acked", tally.acked as f64, "msgs");
        self.metric("acked_per_sec", tally.acked as f64 / duration_secs, "msg/s");
        self.metric("expected_deliveries", expected as f64, "deliveries");
        self.metric("delivered", tally.delivered as f64, "deliveries");
        self.metric("delivered_per_sec", tally.delivered_in_window as f64 / duration_secs, "deliveries/s");
        self.metric("missing_deliveries", expected.saturating_sub(tally.delivered) as f64, "deliveries");
        if tally.stale > 0 {
            self.metric("stale_deliveries", tally.stale as f64, "deliveries");
        }
        self.metric("errors", tally.error_count() as f64, "");
        self.latency("delivery", &tally.delivery);
        self.latency("ack", &tally.ack);
        self.latency("send_lag", &tally.send_lag);
        self.latency("reconnect", &tally.reconnect);
        for (kind, n) in &tally.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
    }

    fn file_stem(&self) -> String {
        let stamp: String = self.started_at.chars().filter(|c| c.is_ascii_digit()).take(14).collect();
        // Steps of a sweep may start within one second: the rate tells their files apart.
        match self.params.get("rate").and_then(|r| r.as_f64()) {
            Some(rate) => format!("{stamp}-{}-{}-r{rate}", self.scenario, self.target),
            None => format!("{stamp}-{}-{}", self.scenario, self.target),
        }
    }

    /// Writes `<stem>.json` and, when there are latencies, `<stem>-latency.svg` into `dir`.
    pub fn save(&mut self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        self.finished_at = now_rfc3339();
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let stem = self.file_stem();
        let json = dir.join(format!("{stem}.json"));
        std::fs::write(&json, serde_json::to_string_pretty(self)?)?;
        let mut written = vec![json];
        let series: Vec<svg::Series> = ["delivery", "ack", "history_page", "sync"]
            .iter()
            .filter_map(|name| self.curves.get(*name).map(|c| (*name, c)))
            .map(|(name, curve)| svg::Series {
                label: format!("{} {name}", self.target),
                points: curve.iter().map(|&(q, us)| (q, us as f64)).collect(),
            })
            .collect();
        if !series.is_empty() {
            let path = dir.join(format!("{stem}-latency.svg"));
            let title = format!("{} on {}: latency by percentile", self.scenario, self.target);
            std::fs::write(&path, svg::percentile_plot(&title, &series))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// `k=v` pairs of a JSON object, for one line of text.
pub fn params_line(params: &serde_json::Value) -> String {
    match params.as_object() {
        Some(map) => {
            map.iter().map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"'))).collect::<Vec<_>>().join(" ")
        }
        None => params.to_string(),
    }
}

/// A number for a table: integers as such, small values with two decimals.
pub fn format_value(value: f64) -> String {
    if value.fract() == 0.0 || value.abs() >= 100.0 { format!("{:.0}", value) } else { format!("{value:.2}") }
}

/// The run as Markdown: a heading, the parameters, its figures and its latencies.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### {} on {} ({})\n", report.scenario, report.target, report.started_at);
    let _ = writeln!(md, "Parameters: `{}`\n", params_line(&report.params));
    let _ = writeln!(md, "| figure | value |\n|---|---:|");
    for metric in &report.metrics {
        let unit = if metric.unit.is_empty() { String::new() } else { format!(" {}", metric.unit) };
        let _ = writeln!(md, "| {} | {}{unit} |", metric.name, format_value(metric.value));
    }
    if !report.latency_us.is_empty() {
        let _ = writeln!(
            md,
            "\n| latency (µs) | count | mean | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        );
        for row in &report.latency_us {
            let s = &row.summary;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                row.name,
                s.count,
                format_value(s.mean),
                s.p50,
                s.p90,
                s.p99,
                s.p999,
                s.max
            );
        }
    }
    let errors = if report.errors.is_empty() {
        "none".to_string()
    } else {
        report.errors.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(md, "\nErrors: {errors}");
    for note in &report.notes {
        let _ = writeln!(md, "\nNote: {note}");
    }
    if !report.server_log.is_empty() {
        let _ = writeln!(md, "\nServer log (warnings/errors):\n```\n{}\n```", report.server_log.join("\n"));
    }
    md
}

/// One line per run of a sweep: target, offered and achieved rates, delivery percentiles.
pub fn sweep_table(reports: &[Report]) -> String {
    let mut md = String::from(
        "| target | offered msg/s | sent/s | delivered/s | p50 µs | p99 µs | p99.9 µs | max µs | missing | errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in reports {
        let get = |name: &str| r.get(name).map(format_value).unwrap_or_else(|| "–".into());
        let s = r.summary_of("delivery").cloned().unwrap_or_default();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.target,
            get("offered_rate"),
            get("sent_per_sec"),
            get("delivered_per_sec"),
            s.p50,
            s.p99,
            s.p999,
            s.max,
            get("missing_deliveries"),
            get("errors")
        );
    }
    md
}

/// Confab next to a peer (NATS, Socket.IO) for the same parameters, with Confab's figure
/// divided by the peer's.
pub fn comparison_table(confab: &Report, peer: &Report) -> String {
    let name = &peer.target;
    let mut md = format!("| figure | confab | {name} | confab / {name} |\n|---|---:|---:|---:|\n");
    let mut row = |name: &str, a: Option<f64>, b: Option<f64>| {
        let cell = |v: Option<f64>| v.map(format_value).unwrap_or_else(|| "–".into());
        let ratio = match (a, b) {
            (Some(a), Some(b)) if b != 0.0 => format!("{:.2}×", a / b),
            _ => "–".into(),
        };
        let _ = writeln!(md, "| {name} | {} | {} | {ratio} |", cell(a), cell(b));
    };
    for metric in ["delivered_per_sec", "missing_deliveries", "errors", "server_cpu", "bench_cpu", "server_rss_end"] {
        row(metric, confab.get(metric), peer.get(metric));
    }
    let (a, b) = (confab.summary_of("delivery"), peer.summary_of("delivery"));
    type Pick = fn(&Summary) -> u64;
    let picks: [(&str, Pick); 5] = [
        ("delivery p50 µs", |s| s.p50),
        ("delivery p90 µs", |s| s.p90),
        ("delivery p99 µs", |s| s.p99),
        ("delivery p99.9 µs", |s| s.p999),
        ("delivery max µs", |s| s.max),
    ];
    for (name, pick) in picks {
        row(name, a.map(|s| pick(s) as f64), b.map(|s| pick(s) as f64));
    }
    md
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn sample() -> Report {
        let machine = Machine { cores: 2, cpu: None, memory_mib: None, kernel: None, open_files_limit: 20_000 };
        let mut report =
            Report::new("direct", "confab", json!({"users": 10, "rate": 100}), machine, ServerInfo::default());
        let mut tally = Tally { sent: 100, acked: 100, delivered: 98, delivered_in_window: 97, ..Tally::default() };
        for ms in 1..=98 {
            tally.delivery.record(Duration::from_micros(ms * 10));
        }
        tally.error("close_4008");
        report.traffic(&tally, 100.0, 1.0, 100);
        report
    }

    #[test]
    fn traffic_figures_count_missing_deliveries() {
        let report = sample();
        assert_eq!(report.get("missing_deliveries"), Some(2.0));
        assert_eq!(report.get("delivered_per_sec"), Some(97.0));
        assert_eq!(report.summary_of("delivery").map(|s| s.count), Some(98));
        assert!(report.summary_of("ack").is_none(), "empty histograms are left out");
    }

    #[test]
    fn markdown_has_a_figures_table_a_latency_table_and_the_errors() {
        let md = markdown(&sample());
        assert!(md.starts_with("### direct on confab ("));
        assert!(md.contains("Parameters: `rate=100 users=10`"));
        assert!(md.contains("| delivered_per_sec | 97 deliveries/s |"));
        assert!(md.contains("| delivery | 98 |"));
        assert!(md.contains("Errors: close_4008: 1"));
    }

    #[test]
    fn comparisons_divide_confab_by_the_peer() {
        let confab = sample();
        let mut nats = sample();
        nats.target = "nats".into();
        nats.metrics.iter_mut().filter(|m| m.name == "delivered_per_sec").for_each(|m| m.value = 48.5);
        let table = comparison_table(&confab, &nats);
        assert!(table.starts_with("| figure | confab | nats | confab / nats |"), "{table}");
        assert!(table.contains("| delivered_per_sec | 97 | 48.50 | 2.00× |"), "{table}");
        assert!(table.contains("| delivery p50 µs |"));
        let sweep = sweep_table(&[confab, nats]);
        assert_eq!(sweep.lines().count(), 4);
        assert!(sweep.lines().nth(3).unwrap().starts_with("| nats | 100 |"));
    }

    #[test]
    fn values_are_formatted_for_reading() {
        assert_eq!(format_value(5000.0), "5000");
        assert_eq!(format_value(1234.567), "1235");
        assert_eq!(format_value(5.4321), "5.43");
    }

    #[test]
    fn saving_writes_json_and_a_plot() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = sample();
        let written = report.save(dir.path()).unwrap();
        assert_eq!(written.len(), 2);
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
        assert_eq!(json["scenario"], "direct");
        assert_eq!(json["latency_us"][0]["name"], "delivery");
        assert!(std::fs::read_to_string(&written[1]).unwrap().contains("<polyline"));
    }
}
