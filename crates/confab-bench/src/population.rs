//! Confab users for a run: sessions opened in parallel (which provisions the users on first
//! sight of their tokens), conversations created over REST with the SDK, and [`ConfabUser`],
//! the load engine's view of one of them.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use anyhow::Context;
use confab_client::Client;
use confab_proto::UserId;
use confab_proto::rest::CreateConversationRequest;
use futures_util::{StreamExt, stream};

use crate::dial::Dialer;
use crate::server::Confab;
use crate::shape::Shape;
use crate::stats::{Latency, Tally};
use crate::traffic::{Action, Inbound, LoadClient};
use crate::wire::Session;

/// Sessions opened for users `range`, in order; `None` where opening failed.
pub struct Opened {
    pub sessions: Vec<Option<Session>>,
    pub tokens: Vec<String>,
    pub failures: BTreeMap<String, u64>,
    pub first_failure: Option<String>,
    pub elapsed: Duration,
    /// Handshake to `ready`, per session (a slow server shows here before it refuses).
    pub latency: Latency,
}

impl Opened {
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// Opens one session per user of `range`, at most `concurrency` handshakes at a time.
pub async fn open_sessions(confab: &Confab, range: Range<usize>, concurrency: usize) -> anyhow::Result<Opened> {
    let dialer = Dialer { server: confab.addr };
    let tokens = range.clone().map(|i| confab.minter.token(i)).collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    let mut results: Vec<(usize, Result<Session, String>, String, Duration)> =
        stream::iter(range.clone().zip(tokens.iter()))
            .map(|(i, token)| async move {
                let started = Instant::now();
                match Session::open(&dialer, i, token).await {
                    Ok(session) => (i, Ok(session), String::new(), started.elapsed()),
                    Err(e) => (i, Err(e.kind()), e.to_string(), started.elapsed()),
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    let elapsed = started.elapsed();
    results.sort_by_key(|(i, ..)| *i);
    let mut failures = BTreeMap::new();
    let mut first_failure = None;
    let mut latency = Latency::default();
    let sessions = results
        .into_iter()
        .map(|(_, result, detail, took)| match result {
            Ok(session) => {
                latency.record(took);
                Some(session)
            }
            Err(kind) => {
                first_failure.get_or_insert(detail);
                *failures.entry(kind).or_default() += 1;
                None
            }
        })
        .collect();
    Ok(Opened { sessions, tokens, failures, first_failure, elapsed, latency })
}

/// Creates the conversations of `shape` (the first member opens each one) and returns their ids.
pub async fn create_conversations(
    confab: &Confab,
    shape: &Shape,
    user_ids: &[String],
    tokens: &[String],
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let client = Client::new(&confab.base_url)?;
    let requests = shape.conversations().into_iter().enumerate().map(|(c, members)| {
        let creator = client.with_token(&tokens[members[0]]);
        let others: anyhow::Result<Vec<UserId>> =
            members[1..].iter().map(|&m| user_ids[m].parse::<UserId>().context("a user id from ready")).collect();
        async move {
            let request = match shape {
                Shape::Direct { .. } => CreateConversationRequest::Direct { members: others? },
                Shape::Fanout { .. } => CreateConversationRequest::group(format!("bench group {c}"), others?),
            };
            let conversation = creator.create_conversation(&request).await.context("creating a conversation")?;
            anyhow::Ok((c, conversation.id.to_string()))
        }
    });
    let mut ids: Vec<(usize, String)> = stream::iter(requests)
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    ids.sort();
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

/// What setting up a messaging population took.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    pub connect: Duration,
    pub conversations: Duration,
}

/// Creates every user and conversation of `shape`, then connects the users; each user's only
/// target is its conversation. Conversations come first so that the population comes online
/// into conversations that exist (the steady state the figures are about) instead of receiving
/// every creation live: in groups of 500, that is 500 copies of a 500-member list per group.
/// Any failed session aborts: a pattern with holes would not be the one asked for.
pub async fn messaging_users(
    confab: &Confab,
    shape: &Shape,
    concurrency: usize,
) -> anyhow::Result<(Vec<ConfabUser>, Setup)> {
    let started = Instant::now();
    let tokens = (0..shape.users()).map(|i| confab.minter.token(i)).collect::<anyhow::Result<Vec<_>>>()?;
    let client = Client::new(&confab.base_url)?;
    // A user seen first through a valid token is provisioned on the spot.
    let user_ids: Vec<String> = stream::iter(tokens.iter())
        .map(|token| {
            let client = client.with_token(token);
            async move { anyhow::Ok(client.me().await.context("provisioning a user")?.id.to_string()) }
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let conversation_ids = create_conversations(confab, shape, &user_ids, &tokens, concurrency.min(16)).await?;
    let conversations = started.elapsed();

    let opened = open_sessions(confab, 0..shape.users(), concurrency).await?;
    if opened.failed() > 0 {
        anyhow::bail!(
            "{} of {} sessions failed to open ({:?}); first: {}",
            opened.failed(),
            shape.users(),
            opened.failures,
            opened.first_failure.unwrap_or_default()
        );
    }
    let sessions: Vec<Session> = opened.sessions.into_iter().flatten().collect();
    let setup = Setup { connect: opened.elapsed, conversations };
    let dialer = Dialer { server: confab.addr };
    let seats = shape.seats();
    let users = sessions
        .into_iter()
        .zip(opened.tokens)
        .zip(seats)
        .map(|((session, token), seat)| ConfabUser {
            session: Some(session),
            targets: vec![conversation_ids[seat.conversation].clone()],
            dialer,
            index: seat.user,
            token,
            sent: 0,
        })
        .collect();
    Ok((users, setup))
}

/// One simulated Confab user: its session, the conversations it writes to, and what it needs to
/// reconnect.
pub struct ConfabUser {
    pub session: Option<Session>,
    pub targets: Vec<String>,
    pub dialer: Dialer,
    pub index: usize,
    pub token: String,
    /// Messages sent so far, over all sessions: it numbers the `client_id`s, which must not
    /// repeat after a reconnect (a repeated one is an idempotent retry and is not delivered).
    pub sent: u64,
}

impl LoadClient for ConfabUser {
    async fn next_inbound(&mut self) -> Inbound {
        match &mut self.session {
            Some(session) => session.next_inbound().await,
            None => std::future::pending().await,
        }
    }

    async fn perform(&mut self, action: Action, body: &str, tally: &mut Tally) -> Result<(), String> {
        if action == Action::Reconnect {
            return self.reconnect(tally).await;
        }
        let Some(session) = self.session.as_mut() else { return Err("no_session".into()) };
        let sent = match action {
            Action::Send { target } => {
                self.sent += 1;
                session.send_message(self.sent, &self.targets[target], body).await
            }
            Action::Typing { target } => session.send_typing(&self.targets[target]).await,
            Action::Reconnect => Ok(()),
        };
        sent.map_err(|_| "send_failed".into())
    }
}

impl ConfabUser {
    /// Closes the session and opens a new one, as a client on a flaky network would (the grace
    /// period keeps the user online in between).
    async fn reconnect(&mut self, tally: &mut Tally) -> Result<(), String> {
        if let Some(session) = self.session.take() {
            tokio::spawn(session.close());
        }
        let started = Instant::now();
        match Session::open(&self.dialer, self.index, &self.token).await {
            Ok(session) => {
                tally.reconnect.record(started.elapsed());
                tally.reconnects += 1;
                self.session = Some(session);
                Ok(())
            }
            Err(e) => Err(format!("reconnect_{}", e.kind())),
        }
    }
}
