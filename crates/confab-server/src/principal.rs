//! Who is making a request: what `auth` produces and `hub` keys connections by. It sits below
//! both so that neither has to import the other for it.

use confab_proto::{SessionId, UserId};

/// Who is making a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    /// The built-in session (device); for a bot, the id of its current token (a new token
    /// closes what the old one opened); `None` for the host app's tokens, whose sessions the
    /// host app manages.
    pub session_id: Option<SessionId>,
    /// A bot account, signed in with its token (`bots/`).
    pub bot: bool,
}

impl Principal {
    /// A person (not a bot) without a session of Confab's: for services acting on someone's
    /// behalf.
    pub fn person(user_id: UserId) -> Principal {
        Principal { user_id, session_id: None, bot: false }
    }

    /// Bots are members of the conversations people add them to, and nothing else: what only
    /// people may do (start conversations, contacts, blocks, sessions, invitations, bots of
    /// their own) asks this first.
    pub fn require_person(&self) -> Result<(), BotRefused> {
        if self.bot { Err(BotRefused) } else { Ok(()) }
    }
}

/// A bot asked for what only people may do (`error.rs` makes it `403 forbidden`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotRefused;
