//! The REST half of the SDK: one method per endpoint, typed with `confab-proto`.

use std::sync::{Arc, Once};

use confab_proto::frames::{SyncRequest, SyncResult};
use confab_proto::rest::{
    ActivityList, AddMembersRequest, AddMembersResponse, AuditLog, AuthResponse, BlockList, Contact, ContactList,
    Conversation, ConversationKind, ConversationList, ConversationListQuery, CreateConversationRequest,
    EditMessageRequest, HistoryQuery, LoginRequest, MarkNotificationsRead, Message, MessageEditList, MessagePage,
    NotificationLevel, NotificationList, NotificationQuery, NotificationSettings, OwnPresence, PinList, ReadRequest,
    RefreshRequest, RegisterRequest, Role, SendInvitationRequest, SendMessageRequest, SessionList, SetPresenceRequest,
    UnreadSummary, UpdateConversationRequest, UpdateMemberRequest, UpdateProfileRequest, User, UserSearchQuery,
    UserSearchResult, WsTicket,
};
use confab_proto::{ConversationId, ErrorBody, MessageId, SessionId, UserId};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ClientError;
use crate::gateway::{ConnectOptions, Connection};

/// A handle on a Confab server, optionally signed in. Cloning is cheap and shares the
/// connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base_url: Arc<str>,
    token: Option<Arc<str>>,
}

/// A request body for [`Client::raw`]: any bytes with any content type.
#[derive(Clone, Debug)]
pub struct RawBody {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl RawBody {
    pub fn new(content_type: &str, bytes: Vec<u8>) -> RawBody {
        RawBody { content_type: content_type.to_owned(), bytes }
    }

    /// Bytes sent as `application/json`, valid JSON or not.
    pub fn json_bytes(bytes: Vec<u8>) -> RawBody {
        RawBody::new("application/json", bytes)
    }
}

/// What [`Client::raw`] got back, whatever the status.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON, or `Null` when it is not JSON.
    pub json: serde_json::Value,
}

impl RawResponse {
    /// `error.code` of an error body.
    pub fn error_code(&self) -> Option<&str> {
        self.json.pointer("/error/code").and_then(|c| c.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }
}

static CRYPTO_PROVIDER: Once = Once::new();

impl Client {
    /// A client for the server at `base_url` (`http://host:port`, with or without a trailing slash).
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        let base_url = base_url.trim_end_matches('/');
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::InvalidUrl(format!("{base_url:?} is not an http(s) URL")));
        }
        // reqwest is built without a default TLS provider; exactly one (ring) is compiled in.
        CRYPTO_PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let http =
            reqwest::Client::builder().user_agent(concat!("confab-client/", env!("CARGO_PKG_VERSION"))).build()?;
        Ok(Client { http, base_url: base_url.into(), token: None })
    }

    /// Registers an account and returns a client signed in as it.
    pub async fn sign_up(
        base_url: &str,
        username: &str,
        password: &str,
    ) -> Result<(Client, AuthResponse), ClientError> {
        let client = Client::new(base_url)?;
        let auth = client
            .register(&RegisterRequest { username: username.into(), password: password.into(), display_name: None })
            .await?;
        Ok((client.with_token(&auth.access_token), auth))
    }

    /// The same client, authenticated with `access_token` (Confab's own or the host app's).
    pub fn with_token(&self, access_token: &str) -> Client {
        Client { token: Some(access_token.into()), ..self.clone() }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The WebSocket URL of this server (`ws://…/api/v1/ws`).
    pub fn ws_url(&self) -> String {
        let rest = self.base_url.strip_prefix("http").unwrap_or(&self.base_url);
        format!("ws{rest}/api/v1/ws")
    }

    // --- accounts -------------------------------------------------------------------------

    pub async fn register(&self, req: &RegisterRequest) -> Result<AuthResponse, ClientError> {
        self.call(Method::POST, "/api/v1/auth/register", Some(req)).await
    }

    pub async fn login(&self, req: &LoginRequest) -> Result<AuthResponse, ClientError> {
        self.call(Method::POST, "/api/v1/auth/login", Some(req)).await
    }

    pub async fn refresh(&self, req: &RefreshRequest) -> Result<AuthResponse, ClientError> {
        self.call(Method::POST, "/api/v1/auth/refresh", Some(req)).await
    }

    /// Ends this client's session.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.call_empty(Method::POST, "/api/v1/auth/logout").await
    }

    pub async fn me(&self) -> Result<User, ClientError> {
        self.call(Method::GET, "/api/v1/me", None::<&()>).await
    }

    pub async fn sessions(&self) -> Result<SessionList, ClientError> {
        self.call(Method::GET, "/api/v1/me/sessions", None::<&()>).await
    }

    pub async fn revoke_session(&self, session: SessionId) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/me/sessions/{session}")).await
    }

    /// A one-time ticket for [`Client::connect_with_ticket`].
    pub async fn ws_ticket(&self) -> Result<WsTicket, ClientError> {
        self.call(Method::POST, "/api/v1/ws-ticket", None::<&()>).await
    }

    pub async fn user(&self, id: UserId) -> Result<User, ClientError> {
        self.call(Method::GET, &format!("/api/v1/users/{id}"), None::<&()>).await
    }

    /// Changes the caller's display name, avatar or bio.
    pub async fn update_profile(&self, req: &UpdateProfileRequest) -> Result<User, ClientError> {
        self.call(Method::PATCH, "/api/v1/me", Some(req)).await
    }

    pub async fn search_users(&self, query: &UserSearchQuery) -> Result<UserSearchResult, ClientError> {
        decode(self.request(Method::GET, "/api/v1/users").query(query).send().await?).await
    }

    // --- people -------------------------------------------------------------------------

    pub async fn contacts(&self) -> Result<ContactList, ClientError> {
        self.call(Method::GET, "/api/v1/contacts", None::<&()>).await
    }

    /// Sends a contact request to `user`, or accepts theirs.
    pub async fn request_contact(&self, user: UserId) -> Result<Contact, ClientError> {
        self.call(Method::POST, &format!("/api/v1/contacts/{user}"), None::<&()>).await
    }

    pub async fn accept_contact(&self, user: UserId) -> Result<Contact, ClientError> {
        self.call(Method::POST, &format!("/api/v1/contacts/{user}/accept"), None::<&()>).await
    }

    pub async fn decline_contact(&self, user: UserId) -> Result<(), ClientError> {
        self.call_empty(Method::POST, &format!("/api/v1/contacts/{user}/decline")).await
    }

    /// Declines, cancels or removes whatever links the caller and `user`.
    pub async fn remove_contact(&self, user: UserId) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/contacts/{user}")).await
    }

    pub async fn block(&self, user: UserId) -> Result<(), ClientError> {
        self.call_empty(Method::PUT, &format!("/api/v1/blocks/{user}")).await
    }

    pub async fn unblock(&self, user: UserId) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/blocks/{user}")).await
    }

    pub async fn blocks(&self) -> Result<BlockList, ClientError> {
        self.call(Method::GET, "/api/v1/blocks", None::<&()>).await
    }

    pub async fn restrict(&self, user: UserId) -> Result<(), ClientError> {
        self.call_empty(Method::PUT, &format!("/api/v1/restrictions/{user}")).await
    }

    pub async fn unrestrict(&self, user: UserId) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/restrictions/{user}")).await
    }

    pub async fn presence(&self) -> Result<OwnPresence, ClientError> {
        self.call(Method::GET, "/api/v1/me/presence", None::<&()>).await
    }

    pub async fn set_presence(&self, req: &SetPresenceRequest) -> Result<OwnPresence, ClientError> {
        self.call(Method::PUT, "/api/v1/me/presence", Some(req)).await
    }

    // --- conversations and messages -------------------------------------------------------

    pub async fn create_conversation(&self, req: &CreateConversationRequest) -> Result<Conversation, ClientError> {
        self.call(Method::POST, "/api/v1/conversations", Some(req)).await
    }

    /// The direct conversation with `other`, created on first use.
    pub async fn open_direct(&self, other: UserId) -> Result<Conversation, ClientError> {
        let req = CreateConversationRequest { kind: ConversationKind::Direct, name: None, members: vec![other] };
        self.create_conversation(&req).await
    }

    /// The first page of the user's conversations (most recently active first).
    pub async fn conversations(&self) -> Result<ConversationList, ClientError> {
        self.conversations_page(&ConversationListQuery::default()).await
    }

    pub async fn conversations_page(&self, query: &ConversationListQuery) -> Result<ConversationList, ClientError> {
        let request = self.request(Method::GET, "/api/v1/conversations").query(query);
        decode(request.send().await?).await
    }

    pub async fn update_conversation(
        &self,
        id: ConversationId,
        req: &UpdateConversationRequest,
    ) -> Result<Conversation, ClientError> {
        self.call(Method::PATCH, &format!("/api/v1/conversations/{id}"), Some(req)).await
    }

    /// Deletes a group (owner only).
    pub async fn delete_conversation(&self, id: ConversationId) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/conversations/{id}")).await
    }

    pub async fn add_members(
        &self,
        id: ConversationId,
        members: Vec<UserId>,
    ) -> Result<AddMembersResponse, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{id}/members"), Some(&AddMembersRequest { members }))
            .await
    }

    /// Sets a member's role; `Role::Owner` transfers ownership.
    pub async fn set_role(&self, id: ConversationId, user: UserId, role: Role) -> Result<Conversation, ClientError> {
        let path = format!("/api/v1/conversations/{id}/members/{user}");
        self.call(Method::PATCH, &path, Some(&UpdateMemberRequest { role })).await
    }

    /// Removes a member; with one's own id, leaves the group.
    pub async fn remove_member(&self, id: ConversationId, user: UserId) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/conversations/{id}/members/{user}")).await
    }

    pub async fn mark_read(&self, id: ConversationId, seq: i64) -> Result<(), ClientError> {
        let response =
            self.request(Method::PUT, &format!("/api/v1/conversations/{id}/read")).json(&ReadRequest { seq });
        let response = response.send().await?;
        if response.status().is_success() { Ok(()) } else { Err(refusal(response).await) }
    }

    pub async fn typing(&self, id: ConversationId) -> Result<(), ClientError> {
        self.call_empty(Method::POST, &format!("/api/v1/conversations/{id}/typing")).await
    }

    pub async fn audit(&self, id: ConversationId) -> Result<AuditLog, ClientError> {
        self.call(Method::GET, &format!("/api/v1/conversations/{id}/audit"), None::<&()>).await
    }

    pub async fn conversation(&self, id: ConversationId) -> Result<Conversation, ClientError> {
        self.call(Method::GET, &format!("/api/v1/conversations/{id}"), None::<&()>).await
    }

    pub async fn send_message(
        &self,
        conversation: ConversationId,
        req: &SendMessageRequest,
    ) -> Result<Message, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{conversation}/messages"), Some(req)).await
    }

    pub async fn history(
        &self,
        conversation: ConversationId,
        query: &HistoryQuery,
    ) -> Result<MessagePage, ClientError> {
        let path = format!("/api/v1/conversations/{conversation}/messages");
        let request = self.request(Method::GET, &path).query(query);
        decode(request.send().await?).await
    }

    pub async fn edit_message(
        &self,
        id: ConversationId,
        message: MessageId,
        body: &str,
    ) -> Result<Message, ClientError> {
        let path = format!("/api/v1/conversations/{id}/messages/{message}");
        self.call(Method::PATCH, &path, Some(&EditMessageRequest { body: body.to_owned() })).await
    }

    /// Deletes a message for everyone; returns the tombstone.
    pub async fn delete_message(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::DELETE, &format!("/api/v1/conversations/{id}/messages/{message}"), None::<&()>).await
    }

    pub async fn edits(&self, id: ConversationId, message: MessageId) -> Result<MessageEditList, ClientError> {
        self.call(Method::GET, &format!("/api/v1/conversations/{id}/messages/{message}/edits"), None::<&()>).await
    }

    pub async fn add_reaction(
        &self,
        id: ConversationId,
        message: MessageId,
        emoji: &str,
    ) -> Result<Message, ClientError> {
        let path =
            format!("/api/v1/conversations/{id}/messages/{message}/reactions/{}", crate::encode_component(emoji));
        self.call(Method::PUT, &path, None::<&()>).await
    }

    pub async fn remove_reaction(
        &self,
        id: ConversationId,
        message: MessageId,
        emoji: &str,
    ) -> Result<Message, ClientError> {
        let path =
            format!("/api/v1/conversations/{id}/messages/{message}/reactions/{}", crate::encode_component(emoji));
        self.call(Method::DELETE, &path, None::<&()>).await
    }

    pub async fn pins(&self, id: ConversationId) -> Result<PinList, ClientError> {
        self.call(Method::GET, &format!("/api/v1/conversations/{id}/pins"), None::<&()>).await
    }

    pub async fn pin(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::PUT, &format!("/api/v1/conversations/{id}/pins/{message}"), None::<&()>).await
    }

    pub async fn unpin(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::DELETE, &format!("/api/v1/conversations/{id}/pins/{message}"), None::<&()>).await
    }

    /// Everything changed since `req`'s positions (see docs/protocol.md, "Resume").
    pub async fn sync(&self, req: &SyncRequest) -> Result<SyncResult, ClientError> {
        self.call(Method::POST, "/api/v1/sync", Some(req)).await
    }

    // --- invitations and notifications -----------------------------------------------------

    pub async fn activities(&self) -> Result<ActivityList, ClientError> {
        self.call(Method::GET, "/api/v1/activities", None::<&()>).await
    }

    pub async fn invite(&self, id: ConversationId, req: &SendInvitationRequest) -> Result<Message, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{id}/invitations"), Some(req)).await
    }

    pub async fn accept_invitation(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{id}/invitations/{message}/accept"), None::<&()>).await
    }

    pub async fn decline_invitation(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{id}/invitations/{message}/decline"), None::<&()>).await
    }

    pub async fn cancel_invitation(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{id}/invitations/{message}/cancel"), None::<&()>).await
    }

    pub async fn notifications(&self, query: &NotificationQuery) -> Result<NotificationList, ClientError> {
        decode(self.request(Method::GET, "/api/v1/notifications").query(query).send().await?).await
    }

    /// Marks the given notifications read, or all with `None`.
    pub async fn mark_notifications_read(
        &self,
        ids: Option<Vec<String>>,
    ) -> Result<confab_proto::frames::NotificationsRead, ClientError> {
        self.call(Method::POST, "/api/v1/notifications/read", Some(&MarkNotificationsRead { ids })).await
    }

    pub async fn unread(&self) -> Result<UnreadSummary, ClientError> {
        self.call(Method::GET, "/api/v1/unread", None::<&()>).await
    }

    pub async fn set_notification_level(
        &self,
        id: ConversationId,
        level: NotificationLevel,
    ) -> Result<Conversation, ClientError> {
        let path = format!("/api/v1/conversations/{id}/notifications");
        self.call(Method::PUT, &path, Some(&NotificationSettings { level })).await
    }

    // --- WebSocket ------------------------------------------------------------------------

    /// Opens the WebSocket, authenticated with this client's token as a subprotocol.
    pub async fn connect(&self) -> Result<Connection, ClientError> {
        let bearer = self.token.as_deref().map(str::to_owned);
        Connection::open(&self.ws_url(), ConnectOptions { bearer, ..ConnectOptions::default() }).await
    }

    /// Opens the WebSocket with a one-time ticket from [`Client::ws_ticket`].
    pub async fn connect_with_ticket(&self, ticket: &str) -> Result<Connection, ClientError> {
        Connection::open(
            &self.ws_url(),
            ConnectOptions { ticket: Some(ticket.to_owned()), ..ConnectOptions::default() },
        )
        .await
    }

    // --- plumbing -------------------------------------------------------------------------

    /// Any request, with any body, answered whatever the status: for tests of what the server
    /// does with malformed input.
    pub async fn raw(&self, method: Method, path: &str, body: Option<RawBody>) -> Result<RawResponse, ClientError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, body.content_type).body(body.bytes);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Ok(RawResponse { status, headers, json })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base_url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        decode(request.send().await?).await
    }

    async fn call_empty(&self, method: Method, path: &str) -> Result<(), ClientError> {
        let response = self.request(method, path).send().await?;
        if response.status().is_success() { Ok(()) } else { Err(refusal(response).await) }
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    if !response.status().is_success() {
        return Err(refusal(response).await);
    }
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    serde_json::from_slice(&bytes)
        .map_err(|_| ClientError::UnexpectedResponse { status, body: String::from_utf8_lossy(&bytes).into_owned() })
}

async fn refusal(response: Response) -> ClientError {
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(bytes) => match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => ClientError::Api { status, error: body.error },
            Err(_) => ClientError::UnexpectedResponse { status, body: String::from_utf8_lossy(&bytes).into_owned() },
        },
        Err(e) => ClientError::Http(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized() {
        let client = Client::new("http://127.0.0.1:8080/").unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8080");
        assert_eq!(client.ws_url(), "ws://127.0.0.1:8080/api/v1/ws");
        assert_eq!(Client::new("https://chat.example").unwrap().ws_url(), "wss://chat.example/api/v1/ws");
        assert!(matches!(Client::new("ftp://x"), Err(ClientError::InvalidUrl(_))));
    }

    #[test]
    fn tokens_do_not_leak_between_clones() {
        let anonymous = Client::new("http://h").unwrap();
        let signed_in = anonymous.with_token("t");
        assert_eq!(signed_in.token(), Some("t"));
        assert_eq!(anonymous.token(), None);
    }
}
