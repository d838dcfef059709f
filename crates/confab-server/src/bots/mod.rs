//! Bot accounts: created by a person, who owns them; signed in only with a token of the form
//! `cfb_<bot id>_<secret>` (the prefix lets secret scanners find a leaked one), of which the
//! server keeps the SHA-256. A bot is a member of the conversations people add it to and nothing
//! else (`Principal::require_person` guards the rest); only its owner may add it, unless it is
//! public (`Users::require_addable`). Rotating or revoking the token closes the bot's sockets
//! on every node: they carry the token's id as their session.

use std::sync::Arc;

use confab_proto::bots::{BOT_TOKEN_PREFIX, Bot, BotCredentials, BotList, CreateBotRequest, UpdateBotRequest};
use confab_proto::rest::UpdateProfileRequest;
use confab_proto::{SessionId, UserId};

use crate::auth::Principal;
use crate::auth::tokens::{random_token, token_hash};
use crate::clock::{datetime, now_ms};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids::IdGenerator;
use crate::store::{BotRow, NewUser, Store, UserRow};
use crate::users::{self, Username, Users};

/// Bots one person may own.
pub const MAX_BOTS_PER_OWNER: usize = 25;

pub struct Bots {
    store: Store,
    ids: Arc<IdGenerator>,
    users: Arc<Users>,
    hub: Arc<Hub>,
}

impl Bots {
    pub fn new(store: Store, ids: Arc<IdGenerator>, users: Arc<Users>, hub: Arc<Hub>) -> Bots {
        Bots { store, ids, users, hub }
    }

    /// Creates a bot owned by the caller, with its first token.
    pub async fn create(&self, principal: Principal, req: CreateBotRequest) -> Result<BotCredentials> {
        principal.require_person()?;
        let username = Username::parse(&req.username)?;
        let display_name = match &req.display_name {
            Some(name) => users::parse_display_name(name)?,
            None => username.as_str().to_owned(),
        };
        if self.store.bots_of(principal.user_id).await?.len() >= MAX_BOTS_PER_OWNER {
            return Err(Error::Forbidden(format!("a person may own at most {MAX_BOTS_PER_OWNER} bots")));
        }
        let id: UserId = self.ids.next();
        let now = now_ms();
        let (token_id, token) = self.new_token(id);
        let row = BotRow {
            user_id: id,
            owner_id: principal.user_id,
            public: i64::from(req.public),
            token_id,
            token_hash: Some(hex::encode(token_hash(&token))),
            created_at: now,
        };
        let user = NewUser {
            id,
            username: username.as_str(),
            display_name: &display_name,
            avatar_url: None,
            password_hash: None,
            external_id: None,
            created_at: now,
        };
        match self.store.insert_bot(&user, &row).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => return Err(Error::UsernameTaken),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(bot_id = %id, owner_id = %principal.user_id, "bot created");
        Ok(BotCredentials { bot: self.view(&row).await?, token })
    }

    /// The caller's bots.
    pub async fn list(&self, principal: Principal) -> Result<BotList> {
        principal.require_person()?;
        let rows = self.store.bots_of(principal.user_id).await?;
        let ids: Vec<UserId> = rows.iter().map(|r| r.user_id).collect();
        let users = self.store.users_by_ids(&ids).await?;
        let bots = rows
            .iter()
            .filter_map(|row| Some(self.to_wire(row, users.iter().find(|u| u.id == row.user_id)?)))
            .collect();
        Ok(BotList { bots })
    }

    /// One of the caller's bots (someone else's is not found); a bot may read itself.
    pub async fn get(&self, principal: Principal, id: UserId) -> Result<Bot> {
        self.view(&self.readable(principal, id).await?).await
    }

    /// Changes its name or whether others may add it (its owner only).
    pub async fn update(&self, principal: Principal, id: UserId, req: UpdateBotRequest) -> Result<Bot> {
        let row = self.owned(principal, id).await?;
        if req.display_name.is_some() {
            let profile = UpdateProfileRequest { display_name: req.display_name, ..UpdateProfileRequest::default() };
            self.users.update_profile(id, profile).await?;
        }
        if let Some(public) = req.public {
            self.store.set_bot_public(id, public).await?;
        }
        let row = self.store.bot(id).await?.unwrap_or(row);
        self.view(&row).await
    }

    /// A new token for the bot: the old one stops working and the bot's sockets close.
    pub async fn rotate_token(&self, principal: Principal, id: UserId) -> Result<BotCredentials> {
        self.owned(principal, id).await?;
        let (token_id, token) = self.new_token(id);
        self.replace_token(id, token_id, Some(&hex::encode(token_hash(&token)))).await?;
        let row = self.store.bot(id).await?.ok_or(Error::NotFound("bot"))?;
        tracing::info!(bot_id = %id, "bot token rotated");
        Ok(BotCredentials { bot: self.view(&row).await?, token })
    }

    /// Revokes the bot's token (the owner may issue a new one later): the bot is signed out.
    pub async fn revoke_token(&self, principal: Principal, id: UserId) -> Result<()> {
        self.owned(principal, id).await?;
        self.replace_token(id, self.ids.next::<SessionId>().0, None).await?;
        tracing::info!(bot_id = %id, "bot token revoked");
        Ok(())
    }

    async fn replace_token(&self, id: UserId, token_id: i64, hash: Option<&str>) -> Result<()> {
        if let Some(old) = self.store.set_bot_token(id, token_id, hash).await? {
            self.hub.close_session(SessionId(old));
        }
        Ok(())
    }

    fn new_token(&self, id: UserId) -> (i64, String) {
        let token_id = self.ids.next::<SessionId>().0;
        (token_id, format!("{BOT_TOKEN_PREFIX}{id}_{}", random_token()))
    }

    /// The bot, if the caller owns it.
    async fn owned(&self, principal: Principal, id: UserId) -> Result<BotRow> {
        match self.store.bot(id).await? {
            Some(row) if !principal.bot && row.owner_id == principal.user_id => Ok(row),
            _ => Err(Error::NotFound("bot")),
        }
    }

    /// The bot, if the caller owns it or is it.
    async fn readable(&self, principal: Principal, id: UserId) -> Result<BotRow> {
        match self.store.bot(id).await? {
            Some(row) if row.owner_id == principal.user_id || (principal.bot && principal.user_id == id) => Ok(row),
            _ => Err(Error::NotFound("bot")),
        }
    }

    async fn view(&self, row: &BotRow) -> Result<Bot> {
        let user = self.users.get(row.user_id).await?;
        Ok(self.to_wire(row, &user))
    }

    fn to_wire(&self, row: &BotRow, user: &UserRow) -> Bot {
        Bot {
            user: self.users.to_wire(user),
            owner_id: row.owner_id,
            public: row.public != 0,
            active: row.token_hash.is_some(),
            created_at: datetime(row.created_at),
        }
    }
}
