-- Bot accounts (docs/bots.md): a bot is a user (users.bot = 1) owned by a person, signed in
-- only with its token, of which the server keeps the hash. token_id names the current token:
-- the bot's sockets carry it, so that a rotation or a revocation closes them.
-- Keep in step with ../postgres/0008_bots.sql.

ALTER TABLE users ADD COLUMN bot BIGINT NOT NULL DEFAULT 0;

CREATE TABLE bots (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    owner_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public     BIGINT NOT NULL DEFAULT 0,
    token_id   BIGINT NOT NULL,
    token_hash TEXT,                      -- NULL: revoked
    created_at BIGINT NOT NULL
);
CREATE INDEX bots_owner ON bots (owner_id);
