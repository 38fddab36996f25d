-- What a connection posts to, as the platform named it when it was chosen: a LinkedIn
-- organization's or a Facebook Page's name (the connection row keeps only their id, and its
-- account is the person who connected), an Instagram business account, a Telegram chat's
-- type (channel, supergroup, group). The dashboard shows it so a member and the page of the
-- same person do not look alike. Rows come with the next page choice or connect: older
-- connections have none until then.
CREATE TABLE connection_targets (
    connection_id uuid        PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    -- facebook_page, linkedin_organization, instagram_account, profile; Telegram's chat type.
    kind          text        NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,31}$'),
    name          text        CHECK (length(name) <= 500),
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
