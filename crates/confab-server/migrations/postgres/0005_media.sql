-- Files and images: stored files, resumable uploads and their parts, avatars.
-- Keep in step with ../sqlite/0005_media.sql.

-- A stored file. Content-addressed: while live, one row per distinct SHA-256, shared by every
-- upload of the same bytes. `refs` counts what holds it (uploads, user and group avatars); at 0
-- the sweep marks it 'deleting' (nothing takes a reference to such a row), deletes its blobs
-- (`files/<id>`, `thumbs/<id>`) and then the row.
CREATE TABLE files (
    id         BIGINT PRIMARY KEY,
    sha256     TEXT NOT NULL,               -- lowercase hex of the stored bytes
    size       BIGINT NOT NULL,
    mime       TEXT NOT NULL,               -- sniffed, never the client's
    width      BIGINT,
    height     BIGINT,
    frames     BIGINT,                      -- animated images only
    blurhash   TEXT,
    thumbnail  TEXT,                        -- mime of thumbs/<id>; NULL when there is none
    access_key TEXT NOT NULL,               -- 128 random bits: the capability in avatar URLs
    refs       BIGINT NOT NULL,
    state      TEXT NOT NULL,               -- live|deleting
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX files_live_sha256 ON files (sha256) WHERE state = 'live';
CREATE INDEX files_unreferenced ON files (id) WHERE refs = 0;

-- A resumable upload (tus). Once used by a message it is that message's attachment (the
-- attachment id is the upload id) and keeps its file referenced until the message is deleted.
CREATE TABLE uploads (
    id              BIGINT PRIMARY KEY,
    owner_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL,          -- attachment|avatar
    state           TEXT NOT NULL,          -- open|complete|used
    length          BIGINT NOT NULL,
    received        BIGINT NOT NULL,        -- the tus offset
    name            TEXT NOT NULL,
    sha256          TEXT,                   -- declared by the client, checked on completion
    access_key      TEXT NOT NULL,          -- 128 random bits: the capability in attachment URLs
    file_id         BIGINT REFERENCES files (id),
    conversation_id BIGINT,                 -- once used by a message
    message_id      BIGINT,
    position        BIGINT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL         -- for open and complete uploads
);
CREATE INDEX uploads_owner ON uploads (owner_id, state);
CREATE INDEX uploads_expiry ON uploads (expires_at);
CREATE INDEX uploads_message ON uploads (message_id, position);

-- The bytes of an open upload, one blob per PATCH that stored any.
CREATE TABLE upload_parts (
    upload_id BIGINT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    start     BIGINT NOT NULL,
    size      BIGINT NOT NULL,
    blob      TEXT NOT NULL,
    PRIMARY KEY (upload_id, start)
);

ALTER TABLE users ADD COLUMN avatar_file_id BIGINT;
ALTER TABLE conversations ADD COLUMN avatar_file_id BIGINT;
