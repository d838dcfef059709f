//! Invitations to the host app's activities: lifecycle, rules, webhook outcomes, expiry.

use std::time::{Duration, Instant};

use confab_client::{ClientError, Connection};
use confab_proto::frames::{Command, Event, MessageRef, SendInvitation};
use confab_proto::rest::{
    CreateConversationRequest, InvitationState, Message, MessageKind, SendInvitationRequest, SendMessageRequest,
};
use confab_proto::{ErrorCode, MessageId};
use serde_json::json;

use crate::helpers::*;
use crate::host_app::{self, HostApp, Mode};

const WAIT: Duration = Duration::from_secs(10);

async fn spawn_with_host(configure: impl FnOnce(&mut confab_server::Config)) -> (TestApp, HostApp) {
    let host = host_app::start().await;
    let url = format!("{}/hooks/pong", host.url);
    let app = spawn_app_with(|c| {
        c.activities = vec![confab_server::config::ActivityConfig {
            id: "pong".into(),
            label: "a game of Pong".into(),
            webhook_url: url,
            secret: host_app::SECRET.into(),
            ttl_secs: None,
        }];
        c.webhooks.retries = 1;
        c.webhooks.backoff_ms = 10;
        c.webhooks.timeout_ms = 3000;
        configure(c);
    })
    .await;
    (app, host)
}

fn pong(invitee: Option<&TestUser>) -> SendInvitationRequest {
    SendInvitationRequest { activity: "pong".into(), invitee: invitee.map(|u| u.id()) }
}

/// Waits for an update of message `id` whose invitation is in `state`.
async fn invitation_update(ws: &mut Connection, id: MessageId, state: InvitationState) -> Message {
    loop {
        let frame = ws.next_event_timeout(WAIT).await.expect("an update");
        if let Event::MessageUpdated(m) | Event::MessageCreated(m) = frame.event
            && m.id == id
            && m.invitation.as_ref().is_some_and(|i| i.state == state)
        {
            return m;
        }
    }
}

#[tokio::test]
async fn an_accepted_invitation_relays_the_host_apps_answer_to_both_players() {
    let (app, host) = spawn_with_host(|_| {}).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    assert_eq!(alice.client.activities().await.unwrap().activities[0].id, "pong");
    let mut alice_ws = alice.connect().await;
    let mut bob_ws = bob.connect().await;

    let invitation = alice.client.invite(dm, &pong(Some(&bob))).await.unwrap();
    assert_eq!(invitation.kind, MessageKind::Invitation);
    let state = invitation.invitation.clone().unwrap();
    assert_eq!(
        (state.state, state.invitee, state.label.as_str()),
        (InvitationState::Pending, Some(bob.id()), "a game of Pong")
    );
    invitation_update(&mut bob_ws, invitation.id, InvitationState::Pending).await;

    let accepted = bob.client.accept_invitation(dm, invitation.id).await.unwrap();
    assert_eq!(accepted.invitation.unwrap().state, InvitationState::Accepted);
    for ws in [&mut alice_ws, &mut bob_ws] {
        let ready = loop {
            let m = invitation_update(ws, invitation.id, InvitationState::Accepted).await;
            if m.invitation.as_ref().unwrap().result.is_some() {
                break m;
            }
        };
        let result = ready.invitation.unwrap().result.unwrap();
        assert_eq!(result, json!({"join_url": "https://game.example/match/42"}));
    }
    let received = host.received();
    assert_eq!(received.len(), 1);
    let (event, body) = &received[0];
    assert_eq!(event, "invitation.accepted");
    assert_eq!(body["inviter"]["user"]["username"], "alice");
    assert_eq!(body["invitee"]["user"]["username"], "bob");
    assert_eq!(body["invitation"]["activity"], "pong");
    assert_eq!(body["conversation"]["id"], json!(dm));

    // History and sync carry the final state too.
    let history = bob.client.history(dm, &Default::default()).await.unwrap();
    let stored = history.messages.iter().find(|m| m.id == invitation.id).unwrap().invitation.clone().unwrap();
    assert_eq!((stored.state, stored.responded_by), (InvitationState::Accepted, Some(bob.id())));
    assert!(stored.result.is_some());
}

#[tokio::test]
async fn a_failing_host_app_marks_the_invitation_failed_with_a_reason() {
    let (app, host) = spawn_with_host(|_| {}).await;
    host.set(Mode::Fail(503));
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let mut alice_ws = alice.connect().await;
    let invitation = alice.client.invite(dm, &pong(None)).await.unwrap();
    bob.client.accept_invitation(dm, invitation.id).await.unwrap();
    let failed = invitation_update(&mut alice_ws, invitation.id, InvitationState::Failed).await;
    let reason = failed.invitation.unwrap().reason.unwrap();
    assert!(reason.contains("could not be reached"), "{reason}");
    assert_eq!(host.received().len(), 2, "one retry");

    // A 4xx is the host app saying no: no retry, its reason is shown.
    host.set(Mode::Fail(422));
    let second = alice.client.invite(dm, &pong(None)).await.unwrap();
    bob.client.accept_invitation(dm, second.id).await.unwrap();
    let refused = invitation_update(&mut alice_ws, second.id, InvitationState::Failed).await;
    assert!(refused.invitation.unwrap().reason.unwrap().contains("no match server"));
    assert_eq!(host.received().len(), 3);
}

#[tokio::test]
async fn a_slow_host_app_does_not_delay_chat() {
    let (app, host) = spawn_with_host(|_| {}).await;
    host.set(Mode::Slow(Duration::from_secs(2)));
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let mut bob_ws = bob.connect().await;
    let invitation = alice.client.invite(dm, &pong(None)).await.unwrap();

    let started = Instant::now();
    bob.client.accept_invitation(dm, invitation.id).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(1500), "accepting does not wait for the host app");
    let sent_at = Instant::now();
    alice.client.send_message(dm, &SendMessageRequest { body: "ready?".into(), ..Default::default() }).await.unwrap();
    loop {
        if let Event::MessageCreated(m) = bob_ws.next_event_timeout(WAIT).await.unwrap().event
            && m.body == "ready?"
        {
            break;
        }
    }
    assert!(sent_at.elapsed() < Duration::from_millis(1000), "chat flows while the webhook hangs");
    let done = invitation_update(&mut bob_ws, invitation.id, InvitationState::Accepted).await;
    let done = if done.invitation.as_ref().unwrap().result.is_none() {
        invitation_update(&mut bob_ws, invitation.id, InvitationState::Accepted).await
    } else {
        done
    };
    assert_eq!(done.invitation.unwrap().result.unwrap()["join_url"], "https://game.example/match/slow");
}

#[tokio::test]
async fn the_rules_of_who_may_do_what() {
    let (app, _host) = spawn_with_host(|_| {}).await;
    let (alice, bob, carol, mallory) =
        (app.user("alice").await, app.user("bob").await, app.user("carol").await, app.user("mallory").await);
    let group = alice
        .client
        .create_conversation(&CreateConversationRequest::group("Club", vec![bob.id(), carol.id(), mallory.id()]))
        .await
        .unwrap()
        .id;

    let unknown = SendInvitationRequest { activity: "chess".into(), invitee: None };
    assert_api_error(alice.client.invite(group, &unknown).await, 400, ErrorCode::UnknownActivity);
    let outsider = app.user("outsider").await;
    let not_member = SendInvitationRequest { activity: "pong".into(), invitee: Some(outsider.id()) };
    assert_api_error(alice.client.invite(group, &not_member).await, 400, ErrorCode::InvalidMembers);

    let for_bob = alice.client.invite(group, &pong(Some(&bob))).await.unwrap();
    assert_api_error(alice.client.accept_invitation(group, for_bob.id).await, 403, ErrorCode::Forbidden);
    assert_api_error(carol.client.accept_invitation(group, for_bob.id).await, 403, ErrorCode::Forbidden);
    assert_api_error(bob.client.cancel_invitation(group, for_bob.id).await, 403, ErrorCode::Forbidden);
    assert_api_error(alice.client.decline_invitation(group, for_bob.id).await, 403, ErrorCode::Forbidden);
    assert_api_error(outsider.client.accept_invitation(group, for_bob.id).await, 404, ErrorCode::NotFound);
    bob.client.accept_invitation(group, for_bob.id).await.unwrap();
    assert_api_error(bob.client.accept_invitation(group, for_bob.id).await, 409, ErrorCode::InvitationClosed);
    assert_api_error(alice.client.cancel_invitation(group, for_bob.id).await, 409, ErrorCode::InvitationClosed);

    let cancelled = alice.client.invite(group, &pong(None)).await.unwrap();
    assert_eq!(
        alice.client.cancel_invitation(group, cancelled.id).await.unwrap().invitation.unwrap().state,
        InvitationState::Cancelled
    );
    assert_api_error(carol.client.accept_invitation(group, cancelled.id).await, 409, ErrorCode::InvitationClosed);
    let declined = alice.client.invite(group, &pong(None)).await.unwrap();
    assert_eq!(
        carol.client.decline_invitation(group, declined.id).await.unwrap().invitation.unwrap().state,
        InvitationState::Declined
    );

    // A blocked user cannot invite the blocker.
    alice.client.block(mallory.id()).await.unwrap();
    let to_alice = SendInvitationRequest { activity: "pong".into(), invitee: Some(alice.id()) };
    assert_api_error(mallory.client.invite(group, &to_alice).await, 403, ErrorCode::Blocked);
}

#[tokio::test]
async fn invitations_expire_live_and_cannot_be_accepted_after() {
    let (app, _host) = spawn_with_host(|c| {
        c.activities[0].ttl_secs = Some(1);
        c.invitations.sweep_interval_ms = 100;
    })
    .await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let mut bob_ws = bob.connect().await;
    let invitation = alice.client.invite(dm, &pong(None)).await.unwrap();
    let expired = invitation_update(&mut bob_ws, invitation.id, InvitationState::Expired).await;
    assert_eq!(expired.invitation.unwrap().state, InvitationState::Expired);
    assert_api_error(bob.client.accept_invitation(dm, invitation.id).await, 409, ErrorCode::InvitationClosed);
}

#[tokio::test]
async fn invitations_over_the_websocket() {
    let (app, _host) = spawn_with_host(|_| {}).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let mut alice_ws = alice.connect().await;
    let mut bob_ws = bob.connect().await;
    let sent = alice_ws
        .request(Command::SendInvitation(SendInvitation {
            conversation_id: dm,
            activity: "pong".into(),
            invitee: None,
        }))
        .await
        .unwrap();
    let confab_proto::frames::Ack::Message(sent) = sent else { panic!("{sent:?}") };
    let own = bob_ws
        .request(Command::AcceptInvitation(MessageRef { conversation_id: dm, message_id: sent.id }))
        .await
        .unwrap();
    assert!(
        matches!(own, confab_proto::frames::Ack::Message(m) if m.invitation.as_ref().unwrap().state == InvitationState::Accepted)
    );
    let again =
        bob_ws.request(Command::AcceptInvitation(MessageRef { conversation_id: dm, message_id: sent.id })).await;
    assert!(matches!(again, Err(ClientError::Command(e)) if e.code == ErrorCode::InvitationClosed));
    let bad = alice_ws
        .request(Command::SendInvitation(SendInvitation {
            conversation_id: dm,
            activity: "nope".into(),
            invitee: None,
        }))
        .await;
    assert!(matches!(bad, Err(ClientError::Command(e)) if e.code == ErrorCode::UnknownActivity));
}

#[tokio::test]
async fn the_receiver_refuses_forged_and_replayed_requests() {
    let (app, host) = spawn_with_host(|_| {}).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let mut ws = alice.connect().await;
    let invitation = alice.client.invite(dm, &pong(None)).await.unwrap();
    bob.client.accept_invitation(dm, invitation.id).await.unwrap();
    loop {
        let m = invitation_update(&mut ws, invitation.id, InvitationState::Accepted).await;
        if m.invitation.unwrap().result.is_some() {
            break;
        }
    }
    let (headers, body) = host.last_raw.lock().unwrap().clone().unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/hooks/pong", host.url);

    // The same signature with a tampered body.
    let mut forged = body.to_vec();
    forged.extend_from_slice(b" ");
    let response = http
        .post(&url)
        .header("x-confab-timestamp", headers["x-confab-timestamp"].to_str().unwrap())
        .header("x-confab-signature", headers["x-confab-signature"].to_str().unwrap())
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // A genuine request replayed much later: its timestamp is too old.
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let replay_sig = confab_server::webhooks::signature(host_app::SECRET.as_bytes(), old, &body);
    let response = http
        .post(&url)
        .header("x-confab-timestamp", old.to_string())
        .header("x-confab-signature", replay_sig)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(host.refused(), 2);
    assert_eq!(host.received().len(), 1, "only Confab's own request got through");
}
