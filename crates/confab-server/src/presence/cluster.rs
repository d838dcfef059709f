//! Presence shared by the nodes of a cluster, in Redis: per user, a hash of node → open
//! sessions, and an "online" flag set by whoever sees the first session and cleared by whoever
//! sees the count reach zero after the grace period. Each node refreshes a liveness key; nodes
//! sweep the sessions of a node whose key expired (killed, crashed), so its users go offline
//! within the node TTL plus a third of it (the sweep interval).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use confab_proto::UserId;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::clock::now_ms;

#[derive(Clone)]
pub struct ClusterRegistry {
    conn: ConnectionManager,
    prefix: String,
    node: u16,
    node_ttl: Duration,
    /// Milliseconds (`now_ms`) before which `online` does not try Redis after it failed: reads
    /// of presence (lists, sync) answer from this node's view at once during an outage.
    unreachable_until: Arc<AtomicI64>,
}

/// How long a failed presence read keeps `online` from trying Redis again.
const BACK_OFF_MS: i64 = 1000;

impl ClusterRegistry {
    pub async fn connect(
        url: &str,
        prefix: &str,
        node: u16,
        node_ttl: Duration,
    ) -> Result<ClusterRegistry, redis::RedisError> {
        let conn =
            redis::Client::open(url)?.get_connection_manager_with_config(crate::hub::bus::bounded_config()).await?;
        Ok(ClusterRegistry { conn, prefix: prefix.to_owned(), node, node_ttl, unreachable_until: Arc::default() })
    }

    /// How often liveness is refreshed and dead nodes are swept.
    pub fn sweep_every(&self) -> Duration {
        self.node_ttl / 3
    }

    fn key(&self, what: &str, id: impl std::fmt::Display) -> String {
        format!("{}:{what}:{id}", self.prefix)
    }

    /// Counts a session here; true when the user was offline everywhere.
    pub async fn connect_session(&self, user: UserId) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.hincr(self.key("sessions", user), self.node, 1).await?;
        let _: i64 = conn.sadd(self.key("node-users", self.node), user.0).await?;
        let _: i64 = conn.sadd(self.key("nodes", "all"), self.node).await?;
        let newly: bool = redis::cmd("SET")
            .arg(self.key("online", user))
            .arg(1)
            .arg("NX")
            .query_async::<Option<String>>(&mut conn)
            .await?
            .is_some();
        Ok(newly)
    }

    /// Uncounts a session here; true when the user has no session left on any node.
    pub async fn disconnect_session(&self, user: UserId) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let left: i64 = conn.hincr(self.key("sessions", user), self.node, -1).await?;
        if left <= 0 {
            let _: i64 = conn.hdel(self.key("sessions", user), self.node).await?;
        }
        Ok(self.total(user).await? == 0)
    }

    async fn total(&self, user: UserId) -> redis::RedisResult<i64> {
        let mut conn = self.conn.clone();
        let counts: Vec<i64> = conn.hvals(self.key("sessions", user)).await?;
        Ok(counts.into_iter().filter(|n| *n > 0).sum())
    }

    /// After the grace period: true when still no session anywhere, and the online flag was
    /// ours to clear (so exactly one node announces the user offline).
    pub async fn expire(&self, user: UserId) -> redis::RedisResult<bool> {
        if self.total(user).await? > 0 {
            return Ok(false);
        }
        let mut conn = self.conn.clone();
        let cleared: i64 = conn.del(self.key("online", user)).await?;
        Ok(cleared == 1)
    }

    /// Bounded: fails fast (within `REDIS_TIMEOUT`, at once for a second after a failure) so
    /// that no read waits on an unreachable Redis.
    pub async fn online(&self, users: &[UserId]) -> redis::RedisResult<Vec<bool>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        if now_ms() < self.unreachable_until.load(Ordering::Relaxed) {
            return Err(redis::RedisError::from((redis::ErrorKind::Io, "Redis was unreachable a moment ago")));
        }
        let mut conn = self.conn.clone();
        let keys: Vec<String> = users.iter().map(|u| self.key("online", u)).collect();
        let read = tokio::time::timeout(crate::hub::bus::REDIS_TIMEOUT, conn.mget::<_, Vec<Option<String>>>(keys));
        let flags = match read.await {
            Ok(Ok(flags)) => flags,
            failed => {
                self.unreachable_until.store(now_ms() + BACK_OFF_MS, Ordering::Relaxed);
                return Err(match failed {
                    Ok(Err(e)) => e,
                    _ => redis::RedisError::from((redis::ErrorKind::Io, "Redis did not answer in time")),
                });
            }
        };
        Ok(flags.into_iter().map(|f| f.is_some()).collect())
    }

    /// Refreshes this node's liveness key.
    pub async fn heartbeat(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let _: () = conn.set_ex(self.key("node-alive", self.node), 1, self.node_ttl.as_secs()).await?;
        Ok(())
    }

    /// Forgets the sessions of nodes that stopped heartbeating; returns the users that are now
    /// offline everywhere (to be announced).
    pub async fn sweep_dead_nodes(&self) -> redis::RedisResult<Vec<UserId>> {
        let mut conn = self.conn.clone();
        let nodes: Vec<u16> = conn.smembers(self.key("nodes", "all")).await?;
        let mut gone = Vec::new();
        for node in nodes.into_iter().filter(|n| *n != self.node) {
            let alive: bool = conn.exists(self.key("node-alive", node)).await?;
            if alive {
                continue;
            }
            let users: Vec<i64> = conn.smembers(self.key("node-users", node)).await?;
            for user in users.into_iter().map(UserId) {
                let _: i64 = conn.hdel(self.key("sessions", user), node).await?;
                if self.expire(user).await? {
                    gone.push(user);
                }
            }
            let _: i64 = conn.del(self.key("node-users", node)).await?;
            let _: i64 = conn.srem(self.key("nodes", "all"), node).await?;
            tracing::warn!(node, users = gone.len(), "swept the sessions of a node that stopped");
        }
        Ok(gone)
    }
}
