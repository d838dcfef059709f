//! How the users of a messaging run are grouped: in pairs (direct messages) or in groups
//! (fan-out), and in which order they take turns sending. Shared by Confab and the peers (NATS,
//! Socket.IO) so that all see exactly the same pattern.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `users / 2` pairs, each a direct conversation (NATS: each user's own subject).
    Direct { users: usize },
    /// `groups` groups of `members` (NATS: one subject per group).
    Fanout { groups: usize, members: usize },
}

/// One user's place in the pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seat {
    pub user: usize,
    pub conversation: usize,
    /// Turn in the round robin: sender `k` sends `k / rate` seconds after the start.
    pub turn: usize,
}

impl Shape {
    pub fn name(&self) -> &'static str {
        match self {
            Shape::Direct { .. } => "direct",
            Shape::Fanout { .. } => "fanout",
        }
    }

    pub fn users(&self) -> usize {
        match *self {
            Shape::Direct { users } => users / 2 * 2,
            Shape::Fanout { groups, members } => groups * members,
        }
    }

    /// The members of each conversation, as user indexes; every user is in exactly one.
    pub fn conversations(&self) -> Vec<Vec<usize>> {
        let size = self.conversation_size();
        (0..self.users() / size).map(|c| (c * size..(c + 1) * size).collect()).collect()
    }

    /// How many users receive each message (the sender excluded).
    pub fn recipients(&self) -> usize {
        self.conversation_size() - 1
    }

    fn conversation_size(&self) -> usize {
        match *self {
            Shape::Direct { .. } => 2,
            Shape::Fanout { members, .. } => members.max(2),
        }
    }

    /// Every user's seat. Turns go round the conversations first, then their members, so that
    /// consecutive messages land in different conversations and each conversation's senders
    /// take turns.
    pub fn seats(&self) -> Vec<Seat> {
        let conversations = self.conversations();
        let count = conversations.len();
        let mut seats = Vec::with_capacity(self.users());
        for (c, members) in conversations.iter().enumerate() {
            for (position, &user) in members.iter().enumerate() {
                seats.push(Seat { user, conversation: c, turn: position * count + c });
            }
        }
        seats.sort_by_key(|seat| seat.user);
        seats
    }

    /// For the peers, which route by name: the subject or room user `user` listens on, and the
    /// one it sends to — its own and its partner's (direct), or its group's twice (fan-out).
    pub fn routes(&self, user: usize) -> (String, String) {
        match *self {
            Shape::Direct { .. } => (format!("u.{user}"), format!("u.{}", user ^ 1)),
            Shape::Fanout { .. } => {
                let group = format!("g.{}", user / self.conversation_size());
                (group.clone(), group)
            }
        }
    }

    /// `users=…` or `groups=…×members=…`, for tables.
    pub fn describe(&self) -> String {
        match *self {
            Shape::Direct { users } => format!("{users} users in {} pairs", users / 2),
            Shape::Fanout { groups, members } => format!("{groups} groups × {members} members"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_pairs_users_and_fanout_groups_them() {
        let direct = Shape::Direct { users: 5 };
        assert_eq!(direct.conversations(), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(direct.recipients(), 1);
        let fanout = Shape::Fanout { groups: 2, members: 3 };
        assert_eq!(fanout.conversations(), vec![vec![0, 1, 2], vec![3, 4, 5]]);
        assert_eq!(fanout.recipients(), 2);
    }

    #[test]
    fn turns_are_a_permutation_that_alternates_conversations() {
        let seats = Shape::Fanout { groups: 2, members: 3 }.seats();
        let mut turns: Vec<usize> = seats.iter().map(|s| s.turn).collect();
        let by_turn: Vec<usize> = {
            let mut s = seats.clone();
            s.sort_by_key(|s| s.turn);
            s.iter().map(|s| s.conversation).collect()
        };
        turns.sort();
        assert_eq!(turns, (0..6).collect::<Vec<_>>());
        assert_eq!(by_turn, [0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn direct_users_publish_to_their_peer_and_groups_to_themselves() {
        let direct = Shape::Direct { users: 4 };
        assert_eq!(direct.routes(2), ("u.2".into(), "u.3".into()));
        assert_eq!(direct.routes(3), ("u.3".into(), "u.2".into()));
        let fanout = Shape::Fanout { groups: 2, members: 3 };
        assert_eq!(fanout.routes(4), ("g.1".into(), "g.1".into()));
    }
}
