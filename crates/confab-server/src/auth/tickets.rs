//! One-time WebSocket tickets: for clients that cannot set the subprotocol header, a short-lived
//! secret that may travel in the URL because it works once and only for 30 seconds.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use confab_proto::{SessionId, UserId};
use redis::aio::ConnectionManager;

use super::Principal;
use super::tokens::{random_token, token_hash};

pub const TICKET_TTL: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct TicketBook {
    /// Keyed by the ticket's hash, so that a memory dump does not hold usable tickets.
    tickets: Mutex<HashMap<Vec<u8>, (Principal, Instant)>>,
    /// In a cluster, tickets live in Redis so that any node can redeem them (once).
    cluster: OnceLock<(ConnectionManager, String)>,
}

impl TicketBook {
    /// Keeps tickets in Redis under `prefix` from now on.
    pub fn share(&self, conn: ConnectionManager, prefix: &str) {
        let _ = self.cluster.set((conn, prefix.to_owned()));
    }

    /// Issues a ticket (in Redis when shared; in memory otherwise, or if Redis fails).
    pub async fn issue_shared(&self, principal: Principal) -> String {
        if let Some((conn, prefix)) = self.cluster.get() {
            let ticket = random_token();
            let key = format!("{prefix}:ticket:{}", hex::encode(token_hash(&ticket)));
            let kind = if principal.bot { "bot" } else { "person" };
            let value = format!("{}:{}:{kind}", principal.user_id, principal.session_id.map_or(0, |s| s.0));
            let stored: redis::RedisResult<()> = redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("EX")
                .arg(TICKET_TTL.as_secs())
                .query_async(&mut conn.clone())
                .await;
            match stored {
                Ok(()) => return ticket,
                Err(e) => tracing::warn!(error = %e, "cannot store a ticket in Redis; keeping it on this node"),
            }
        }
        self.issue(principal)
    }

    /// Redeems a ticket issued by any node.
    pub async fn redeem_shared(&self, ticket: &str) -> Option<Principal> {
        if let Some(local) = self.redeem(ticket) {
            return Some(local);
        }
        let (conn, prefix) = self.cluster.get()?;
        let key = format!("{prefix}:ticket:{}", hex::encode(token_hash(ticket)));
        let value: Option<String> = redis::cmd("GETDEL").arg(&key).query_async(&mut conn.clone()).await.ok()?;
        let value = value?;
        let mut fields = value.split(':');
        let user = fields.next()?.parse().ok()?;
        let session = fields.next()?.parse::<i64>().ok()?;
        let bot = fields.next() == Some("bot");
        Some(Principal { user_id: UserId(user), session_id: (session != 0).then_some(SessionId(session)), bot })
    }

    pub fn issue(&self, principal: Principal) -> String {
        let ticket = random_token();
        let now = Instant::now();
        let mut tickets = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        tickets.retain(|_, (_, expires)| *expires > now);
        tickets.insert(token_hash(&ticket), (principal, now + TICKET_TTL));
        ticket
    }

    /// The principal the ticket was issued to, if it is known and unexpired. Either way the
    /// ticket is gone afterwards.
    pub fn redeem(&self, ticket: &str) -> Option<Principal> {
        let mut tickets = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        let (principal, expires) = tickets.remove(&token_hash(ticket))?;
        (expires > Instant::now()).then_some(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_proto::UserId;

    #[test]
    fn a_ticket_works_once() {
        let book = TicketBook::default();
        let principal = Principal::person(UserId(1));
        let ticket = book.issue(principal);
        assert_eq!(book.redeem(&ticket), Some(principal));
        assert_eq!(book.redeem(&ticket), None);
        assert_eq!(book.redeem("made-up"), None);
    }
}
