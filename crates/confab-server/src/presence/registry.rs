//! Who is connected on this node, counted per user, with the grace period that keeps a quick
//! reconnect from showing as offline-then-online. The cluster issue replaces this with counts
//! shared through Redis behind the same three transitions.

use std::collections::HashMap;
use std::sync::Mutex;

use confab_proto::UserId;

#[derive(Default)]
pub struct LocalRegistry {
    users: Mutex<HashMap<UserId, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    sessions: usize,
    /// Bumped whenever the count drops to zero; a grace timer only acts on its own generation.
    generation: u64,
}

impl LocalRegistry {
    /// Counts a new session. True when the user was offline (not merely inside a grace period),
    /// so that others must now be told they are online.
    pub fn connect(&self, user: UserId) -> bool {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        match users.get_mut(&user) {
            Some(entry) => {
                entry.sessions += 1;
                false
            }
            None => {
                users.insert(user, Entry { sessions: 1, generation: 0 });
                true
            }
        }
    }

    /// Uncounts a session. When it was the last one, returns the generation for the grace timer.
    pub fn disconnect(&self, user: UserId) -> Option<u64> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let entry = users.get_mut(&user)?;
        entry.sessions = entry.sessions.saturating_sub(1);
        if entry.sessions > 0 {
            return None;
        }
        entry.generation += 1;
        Some(entry.generation)
    }

    /// After the grace period: true when the user is still without sessions since `generation`,
    /// and is now forgotten (offline).
    pub fn expire(&self, user: UserId, generation: u64) -> bool {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        match users.get(&user) {
            Some(entry) if entry.sessions == 0 && entry.generation == generation => {
                users.remove(&user);
                true
            }
            _ => false,
        }
    }

    /// Connected, or inside the grace period after the last session closed.
    pub fn is_online(&self, user: UserId) -> bool {
        self.users.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_session_starts_grace_and_reconnect_cancels_it() {
        let registry = LocalRegistry::default();
        let user = UserId(1);
        assert!(registry.connect(user), "first session: now online");
        assert!(!registry.connect(user), "second session: no change");
        assert_eq!(registry.disconnect(user), None, "one session left");
        let generation = registry.disconnect(user).unwrap();
        assert!(registry.is_online(user), "inside the grace period");
        assert!(!registry.connect(user), "reconnect inside grace: no flap");
        assert!(!registry.expire(user, generation), "the old timer does nothing");
        let generation = registry.disconnect(user).unwrap();
        assert!(registry.expire(user, generation));
        assert!(!registry.is_online(user));
    }
}
