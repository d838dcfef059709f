-- Groups with history, edits, deletions, reactions, pins, read state, and versions for sync.
-- Keep in step with ../postgres/0002_conversations_in_depth.sql.

ALTER TABLE conversations ADD COLUMN topic TEXT;
ALTER TABLE conversations ADD COLUMN avatar_url TEXT;
-- Bumped by every change to the timeline (new entry, edit, deletion, reaction, pin); each changed
-- message row records the version of its last change, so "what changed since v" is one range scan.
ALTER TABLE conversations ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

ALTER TABLE members ADD COLUMN read_seq BIGINT NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';   -- 'text' | 'system'
ALTER TABLE messages ADD COLUMN system TEXT;                         -- JSON of the group change
ALTER TABLE messages ADD COLUMN mentions TEXT;                       -- JSON array of user ids
ALTER TABLE messages ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_by BIGINT;
ALTER TABLE messages ADD COLUMN pinned_at BIGINT;
ALTER TABLE messages ADD COLUMN pinned_by BIGINT;
CREATE INDEX messages_version ON messages (conversation_id, version);

CREATE TABLE message_edits (
    message_id    BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    previous_body TEXT NOT NULL,
    edited_by     BIGINT NOT NULL,
    edited_at     BIGINT NOT NULL
);
CREATE INDEX message_edits_message ON message_edits (message_id, edited_at);

CREATE TABLE reactions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

-- Who changed what in a group. No foreign key: rows outlive the group and its members.
CREATE TABLE audit_log (
    id              BIGINT PRIMARY KEY,
    conversation_id BIGINT NOT NULL,
    actor_id        BIGINT NOT NULL,
    action          TEXT NOT NULL,
    detail          TEXT,                                  -- JSON of the system event
    created_at      BIGINT NOT NULL
);
CREATE INDEX audit_log_conversation ON audit_log (conversation_id, id);
