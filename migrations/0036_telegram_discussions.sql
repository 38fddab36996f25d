-- The discussion group linked to a connected Telegram channel.
--
-- A Telegram channel's comments live in its linked discussion group (`getChat`'s
-- `linked_chat_id`). Herald reads it when the channel is connected, so that a post asking for
-- a `first_comment` on a channel without one is refused at enqueue rather than degraded after
-- publishing. One row per Telegram connection, written on every (re)connect; NULL means the
-- channel had no discussion group then. A connection made before this table has no row:
-- nothing is known, and the publish-time check (which reads the group again) decides.

CREATE TABLE telegram_discussions (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    linked_chat_id bigint,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
