//! Resume without loss. A client keeps, per conversation, the highest `version` it has applied;
//! `sync` answers with every conversation that changed since (new ones included), each with
//! the messages created or changed after the client's version — in version order, each once, in
//! its current state — and the conversations the user can no longer see.
//!
//! Versions are bumped inside the same transaction as the change, under the conversation's row
//! lock, so they commit in order: a client that applied version `v` has seen every change up to `v`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use confab_proto::frames::{SyncRequest, SyncResult, SyncedConversation};
use confab_proto::{ConversationId, ErrorCode};

use crate::auth::Principal;
use crate::conversations::Conversations;
use crate::error::{Error, Result};
use crate::people::Blocks;
use crate::render::Renderer;
use crate::store::Store;

pub const DEFAULT_LIMIT: u32 = 500;
pub const MAX_LIMIT: u32 = 1000;
/// Positions accepted in one request.
pub const MAX_POSITIONS: usize = 10_000;

pub struct Sync {
    store: Store,
    render: Renderer,
    conversations: Arc<Conversations>,
    blocks: Arc<Blocks>,
}

impl Sync {
    pub fn new(store: Store, render: Renderer, conversations: Arc<Conversations>, blocks: Arc<Blocks>) -> Sync {
        Sync { store, render, conversations, blocks }
    }

    pub async fn sync(&self, principal: Principal, req: SyncRequest) -> Result<SyncResult> {
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        if req.conversations.len() > MAX_POSITIONS {
            return Err(invalid(format!("at most {MAX_POSITIONS} positions per sync")));
        }
        let mut known: BTreeMap<ConversationId, i64> = BTreeMap::new();
        for position in &req.conversations {
            if position.version < 0 {
                return Err(invalid(format!("version of {} is negative", position.id)));
            }
            if known.insert(position.id, position.version).is_some() {
                return Err(invalid(format!("conversation {} is listed twice", position.id)));
            }
        }

        let current: Vec<ConversationId> = self.conversations.ids_of(principal.user_id).await?;
        let current_set: HashSet<ConversationId> = current.iter().copied().collect();
        let removed: Vec<ConversationId> = known.keys().copied().filter(|id| !current_set.contains(id)).collect();

        let rows = self.store.conversations_by_ids(&current).await?;
        let mut changed = Vec::new();
        for row in &rows {
            let id = row.id;
            match known.get(&id) {
                Some(&seen) if seen > row.version => {
                    return Err(invalid(format!(
                        "version {seen} of conversation {id} is ahead of the server ({})",
                        row.version
                    )));
                }
                Some(&seen) if seen == row.version => {}
                Some(&seen) => changed.push((id, seen, row.version)),
                None => changed.push((id, 0, row.version)), // new to this client
            }
        }
        changed.sort_by_key(|(id, ..)| *id);

        let hidden = self.blocks.of(principal.user_id).await?.blocked.clone();
        let mut budget = i64::from(limit);
        let mut has_more = false;
        let mut entries = Vec::new();
        for (id, seen, latest) in changed {
            if budget == 0 {
                has_more = true;
                break;
            }
            let (rows, more) = self.store.changed_since(id, seen, budget).await?;
            budget -= rows.len() as i64;
            has_more |= more;
            let reached = rows.last().map_or(latest, |r| if more { r.version } else { r.version.max(latest) });
            entries.push((id, self.render.for_viewer(rows, &hidden).await?, reached));
        }

        let ids: Vec<ConversationId> = entries.iter().map(|(id, ..)| *id).collect();
        let mut views = self.conversations.views(&ids, principal.user_id).await?;
        let mut conversations = Vec::with_capacity(entries.len());
        for (id, messages, version) in entries {
            // A conversation deleted between the two reads simply drops out; the next sync
            // reports it as removed.
            if let Some(at) = views.iter().position(|c| c.id == id) {
                conversations.push(SyncedConversation { conversation: views.swap_remove(at), messages, version });
            }
        }
        Ok(SyncResult { conversations, removed, has_more })
    }
}

fn invalid(message: String) -> Error {
    Error::invalid(ErrorCode::InvalidParameter, message)
}
