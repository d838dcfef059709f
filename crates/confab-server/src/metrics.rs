//! This node's Prometheus metrics: counters and a histogram as plain atomics, and the one place
//! that renders them in the text exposition format 0.0.4 ([`Metrics::render`], served at
//! `GET /metrics` by `http::metrics`). Every series carries `node="<node id>"`.
//!
//! Why hand-rolled rather than the `metrics` crate or the `prometheus` default registry: both
//! install one recorder for the whole process, and the cluster tests run several nodes — several
//! `App`s — in one process, each of which must report its own numbers under its own `node`
//! label. So the registry is a value like every other service: built once in `App::build`, held
//! by `App` and shared as `Arc<Metrics>` with the hub, the bus and the gateway. No globals.
//!
//! Updating is one relaxed atomic add, no lock and no allocation; label sets are fixed (HTTP
//! method × status class, command type, bus error reason), so the number of series is bounded
//! whatever clients send. Values computed at scrape time (open connections, uptime) are not
//! stored here: the caller passes them in [`Gauges`].

use std::fmt::{Display, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use confab_proto::frames::Command;

/// The `content-type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Upper bounds (seconds) of the gateway's command latency buckets.
pub const COMMAND_SECONDS_BUCKETS: [f64; 12] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// A monotonic counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A latency histogram with fixed bounds. Each bucket counts only its own range; rendering
/// makes them cumulative, and `_count` is the `+Inf` bucket, so the two always agree.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One per bound, then the overflow bucket (`+Inf` only).
    buckets: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "bounds must increase");
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let at = self.bounds.iter().position(|&le| secs <= le).unwrap_or(self.bounds.len());
        self.buckets[at].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Cumulative counts, one per bound and the last for `+Inf`; and the sum in seconds.
    fn snapshot(&self) -> (Vec<u64>, f64) {
        let mut total = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                total += b.load(Ordering::Relaxed);
                total
            })
            .collect();
        (cumulative, self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9)
    }
}

/// Why the cluster bus lost or could not read an envelope (`confab_bus_errors_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusError {
    /// The publisher's queue was full; the envelope was dropped.
    QueueFull,
    /// Redis refused or did not answer a PUBLISH.
    Publish,
    /// An envelope from Redis could not be decoded.
    Unreadable,
    /// A conversation version that never arrived here in time and was skipped (a lost event,
    /// counted by the receiving node; its recipients were told to resync).
    Gap,
    /// A conversation version that arrived after later ones had been delivered (dropped; its
    /// recipients were told to resync).
    Late,
    /// The subscription to the bus was interrupted (Redis went away); this node's sessions were
    /// told to resync once it was back.
    Interrupted,
}

impl BusError {
    const ALL: [BusError; 6] = [
        BusError::QueueFull,
        BusError::Publish,
        BusError::Unreadable,
        BusError::Gap,
        BusError::Late,
        BusError::Interrupted,
    ];

    fn label(self) -> &'static str {
        match self {
            BusError::QueueFull => "queue_full",
            BusError::Publish => "publish",
            BusError::Unreadable => "unreadable",
            BusError::Gap => "gap",
            BusError::Late => "late",
            BusError::Interrupted => "interrupted",
        }
    }
}

/// HTTP methods counted by name; anything else is `other` (methods are client-chosen strings).
const METHODS: [&str; 8] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Values read at scrape time from the services that own them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// `Hub::connection_count`.
    pub websocket_connections: usize,
}

/// The node's counters. Unlabelled counters are public fields (`metrics.events_published.inc()`);
/// labelled ones are recorded through a method that maps the label to its fixed slot.
#[derive(Debug)]
pub struct Metrics {
    node: u16,
    cluster: bool,
    started: Instant,
    /// WebSockets registered with the hub.
    pub websocket_connections_opened: Counter,
    /// Connections closed with 4008 because their outbound queue overflowed.
    pub websocket_closed_slow_consumer: Counter,
    /// `Hub::publish` calls.
    pub events_published: Counter,
    /// Event frames queued on this node's connections, whether published here or received over
    /// the bus.
    pub event_deliveries: Counter,
    /// Envelopes this node published to Redis.
    pub bus_envelopes_sent: Counter,
    /// Envelopes from other nodes that this node applied.
    pub bus_envelopes_received: Counter,
    /// Messages committed to the store (`confab_messages_stored_total`), counted by
    /// `Messages::send` once per new row — not for an idempotent retry that returned the first.
    messages_stored: Counter,
    bus_errors: [Counter; BusError::ALL.len()],
    http_requests: [[Counter; STATUS_CLASSES.len()]; METHODS.len()],
    gateway_commands: [Counter; Command::KINDS.len()],
    gateway_command_errors: [Counter; Command::KINDS.len()],
    gateway_command_seconds: Histogram,
}

/// Detached metrics (node 0, not clustered), for a `Hub::default()` in unit tests.
impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(0, false)
    }
}

impl Metrics {
    pub fn new(node: u16, cluster: bool) -> Metrics {
        Metrics {
            node,
            cluster,
            started: Instant::now(),
            websocket_connections_opened: Counter::default(),
            websocket_closed_slow_consumer: Counter::default(),
            events_published: Counter::default(),
            event_deliveries: Counter::default(),
            bus_envelopes_sent: Counter::default(),
            bus_envelopes_received: Counter::default(),
            messages_stored: Counter::default(),
            bus_errors: Default::default(),
            http_requests: Default::default(),
            gateway_commands: Default::default(),
            gateway_command_errors: Default::default(),
            gateway_command_seconds: Histogram::new(&COMMAND_SECONDS_BUCKETS),
        }
    }

    /// Counts `n` messages newly committed by the messages service.
    pub fn messages_stored(&self, n: u64) {
        self.messages_stored.add(n);
    }

    pub fn bus_error(&self, error: BusError) {
        self.bus_errors_add(error, 1);
    }

    pub fn bus_errors_add(&self, error: BusError, n: u64) {
        self.bus_errors[error as usize].add(n);
    }

    /// Counts one answered HTTP request by method and status class (never by path: paths
    /// carry ids, which would make a series per conversation).
    pub fn http_request(&self, method: &str, status: u16) {
        let method = METHODS.iter().position(|m| *m == method).unwrap_or(METHODS.len() - 1);
        let class = usize::from(status / 100).clamp(1, STATUS_CLASSES.len()) - 1;
        self.http_requests[method][class].inc();
    }

    /// Records one gateway command of type `kind` (a [`Command::kind`]) that took `elapsed`.
    pub fn gateway_command(&self, kind: &str, elapsed: Duration, ok: bool) {
        if let Some(at) = Command::KINDS.iter().position(|k| *k == kind) {
            self.gateway_commands[at].inc();
            if !ok {
                self.gateway_command_errors[at].inc();
            }
        }
        self.gateway_command_seconds.observe(elapsed);
    }

    /// The whole exposition, `# HELP` and `# TYPE` before each family.
    pub fn render(&self, gauges: &Gauges) -> String {
        let node = self.node.to_string();
        let mut out = Exposition { out: String::with_capacity(8 * 1024), node: &node };

        out.family("confab_node_info", "gauge", "This node: id, version, whether it runs in a cluster.");
        let cluster = if self.cluster { "true" } else { "false" };
        out.sample("confab_node_info", &[("version", env!("CARGO_PKG_VERSION")), ("cluster", cluster)], 1);
        out.family("confab_uptime_seconds", "gauge", "Seconds since this node started.");
        out.sample("confab_uptime_seconds", &[], self.started.elapsed().as_secs_f64());

        out.family("confab_websocket_connections", "gauge", "WebSocket connections open on this node.");
        out.sample("confab_websocket_connections", &[], gauges.websocket_connections);
        out.counter(
            "confab_websocket_connections_opened_total",
            "WebSocket connections opened.",
            &self.websocket_connections_opened,
        );
        out.counter(
            "confab_websocket_closed_slow_consumer_total",
            "WebSocket connections closed with 4008 because their outbound queue overflowed.",
            &self.websocket_closed_slow_consumer,
        );

        out.counter(
            "confab_events_published_total",
            "Events published by this node's services.",
            &self.events_published,
        );
        out.counter(
            "confab_event_deliveries_total",
            "Event frames queued on this node's connections, from this node or over the bus.",
            &self.event_deliveries,
        );
        out.counter(
            "confab_bus_envelopes_sent_total",
            "Envelopes published to the cluster bus.",
            &self.bus_envelopes_sent,
        );
        out.counter(
            "confab_bus_envelopes_received_total",
            "Envelopes received from other nodes over the cluster bus.",
            &self.bus_envelopes_received,
        );
        out.family("confab_bus_errors_total", "counter", "Cluster bus envelopes dropped or unreadable, by reason.");
        for error in BusError::ALL {
            out.sample("confab_bus_errors_total", &[("reason", error.label())], self.bus_errors[error as usize].get());
        }
        out.counter("confab_messages_stored_total", "Messages committed to the database.", &self.messages_stored);

        out.family("confab_http_requests_total", "counter", "HTTP requests answered, by method and status class.");
        for (method, by_class) in METHODS.iter().zip(&self.http_requests) {
            for (class, counter) in STATUS_CLASSES.iter().zip(by_class) {
                // Only the combinations seen: 40 series of zeros would drown the useful ones.
                if counter.get() > 0 {
                    out.sample("confab_http_requests_total", &[("method", method), ("status", class)], counter.get());
                }
            }
        }

        out.family("confab_gateway_commands_total", "counter", "WebSocket commands executed, by type.");
        for (kind, counter) in Command::KINDS.iter().zip(&self.gateway_commands) {
            out.sample("confab_gateway_commands_total", &[("type", kind)], counter.get());
        }
        out.family(
            "confab_gateway_command_errors_total",
            "counter",
            "WebSocket commands answered with an error, by type.",
        );
        for (kind, counter) in Command::KINDS.iter().zip(&self.gateway_command_errors) {
            out.sample("confab_gateway_command_errors_total", &[("type", kind)], counter.get());
        }
        out.histogram(
            "confab_gateway_command_seconds",
            "Time to execute a WebSocket command, from decoded frame to answer.",
            &self.gateway_command_seconds,
        );
        out.out
    }
}

/// The text format writer: one family at a time, every sample labelled with the node.
struct Exposition<'a> {
    out: String,
    node: &'a str,
}

impl Exposition<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn counter(&mut self, name: &str, help: &str, counter: &Counter) {
        self.family(name, "counter", help);
        self.sample(name, &[], counter.get());
    }

    fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) {
        self.family(name, "histogram", help);
        let (cumulative, sum) = histogram.snapshot();
        let bucket = format!("{name}_bucket");
        for (le, count) in histogram.bounds.iter().zip(&cumulative) {
            self.sample(&bucket, &[("le", &le.to_string())], count);
        }
        let total = cumulative.last().copied().unwrap_or(0);
        self.sample(&bucket, &[("le", "+Inf")], total);
        self.sample(&format!("{name}_sum"), &[], sum);
        self.sample(&format!("{name}_count"), &[], total);
    }

    /// `name{node="…",k="v",…} value`, label values escaped.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        let _ = write!(self.out, "{name}{{node=\"{}\"", escape_label(self.node));
        for (key, value) in labels {
            let _ = write!(self.out, ",{key}=\"{}\"", escape_label(value));
        }
        let _ = writeln!(self.out, "}} {value}");
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape_label(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// `# HELP` text escapes backslash and line feed.
fn escape_help(text: &str) -> String {
    text.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
    }

    #[test]
    fn every_sample_carries_the_node_and_each_family_its_type() {
        let metrics = Metrics::new(7, true);
        metrics.events_published.inc();
        let text = metrics.render(&Gauges { websocket_connections: 3 });
        assert_eq!(line(&text, "confab_websocket_connections{node=\"7\"}"), Some("3"));
        assert_eq!(line(&text, "confab_events_published_total{node=\"7\"}"), Some("1"));
        let info = format!("confab_node_info{{node=\"7\",version=\"{}\",cluster=\"true\"}}", env!("CARGO_PKG_VERSION"));
        assert_eq!(line(&text, &info), Some("1"));
        assert_eq!(line(&text, "confab_messages_stored_total{node=\"7\"}"), Some("0"));
        for sample in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(sample.contains("{node=\"7\""), "{sample}");
            let name = sample.split('{').next().unwrap();
            let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
            assert!(text.contains(&format!("# TYPE {family} ")), "no TYPE for {family}");
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = Exposition { out: String::new(), node: "1" };
        out.sample("x", &[("v", "a\\b\"c\nd")], 2);
        assert_eq!(out.out, "x{node=\"1\",v=\"a\\\\b\\\"c\\nd\"} 2\n");
        assert_eq!(escape_help("one\\two\nthree \"q\""), "one\\\\two\\nthree \"q\"");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let metrics = Metrics::default();
        for ms in [0.2, 0.7, 3.0, 3.0, 40.0, 5000.0] {
            metrics.gateway_command("ping", Duration::from_secs_f64(ms / 1000.0), true);
        }
        let text = metrics.render(&Gauges::default());
        let bucket = |le: &str| {
            let series = format!("confab_gateway_command_seconds_bucket{{node=\"0\",le=\"{le}\"}}");
            line(&text, &series).unwrap_or_else(|| panic!("no bucket {le}")).parse::<u64>().unwrap()
        };
        assert_eq!(bucket("0.0005"), 1);
        assert_eq!(bucket("0.001"), 2);
        assert_eq!(bucket("0.0025"), 2);
        assert_eq!(bucket("0.005"), 4);
        assert_eq!(bucket("0.05"), 5);
        assert_eq!(bucket("2.5"), 5, "5 s is above the last bound");
        assert_eq!(bucket("+Inf"), 6);
        assert_eq!(line(&text, "confab_gateway_command_seconds_count{node=\"0\"}"), Some("6"));
        let sum: f64 = line(&text, "confab_gateway_command_seconds_sum{node=\"0\"}").unwrap().parse().unwrap();
        assert!((sum - 5.0469).abs() < 1e-6, "{sum}");
        let les: Vec<&str> = text.lines().filter(|l| l.starts_with("confab_gateway_command_seconds_bucket")).collect();
        assert_eq!(les.len(), COMMAND_SECONDS_BUCKETS.len() + 1);
        assert!(les.last().unwrap().contains("le=\"+Inf\""), "+Inf comes last");
    }

    #[test]
    fn labels_come_from_fixed_sets() {
        let metrics = Metrics::default();
        metrics.http_request("GET", 200);
        metrics.http_request("GET", 204);
        metrics.http_request("BREW", 418);
        metrics.http_request("POST", 101);
        metrics.gateway_command("message.send", Duration::from_millis(1), false);
        metrics.gateway_command("no.such.kind", Duration::from_millis(1), true);
        metrics.bus_error(BusError::Publish);
        let text = metrics.render(&Gauges::default());
        assert_eq!(line(&text, "confab_http_requests_total{node=\"0\",method=\"GET\",status=\"2xx\"}"), Some("2"));
        assert_eq!(line(&text, "confab_http_requests_total{node=\"0\",method=\"other\",status=\"4xx\"}"), Some("1"));
        assert_eq!(line(&text, "confab_http_requests_total{node=\"0\",method=\"POST\",status=\"1xx\"}"), Some("1"));
        assert_eq!(text.matches("confab_http_requests_total{").count(), 3, "unseen combinations are left out");
        assert_eq!(line(&text, "confab_gateway_commands_total{node=\"0\",type=\"message.send\"}"), Some("1"));
        assert_eq!(line(&text, "confab_gateway_command_errors_total{node=\"0\",type=\"message.send\"}"), Some("1"));
        assert_eq!(line(&text, "confab_gateway_commands_total{node=\"0\",type=\"ping\"}"), Some("0"));
        assert!(!text.contains("no.such.kind"));
        assert_eq!(line(&text, "confab_bus_errors_total{node=\"0\",reason=\"publish\"}"), Some("1"));
        assert_eq!(line(&text, "confab_gateway_command_seconds_count{node=\"0\"}"), Some("2"));
    }
}
