-- Contacts, blocks, restrictions, profiles and presence settings.
-- Keep in step with ../sqlite/0003_people.sql.

ALTER TABLE users ADD COLUMN bio TEXT;
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'online';  -- chosen: online|away|dnd|invisible
ALTER TABLE users ADD COLUMN status_text TEXT;
ALTER TABLE users ADD COLUMN last_seen_at BIGINT;

-- One row per direction: (a, b) and (b, a).
CREATE TABLE contacts (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, contact_id)
);

CREATE TABLE contact_requests (
    from_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (from_id, to_id)
);
CREATE INDEX contact_requests_to ON contact_requests (to_id);

CREATE TABLE blocks (
    blocker_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

CREATE TABLE restrictions (
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    restricted_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (user_id, restricted_id)
);

CREATE INDEX users_display_name ON users (display_name);
