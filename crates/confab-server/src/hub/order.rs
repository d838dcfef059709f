//! A conversation's events in version order on this node, whichever node published them.
//!
//! Each node's `Timeline` publishes its own writes in version order, but two nodes writing one
//! conversation race to this node: A's version 5 comes over Redis, B's version 6 may be local or
//! come through another publisher's connection, and either can arrive first. So every timeline
//! event (`message.created` / `message.updated`, which carry the conversation's `version`)
//! passes through the [`Sequencer`] before any connection sees it: the next version is delivered
//! at once, a later one is held until the versions before it arrive, for at most `wait`. A gap
//! that does not fill in time (an envelope lost while Redis was away) is skipped: its recipients
//! first get a `resync` naming the last version delivered in order, then the held events.
//! Versions are gap-free per conversation (bumped under its row lock), so a hole is a loss or a
//! delay, never a number that will not come.
//!
//! Delivery happens under the shard's lock, so that two releases of one conversation cannot
//! overtake each other between the decision and the queues.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use confab_proto::{ConversationId, UserId};

use super::Frame;

const SHARDS: usize = 16;
/// A conversation quiet for this long is forgotten (a few dozen bytes each while kept). Its
/// next event starts a new line at that event: should an earlier version from another node
/// still be on its way at that moment, it arrives "late" and its recipients resync — the same
/// holds for the first events a node sees after it starts.
const IDLE: Duration = Duration::from_secs(600);

/// One event for several recipients (a unit may have two: collapsed for blockers, whole for
/// the others).
pub type Part = (Vec<UserId>, Frame);

/// What the hub must do, in this order.
#[derive(Debug, PartialEq)]
pub enum Step {
    Deliver(Vec<Part>),
    /// Tell these users to sync `conversation` from `version`.
    Rewind {
        recipients: Vec<UserId>,
        conversation: ConversationId,
        version: i64,
    },
}

/// How many versions were skipped or came too late, for the metrics.
#[derive(Debug, Default, PartialEq)]
pub struct Losses {
    pub skipped: u64,
    pub late: u64,
}

pub struct Sequencer {
    shards: [Mutex<HashMap<ConversationId, Line>>; SHARDS],
    wait: Duration,
}

struct Line {
    /// The highest version delivered.
    delivered: i64,
    held: BTreeMap<i64, Vec<Part>>,
    /// When the oldest held event began to wait.
    waiting_since: Option<Instant>,
    touched: Instant,
}

impl Sequencer {
    pub fn new(wait: Duration) -> Sequencer {
        Sequencer { shards: Default::default(), wait }
    }

    /// Offers `version` of `conversation`; `apply` runs on what may be delivered now, under the
    /// conversation's lock.
    pub fn offer(
        &self,
        conversation: ConversationId,
        version: i64,
        parts: Vec<Part>,
        now: Instant,
        apply: impl FnMut(Step),
    ) -> Losses {
        let mut shard = self.shard(conversation);
        let mut apply = apply;
        let line = shard.entry(conversation).or_insert_with(|| Line {
            delivered: version - 1,
            held: BTreeMap::new(),
            waiting_since: None,
            touched: now,
        });
        line.touched = now;
        if version <= line.delivered {
            // Later versions went out already: this one only comes back through sync.
            apply(Step::Rewind { recipients: recipients(&parts), conversation, version: version - 1 });
            return Losses { skipped: 0, late: 1 };
        }
        line.held.entry(version).or_default().extend(parts);
        line.release(conversation, &mut apply);
        if !line.held.is_empty() && line.waiting_since.is_none() {
            line.waiting_since = Some(now);
        }
        Losses::default()
    }

    /// Skips the gaps that waited longer than `wait`, and forgets idle conversations.
    pub fn expire(&self, now: Instant, mut apply: impl FnMut(Step)) -> Losses {
        let mut losses = Losses::default();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.retain(|&conversation, line| {
                if line.waiting_since.is_some_and(|since| now.duration_since(since) >= self.wait) {
                    losses.skipped += line.skip_gap(conversation, &mut apply);
                    line.waiting_since = (!line.held.is_empty()).then_some(now);
                }
                !line.held.is_empty() || now.duration_since(line.touched) < IDLE
            });
        }
        losses
    }

    fn shard(&self, conversation: ConversationId) -> std::sync::MutexGuard<'_, HashMap<ConversationId, Line>> {
        let index = (conversation.0.unsigned_abs() % SHARDS as u64) as usize;
        self.shards[index].lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Line {
    /// Delivers the held events that follow `delivered` without a hole.
    fn release(&mut self, _conversation: ConversationId, apply: &mut impl FnMut(Step)) {
        while let Some(parts) = self.held.remove(&(self.delivered + 1)) {
            self.delivered += 1;
            apply(Step::Deliver(parts));
        }
        if self.held.is_empty() {
            self.waiting_since = None;
        }
    }

    /// Gives up on the hole before the first held event; returns how many versions it skipped.
    fn skip_gap(&mut self, conversation: ConversationId, apply: &mut impl FnMut(Step)) -> u64 {
        let Some((&first, _)) = self.held.first_key_value() else { return 0 };
        let skipped = (first - self.delivered - 1).max(0) as u64;
        let mut told: HashSet<UserId> = HashSet::new();
        for parts in self.held.values() {
            told.extend(parts.iter().flat_map(|(users, _)| users.iter().copied()));
        }
        apply(Step::Rewind { recipients: told.into_iter().collect(), conversation, version: self.delivered });
        self.delivered = first - 1;
        self.release(conversation, apply);
        skipped
    }
}

fn recipients(parts: &[Part]) -> Vec<UserId> {
    let mut all: Vec<UserId> = parts.iter().flat_map(|(users, _)| users.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(text: &'static str) -> Vec<Part> {
        vec![(vec![UserId(1)], Frame::from_static(text))]
    }

    fn run(seq: &Sequencer, version: i64, text: &'static str, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        seq.offer(ConversationId(9), version, part(text), now, |step| out.push(describe(step)));
        out
    }

    fn describe(step: Step) -> String {
        match step {
            Step::Deliver(parts) => parts[0].1.as_str().to_owned(),
            Step::Rewind { version, .. } => format!("rewind to {version}"),
        }
    }

    #[test]
    fn a_later_version_waits_for_the_one_before_it() {
        let seq = Sequencer::new(Duration::from_millis(100));
        let now = Instant::now();
        assert_eq!(run(&seq, 5, "v5", now), ["v5"]);
        assert!(run(&seq, 7, "v7", now).is_empty(), "7 waits for 6");
        assert_eq!(run(&seq, 6, "v6", now), ["v6", "v7"]);
    }

    #[test]
    fn a_gap_that_does_not_fill_is_skipped_with_a_rewind_first() {
        let seq = Sequencer::new(Duration::from_millis(100));
        let now = Instant::now();
        run(&seq, 1, "v1", now);
        assert!(run(&seq, 3, "v3", now).is_empty());
        let mut out = Vec::new();
        assert_eq!(seq.expire(now + Duration::from_millis(50), |s| out.push(describe(s))).skipped, 0);
        assert!(out.is_empty(), "still inside the wait");
        let losses = seq.expire(now + Duration::from_millis(100), |s| out.push(describe(s)));
        assert_eq!((losses.skipped, out), (1, vec!["rewind to 1".to_owned(), "v3".to_owned()]));
        assert_eq!(run(&seq, 2, "v2", now), ["rewind to 1"], "too late: only through sync");
        assert_eq!(run(&seq, 4, "v4", now), ["v4"]);
    }
}
