//! Rate limits: a token bucket per key (a client IP, a username), held in memory — or, in a
//! cluster, a fixed-window counter per key in Redis, so that every node counts the same attempts.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// Allows `burst` events at once per key, refilled evenly over `period`.
pub struct RateLimiter {
    burst: f64,
    refill_per_sec: f64,
    period: Duration,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// `(connection, key prefix)` once the node joins a cluster.
    shared: OnceLock<(ConnectionManager, String)>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Above this many tracked keys, full buckets are forgotten so memory stays bounded.
const PRUNE_ABOVE: usize = 100_000;

impl RateLimiter {
    pub fn new(burst: u32, period: Duration) -> RateLimiter {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            burst,
            refill_per_sec: burst / period.as_secs_f64().max(0.001),
            period,
            buckets: Mutex::default(),
            shared: OnceLock::new(),
        }
    }

    /// Counts in Redis from now on, under `prefix` (which must name this limiter).
    pub fn share(&self, conn: ConnectionManager, prefix: String) {
        let _ = self.shared.set((conn, prefix));
    }

    /// Like [`RateLimiter::check`], counted cluster-wide when shared. If Redis fails, this
    /// node's own count decides: a Redis outage must not lock everybody out.
    pub async fn check_shared(&self, key: &str) -> Result<(), Duration> {
        let Some((conn, prefix)) = self.shared.get() else { return self.check(key) };
        let period = self.period.as_secs().max(1);
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        let window = now / period;
        let redis_key = format!("{prefix}:{key}:{window}");
        let counted: redis::RedisResult<(u64,)> = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&redis_key)
            .cmd("EXPIRE")
            .arg(&redis_key)
            .arg(period)
            .ignore()
            .query_async(&mut conn.clone())
            .await;
        match counted {
            Ok((count,)) if count as f64 > self.burst => Err(Duration::from_secs((window + 1) * period - now)),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "shared rate limit unavailable; counting on this node");
                self.check(key)
            }
        }
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (burst, rate) = (self.burst, self.refill_per_sec);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: self.burst, updated: now });
        let refilled = bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * self.refill_per_sec;
        bucket.tokens = refilled.min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.refill_per_sec))
        }
    }
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
}
