//! Group commit of new messages.
//!
//! Every send on this node queues its message for one writer task, which commits whatever has
//! queued up in one transaction: look up earlier sends of the same client ids, reserve each
//! conversation's next seqs and versions, insert the rows, commit — one statement each on SQLite
//! however many messages the batch holds, one per 64 rows on PostgreSQL ([`chunk_rows`]). An fsync is paid per batch instead of per message, and a send waits for at
//! most one commit in progress plus its own. No timer: a lone message is committed at once; under
//! load the batches grow by themselves while the previous commit runs.
//!
//! The guarantees stay those of [`Store::insert_message`]: a send returns only after its row
//! committed (guarantee 1); seqs are reserved and rows inserted in one transaction, so the
//! sequence has no gap (guarantee 2); a repeated client id returns the first message (guarantee 3).
//! When a batch fails — a duplicate that raced in from another node, a conversation deleted
//! meanwhile, a database outage — each of its messages is retried alone, so only the message at
//! fault fails.

use std::collections::HashMap;

use confab_proto::rest::MessageKind;
use confab_proto::{ConversationId, MessageId, StickerId, UserId};
use sqlx::{Any, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::column::Db;
use super::messages::MESSAGE_COLUMNS;
use super::{Backend, MessageRow, NewMessage, SendOutcome, Store, StoreError, composed};

/// Most messages in one transaction. The insert binds 12 values a row: 6,144 at most, far below
/// both backends' limits (SQLite 32,766, PostgreSQL 65,535).
const MAX_BATCH: usize = 512;
/// Messages waiting for the writer; beyond it senders wait their turn (backpressure).
const QUEUE: usize = 8192;
/// Columns of one inserted row, in [`insert_rows`]'s order.
const INSERT_COLUMNS: usize = 14;

/// Most rows of the batch one statement carries. PostgreSQL parses and plans a statement
/// afresh for every new text, and each batch size was a new text: a 512-row insert took 50–100
/// ms to prepare, so past ~10,000 msg/s the writer fell behind, batches grew, and throughput
/// collapsed to ~5,000/s. Statements of at most 64 rows are cheap to plan, and their texts (64
/// sizes) mostly stay in each connection's statement cache. SQLite prepares even large ones in
/// microseconds: one statement per batch.
fn chunk_rows(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => MAX_BATCH,
        Backend::Postgres => 64,
    }
}

/// The queue to this node's writer task. The task holds a [`Store`] without a writer, so it
/// ends once every handle of the store is gone.
#[derive(Clone, Debug)]
pub(super) struct Writer {
    queue: mpsc::Sender<Job>,
}

struct Job {
    message: Pending,
    done: oneshot::Sender<Result<SendOutcome, StoreError>>,
}

/// A [`NewMessage`] owned, so that it can wait in the queue.
struct Pending {
    id: MessageId,
    conversation_id: ConversationId,
    sender_id: UserId,
    kind: MessageKind,
    body: String,
    client_id: Option<String>,
    reply_to: Option<MessageId>,
    mentions: Option<String>,
    tones: Option<String>,
    sticker_id: Option<StickerId>,
    system: Option<String>,
    created_at: i64,
}

impl Writer {
    /// Starts the writer task over `direct`, a store that writes without a writer.
    ///
    /// On SQLite the task runs on a thread and runtime of its own. Each of its statements is a
    /// hand-off to SQLite's connection thread and back; on the shared runtime every hand-off
    /// waited behind the connections' tasks ready to run, and at saturation the writer spent
    /// more time in those queues than in SQLite (direct messages: ~23,000 → ~28,000/s). Its
    /// connections do no socket I/O, so nothing ties them to a runtime. On PostgreSQL the
    /// writer shares the pool of every other query, whose sockets belong to the main runtime: it
    /// stays a task there.
    pub(super) fn start(direct: Store) -> Result<Writer, StoreError> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        match direct.backend() {
            Backend::Sqlite => {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(StoreError::Writer)?;
                std::thread::Builder::new()
                    .name("confab-writer".into())
                    .spawn(move || runtime.block_on(run(direct, jobs)))
                    .map_err(StoreError::Writer)?;
            }
            Backend::Postgres => {
                tokio::spawn(run(direct, jobs));
            }
        }
        Ok(Writer { queue })
    }

    /// Queues `m` behind every message queued before it; the receiver gets its outcome.
    pub(super) async fn queue(
        &self,
        m: &NewMessage<'_>,
    ) -> Result<oneshot::Receiver<Result<SendOutcome, StoreError>>, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.queue.send(Job { message: Pending::from(m), done }).await.map_err(|_| StoreError::WriterStopped)?;
        Ok(outcome)
    }
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut checkpoints = Checkpoints::default();
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit(&store, &mut batch).await;
        checkpoints.after_commit(&store);
    }
}

/// Starts a passive checkpoint on its own connection at most every [`CHECKPOINT_EVERY`] while
/// messages are being written, one at a time, so that the writer never waits for one.
#[derive(Default)]
struct Checkpoints {
    last: Option<tokio::time::Instant>,
    running: Option<tokio::task::JoinHandle<()>>,
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl Checkpoints {
    fn after_commit(&mut self, store: &Store) {
        let due = self.last.is_none_or(|at| at.elapsed() >= CHECKPOINT_EVERY);
        let idle = self.running.as_ref().is_none_or(|task| task.is_finished());
        if due && idle {
            self.last = Some(tokio::time::Instant::now());
            let store = store.clone();
            self.running = Some(tokio::spawn(async move {
                if let Err(e) = store.checkpoint().await {
                    tracing::warn!(error = %e, "checkpoint of the write-ahead log failed");
                }
            }));
        }
    }
}

/// Commits `batch` (emptying it) and answers every sender.
async fn commit(store: &Store, batch: &mut Vec<Job>) {
    let messages: Vec<NewMessage<'_>> = batch.iter().map(|job| job.message.as_new()).collect();
    let outcomes = append_batch(store, &messages).await;
    drop(messages);
    match outcomes {
        Ok(outcomes) => {
            for (job, outcome) in batch.drain(..).zip(outcomes) {
                let _ = job.done.send(Ok(outcome)); // a sender that gave up no longer listens
            }
        }
        Err(e) if e.is_unavailable() => {
            tracing::warn!(error = %e, messages = batch.len(), "a batch of messages could not be committed");
            let e = std::sync::Arc::new(e);
            for job in batch.drain(..) {
                let _ = job.done.send(Err(StoreError::Shared(e.clone())));
            }
        }
        Err(e) => {
            if batch.len() > 1 {
                tracing::debug!(error = %e, messages = batch.len(), "batch refused; committing its messages one by one");
            }
            for job in batch.drain(..) {
                let outcome = store.insert_one(&job.message.as_new()).await;
                let _ = job.done.send(outcome);
            }
        }
    }
}

/// Where each message of a batch ends up.
enum Slot {
    /// Sent before, in an earlier batch.
    Earlier(Box<MessageRow>),
    /// New: the index of its row among the inserted ones.
    New(usize),
    /// The same client id as an earlier message of this batch: that message's row.
    Repeat(usize),
}

/// Stores `messages` in one transaction and says, in their order, what became of each.
pub(super) async fn append_batch(store: &Store, messages: &[NewMessage<'_>]) -> Result<Vec<SendOutcome>, StoreError> {
    append_in_chunks(store, messages, chunk_rows(store.backend())).await
}

/// [`append_batch`] with statements of at most `chunk` rows.
async fn append_in_chunks(
    store: &Store,
    messages: &[NewMessage<'_>],
    chunk: usize,
) -> Result<Vec<SendOutcome>, StoreError> {
    let mut tx = store.begin_write().await?;
    let backend = store.backend();
    let earlier = earlier_sends(&mut tx, backend, chunk, messages).await?;

    let mut slots = Vec::with_capacity(messages.len());
    let mut fresh: Vec<&NewMessage<'_>> = Vec::with_capacity(messages.len());
    let mut in_batch: HashMap<(ConversationId, UserId, &str), usize> = HashMap::new();
    for m in messages {
        if let Some(client_id) = m.client_id {
            let key = (m.conversation_id, m.sender_id, client_id);
            if !earlier.is_empty()
                && let Some(row) = earlier.get(&(key.0, key.1, client_id.to_owned()))
            {
                slots.push(Slot::Earlier(Box::new(row.clone())));
                continue;
            }
            if let Some(&index) = in_batch.get(&key) {
                slots.push(Slot::Repeat(index));
                continue;
            }
            in_batch.insert(key, fresh.len());
        }
        slots.push(Slot::New(fresh.len()));
        fresh.push(m);
    }

    let rows = number(&mut tx, backend, chunk, &fresh).await?;
    insert_rows(&mut tx, backend, chunk, &rows).await?;
    tx.commit().await?;

    let mut rows: Vec<Option<MessageRow>> = rows.into_iter().map(Some).collect();
    let repeats: HashMap<usize, MessageRow> = slots
        .iter()
        .filter_map(|slot| match slot {
            Slot::Repeat(index) => rows[*index].clone().map(|row| (*index, row)),
            _ => None,
        })
        .collect();
    let outcomes = slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Earlier(row) => Ok(SendOutcome::Duplicate(*row)),
            Slot::Repeat(index) => repeats.get(&index).cloned().map(SendOutcome::Duplicate).ok_or(index),
            Slot::New(index) => rows[index].take().map(SendOutcome::Created).ok_or(index),
        })
        .collect::<Result<Vec<_>, usize>>();
    // Every index was pushed with its row above; a miss would be a bug in this function.
    outcomes.map_err(StoreError::lost_in_batch)
}

/// Earlier messages carrying the client ids of this batch, by (conversation, sender, client id).
async fn earlier_sends(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    chunk: usize,
    messages: &[NewMessage<'_>],
) -> Result<HashMap<(ConversationId, UserId, String), MessageRow>, StoreError> {
    let keyed: Vec<&NewMessage<'_>> = messages.iter().filter(|m| m.client_id.is_some()).collect();
    if keyed.is_empty() {
        return Ok(HashMap::new());
    }
    // A join rather than `(…) IN (VALUES …)`: SQLite answers the latter with a scan of the
    // whole table, the join with one index lookup per key.
    let mut earlier = HashMap::new();
    for keys in keyed.chunks(chunk) {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM (VALUES {}) AS k JOIN messages \
             ON conversation_id = k.column1 AND sender_id = k.column2 AND client_id = k.column3",
            tuples(backend, keys.len(), 3)
        );
        let mut query = sqlx::query_as::<_, MessageRow>(composed(sql));
        for m in keys {
            query = query.bind(Db(m.conversation_id)).bind(Db(m.sender_id)).bind(m.client_id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            if let Some(client_id) = row.client_id.clone() {
                earlier.insert((row.conversation_id, row.sender_id, client_id), row);
            }
        }
    }
    Ok(earlier)
}

/// Reserves each conversation's next seqs and versions for `fresh` (an UPDATE per chunk of
/// conversations, taking their row locks in id order) and returns the rows to insert, numbered in the
/// order of the batch.
async fn number(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    chunk: usize,
    fresh: &[&NewMessage<'_>],
) -> Result<Vec<MessageRow>, StoreError> {
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    // Per conversation: how many messages, and the time of the last.
    let mut counts: Vec<(ConversationId, i64, i64)> = Vec::new();
    let mut position: HashMap<ConversationId, usize> = HashMap::new();
    for m in fresh {
        match position.get(&m.conversation_id) {
            Some(&at) => {
                counts[at].1 += 1;
                counts[at].2 = counts[at].2.max(m.created_at);
            }
            None => {
                position.insert(m.conversation_id, counts.len());
                counts.push((m.conversation_id, 1, m.created_at));
            }
        }
    }
    // Conversations' rows are locked in id order, chunk after chunk, as every node does, so
    // that two nodes' batches do not lock the same rows in opposite orders.
    counts.sort_unstable_by_key(|&(conversation, _, _)| conversation);
    let n_of: HashMap<ConversationId, i64> = counts.iter().map(|&(conversation, n, _)| (conversation, n)).collect();
    // The next (seq, version) to hand out, per conversation.
    let mut next: HashMap<ConversationId, (i64, i64)> = HashMap::new();
    for part in counts.chunks(chunk) {
        let sql = format!(
            "UPDATE conversations SET last_seq = last_seq + b.column2, version = version + b.column2, \
             last_activity_at = b.column3 FROM (VALUES {}) AS b WHERE id = b.column1 \
             RETURNING id, last_seq, version",
            tuples(backend, part.len(), 3)
        );
        let mut query = sqlx::query_as::<_, (Db<ConversationId>, i64, i64)>(composed(sql));
        for (conversation, n, at) in part {
            query = query.bind(Db(*conversation)).bind(*n).bind(*at);
        }
        for (Db(conversation), last_seq, last_version) in query.fetch_all(&mut **tx).await? {
            let n = n_of[&conversation];
            next.insert(conversation, (last_seq - n + 1, last_version - n + 1));
        }
    }
    fresh
        .iter()
        .map(|m| {
            // A conversation deleted since its membership was checked: the batch is retried one
            // by one and this message fails alone, as it would have on its own.
            let (seq, version) = next.get_mut(&m.conversation_id).ok_or(sqlx::Error::RowNotFound)?;
            let row = MessageRow::stored(m, *seq, *version);
            *seq += 1;
            *version += 1;
            Ok(row)
        })
        .collect()
}

async fn insert_rows(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    chunk: usize,
    rows: &[MessageRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    for part in rows.chunks(chunk) {
        let sql = format!(
            "INSERT INTO messages (id, conversation_id, seq, sender_id, kind, body, client_id, reply_to, mentions, \
             tones, sticker_id, system, version, created_at) VALUES {}",
            tuples(backend, part.len(), INSERT_COLUMNS)
        );
        let mut query = sqlx::query(composed(sql));
        for r in part {
            query = query
                .bind(Db(r.id))
                .bind(Db(r.conversation_id))
                .bind(r.seq)
                .bind(Db(r.sender_id))
                .bind(Db(r.kind))
                .bind(r.body.as_str())
                .bind(r.client_id.as_deref())
                .bind(Db(r.reply_to))
                .bind(r.mentions.as_deref())
                .bind(r.tones.as_deref())
                .bind(Db(r.sticker_id))
                .bind(r.system.as_deref())
                .bind(r.version)
                .bind(r.created_at);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `rows` tuples of `width` placeholders, bound in order: `($1, $2), ($3, $4)`.
///
/// On SQLite they are anonymous (`(?, ?), (?, ?)`): binding a numbered parameter makes SQLite
/// look its name up in a list (`sqlite3_bind_parameter_name`), which costs time quadratic in the
/// parameter count — 45 ms for a batch of 512 messages instead of 6 ms.
fn tuples(backend: Backend, rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        match backend {
            Backend::Sqlite => sql.push_str(&vec!["?"; width].join(", ")),
            Backend::Postgres => sql.push_str(&super::users::placeholders(row * width + 1, width)),
        }
        sql.push(')');
    }
    sql
}

impl From<&NewMessage<'_>> for Pending {
    fn from(m: &NewMessage<'_>) -> Pending {
        Pending {
            id: m.id,
            conversation_id: m.conversation_id,
            sender_id: m.sender_id,
            kind: m.kind,
            body: m.body.to_owned(),
            client_id: m.client_id.map(str::to_owned),
            reply_to: m.reply_to,
            mentions: m.mentions.map(str::to_owned),
            tones: m.tones.map(str::to_owned),
            sticker_id: m.sticker_id,
            system: m.system.map(str::to_owned),
            created_at: m.created_at,
        }
    }
}

impl Pending {
    fn as_new(&self) -> NewMessage<'_> {
        NewMessage {
            id: self.id,
            conversation_id: self.conversation_id,
            sender_id: self.sender_id,
            kind: self.kind,
            body: &self.body,
            client_id: self.client_id.as_deref(),
            reply_to: self.reply_to,
            mentions: self.mentions.as_deref(),
            tones: self.tones.as_deref(),
            sticker_id: self.sticker_id,
            system: self.system.as_deref(),
            created_at: self.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_proto::rest::{ConversationKind, Role};

    use crate::store::{HistoryRange, NewConversation, NewUser};

    #[test]
    fn tuples_number_their_placeholders_in_order() {
        assert_eq!(tuples(Backend::Postgres, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(tuples(Backend::Postgres, 1, 1), "($1)");
        assert_eq!(tuples(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }

    /// A store in a temporary directory with users 1 and 2 and conversations 10 and 20.
    async fn store_with_conversations() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(None, dir.path()).await.expect("store");
        for (id, username) in [(1, "ann"), (2, "ben")] {
            let user = NewUser {
                id: UserId(id),
                username,
                display_name: username,
                avatar_url: None,
                password_hash: None,
                external_id: None,
                created_at: 0,
            };
            store.insert_user(&user).await.expect("user");
        }
        for id in [10, 20] {
            let c = NewConversation {
                id: ConversationId(id),
                kind: ConversationKind::Group,
                name: Some("g"),
                direct_key: None,
                created_by: UserId(1),
                now: 0,
                members: vec![(UserId(1), Role::Owner), (UserId(2), Role::Member)],
            };
            store.insert_conversation(&c, &[]).await.expect("conversation");
        }
        (store, dir)
    }

    fn message(id: i64, conversation: i64, sender: i64, client_id: Option<&str>) -> NewMessage<'_> {
        NewMessage {
            id: MessageId(id),
            conversation_id: ConversationId(conversation),
            sender_id: UserId(sender),
            kind: MessageKind::Text,
            body: "hi",
            client_id,
            reply_to: None,
            mentions: None,
            tones: None,
            sticker_id: None,
            system: None,
            created_at: id,
        }
    }

    fn seqs(outcomes: &[SendOutcome]) -> Vec<(bool, i64, i64)> {
        outcomes
            .iter()
            .map(|o| match o {
                SendOutcome::Created(row) => (true, row.conversation_id.0, row.seq),
                SendOutcome::Duplicate(row) => (false, row.conversation_id.0, row.seq),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_batch_numbers_each_conversation_gap_free_and_recognises_repeats() {
        numbers_gap_free_and_recognises_repeats(MAX_BATCH).await;
    }

    /// The same batch through statements of two rows each, as PostgreSQL's chunks split it.
    #[tokio::test]
    async fn a_batch_split_into_statements_numbers_and_recognises_the_same() {
        numbers_gap_free_and_recognises_repeats(2).await;
    }

    async fn numbers_gap_free_and_recognises_repeats(chunk: usize) {
        let (store, _dir) = store_with_conversations().await;
        let first = append_in_chunks(&store, &[message(100, 10, 1, Some("a"))], chunk).await.expect("first batch");
        assert_eq!(seqs(&first), vec![(true, 10, 1)]);

        let batch = [
            message(101, 20, 1, None),
            message(102, 10, 2, Some("a")), // same client id, other sender: a new message
            message(103, 10, 1, Some("a")), // sent in the first batch
            message(107, 10, 1, Some("a")), // and again
            message(104, 20, 2, Some("b")),
            message(105, 20, 2, Some("b")), // repeated within this batch
            message(106, 10, 1, None),
        ];
        let outcomes = append_in_chunks(&store, &batch, chunk).await.expect("second batch");
        assert_eq!(
            seqs(&outcomes),
            vec![
                (true, 20, 1),
                (true, 10, 2),
                (false, 10, 1),
                (false, 10, 1),
                (true, 20, 2),
                (false, 20, 2),
                (true, 10, 3)
            ]
        );

        let range = HistoryRange { before: None, after: None, limit: 100 };
        for (conversation, expected) in [(10, vec![1, 2, 3]), (20, vec![1, 2])] {
            let (rows, _) = store.history(ConversationId(conversation), range).await.expect("history");
            assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), expected, "conversation {conversation}");
            let versions: Vec<i64> = rows.iter().map(|r| r.version).collect();
            assert!(versions.windows(2).all(|w| w[0] < w[1]), "versions rise with seq: {versions:?}");
        }
    }

    #[tokio::test]
    async fn a_refused_batch_fails_only_the_message_at_fault() {
        let (store, _dir) = store_with_conversations().await;
        // Conversation 30 does not exist: its message fails, the others of its batch are stored.
        let batch = [message(200, 10, 1, None), message(201, 30, 1, None), message(202, 20, 2, None)];
        assert!(append_batch(&store, &batch).await.is_err(), "the batch as a whole is refused");

        let sends = batch.iter().map(|m| store.insert_message(m));
        let results = futures_util::future::join_all(sends).await;
        assert!(matches!(results[0], Ok(SendOutcome::Created(ref row)) if row.seq == 1));
        assert!(results[1].is_err());
        assert!(matches!(results[2], Ok(SendOutcome::Created(ref row)) if row.seq == 1));
    }

    #[tokio::test]
    async fn concurrent_sends_share_commits_without_gaps_or_duplicates() {
        let (store, _dir) = store_with_conversations().await;
        let client_ids: Vec<String> = (0..300).map(|i| format!("c{}", i % 250)).collect();
        let sends = client_ids.iter().enumerate().map(|(i, client_id)| {
            let store = store.clone();
            async move {
                let m = message(1000 + i as i64, if i % 2 == 0 { 10 } else { 20 }, 1, Some(client_id));
                store.insert_message(&m).await
            }
        });
        let results = futures_util::future::join_all(sends).await;
        let created = results.iter().filter(|r| matches!(r, Ok(SendOutcome::Created(_)))).count();
        assert!(results.iter().all(Result::is_ok));
        // c0..c49 were each sent twice, to the same conversation (i and i + 250 share parity).
        assert_eq!(created, 250);

        let range = HistoryRange { before: None, after: None, limit: 1000 };
        for conversation in [10, 20] {
            let (rows, _) = store.history(ConversationId(conversation), range).await.expect("history");
            assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=125).collect::<Vec<_>>());
        }
    }
}
