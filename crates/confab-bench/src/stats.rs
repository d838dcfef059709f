//! What a run measured: latency histograms (HdrHistogram, in microseconds) and counters, kept
//! per connection task and merged at the end so that recording never contends on a lock.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency recorded exactly: ten minutes (fits a `u32` of µs). Longer ones are clamped
/// (and show as max).
const MAX_TRACKED_US: u64 = 600_000_000;

/// A latency distribution in microseconds, reported with 3 significant digits.
///
/// Each connection task keeps its raw samples and the HdrHistogram is built once, from the
/// merged samples, when a report asks: a histogram of this range is ~300 KB, and one per task
/// and figure made 10,000 sessions cost the bench gigabytes — and its schedule, while it faulted
/// them in.
#[derive(Clone, Default)]
pub struct Latency(Vec<u32>);

impl Latency {
    pub fn record(&mut self, elapsed: Duration) {
        let us = (elapsed.as_micros() as u64).clamp(1, MAX_TRACKED_US);
        self.0.push(us as u32);
    }

    pub fn add(&mut self, other: &Latency) {
        self.0.extend_from_slice(&other.0);
    }

    pub fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn histogram(&self) -> Histogram<u64> {
        // The bounds are constants that hdrhistogram accepts, so this cannot fail.
        let mut h = Histogram::new_with_bounds(1, MAX_TRACKED_US, 3).expect("valid histogram bounds");
        for &us in &self.0 {
            h.saturating_record(u64::from(us));
        }
        h
    }

    pub fn summary(&self) -> Summary {
        let h = self.histogram();
        let q = |p: f64| if h.is_empty() { 0 } else { h.value_at_quantile(p) };
        Summary {
            count: h.len(),
            mean: if h.is_empty() { 0.0 } else { (h.mean() * 10.0).round() / 10.0 },
            p50: q(0.50),
            p90: q(0.90),
            p99: q(0.99),
            p999: q(0.999),
            max: if h.is_empty() { 0 } else { h.max() },
        }
    }

    /// Points `(quantile, µs)` of the percentile curve, denser towards the tail, for plots.
    pub fn curve(&self) -> Vec<(f64, u64)> {
        let h = self.histogram();
        if h.is_empty() {
            return Vec::new();
        }
        let mut points: Vec<(f64, u64)> =
            h.iter_quantiles(5).map(|v| (v.quantile_iterated_to(), v.value_iterated_to())).collect();
        points.dedup_by(|a, b| a.0 == b.0);
        points
    }
}

/// The percentiles a report shows, in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// Everything one connection task counted. Merged into one for the report.
#[derive(Clone, Default)]
pub struct Tally {
    /// From the intended send time to the `message.created` (or NATS `MSG`) at a recipient.
    pub delivery: Latency,
    /// From the intended send time to the sender's `ack`.
    pub ack: Latency,
    /// How late the generator sent, behind the schedule: if this grows, the bench is the limit.
    pub send_lag: Latency,
    /// From starting a reconnect to the `ready` frame (mixed scenario).
    pub reconnect: Latency,
    pub sent: u64,
    /// `sent`, by the client's target index (the mixed scenario's direct and group messages).
    pub sent_by_target: Vec<u64>,
    pub acked: u64,
    pub delivered: u64,
    /// Deliveries that arrived before the end of the send window (for the rate).
    pub delivered_in_window: u64,
    /// Deliveries of one's own messages (Confab echoes them to the sender's session).
    pub echoes: u64,
    /// Deliveries of messages sent before this run started (a previous step of a sweep).
    pub stale: u64,
    pub typing_received: u64,
    pub reconnects: u64,
    /// Refusals and failures by kind: error codes of `error` frames, `close_4008`, `send_failed`.
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    pub fn count_send(&mut self, target: usize) {
        self.sent += 1;
        if self.sent_by_target.len() <= target {
            self.sent_by_target.resize(target + 1, 0);
        }
        self.sent_by_target[target] += 1;
    }

    pub fn merge(&mut self, other: &Tally) {
        self.delivery.add(&other.delivery);
        self.ack.add(&other.ack);
        self.send_lag.add(&other.send_lag);
        self.reconnect.add(&other.reconnect);
        self.sent += other.sent;
        if self.sent_by_target.len() < other.sent_by_target.len() {
            self.sent_by_target.resize(other.sent_by_target.len(), 0);
        }
        for (mine, theirs) in self.sent_by_target.iter_mut().zip(&other.sent_by_target) {
            *mine += theirs;
        }
        self.acked += other.acked;
        self.delivered += other.delivered;
        self.delivered_in_window += other.delivered_in_window;
        self.echoes += other.echoes;
        self.stale += other.stale;
        self.typing_received += other.typing_received;
        self.reconnects += other.reconnects;
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_values() {
        let mut latency = Latency::default();
        for us in 1..=1000u64 {
            latency.record(Duration::from_micros(us));
        }
        let s = latency.summary();
        assert_eq!(s.count, 1000);
        assert_eq!((s.p50, s.p90, s.p99, s.max), (500, 900, 990, 1000));
        assert!((s.mean - 500.5).abs() < 1.0);
    }

    #[test]
    fn merged_tallies_add_counts_and_distributions() {
        let mut a = Tally::default();
        a.count_send(0);
        a.count_send(1);
        a.delivery.record(Duration::from_millis(1));
        a.error("close_4008");
        let mut b = Tally::default();
        b.count_send(0);
        b.count_send(0);
        b.count_send(0);
        b.delivery.record(Duration::from_millis(3));
        b.error("close_4008");
        a.merge(&b);
        assert_eq!(a.sent, 5);
        assert_eq!(a.sent_by_target, [4, 1]);
        assert_eq!(a.delivery.len(), 2);
        assert_eq!(a.errors["close_4008"], 2);
        assert_eq!(a.error_count(), 2);
    }

    #[test]
    fn an_empty_histogram_summarizes_to_zeros_and_no_curve() {
        let latency = Latency::default();
        assert_eq!(latency.summary(), Summary::default());
        assert!(latency.curve().is_empty());
    }

    #[test]
    fn the_curve_rises_and_reaches_the_maximum() {
        let mut latency = Latency::default();
        for us in [100u64, 200, 300, 5000] {
            latency.record(Duration::from_micros(us));
        }
        let curve = latency.curve();
        assert!(curve.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(curve.last().map(|p| p.1), Some(latency.summary().max));
    }
}
