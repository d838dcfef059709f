-- Invitations to the host app's activities, and the notification feed.
-- Keep in step with ../sqlite/0004_invitations_notifications.sql.

-- The state of an invitation message (messages.kind = 'invitation').
CREATE TABLE invitations (
    message_id      BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL,
    inviter_id      BIGINT NOT NULL,
    invitee_id      BIGINT,                      -- NULL: anyone in the conversation
    activity        TEXT NOT NULL,
    label           TEXT NOT NULL,               -- as configured when sent
    state           TEXT NOT NULL,               -- pending|accepted|declined|cancelled|expired|failed
    responded_by    BIGINT,
    reason          TEXT,
    result          TEXT,                        -- the host app's JSON answer
    expires_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX invitations_pending ON invitations (state, expires_at);

CREATE TABLE notifications (
    id              BIGINT PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    conversation_id BIGINT,
    message_id      BIGINT,
    actor_id        BIGINT,
    excerpt         TEXT NOT NULL,
    silent          BOOLEAN NOT NULL DEFAULT FALSE,
    read_at         BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, id);

ALTER TABLE members ADD COLUMN notify_level TEXT NOT NULL DEFAULT 'all';   -- all|mentions|none
