//! Who is making a request: what `auth` produces and `hub` keys connections by. It sits below
//! both so that neither has to import the other for it.

use confab_proto::{SessionId, UserId};

/// Who is making a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    /// The built-in session (device); `None` for the host app's tokens, whose sessions the host
    /// app manages.
    pub session_id: Option<SessionId>,
}
