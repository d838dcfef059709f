//! Groups: roles and permissions, every change kept in the timeline and the audit log, live
//! updates, deletion.

use std::time::Duration;

use confab_client::Connection;
use confab_proto::frames::{Event, RemovalReason};
use confab_proto::rest::{
    CreateConversationRequest, HistoryQuery, MessageKind, Role, SystemEvent, UpdateConversationRequest,
};
use confab_proto::{ConversationId, ErrorCode, UserId};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(10);

async fn group(owner: &TestUser, name: &str, members: &[&TestUser]) -> ConversationId {
    let req = CreateConversationRequest::group(name, members.iter().map(|m| m.id()).collect());
    owner.client.create_conversation(&req).await.unwrap().id
}

fn rename(name: &str) -> UpdateConversationRequest {
    UpdateConversationRequest { name: Some(name.into()), ..Default::default() }
}

async fn system_events(user: &TestUser, id: ConversationId) -> Vec<SystemEvent> {
    let page = user.client.history(id, &HistoryQuery { limit: Some(100), ..Default::default() }).await.unwrap();
    page.messages.into_iter().filter(|m| m.kind == MessageKind::System).filter_map(|m| m.system).collect()
}

/// Waits for the next frame matching `pick`, skipping others.
async fn wait_for<T>(ws: &mut Connection, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    loop {
        let frame = ws.next_event_timeout(WAIT).await.expect("an event");
        if let Some(found) = pick(frame.event) {
            return found;
        }
    }
}

#[tokio::test]
async fn every_group_change_is_kept_in_the_timeline_and_the_audit_log() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let id = group(&alice, "Pong club", &[&bob]).await;

    let added = alice.client.add_members(id, vec![carol.id(), carol.id(), bob.id(), alice.id()]).await.unwrap();
    assert_eq!(added.added, vec![carol.id()], "duplicates and existing members are collapsed");
    assert_eq!(added.conversation.members.len(), 3);
    alice.client.update_conversation(id, &rename("Pong masters")).await.unwrap();
    let topic = UpdateConversationRequest { topic: Some("Tuesdays 8pm".into()), ..Default::default() };
    alice.client.update_conversation(id, &topic).await.unwrap();
    alice.client.set_role(id, bob.id(), Role::Admin).await.unwrap();
    bob.client.remove_member(id, carol.id()).await.unwrap();
    alice.client.set_role(id, bob.id(), Role::Owner).await.unwrap();
    alice.client.remove_member(id, alice.id()).await.unwrap(); // leaves

    let events = system_events(&bob, id).await;
    assert_eq!(
        events,
        vec![
            SystemEvent::GroupCreated { name: "Pong club".into() },
            SystemEvent::MembersAdded { users: vec![carol.id()] },
            SystemEvent::Renamed { from: "Pong club".into(), to: "Pong masters".into() },
            SystemEvent::TopicChanged { topic: Some("Tuesdays 8pm".into()) },
            SystemEvent::RoleChanged { user: bob.id(), role: Role::Admin },
            SystemEvent::MemberRemoved { user: carol.id() },
            SystemEvent::OwnershipTransferred { from: alice.id(), to: bob.id() },
            SystemEvent::MemberLeft,
        ]
    );
    let history = bob.client.history(id, &HistoryQuery::default()).await.unwrap();
    let last = history.messages.last().unwrap();
    assert_eq!((last.sender_id, last.kind), (alice.id(), MessageKind::System), "the entry says who did it");

    let conversation = bob.client.conversation(id).await.unwrap();
    assert_eq!(conversation.name.as_deref(), Some("Pong masters"));
    assert_eq!(
        conversation.members.iter().map(|m| (m.user.id, m.role)).collect::<Vec<_>>(),
        vec![(bob.id(), Role::Owner)]
    );

    let audit = bob.client.audit(id).await.unwrap();
    let actions: Vec<&str> = audit.entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "group_created",
            "members_added",
            "renamed",
            "topic_changed",
            "role_changed",
            "member_removed",
            "ownership_transferred",
            "member_left"
        ]
    );
    // Those who left see nothing any more.
    assert_api_error(carol.client.history(id, &HistoryQuery::default()).await, 404, ErrorCode::NotFound);
    assert_api_error(alice.client.conversation(id).await, 404, ErrorCode::NotFound);
}

#[tokio::test]
async fn the_permission_table_is_enforced() {
    let app = spawn_app().await;
    let (owner, admin, member, other) =
        (app.user("owner").await, app.user("admin").await, app.user("member").await, app.user("other").await);
    let id = group(&owner, "Club", &[&admin, &member]).await;
    owner.client.set_role(id, admin.id(), Role::Admin).await.unwrap();

    // Members manage nothing.
    assert_api_error(member.client.update_conversation(id, &rename("Mine")).await, 403, ErrorCode::Forbidden);
    assert_api_error(member.client.add_members(id, vec![other.id()]).await, 403, ErrorCode::Forbidden);
    assert_api_error(member.client.remove_member(id, admin.id()).await, 403, ErrorCode::Forbidden);
    assert_api_error(member.client.delete_conversation(id).await, 403, ErrorCode::Forbidden);
    // Admins edit and add, but do not touch roles, other admins, or the group's existence.
    admin.client.update_conversation(id, &rename("Renamed by admin")).await.unwrap();
    admin.client.add_members(id, vec![other.id()]).await.unwrap();
    assert_api_error(admin.client.set_role(id, member.id(), Role::Admin).await, 403, ErrorCode::Forbidden);
    assert_api_error(admin.client.remove_member(id, owner.id()).await, 403, ErrorCode::Forbidden);
    assert_api_error(admin.client.delete_conversation(id).await, 403, ErrorCode::Forbidden);
    admin.client.remove_member(id, other.id()).await.unwrap();
    // The owner cannot leave the group ownerless, by demotion or by leaving.
    assert_api_error(owner.client.set_role(id, owner.id(), Role::Member).await, 409, ErrorCode::LastOwner);
    assert_api_error(owner.client.remove_member(id, owner.id()).await, 409, ErrorCode::LastOwner);
    // Outsiders learn nothing.
    assert_api_error(other.client.update_conversation(id, &rename("x")).await, 404, ErrorCode::NotFound);

    let roles: Vec<(UserId, Role)> =
        owner.client.conversation(id).await.unwrap().members.iter().map(|m| (m.user.id, m.role)).collect();
    assert!(roles.contains(&(owner.id(), Role::Owner)));
    assert!(roles.contains(&(admin.id(), Role::Admin)));
    assert!(roles.contains(&(member.id(), Role::Member)));
}

#[tokio::test]
async fn bad_group_changes_are_refused_and_change_nothing() {
    let app = spawn_app_with(|c| c.limits.max_group_members = 3).await;
    let (alice, bob, carol, dave) =
        (app.user("alice").await, app.user("bob").await, app.user("carol").await, app.user("dave").await);
    let id = group(&alice, "Club", &[&bob]).await;
    let before = alice.client.conversation(id).await.unwrap();

    let long = rename(&"x".repeat(10_000));
    assert_api_error(alice.client.update_conversation(id, &long).await, 400, ErrorCode::InvalidParameter);
    let js = UpdateConversationRequest { avatar_url: Some("javascript:alert(1)".into()), ..Default::default() };
    assert_api_error(alice.client.update_conversation(id, &js).await, 400, ErrorCode::InvalidParameter);
    let empty = UpdateConversationRequest::default();
    assert_api_error(alice.client.update_conversation(id, &empty).await, 400, ErrorCode::InvalidParameter);
    match alice.client.add_members(id, vec![UserId(77777)]).await {
        Err(confab_client::ClientError::Api { status: 400, error }) => {
            assert_eq!(error.code, ErrorCode::UnknownUser);
            assert!(error.message.contains("77777"), "the error names the unknown id: {}", error.message);
        }
        other => panic!("{other:?}"),
    }
    assert_api_error(alice.client.add_members(id, vec![carol.id(), dave.id()]).await, 400, ErrorCode::InvalidMembers);
    let dm = alice.dm_with(&bob).await;
    assert_api_error(alice.client.update_conversation(dm.id, &rename("DM")).await, 403, ErrorCode::Forbidden);
    assert_api_error(alice.client.add_members(dm.id, vec![carol.id()]).await, 403, ErrorCode::Forbidden);

    let after = alice.client.conversation(id).await.unwrap();
    assert_eq!((after.name, after.member_count, after.version), (before.name, before.member_count, before.version));
}

#[tokio::test]
async fn concurrent_adds_of_the_same_member_add_them_once() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let id = group(&alice, "Club", &[&bob]).await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let client = alice.client.clone();
        let carol = carol.id();
        tasks.push(tokio::spawn(async move { client.add_members(id, vec![carol, carol]).await.unwrap().added }));
    }
    let mut added = Vec::new();
    for t in tasks {
        added.extend(t.await.unwrap());
    }
    assert_eq!(added, vec![carol.id()]);
    let adds =
        system_events(&alice, id).await.into_iter().filter(|e| matches!(e, SystemEvent::MembersAdded { .. })).count();
    assert_eq!(adds, 1);
    assert_eq!(alice.client.conversation(id).await.unwrap().member_count, 3);
}

#[tokio::test]
async fn group_changes_are_live_for_every_member() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let id = group(&alice, "Club", &[&bob]).await;
    let mut bob_ws = bob.connect().await;
    let mut carol_ws = carol.connect().await;

    alice.client.add_members(id, vec![carol.id()]).await.unwrap();
    let created = wait_for(&mut carol_ws, |e| match e {
        Event::ConversationCreated(c) => Some(c),
        _ => None,
    })
    .await;
    assert_eq!((created.id, created.member_count), (id, 3));
    let entry = wait_for(&mut bob_ws, |e| match e {
        Event::MessageCreated(m) => m.system,
        _ => None,
    })
    .await;
    assert_eq!(entry, SystemEvent::MembersAdded { users: vec![carol.id()] });
    let updated = wait_for(&mut bob_ws, |e| match e {
        Event::ConversationUpdated(c) => Some(c),
        _ => None,
    })
    .await;
    assert_eq!(updated.member_count, 3);

    alice.client.remove_member(id, carol.id()).await.unwrap();
    let removed = wait_for(&mut carol_ws, |e| match e {
        Event::ConversationRemoved(r) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!((removed.conversation_id, removed.reason), (id, RemovalReason::Removed));
}

#[tokio::test]
async fn deleting_a_group_removes_it_everywhere_but_keeps_the_audit_row() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let id = group(&alice, "Doomed", &[&bob]).await;
    bob.client
        .send_message(id, &confab_proto::rest::SendMessageRequest { body: "hi".into(), ..Default::default() })
        .await
        .unwrap();
    let mut bob_phone = bob.connect().await;
    let mut bob_laptop = bob.connect().await;

    assert_api_error(bob.client.delete_conversation(id).await, 403, ErrorCode::Forbidden);
    alice.client.delete_conversation(id).await.unwrap();
    for ws in [&mut bob_phone, &mut bob_laptop] {
        let removed = wait_for(ws, |e| match e {
            Event::ConversationRemoved(r) => Some(r),
            _ => None,
        })
        .await;
        assert_eq!((removed.conversation_id, removed.reason), (id, RemovalReason::Deleted));
    }
    assert_api_error(bob.client.history(id, &HistoryQuery::default()).await, 404, ErrorCode::NotFound);
    assert!(bob.client.conversations().await.unwrap().conversations.is_empty());
    let audit = app.server.app.store.audit_log(id, 10).await.unwrap();
    assert_eq!(audit.first().map(|a| a.action.as_str()), Some("group_deleted"));
    assert_eq!(audit.first().map(|a| a.actor_id), Some(alice.id()));
}

#[tokio::test]
async fn once_a_removal_returns_no_send_by_the_removed_member_succeeds() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = spawn_app().await;
    let (owner, reader, leaver) = (app.user("owner").await, app.user("reader").await, app.user("leaver").await);
    let id = group(&owner, "Race", &[&reader]).await;
    // Each round adds the member back (emptying the membership cache) and removes them while
    // they send and others read, so that loads of the membership race the removal.
    for round in 0..10 {
        owner.client.add_members(id, vec![leaver.id()]).await.unwrap();
        let removed = AtomicBool::new(false);
        let sends = async {
            let mut after_removal = 0;
            while after_removal < 3 {
                let was_removed = removed.load(Ordering::SeqCst);
                let sent = leaver.client.send_message(id, &text("still here?")).await;
                if was_removed {
                    assert!(
                        matches!(&sent, Err(confab_client::ClientError::Api { status: 404, .. })),
                        "round {round}: a send after the removal returned got {sent:?}"
                    );
                    after_removal += 1;
                }
            }
        };
        let reads = async {
            while !removed.load(Ordering::SeqCst) {
                reader.client.history(id, &HistoryQuery::default()).await.unwrap();
            }
        };
        let removal = async {
            owner.client.remove_member(id, leaver.id()).await.unwrap();
            removed.store(true, Ordering::SeqCst);
        };
        tokio::join!(sends, reads, removal);
    }
    assert_api_error(leaver.client.history(id, &HistoryQuery::default()).await, 404, ErrorCode::NotFound);
}
