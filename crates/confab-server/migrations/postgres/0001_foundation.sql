-- Confab schema, PostgreSQL flavour. Keep in step with ../sqlite/ (same tables, same columns).
-- Times are Unix milliseconds; ids are server-generated 64-bit integers; booleans are BOOLEAN.

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    username      TEXT NOT NULL,           -- lowercased, unique
    display_name  TEXT NOT NULL,
    avatar_url    TEXT,
    password_hash TEXT,                    -- NULL for external users
    external_id   TEXT,                    -- "<issuer>|<sub>" for users from the host app
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (username);
CREATE UNIQUE INDEX users_external_id ON users (external_id);

-- A signed-in device: one refresh-token family.
CREATE TABLE sessions (
    id           BIGINT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    user_agent   TEXT,
    ip           TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,           -- SHA-256 of the token; the token itself is never stored
    session_id BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT                      -- set when rotated; a second use revokes the session
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE conversations (
    id               BIGINT PRIMARY KEY,
    kind             TEXT NOT NULL,        -- 'direct' | 'group'
    name             TEXT,
    direct_key       TEXT,                 -- "<low user id>:<high user id>" for direct conversations
    last_seq         BIGINT NOT NULL DEFAULT 0,
    created_by       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversations_direct_key ON conversations (direct_key);

CREATE TABLE members (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,         -- 'owner' | 'admin' | 'member'
    joined_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE messages (
    id              BIGINT PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    sender_id       BIGINT NOT NULL REFERENCES users (id),
    body            TEXT NOT NULL,
    client_id       TEXT,
    reply_to        BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_seq ON messages (conversation_id, seq);
CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, sender_id, client_id);
