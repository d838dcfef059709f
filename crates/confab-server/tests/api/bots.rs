//! Bot accounts: created and owned by a person, signed in only with a `cfb_` token, members of
//! the conversations people add them to and nothing else; a new or revoked token ends the old
//! one at once, sockets included.

use std::time::Duration;

use confab_client::Client;
use confab_proto::ErrorCode;
use confab_proto::bots::{BotCredentials, CreateBotRequest, UpdateBotRequest};
use confab_proto::frames::{Event, close_code};
use confab_proto::rest::CreateConversationRequest;

use crate::helpers::*;

fn bot_req(username: &str, public: bool) -> CreateBotRequest {
    CreateBotRequest { username: username.into(), display_name: Some("Dice".into()), public }
}

async fn create_bot(owner: &TestUser, username: &str, public: bool) -> BotCredentials {
    owner.client.create_bot(&bot_req(username, public)).await.expect("bot created")
}

fn signed_in(app: &TestApp, token: &str) -> Client {
    app.anonymous().with_token(token)
}

fn group(name: &str, members: Vec<confab_proto::UserId>) -> CreateConversationRequest {
    CreateConversationRequest::Group { name: name.into(), members }
}

#[tokio::test]
async fn a_bot_signs_in_with_its_token_and_talks_where_it_was_added() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    let made = create_bot(&alice, "DiceBot", false).await;
    let id = made.bot.user.id;
    assert!(made.token.starts_with(&format!("cfb_{id}_")), "a scannable token: {}", made.token);
    assert_eq!(made.bot.user.username, "dicebot");
    assert_eq!(made.bot.user.display_name, "Dice");
    assert!(made.bot.user.bot && made.bot.active && !made.bot.public);
    assert_eq!(made.bot.owner_id, alice.id());
    assert_eq!(alice.client.bots().await.unwrap().bots, vec![made.bot.clone()]);
    assert!(bob.client.bots().await.unwrap().bots.is_empty());

    // Its token works for REST, and the badge shows wherever the bot appears.
    let dice = signed_in(&app, &made.token);
    let me = dice.me().await.unwrap();
    assert_eq!((me.id, me.bot), (id, true));
    assert!(bob.client.user(id).await.unwrap().bot);
    assert_eq!(dice.bot(id).await.unwrap(), made.bot);

    // The owner adds it to a group; it reads and writes there, over REST and the socket.
    let room = alice.client.create_conversation(&group("Games", vec![bob.id(), id])).await.unwrap();
    let listed = room.members.iter().find(|m| m.user.id == id).expect("the bot is a member");
    assert!(listed.user.bot);
    let mut socket = dice.connect().await.expect("a bot connects like any client");
    let said = alice.client.send_message(room.id, &text("/roll please")).await.unwrap();
    let seen = first_event(&mut socket, Duration::from_secs(5), |e| match e {
        Event::MessageCreated(m) if m.id == said.id => Some(m),
        _ => None,
    })
    .await
    .expect("the bot sees the message");
    assert_eq!(seen.body, "/roll please");
    let answer = dice.send_message(room.id, &text("🎲 4")).await.unwrap();
    assert_eq!(answer.sender_id, id);
    let history = bob.client.history(room.id, &Default::default()).await.unwrap();
    assert!(history.messages.iter().any(|m| m.id == answer.id));
}

#[tokio::test]
async fn a_bot_is_a_member_of_its_conversations_and_nothing_else() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let made = create_bot(&alice, "helper", false).await;
    let bot = signed_in(&app, &made.token);
    let other_room = bob.client.create_conversation(&group("Bob's", vec![alice.id()])).await.unwrap();

    let forbidden = |r| assert_api_error(r, 403, ErrorCode::Forbidden);
    forbidden(bot.open_direct(bob.id()).await.map(|_| ()));
    forbidden(bot.create_conversation(&group("Bots only", vec![bob.id()])).await.map(|_| ()));
    forbidden(bot.request_contact(bob.id()).await.map(|_| ()));
    forbidden(bot.block(bob.id()).await);
    forbidden(bot.sessions().await.map(|_| ()));
    forbidden(bot.logout().await);
    forbidden(bot.bots().await.map(|_| ()));
    forbidden(bot.create_bot(&bot_req("spawned", false)).await.map(|_| ()));
    // A conversation it was not added to does not exist for it.
    assert_api_error(bot.send_message(other_room.id, &text("hi")).await, 404, ErrorCode::NotFound);
    assert_api_error(bot.conversation(other_room.id).await, 404, ErrorCode::NotFound);
    assert!(bot.conversations().await.unwrap().conversations.is_empty());
    // Nothing it tried left a trace.
    assert!(bob.client.contacts().await.unwrap().contacts.is_empty());
    assert_eq!(bob.client.conversations().await.unwrap().conversations.len(), 1);
}

#[tokio::test]
async fn only_its_owner_adds_a_private_bot_and_anyone_a_public_one() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let private = create_bot(&alice, "private-bot", false).await.bot.user.id;
    let public = create_bot(&alice, "public-bot", true).await.bot.user.id;
    let room = bob.client.create_conversation(&group("Bob's", vec![])).await.unwrap();

    assert_api_error(bob.client.add_members(room.id, vec![private]).await, 403, ErrorCode::Forbidden);
    assert_api_error(bob.client.open_direct(private).await, 403, ErrorCode::Forbidden);
    assert_api_error(bob.client.create_conversation(&group("With it", vec![private])).await, 403, ErrorCode::Forbidden);
    let after = bob.client.conversation(room.id).await.unwrap();
    assert_eq!(after.members.len(), 1, "nothing was added");
    assert_eq!(bob.client.conversations().await.unwrap().conversations.len(), 1, "nothing was created");

    bob.client.add_members(room.id, vec![public]).await.expect("a public bot joins anyone's group");
    bob.client.open_direct(public).await.expect("and anyone may talk to it directly");
    alice.client.open_direct(private).await.expect("its owner may talk to a private bot");

    // Its owner may make it public later; others may neither change nor see it.
    assert_api_error(
        bob.client.update_bot(private, &UpdateBotRequest { public: Some(true), ..Default::default() }).await,
        404,
        ErrorCode::NotFound,
    );
    assert_api_error(bob.client.bot(private).await, 404, ErrorCode::NotFound);
    assert_api_error(bob.client.rotate_bot_token(private).await, 404, ErrorCode::NotFound);
    let changed = alice
        .client
        .update_bot(private, &UpdateBotRequest { public: Some(true), display_name: Some("Helper".into()) })
        .await
        .unwrap();
    assert!(changed.public);
    assert_eq!(changed.user.display_name, "Helper");
    bob.client.add_members(room.id, vec![private]).await.expect("now public");
}

#[tokio::test]
async fn a_new_token_ends_the_old_one_and_closes_its_sockets() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let made = create_bot(&alice, "rotating", false).await;
    let id = made.bot.user.id;
    let old = signed_in(&app, &made.token);
    let mut socket = old.connect().await.unwrap();
    let ticket = old.ws_ticket().await.unwrap();

    let fresh = alice.client.rotate_bot_token(id).await.unwrap();
    assert_ne!(fresh.token, made.token);
    assert!(fresh.bot.active);
    let (code, _) = socket.expect_closed(Duration::from_secs(5)).await.unwrap();
    assert_eq!(code, close_code::SESSION_REVOKED);
    assert_api_error(old.me().await, 401, ErrorCode::InvalidToken);
    assert!(app.anonymous().connect_with_ticket(&ticket.ticket).await.is_err(), "a ticket of the old token fails");
    let new = signed_in(&app, &fresh.token);
    assert_eq!(new.me().await.unwrap().id, id);

    // Revoked: no token works until the owner issues one.
    let mut socket = new.connect().await.unwrap();
    alice.client.revoke_bot_token(id).await.unwrap();
    let (code, _) = socket.expect_closed(Duration::from_secs(5)).await.unwrap();
    assert_eq!(code, close_code::SESSION_REVOKED);
    assert_api_error(new.me().await, 401, ErrorCode::InvalidToken);
    assert!(!alice.client.bot(id).await.unwrap().active);

    // Tokens that only look like a bot's are refused the same way.
    for forged in [format!("cfb_{id}_guess"), "cfb_".to_owned(), "cfb_notanumber_x".to_owned(), format!("cfb_{id}")] {
        assert_api_error(signed_in(&app, &forged).me().await, 401, ErrorCode::InvalidToken);
    }
}

#[tokio::test]
async fn a_bot_username_is_a_username() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    assert_api_error(alice.client.create_bot(&bot_req("alice", false)).await, 409, ErrorCode::UsernameTaken);
    assert_api_error(alice.client.create_bot(&bot_req("x", false)).await, 400, ErrorCode::InvalidUsername);
    create_bot(&alice, "taken-bot", false).await;
    assert_api_error(alice.client.create_bot(&bot_req("Taken-Bot", false)).await, 409, ErrorCode::UsernameTaken);
    // A bot has no password: signing in as it fails like a wrong password.
    let login = app
        .anonymous()
        .login(&confab_proto::rest::LoginRequest { username: "taken-bot".into(), password: PASSWORD.into() })
        .await;
    assert_api_error(login, 401, ErrorCode::InvalidCredentials);
    assert_eq!(alice.client.bots().await.unwrap().bots.len(), 1);
}

#[tokio::test]
async fn a_bot_has_a_message_budget_of_its_own() {
    let app = spawn_app_with(|c| {
        c.rate_limits.messages_per_bot = confab_server::limits::Rate::per_secs(3, 60);
        c.rate_limits.messages_per_user = confab_server::limits::Rate::per_secs(100, 60);
    })
    .await;
    let alice = app.user("alice").await;
    let made = create_bot(&alice, "chatty", false).await;
    let bot = signed_in(&app, &made.token);
    let dm = alice.client.open_direct(made.bot.user.id).await.unwrap().id;

    for n in 0..3 {
        bot.send_message(dm, &text(&format!("line {n}"))).await.expect("within the bot's budget");
    }
    assert_api_error(bot.send_message(dm, &text("one too many")).await, 429, ErrorCode::RateLimited);
    // Over the socket too, and the owner's own budget is untouched.
    let mut socket = bot.connect().await.unwrap();
    let refused = socket.send_message(confab_proto::frames::SendMessage::text(dm, "again")).await;
    assert_eq!(refused.unwrap_err().code(), Some(ErrorCode::RateLimited));
    for n in 0..5 {
        alice.client.send_message(dm, &text(&format!("owner {n}"))).await.expect("a person's budget is their own");
    }
    let history = alice.client.history(dm, &Default::default()).await.unwrap();
    assert!(
        !history.messages.iter().any(|m| m.body == "one too many" || m.body == "again"),
        "nothing refused was stored"
    );
}
