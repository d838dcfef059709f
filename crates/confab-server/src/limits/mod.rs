//! Rate limits: a token bucket per key (a client IP, a username, a user id), held in memory
//! (`local.rs`) — or, in a cluster, a fixed-window counter per key in Redis (`redis.rs`), so that
//! every node counts the same attempts. `traffic.rs` holds the limits on what connected users
//! send (messages, commands, tickets, sockets).

mod local;
mod redis;
mod traffic;

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use ::redis::aio::ConnectionManager;

pub use traffic::{SocketPermit, Traffic};

/// Allows `burst` events at once per key, refilled evenly over `period`.
pub struct RateLimiter {
    local: local::Buckets,
    burst: u32,
    period: Duration,
    /// Set once the node joins a cluster.
    shared: OnceLock<redis::Window>,
}

impl RateLimiter {
    pub fn new(burst: u32, period: Duration) -> RateLimiter {
        let burst = burst.max(1);
        RateLimiter { local: local::Buckets::new(burst, period), burst, period, shared: OnceLock::new() }
    }

    pub fn from_rate(rate: Rate) -> RateLimiter {
        RateLimiter::new(rate.count, rate.period)
    }

    /// Counts in Redis from now on, under `prefix` (which must name this limiter).
    pub fn share(&self, conn: ConnectionManager, prefix: String) {
        let _ = self.shared.set(redis::Window::new(conn, prefix, self.burst, self.period));
    }

    /// Like [`RateLimiter::check`], counted cluster-wide when shared. If Redis fails, this
    /// node's own count decides: a Redis outage must not lock everybody out.
    pub async fn check_shared(&self, key: &str) -> Result<(), Duration> {
        let Some(window) = self.shared.get() else { return self.check(key) };
        match window.take(key).await {
            Ok(verdict) => verdict,
            Err(e) => {
                tracing::warn!(error = %e, "shared rate limit unavailable; counting on this node");
                self.check(key)
            }
        }
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.local.take(key)
    }
}

/// `count` events per `period`, written `"300/10s"`, `"30/min"`, `"1000/h"`; `"off"` (or a
/// count of 0) for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn per_secs(count: u32, secs: u64) -> Rate {
        Rate { count, period: Duration::from_secs(secs) }
    }

    pub const OFF: Rate = Rate::per_secs(0, 1);

    pub fn is_off(self) -> bool {
        self.count == 0
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(Rate::OFF);
        }
        let bad = || format!("{text:?} is not a rate like \"300/10s\", \"30/min\" or \"off\"");
        let (count, per) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        let digits = per.find(|c: char| !c.is_ascii_digit()).unwrap_or(per.len());
        let (n, unit) = per.split_at(digits);
        let n: u64 = if n.is_empty() { 1 } else { n.parse().map_err(|_| bad())? };
        let unit_secs = match unit {
            "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        if n == 0 {
            return Err(bad());
        }
        Ok(Rate { count, period: Duration::from_secs(n * unit_secs) })
    }
}

impl TryFrom<String> for Rate {
    type Error = String;

    fn try_from(text: String) -> Result<Rate, String> {
        text.parse()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_off() { f.write_str("off") } else { write!(f, "{}/{}s", self.count, self.period.as_secs()) }
    }
}

/// Whole seconds to wait, rounded up and at least 1: what `Retry-After` and `retry_after` say.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_per_key() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        let wait = limiter.check("a").unwrap_err();
        assert!(wait > Duration::from_secs(10) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limiter.check("b").is_ok(), "keys are independent");
    }

    #[test]
    fn rates_are_written_count_slash_period() {
        assert_eq!("300/10s".parse::<Rate>().unwrap(), Rate::per_secs(300, 10));
        assert_eq!("30/min".parse::<Rate>().unwrap(), Rate::per_secs(30, 60));
        assert_eq!("5/2m".parse::<Rate>().unwrap(), Rate::per_secs(5, 120));
        assert!("off".parse::<Rate>().unwrap().is_off());
        assert!("0/s".parse::<Rate>().unwrap().is_off());
        for bad in ["", "10", "10/", "x/s", "10/0s", "10/d", "-1/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(200)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2100)), 3);
    }
}
