//! Authentication: built-in accounts (register, login, refresh, logout, sessions), the host app's
//! tokens (`external`), and WebSocket tickets. [`Auth::authenticate`] is the one door through
//! which REST and WebSocket requests become a [`Principal`].

pub mod cookie;
pub mod external;
pub mod jwt;
pub mod password;
pub mod tickets;
pub mod tokens;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use confab_proto::bots::BOT_TOKEN_PREFIX;
use confab_proto::rest::{AuthResponse, LoginRequest, RefreshRequest, RegisterRequest, Session, SessionList, WsTicket};
use confab_proto::{ErrorCode, SessionId, UserId};

use crate::clock::{datetime, now_ms};
use crate::config::AuthConfig;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids::IdGenerator;
use crate::limits::RateLimiter;
pub use crate::principal::Principal;
use crate::store::{NewSession, RefreshOutcome, Store, UserRow};
use crate::users::{self, Username, Users};
use external::ExternalAuth;
use password::Password;
use tickets::TicketBook;
use tokens::{AccessTokens, INTERNAL_ISSUER, random_token, token_hash};

/// Where a sign-in comes from, for rate limits and the session list.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

pub struct Auth {
    store: Store,
    users: Arc<Users>,
    ids: Arc<IdGenerator>,
    hub: Arc<Hub>,
    tokens: AccessTokens,
    external: Option<ExternalAuth>,
    tickets: TicketBook,
    login_by_ip: RateLimiter,
    login_by_username: RateLimiter,
    register_by_ip: RateLimiter,
    config: AuthConfig,
}

const USER_AGENT_MAX: usize = 256;

impl Auth {
    pub fn new(
        config: AuthConfig,
        token_secret: &[u8],
        external: Option<ExternalAuth>,
        store: Store,
        users: Arc<Users>,
        ids: Arc<IdGenerator>,
        hub: Arc<Hub>,
    ) -> Auth {
        let minute = Duration::from_secs(60);
        Auth {
            tokens: AccessTokens::new(token_secret, config.access_token_ttl_secs),
            external,
            tickets: TicketBook::default(),
            login_by_ip: RateLimiter::new(config.login_attempts_per_ip_per_minute, minute),
            login_by_username: RateLimiter::new(config.login_attempts_per_username_per_minute, minute),
            register_by_ip: RateLimiter::new(config.registrations_per_ip_per_hour, 60 * minute),
            store,
            users,
            ids,
            hub,
            config,
        }
    }

    pub async fn register(&self, req: RegisterRequest, client: &ClientInfo) -> Result<AuthResponse> {
        if !self.config.registration {
            return Err(Error::RegistrationClosed);
        }
        let username = Username::parse(&req.username)?;
        let password = Password::parse(&req.password)?;
        let display_name = match &req.display_name {
            Some(name) => users::parse_display_name(name)?,
            None => username.as_str().to_owned(),
        };
        if let Some(ip) = client.ip {
            limit(&self.register_by_ip, &ip.to_string()).await?;
        }
        if self.users.by_username(&username).await?.is_some() {
            return Err(Error::UsernameTaken); // spare the hashing; the insert below still races safely
        }
        let hash = password::hash(password).await?;
        let user = self.users.create_local(&username, &display_name, &hash).await?;
        self.start_session(&user, client).await
    }

    pub async fn login(&self, req: LoginRequest, client: &ClientInfo) -> Result<AuthResponse> {
        if let Some(ip) = client.ip {
            limit(&self.login_by_ip, &ip.to_string()).await?;
        }
        let refused = || Error::unauthenticated(ErrorCode::InvalidCredentials, "wrong username or password");
        // A malformed username cannot exist; it is refused like a wrong one, not as bad input,
        // so that login answers do not teach the username rules to a guesser.
        let username = Username::parse(&req.username).ok();
        if let Some(username) = &username {
            limit(&self.login_by_username, username.as_str()).await?;
        }
        let user = match &username {
            Some(username) => self.users.by_username(username).await?,
            None => None,
        };
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let candidate = if req.password.len() > password::MAX_BYTES { String::new() } else { req.password };
        if !password::verify(candidate, stored).await? {
            return Err(refused());
        }
        let user = user.ok_or_else(refused)?;
        self.start_session(&user, client).await
    }

    async fn start_session(&self, user: &UserRow, client: &ClientInfo) -> Result<AuthResponse> {
        let now = now_ms();
        let session_id: SessionId = self.ids.next();
        let refresh_token = random_token();
        let ip = client.ip.map(|ip| ip.to_string());
        let user_agent = client.user_agent.as_deref().map(|ua| truncate(ua, USER_AGENT_MAX));
        self.store
            .create_session(&NewSession {
                id: session_id,
                user_id: user.id,
                now,
                expires_at: now + self.refresh_ttl_ms(),
                user_agent,
                ip: ip.as_deref(),
                refresh_hash: &token_hash(&refresh_token),
            })
            .await?;
        self.token_pair(user, session_id, refresh_token, now)
    }

    fn token_pair(&self, user: &UserRow, session: SessionId, refresh_token: String, now: i64) -> Result<AuthResponse> {
        Ok(AuthResponse {
            access_token: self.tokens.issue(user.id, session, now / 1000)?,
            refresh_token,
            token_type: "Bearer".to_owned(),
            expires_in: self.tokens.ttl_secs,
            session_id: session,
            user: self.users.to_wire(user),
        })
    }

    /// How long a refresh token (and so the web client's cookie) stays valid unused.
    pub fn refresh_token_ttl_secs(&self) -> u64 {
        self.config.refresh_token_ttl_secs
    }

    fn refresh_ttl_ms(&self) -> i64 {
        self.config.refresh_token_ttl_secs as i64 * 1000
    }

    /// Exchanges a refresh token for a new pair. A token used twice revokes its session and
    /// disconnects it everywhere.
    pub async fn refresh(&self, req: RefreshRequest) -> Result<AuthResponse> {
        let now = now_ms();
        let new_token = random_token();
        let outcome = self
            .store
            .rotate_refresh_token(
                &token_hash(&req.refresh_token),
                &token_hash(&new_token),
                now,
                now + self.refresh_ttl_ms(),
            )
            .await?;
        match outcome {
            RefreshOutcome::Rotated(session) => {
                let user = self.users.get(session.user_id).await?;
                self.token_pair(&user, session.id, new_token, now)
            }
            RefreshOutcome::Reused { session_id, user_id } => {
                tracing::warn!(%session_id, %user_id, "refresh token reused; session revoked");
                self.hub.close_session(session_id);
                Err(Error::unauthenticated(
                    ErrorCode::RefreshTokenReused,
                    "this refresh token was already used; the session has been revoked, sign in again",
                ))
            }
            RefreshOutcome::Invalid => {
                Err(Error::unauthenticated(ErrorCode::InvalidRefreshToken, "unknown or expired refresh token"))
            }
        }
    }

    /// Ends the caller's session (its tokens stop working and its sockets close).
    pub async fn logout(&self, principal: Principal) -> Result<()> {
        principal.require_person()?;
        match principal.session_id {
            Some(session) => self.revoke_session(principal, session).await,
            None => Err(Error::Forbidden("tokens of the host app are signed out in the host app".into())),
        }
    }

    /// Ends the session a refresh token belongs to (the web client's sign-out by cookie, when it
    /// holds no valid access token). Using the token up first finds its session without a second
    /// way of reading refresh tokens; a token already used revokes the session all the same.
    pub async fn logout_by_refresh_token(&self, refresh_token: String) -> Result<()> {
        let rotated = self.refresh(RefreshRequest { refresh_token }).await;
        match rotated {
            Ok(pair) => {
                let principal = Principal { user_id: pair.user.id, session_id: Some(pair.session_id), bot: false };
                self.revoke_session(principal, pair.session_id).await
            }
            Err(e) if e.code() == ErrorCode::RefreshTokenReused => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Signs out every session of the caller's, this one included ("sign out everywhere").
    pub async fn revoke_all_sessions(&self, principal: Principal) -> Result<()> {
        principal.require_person()?;
        let now = now_ms();
        for session in self.store.active_sessions(principal.user_id, now).await? {
            self.store.revoke_session(principal.user_id, session.id, now).await?;
            self.hub.close_session(session.id);
        }
        Ok(())
    }

    /// Verifies a bearer token of any accepted kind and tells who presents it. Confab's own
    /// tokens must belong to a live session; the host app's create their user on first sight.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        if token.is_empty() {
            return Err(Error::unauthenticated(ErrorCode::MissingToken, "no bearer token"));
        }
        if let Some(rest) = token.strip_prefix(BOT_TOKEN_PREFIX) {
            return self.authenticate_bot(rest, token).await;
        }
        let internal = jwt::looks_like_jwt(token) && jwt::peek(token)?.iss.as_deref() == Some(INTERNAL_ISSUER);
        if internal {
            let (user_id, session_id) = self.tokens.verify(token)?;
            let live = self.store.session(session_id).await?;
            match live {
                Some(s) if s.user_id == user_id && s.is_active(now_ms()) => {
                    Ok(Principal { user_id, session_id: Some(session_id), bot: false })
                }
                _ => Err(Error::unauthenticated(ErrorCode::SessionRevoked, "this session was signed out")),
            }
        } else if let Some(external) = &self.external {
            let identity = external.verify(token).await?;
            let user = self.users.provision_external(&identity).await?;
            Ok(Principal::person(user.id))
        } else if jwt::looks_like_jwt(token) {
            Err(Error::unauthenticated(ErrorCode::InvalidIssuer, "token issuer is not accepted"))
        } else {
            Err(Error::unauthenticated(ErrorCode::InvalidToken, "malformed token"))
        }
    }

    /// A bot's token, `cfb_<bot id>_<secret>`: it must be the bot's current one.
    async fn authenticate_bot(&self, rest: &str, token: &str) -> Result<Principal> {
        let invalid = || Error::unauthenticated(ErrorCode::InvalidToken, "unknown or revoked bot token");
        let id: UserId = rest.split_once('_').and_then(|(id, _)| id.parse().ok()).ok_or_else(invalid)?;
        let bot = self.store.bot(id).await?.ok_or_else(invalid)?;
        match &bot.token_hash {
            Some(hash) if *hash == hex::encode(token_hash(token)) => {
                Ok(Principal { user_id: id, session_id: Some(SessionId(bot.token_id)), bot: true })
            }
            _ => Err(invalid()),
        }
    }

    /// Whether what a principal signed in with still works (a ticket outlives nothing).
    async fn still_signed_in(&self, principal: Principal) -> Result<bool> {
        let now = now_ms();
        Ok(match (principal.bot, principal.session_id) {
            (true, Some(token)) => self
                .store
                .bot(principal.user_id)
                .await?
                .is_some_and(|b| b.token_id == token.0 && b.token_hash.is_some()),
            (false, Some(session)) => self.store.session(session).await?.is_some_and(|s| s.is_active(now)),
            (_, None) => true,
        })
    }

    pub async fn sessions(&self, principal: Principal) -> Result<SessionList> {
        principal.require_person()?;
        let rows = self.store.active_sessions(principal.user_id, now_ms()).await?;
        let sessions = rows
            .into_iter()
            .map(|s| Session {
                id: s.id,
                created_at: datetime(s.created_at),
                last_used_at: datetime(s.last_used_at),
                current: principal.session_id == Some(s.id),
                user_agent: s.user_agent,
                ip: s.ip,
            })
            .collect();
        Ok(SessionList { sessions })
    }

    /// Revokes one of the caller's own sessions; someone else's is "not found".
    pub async fn revoke_session(&self, principal: Principal, session: SessionId) -> Result<()> {
        principal.require_person()?;
        if !self.store.revoke_session(principal.user_id, session, now_ms()).await? {
            return Err(Error::NotFound("session"));
        }
        self.hub.close_session(session);
        Ok(())
    }

    /// In a cluster: keep WebSocket tickets and rate-limit counters in Redis, so that every node
    /// redeems the same tickets and counts the same attempts.
    pub fn join_cluster(&self, conn: redis::aio::ConnectionManager, prefix: &str) {
        self.tickets.share(conn.clone(), prefix);
        self.login_by_ip.share(conn.clone(), format!("{prefix}:limit:login-ip"));
        self.login_by_username.share(conn.clone(), format!("{prefix}:limit:login-user"));
        self.register_by_ip.share(conn, format!("{prefix}:limit:register-ip"));
    }

    pub async fn issue_ticket(&self, principal: Principal) -> WsTicket {
        WsTicket { ticket: self.tickets.issue_shared(principal).await, expires_in: tickets::TICKET_TTL.as_secs() }
    }

    /// Redeems a WebSocket ticket (once). The session behind it is checked again, since it may
    /// have been revoked in the ticket's 30 seconds.
    pub async fn redeem_ticket(&self, ticket: &str) -> Result<Principal> {
        let invalid = || Error::unauthenticated(ErrorCode::InvalidTicket, "unknown, expired or already used ticket");
        let principal = self.tickets.redeem_shared(ticket).await.ok_or_else(invalid)?;
        if !self.still_signed_in(principal).await? {
            return Err(Error::unauthenticated(ErrorCode::SessionRevoked, "this session was signed out"));
        }
        Ok(principal)
    }
}

async fn limit(limiter: &RateLimiter, key: &str) -> Result<()> {
    limiter.check_shared(key).await.map_err(|wait| Error::RateLimited { retry_after_secs: wait.as_secs().max(1) })
}

fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(at, _)| &s[..at])
}
