//! A cluster node's id, leased in Redis so that no two live nodes share one.
//!
//! The id is in every generated id (`ids.rs`, 10 bits) and on every bus envelope (a node ignores
//! envelopes carrying its own id), so two nodes with one id would collide on ids and drop each
//! other's events. A node takes `{channel}:node-id:{id}` with `SET NX` and a random token,
//! renews it every third of `presence.node_ttl_secs`, and deletes it on shutdown; a node that
//! dies loses it after the TTL.
//!
//! A configured id that another node holds is waited for during one TTL (the holder may be the
//! previous run of this very node, killed a moment ago) and then refused. Without a configured
//! id the node takes the first free one, starting from a random point.

use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::tasks::Tasks;

/// Ids fit the 10 bits `ids.rs` gives them.
pub const MAX_NODE_ID: u16 = 1023;

/// Renews only our own lease (the token matches); 1 when renewed.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                     return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/// Deletes only our own lease.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                       return redis.call('DEL', KEYS[1]) else return 0 end";

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("node_id {0} is held by another live node of this cluster; give each node its own node_id")]
    Taken(u16),
    #[error("every node id (0..={MAX_NODE_ID}) is held by a live node")]
    NoneFree,
    #[error("cannot lease a node id in Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

pub struct NodeLease {
    conn: ConnectionManager,
    key: String,
    token: String,
    ttl: Duration,
    pub id: u16,
}

impl NodeLease {
    /// Takes `wanted`, or any free id when `None`.
    pub async fn acquire(
        conn: ConnectionManager,
        channel: &str,
        wanted: Option<u16>,
        ttl: Duration,
    ) -> Result<NodeLease, LeaseError> {
        let token = format!("{:032x}", rand::random::<u128>());
        let mut lease = NodeLease { conn, key: String::new(), token, ttl, id: 0 };
        match wanted {
            Some(id) => {
                let deadline = tokio::time::Instant::now() + ttl;
                loop {
                    if lease.try_take(channel, id).await? {
                        return Ok(lease);
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(LeaseError::Taken(id));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            None => {
                let start: u16 = rand::random::<u16>() % (MAX_NODE_ID + 1);
                for offset in 0..=MAX_NODE_ID {
                    let id = (start + offset) % (MAX_NODE_ID + 1);
                    if lease.try_take(channel, id).await? {
                        return Ok(lease);
                    }
                }
                Err(LeaseError::NoneFree)
            }
        }
    }

    async fn try_take(&mut self, channel: &str, id: u16) -> redis::RedisResult<bool> {
        let key = format!("{channel}:node-id:{id}");
        let taken: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&self.token)
            .arg("NX")
            .arg("PX")
            .arg(self.ttl_ms())
            .query_async(&mut self.conn)
            .await?;
        if taken.is_some() {
            self.key = key;
            self.id = id;
        }
        Ok(taken.is_some())
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX).max(1000)
    }

    /// Renews the lease until shutdown, then releases it.
    pub fn keep(self, tasks: &Tasks) {
        tasks.spawn_worker("node id lease", |mut shutdown| async move {
            let mut conn = self.conn.clone();
            let mut ticker = tokio::time::interval(self.ttl / 3);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = shutdown.wait() => break,
                }
                let renewed: redis::RedisResult<i64> = redis::cmd("EVAL")
                    .arg(RENEW)
                    .arg(1)
                    .arg(&self.key)
                    .arg(&self.token)
                    .arg(self.ttl_ms())
                    .query_async(&mut conn)
                    .await;
                match renewed {
                    Ok(1) => {}
                    // Lost after Redis was unreachable for longer than the TTL: take it back if it
                    // is still free (SET NX), else another node has it and ids may now collide.
                    Ok(_) => {
                        let again: redis::RedisResult<Option<String>> = redis::cmd("SET")
                            .arg(&self.key)
                            .arg(&self.token)
                            .arg("NX")
                            .arg("PX")
                            .arg(self.ttl_ms())
                            .query_async(&mut conn)
                            .await;
                        if !matches!(again, Ok(Some(_))) {
                            tracing::error!(node_id = self.id, "this node's id lease was taken by another node");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, node_id = self.id, "cannot renew the node id lease"),
                }
            }
            let _: redis::RedisResult<i64> =
                redis::cmd("EVAL").arg(RELEASE).arg(1).arg(&self.key).arg(&self.token).query_async(&mut conn).await;
        });
    }
}
