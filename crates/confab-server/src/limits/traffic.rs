//! What one user, and one client IP, may send: messages (REST and WebSocket alike), WebSocket
//! commands, WebSocket tickets, uploads, and open sockets. REST handlers and the gateway both ask here,
//! so a flood is refused the same way on either path: `rate_limited` with `retry_after`.
//!
//! Rates are shared across the cluster through Redis when the node joins one. Socket caps are
//! counted per node: what they protect (file descriptors, memory) is each node's own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use confab_proto::UserId;
use redis::aio::ConnectionManager;

use super::{RateLimiter, retry_after_secs};
use crate::config::RateLimitsConfig;
use crate::error::{Error, Result};
use crate::principal::Principal;

pub struct Traffic {
    messages: Pair,
    /// A bot's messages: its own budget instead of a person's (`by_ip` unused; the IP budget
    /// of `messages` counts them).
    bot_messages: Pair,
    commands: Pair,
    tickets: Pair,
    uploads: Pair,
    sockets_per_user: u32,
    sockets_per_ip: u32,
    open: Mutex<OpenSockets>,
}

/// One limit keyed by user and one keyed by IP; `None` when turned off.
struct Pair {
    by_user: Option<RateLimiter>,
    by_ip: Option<RateLimiter>,
}

#[derive(Default)]
struct OpenSockets {
    by_user: HashMap<UserId, u32>,
    by_ip: HashMap<IpAddr, u32>,
}

impl Pair {
    fn new(enabled: bool, by_user: super::Rate, by_ip: super::Rate) -> Pair {
        let limiter = |rate: super::Rate| (enabled && !rate.is_off()).then(|| RateLimiter::from_rate(rate));
        Pair { by_user: limiter(by_user), by_ip: limiter(by_ip) }
    }

    fn share(&self, conn: &ConnectionManager, prefix: &str, name: &str) {
        if let Some(l) = &self.by_user {
            l.share(conn.clone(), format!("{prefix}:limit:{name}-user"));
        }
        if let Some(l) = &self.by_ip {
            l.share(conn.clone(), format!("{prefix}:limit:{name}-ip"));
        }
    }

    /// The user's budget first: one user flooding from a shared IP spends their own first.
    async fn take(&self, user: UserId, ip: Option<IpAddr>) -> Result<()> {
        self.take_user(user).await?;
        self.take_ip(ip).await
    }

    async fn take_user(&self, user: UserId) -> Result<()> {
        match &self.by_user {
            Some(limiter) => limiter.check_shared(&user.to_string()).await.map_err(refused),
            None => Ok(()),
        }
    }

    async fn take_ip(&self, ip: Option<IpAddr>) -> Result<()> {
        match (&self.by_ip, ip) {
            (Some(limiter), Some(ip)) => limiter.check_shared(&ip.to_string()).await.map_err(refused),
            _ => Ok(()),
        }
    }
}

fn refused(wait: std::time::Duration) -> Error {
    Error::RateLimited { retry_after_secs: retry_after_secs(wait) }
}

impl Traffic {
    pub fn new(config: &RateLimitsConfig) -> Traffic {
        let on = config.enabled;
        let cap = |n: u32| if on && n > 0 { n } else { u32::MAX };
        Traffic {
            messages: Pair::new(on, config.messages_per_user, config.messages_per_ip),
            bot_messages: Pair::new(on, config.messages_per_bot, super::Rate::OFF),
            commands: Pair::new(on, config.commands_per_user, config.commands_per_ip),
            tickets: Pair::new(on, config.tickets_per_user, config.tickets_per_ip),
            uploads: Pair::new(on, config.uploads_per_user, config.uploads_per_ip),
            sockets_per_user: cap(config.sockets_per_user),
            sockets_per_ip: cap(config.sockets_per_ip),
            open: Mutex::default(),
        }
    }

    /// Counts the rates in Redis under `prefix` from now on, for the whole cluster.
    pub fn join_cluster(&self, conn: ConnectionManager, prefix: &str) {
        self.messages.share(&conn, prefix, "messages");
        self.bot_messages.share(&conn, prefix, "bot-messages");
        self.commands.share(&conn, prefix, "commands");
        self.tickets.share(&conn, prefix, "tickets");
        self.uploads.share(&conn, prefix, "uploads");
    }

    /// One message sent, by REST or WebSocket: a bot's from its own budget.
    pub async fn message(&self, who: Principal, ip: Option<IpAddr>) -> Result<()> {
        if who.bot {
            self.bot_messages.take_user(who.user_id).await?;
            self.messages.take_ip(ip).await
        } else {
            self.messages.take(who.user_id, ip).await
        }
    }

    /// One WebSocket command (a message sent through the gateway also counts as a message).
    pub async fn command(&self, who: Principal, ip: Option<IpAddr>, sends_message: bool) -> Result<()> {
        self.commands.take(who.user_id, ip).await?;
        if sends_message {
            self.message(who, ip).await?;
        }
        Ok(())
    }

    /// One WebSocket ticket issued.
    pub async fn ticket(&self, user: UserId, ip: Option<IpAddr>) -> Result<()> {
        self.tickets.take(user, ip).await
    }

    /// One upload created (`POST /api/v1/uploads`).
    pub async fn upload(&self, user: UserId, ip: Option<IpAddr>) -> Result<()> {
        self.uploads.take(user, ip).await
    }

    /// Room for one more socket of `user` from `ip` on this node, held until the permit drops.
    pub fn open_socket(self: &Arc<Self>, user: UserId, ip: Option<IpAddr>) -> Result<SocketPermit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let of_user = open.by_user.get(&user).copied().unwrap_or(0);
        let of_ip = ip.map_or(0, |ip| open.by_ip.get(&ip).copied().unwrap_or(0));
        if of_user >= self.sockets_per_user || of_ip >= self.sockets_per_ip {
            // Sockets free up when others close; a client retries after its reconnect backoff.
            return Err(Error::RateLimited { retry_after_secs: 5 });
        }
        *open.by_user.entry(user).or_default() += 1;
        if let Some(ip) = ip {
            *open.by_ip.entry(ip).or_default() += 1;
        }
        Ok(SocketPermit { traffic: self.clone(), user, ip })
    }
}

/// One open socket, counted until dropped.
pub struct SocketPermit {
    traffic: Arc<Traffic>,
    user: UserId,
    ip: Option<IpAddr>,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let mut open = self.traffic.open.lock().unwrap_or_else(|p| p.into_inner());
        release(&mut open.by_user, self.user);
        if let Some(ip) = self.ip {
            release(&mut open.by_ip, ip);
        }
    }
}

fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, u32>, key: K) {
    if let Some(n) = counts.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_capped_per_user_and_per_ip_until_released() {
        let config = RateLimitsConfig { sockets_per_user: 2, sockets_per_ip: 3, ..RateLimitsConfig::default() };
        let traffic = Arc::new(Traffic::new(&config));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let (alice, bob) = (UserId(1), UserId(2));
        let a1 = traffic.open_socket(alice, Some(ip)).unwrap();
        let _a2 = traffic.open_socket(alice, Some(ip)).unwrap();
        assert!(traffic.open_socket(alice, None).is_err(), "the user's cap");
        let _b1 = traffic.open_socket(bob, Some(ip)).unwrap();
        assert!(traffic.open_socket(bob, Some(ip)).is_err(), "the IP's cap");
        drop(a1);
        assert!(traffic.open_socket(bob, Some(ip)).is_ok(), "a closed socket frees its place");
    }
}
