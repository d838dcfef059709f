//! Token buckets in this process's memory: the limit of a single node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Buckets {
    burst: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Above this many tracked keys, full buckets are forgotten so memory stays bounded.
const PRUNE_ABOVE: usize = 100_000;

impl Buckets {
    pub fn new(burst: u32, period: Duration) -> Buckets {
        let burst = f64::from(burst.max(1));
        Buckets { burst, refill_per_sec: burst / period.as_secs_f64().max(0.001), buckets: Mutex::default() }
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
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
