//! `history`: reading the past. A direct conversation is filled with messages, then read back
//! in pages of 100 from random points (closed loop, several readers), and a client that was
//! offline while more messages arrived reconnects and catches up with `sync`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use confab_client::Client;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;

use super::Ctx;
use crate::cli::HistoryArgs;
use crate::dial::Dialer;
use crate::population;
use crate::report::Report;
use crate::server::Confab;
use crate::stats::Latency;
use crate::traffic::{Inbound, Stamp, stamped_body};
use crate::wire::Session;

/// Commands in flight while filling: enough to keep the server busy, far below the 1024-frame
/// outbound queue (each message brings back an echo and an ack).
const FILL_WINDOW: usize = 64;

/// History page size (the protocol's maximum).
const PAGE: usize = 100;

/// Messages per `sync` answer asked for.
const SYNC_LIMIT: usize = 500;

pub async fn run(ctx: &Ctx, args: &HistoryArgs) -> anyhow::Result<()> {
    let confab = Confab::start(&ctx.server_options(), &ctx.tag("history")).await?;
    let result = measure(ctx, args, &confab).await;
    let log = confab.stop().await;
    ctx.emit_with_log(result, log)
}

async fn measure(ctx: &Ctx, args: &HistoryArgs, confab: &Confab) -> anyhow::Result<Report> {
    let params = json!({
        "messages": args.messages, "readers": args.readers, "duration_s": args.duration,
        "offline": args.offline, "rounds": args.rounds, "page": PAGE, "body_bytes": ctx.common.body_bytes,
    });
    let mut report = Report::new("history", "confab", params, ctx.machine.clone(), confab.info.clone());

    let opened = population::open_sessions(confab, 0..2, 2).await?;
    let mut sessions = opened.sessions.into_iter();
    let (Some(Some(writer)), Some(Some(reader))) = (sessions.next(), sessions.next()) else {
        bail!("could not open the two sessions: {:?}", opened.failures);
    };
    let reader_id = reader.user_id.parse().context("reader's user id")?;
    // Offline from here on: its events would otherwise pile up unread.
    reader.close().await;
    let client = Client::new(&confab.base_url)?;
    let (writer_rest, reader_rest) = (client.with_token(&opened.tokens[0]), client.with_token(&opened.tokens[1]));
    let dm = writer_rest.open_direct(reader_id).await?;
    let conversation = dm.id.to_string();
    let mut writer = Writer { session: writer, sent: 0 };

    let fill = write_messages(ctx, &mut writer, &conversation, args.messages).await?;
    eprintln!("history: {} messages written in {:.1?}", args.messages, fill.elapsed);
    report.metric(
        "fill_per_sec",
        args.messages as f64 / fill.elapsed.as_secs_f64(),
        "msg/s (one connection, 64 in flight)",
    );
    report.latency("fill_ack", &fill.acks);

    let pages = read_pages(confab, &opened.tokens[1], &conversation, args).await;
    report.metric("pages", pages.count as f64, "pages");
    report.metric("pages_per_sec", pages.count as f64 / pages.elapsed.as_secs_f64(), "pages/s");
    report.metric("page_bytes_mean", pages.bytes as f64 / pages.count.max(1) as f64, "bytes");
    report.latency("history_page", &pages.latency);
    report.errors.extend(pages.errors);

    let dialer = Dialer { server: confab.addr };
    let mut total = Latency::default();
    let mut ready = Latency::default();
    for round in 0..args.rounds {
        let version = reader_rest.conversation(dm.id).await?.version;
        write_messages(ctx, &mut writer, &conversation, args.offline).await?;
        let started = Instant::now();
        let mut session =
            Session::open(&dialer, 1, &opened.tokens[1]).await.map_err(|e| anyhow::anyhow!("reconnect: {e}"))?;
        ready.record(started.elapsed());
        let received = sync_all(&mut session, &conversation, version).await?;
        let took = started.elapsed();
        total.record(took);
        eprintln!("history: sync round {round}: {received} messages in {took:.1?}");
        if received < args.offline {
            *report.errors.entry("sync_missing_messages".into()).or_default() += (args.offline - received) as u64;
        }
        session.close().await;
    }
    if args.rounds > 0 {
        let median_us = total.summary().p50.max(1);
        report.metric("sync_messages_per_sec", args.offline as f64 / (median_us as f64 / 1e6), "msg/s (median round)");
        report.latency("sync", &total);
        report.latency("sync_reconnect", &ready);
        report.note(format!(
            "sync: reconnect (handshake to ready) then sync from the last known version until {} missed messages are in, {SYNC_LIMIT} per answer",
            args.offline
        ));
    }
    report.note(
        "history pages are read closed-loop (each reader waits for its page), at random points of the conversation",
    );
    writer.session.close().await;
    Ok(report)
}

/// The writing session with its message counter (which numbers the `client_id`s).
struct Writer {
    session: Session,
    sent: u64,
}

struct Fill {
    elapsed: Duration,
    acks: Latency,
}

/// Sends `count` messages through one session with a bounded window, reading acks as they come.
async fn write_messages(ctx: &Ctx, writer: &mut Writer, conversation: &str, count: usize) -> anyhow::Result<Fill> {
    let Writer { session, sent: numbered } = writer;
    let started = Instant::now();
    let mut in_flight = VecDeque::with_capacity(FILL_WINDOW);
    let mut acks = Latency::default();
    let (mut sent, mut answered) = (0, 0);
    while answered < count {
        if sent < count && in_flight.len() < FILL_WINDOW {
            let now = Instant::now();
            let body = stamped_body(Stamp { intended_us: ctx.clock.us(now), sender: 0 }, ctx.common.body_bytes);
            *numbered += 1;
            session.send_message(*numbered, conversation, &body).await.context("sending while filling")?;
            in_flight.push_back(now);
            sent += 1;
            continue;
        }
        match session.next_inbound().await {
            // Commands are answered in order, so the oldest in flight is the one answered.
            Inbound::Ack(_) => {
                answered += 1;
                if let Some(at) = in_flight.pop_front() {
                    acks.record(at.elapsed());
                }
            }
            Inbound::Error(code) => bail!("the server refused a message while filling: {code}"),
            Inbound::Closed(reason) => bail!("the writer's connection closed while filling: {reason}"),
            _ => {}
        }
    }
    Ok(Fill { elapsed: started.elapsed(), acks })
}

struct Pages {
    count: u64,
    bytes: u64,
    elapsed: Duration,
    latency: Latency,
    errors: std::collections::BTreeMap<String, u64>,
}

/// `args.readers` readers fetching pages back to back for `args.duration` seconds.
async fn read_pages(confab: &Confab, token: &str, conversation: &str, args: &HistoryArgs) -> Pages {
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/conversations/{conversation}/messages", confab.base_url);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration);
    let readers: Vec<_> = (0..args.readers.max(1))
        .map(|reader| {
            let (http, url, token) = (http.clone(), url.clone(), token.to_owned());
            let newest = args.messages as u64 + 1;
            tokio::spawn(async move {
                let mut pages = Pages {
                    count: 0,
                    bytes: 0,
                    elapsed: Duration::ZERO,
                    latency: Latency::default(),
                    errors: Default::default(),
                };
                let mut random = 0x9e37_79b9_7f4a_7c15u64 ^ (reader as u64 + 1);
                while Instant::now() < deadline {
                    // xorshift: a random page start without an RNG dependency.
                    random ^= random << 13;
                    random ^= random >> 7;
                    random ^= random << 17;
                    let lowest = (PAGE as u64 + 1).min(newest);
                    let before = lowest + random % (newest - lowest + 1);
                    let at = Instant::now();
                    let answer = http
                        .get(&url)
                        .bearer_auth(&token)
                        .query(&[("limit", PAGE as u64), ("before", before)])
                        .send()
                        .await;
                    match answer {
                        Ok(response) if response.status().is_success() => match response.bytes().await {
                            Ok(body) => {
                                pages.latency.record(at.elapsed());
                                pages.count += 1;
                                pages.bytes += body.len() as u64;
                            }
                            Err(_) => *pages.errors.entry("history_body".into()).or_default() += 1,
                        },
                        Ok(response) => {
                            *pages.errors.entry(format!("history_http_{}", response.status().as_u16())).or_default() +=
                                1
                        }
                        Err(_) => *pages.errors.entry("history_request_failed".into()).or_default() += 1,
                    }
                }
                pages
            })
        })
        .collect();
    let mut total =
        Pages { count: 0, bytes: 0, elapsed: Duration::ZERO, latency: Latency::default(), errors: Default::default() };
    for reader in readers {
        if let Ok(pages) = reader.await {
            total.count += pages.count;
            total.bytes += pages.bytes;
            total.latency.add(&pages.latency);
            for (kind, n) in pages.errors {
                *total.errors.entry(kind).or_default() += n;
            }
        }
    }
    total.elapsed = started.elapsed();
    total
}

#[derive(Deserialize)]
struct SyncFrame<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    id: Option<&'a str>,
    #[serde(default)]
    data: Option<SyncData>,
}

#[derive(Deserialize)]
struct SyncData {
    #[serde(default)]
    conversations: Vec<SyncedView>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct SyncedView {
    messages: Vec<IgnoredAny>,
    version: i64,
}

/// Syncs one conversation from `version` until the server has nothing more; returns how many
/// messages came.
async fn sync_all(session: &mut Session, conversation: &str, mut version: i64) -> anyhow::Result<usize> {
    let mut received = 0;
    for page in 1.. {
        let id = format!("sync{page}");
        let frame = format!(
            r#"{{"type":"sync","id":"{id}","data":{{"conversations":[{{"id":"{conversation}","version":{version}}}],"limit":{SYNC_LIMIT}}}}}"#
        );
        session.send_raw(frame).await.context("sending sync")?;
        let answer = loop {
            let text = session
                .next_text()
                .await
                .map_err(|reason| anyhow::anyhow!("connection closed during sync: {reason}"))?;
            let Ok(frame) = serde_json::from_str::<SyncFrame>(&text) else { continue };
            if frame.id == Some(id.as_str()) {
                let data = frame.data.context("sync answer without data")?;
                if frame.kind != "ack" {
                    bail!("sync refused: {}", data.code.unwrap_or_default());
                }
                break data;
            }
        };
        for synced in &answer.conversations {
            received += synced.messages.len();
            version = version.max(synced.version);
        }
        if !answer.has_more {
            break;
        }
    }
    Ok(received)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_answers_are_read_without_their_messages_contents() {
        let text = r#"{"type":"ack","id":"sync1","data":{"conversations":[{"conversation":{"id":"1"},"messages":[{"id":"2","body":"x"},{"id":"3"}],"version":9}],"removed":[],"has_more":true}}"#;
        let frame: SyncFrame = serde_json::from_str(text).unwrap();
        let data = frame.data.unwrap();
        assert_eq!((frame.kind, frame.id), ("ack", Some("sync1")));
        assert_eq!((data.conversations[0].messages.len(), data.conversations[0].version, data.has_more), (2, 9, true));
    }
}
