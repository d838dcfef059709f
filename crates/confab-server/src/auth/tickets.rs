//! One-time WebSocket tickets: for clients that cannot set the subprotocol header, a short-lived
//! secret that may travel in the URL because it works once and only for 30 seconds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Principal;
use super::tokens::{random_token, token_hash};

pub const TICKET_TTL: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct TicketBook {
    /// Keyed by the ticket's hash, so that a memory dump does not hold usable tickets.
    tickets: Mutex<HashMap<Vec<u8>, (Principal, Instant)>>,
}

impl TicketBook {
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
        let principal = Principal { user_id: UserId(1), session_id: None };
        let ticket = book.issue(principal);
        assert_eq!(book.redeem(&ticket), Some(principal));
        assert_eq!(book.redeem(&ticket), None);
        assert_eq!(book.redeem("made-up"), None);
    }
}
