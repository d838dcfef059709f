//! The open-loop load engine shared by Confab and the peers: every simulated user runs one task that
//! sends on a fixed schedule and records what arrives.
//!
//! Open loop on purpose: a send happens at its scheduled time whether or not earlier ones were
//! answered, and latency is measured from the *intended* send time carried in the message body.
//! A closed-loop generator would wait out a stall and quietly leave the stalled requests out of
//! the histogram (coordinated omission); this one counts them.
//!
//! Tokio's timer fires on millisecond ticks, up to a millisecond after the deadline, which would
//! add that much to every latency. So the timer is set [`TIMER_SLACK`] early and a message is
//! stamped with the earlier of its intended time and the moment it actually leaves: an early
//! wake-up is measured from the real send, and a late one (the bench falling behind) is still
//! charged from the intended time, in full.

use std::time::{Duration, Instant};

use crate::stats::Tally;

/// How much earlier than a send is due the timer is set.
pub const TIMER_SLACK: Duration = Duration::from_millis(1);

/// Microseconds since the start of the bench process, the unit of the stamps in bodies.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock { epoch: Instant::now() }
    }

    pub fn us(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64
    }

    pub fn at(&self, us: u64) -> Instant {
        self.epoch + Duration::from_micros(us)
    }
}

/// What the body of a bench message says: when it was meant to leave and who sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub intended_us: u64,
    pub sender: u32,
}

/// A body of about `bytes` bytes: `t=<µs> s=<sender> xxxx…`. Only ASCII letters, digits, `=`
/// and spaces, so it can be written into JSON and NATS frames without escaping.
pub fn stamped_body(stamp: Stamp, bytes: usize) -> String {
    let mut body = format!("t={} s={} ", stamp.intended_us, stamp.sender);
    while body.len() < bytes {
        body.push('x');
    }
    body
}

/// Reads the stamp back; `None` for bodies the bench did not write (system entries, others').
pub fn parse_stamp(body: &[u8]) -> Option<Stamp> {
    let rest = body.strip_prefix(b"t=")?;
    let (intended_us, rest) = leading_number(rest)?;
    let rest = rest.strip_prefix(b" s=")?;
    let (sender, _) = leading_number(rest)?;
    Some(Stamp { intended_us, sender: u32::try_from(sender).ok()? })
}

fn leading_number(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let text = std::str::from_utf8(&bytes[..digits]).ok()?;
    Some((text.parse().ok()?, &bytes[digits..]))
}

/// Something a user does on a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A message into the client's target number `target` (a conversation or a subject).
    Send { target: usize },
    /// A typing notice into target `target` (Confab only).
    Typing { target: usize },
    /// Close the session and open a new one (presence churn; Confab only).
    Reconnect,
}

/// An action repeated every `interval`, next due at `next`.
#[derive(Clone, Copy, Debug)]
pub struct Periodic {
    pub action: Action,
    pub next: Instant,
    pub interval: Duration,
}

/// What a client read, reduced to what the bench counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A message delivered (to a recipient, or echoed to its sender).
    Delivery(Stamp),
    /// The answer to one of this client's commands, with the stamp of the message it stored.
    Ack(Option<Stamp>),
    Typing,
    /// A refusal (`error` frame, NATS `-ERR`), by code.
    Error(String),
    /// The connection is gone; the reason, e.g. `close_4008`.
    Closed(String),
    Other,
}

/// One side of the bench: a connection that can act and be read. Implemented by the lean
/// Confab client and the peers' clients (NATS, Socket.IO).
pub trait LoadClient: Send + 'static {
    /// The next frame worth counting. Must be cancel-safe: it races against the send timer.
    fn next_inbound(&mut self) -> impl Future<Output = Inbound> + Send;

    /// Performs `action` with `body` (for sends). A failure is counted under the returned name.
    fn perform(
        &mut self,
        action: Action,
        body: &str,
        tally: &mut Tally,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// The time frame of one run: sends are scheduled in `[start, send_end)`, and the tasks keep
/// reading until `end` so that late deliveries are still counted.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub clock: Clock,
    pub start: Instant,
    pub send_end: Instant,
    pub end: Instant,
    pub body_bytes: usize,
}

impl Window {
    pub fn new(clock: Clock, lead: Duration, duration: Duration, drain: Duration, body_bytes: usize) -> Window {
        let start = Instant::now() + lead;
        Window { clock, start, send_end: start + duration, end: start + duration + drain, body_bytes }
    }
}

/// Even spacing for `senders` users sharing a total `rate`: user `k` first sends at
/// `start + k / rate`, then every `senders / rate`, so that the sends of all users interleave
/// into one steady stream.
pub fn schedule_for(k: usize, senders: usize, rate: f64, start: Instant, action: Action) -> Periodic {
    let rate = rate.max(1e-6);
    Periodic {
        action,
        next: start + Duration::from_secs_f64(k as f64 / rate),
        interval: Duration::from_secs_f64(senders as f64 / rate),
    }
}

/// Runs one user for the window: acts on schedule, records what arrives. Gives the client back
/// so that a sweep can reuse its connections for the next rate.
pub async fn drive<C: LoadClient>(mut client: C, me: u32, mut schedule: Vec<Periodic>, window: Window) -> (C, Tally) {
    let mut tally = Tally::default();
    // Early wake-ups stamp up to TIMER_SLACK before the start; those still belong to this run.
    let start_us = window.clock.us(window.start.checked_sub(TIMER_SLACK).unwrap_or(window.start));
    let timer = tokio::time::sleep_until(window.end.into());
    tokio::pin!(timer);
    loop {
        let due = (0..schedule.len()).filter(|&i| schedule[i].next < window.send_end).min_by_key(|&i| schedule[i].next);
        let wake = due.map_or(window.end, |i| schedule[i].next.checked_sub(TIMER_SLACK).unwrap_or(schedule[i].next));
        if timer.deadline() != wake.into() {
            timer.as_mut().reset(wake.into());
        }
        tokio::select! {
            inbound = client.next_inbound() => {
                if !record(&mut tally, inbound, me, start_us, &window) {
                    break;
                }
            }
            () = &mut timer => {
                let Some(i) = due else { break };
                let Periodic { action, next: intended, interval } = schedule[i];
                schedule[i].next += interval;
                let now = Instant::now();
                tally.send_lag.record(now.saturating_duration_since(intended));
                let stamp = Stamp { intended_us: window.clock.us(intended.min(now)), sender: me };
                let body = match action {
                    Action::Send { .. } => stamped_body(stamp, window.body_bytes),
                    _ => String::new(),
                };
                match (client.perform(action, &body, &mut tally).await, action) {
                    (Ok(()), Action::Send { target }) => tally.count_send(target),
                    (Ok(()), _) => {}
                    (Err(kind), _) => tally.error(kind),
                }
            }
        }
    }
    (client, tally)
}

/// Counts one inbound frame; false once the connection is gone.
fn record(tally: &mut Tally, inbound: Inbound, me: u32, start_us: u64, window: &Window) -> bool {
    let now = Instant::now();
    let since = |stamp: Stamp| now.saturating_duration_since(window.clock.at(stamp.intended_us));
    match inbound {
        Inbound::Delivery(stamp) if stamp.sender == me => tally.echoes += 1,
        Inbound::Delivery(stamp) if stamp.intended_us < start_us => tally.stale += 1,
        Inbound::Delivery(stamp) => {
            tally.delivered += 1;
            tally.delivery.record(since(stamp));
            if now <= window.send_end {
                tally.delivered_in_window += 1;
            }
        }
        Inbound::Ack(Some(stamp)) if stamp.intended_us >= start_us => {
            tally.acked += 1;
            tally.ack.record(since(stamp));
        }
        Inbound::Ack(_) => {}
        Inbound::Typing => tally.typing_received += 1,
        Inbound::Error(code) => tally.error(code),
        Inbound::Closed(reason) => {
            tally.error(reason);
            return false;
        }
        Inbound::Other => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_survive_the_body() {
        let stamp = Stamp { intended_us: 123_456_789, sender: 42 };
        let body = stamped_body(stamp, 50);
        assert_eq!(body.len(), 50);
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b' '));
        assert_eq!(parse_stamp(body.as_bytes()), Some(stamp));
        assert_eq!(parse_stamp(b""), None);
        assert_eq!(parse_stamp(b"hello"), None);
        assert_eq!(parse_stamp(b"t=12 s="), None);
    }

    #[test]
    fn senders_interleave_into_one_steady_stream() {
        let start = Instant::now();
        let rate = 1000.0;
        let firsts: Vec<Duration> =
            (0..4).map(|k| schedule_for(k, 4, rate, start, Action::Send { target: 0 }).next - start).collect();
        assert_eq!(firsts, [0, 1, 2, 3].map(Duration::from_millis));
        assert_eq!(schedule_for(0, 4, rate, start, Action::Reconnect).interval, Duration::from_millis(4));
    }

    #[test]
    fn own_echoes_and_earlier_runs_do_not_count_as_deliveries() {
        let clock = Clock::new();
        let window = Window::new(clock, Duration::from_millis(10), Duration::from_secs(1), Duration::ZERO, 50);
        let start_us = clock.us(window.start);
        let mut tally = Tally::default();
        assert!(record(
            &mut tally,
            Inbound::Delivery(Stamp { intended_us: start_us, sender: 1 }),
            1,
            start_us,
            &window
        ));
        let stale = Stamp { intended_us: start_us - 1, sender: 2 };
        assert!(record(&mut tally, Inbound::Delivery(stale), 1, start_us, &window));
        assert!(record(
            &mut tally,
            Inbound::Delivery(Stamp { intended_us: start_us + 1, sender: 2 }),
            1,
            start_us,
            &window
        ));
        assert!(!record(&mut tally, Inbound::Closed("close_4008".into()), 1, start_us, &window));
        assert_eq!((tally.echoes, tally.stale, tally.delivered, tally.errors["close_4008"]), (1, 1, 1, 1));
    }
}
