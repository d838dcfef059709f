//! A counter per key in Redis whose window opens with the key's first event: every node of a
//! cluster counts into the same key, so one user's budget is shared however their requests are
//! spread. `SET NX PX`, `INCR` and `PTTL` run as one transaction, so a key never lives without
//! its expiry, and the expiry says how long a refused caller waits.

use std::time::Duration;

use redis::aio::ConnectionManager;

pub struct Window {
    conn: ConnectionManager,
    prefix: String,
    limit: u64,
    period_ms: u64,
}

impl Window {
    pub fn new(conn: ConnectionManager, prefix: String, limit: u32, period: Duration) -> Window {
        let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX).max(1);
        Window { conn, prefix, limit: u64::from(limit), period_ms }
    }

    /// Counts one event for `key`; the inner `Err` is the wait until the window ends when the
    /// budget is spent.
    pub async fn take(&self, key: &str) -> redis::RedisResult<Result<(), Duration>> {
        let redis_key = format!("{}:{key}", self.prefix);
        let (count, ttl_ms): (u64, i64) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&redis_key)
            .arg(0)
            .arg("PX")
            .arg(self.period_ms)
            .arg("NX")
            .ignore()
            .cmd("INCR")
            .arg(&redis_key)
            .cmd("PTTL")
            .arg(&redis_key)
            .query_async(&mut self.conn.clone())
            .await?;
        if count > self.limit {
            let wait = u64::try_from(ttl_ms).unwrap_or(self.period_ms);
            return Ok(Err(Duration::from_millis(wait)));
        }
        Ok(Ok(()))
    }
}
