-- Tone indicators, link previews, stickers and conversation themes.
-- Keep in step with ../postgres/0006_expression.sql.

ALTER TABLE messages ADD COLUMN tones TEXT;               -- canonical codes, space-separated: 'j lh'
ALTER TABLE messages ADD COLUMN sticker_id BIGINT;        -- kind = 'sticker'
ALTER TABLE messages ADD COLUMN previews_removed BIGINT;  -- when the author removed its previews

ALTER TABLE conversations ADD COLUMN theme TEXT;          -- JSON of the theme; NULL: none
ALTER TABLE conversations ADD COLUMN link_previews BIGINT NOT NULL DEFAULT 1;

-- The link previews of a message, in the order of its links. A preview with an image holds a
-- reference on that file (files.refs) until the row goes.
CREATE TABLE message_previews (
    message_id      BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL,
    position        BIGINT NOT NULL,
    preview         TEXT NOT NULL,                        -- JSON: url, title, description, site_name
    file_id         BIGINT,
    PRIMARY KEY (message_id, position)
);
CREATE INDEX message_previews_conversation ON message_previews (conversation_id);

-- What a link showed when it was last fetched, shared by every message that links it. An entry
-- with an image holds a reference on the file too.
CREATE TABLE link_previews (
    url        TEXT PRIMARY KEY,                          -- normalized: no fragment, no utm_*
    preview    TEXT,                                      -- JSON; NULL: nothing usable was found
    file_id    BIGINT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX link_previews_expiry ON link_previews (expires_at);

-- Sticker packs, managed by the server's admins (an MSC2545-like shape). A deleted pack keeps
-- its rows, so that sticker messages can still say what they were.
CREATE TABLE sticker_packs (
    id         BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
-- A sticker holds a reference on its file until it or its pack is removed; then the row stays
-- (file_id NULL) so that messages can still say which sticker they showed.
CREATE TABLE stickers (
    id         BIGINT PRIMARY KEY,
    pack_id    BIGINT NOT NULL REFERENCES sticker_packs (id),
    shortcode  TEXT NOT NULL,
    body       TEXT NOT NULL,                             -- what it shows, for screen readers
    file_id    BIGINT,                                    -- NULL once removed
    position   BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX stickers_shortcode ON stickers (pack_id, shortcode) WHERE file_id IS NOT NULL;
CREATE INDEX stickers_pack ON stickers (pack_id, position);
