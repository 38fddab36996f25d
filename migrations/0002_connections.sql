-- Connected platform accounts.
--
-- Tokens are sealed by herald-store (AES-256-GCM, the row id and column name as associated
-- data) and stored as `{key_id}:{base64url(nonce || ciphertext)}`. The shape CHECK below is a
-- tripwire: a write that forgot to seal fails for almost every real token shape.

CREATE TABLE connections (
    id               uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The tenant's own end user who owns this connection; NULL for a tenant-wide account.
    external_user_id text        CHECK (length(external_user_id) BETWEEN 1 AND 255),
    platform         text        NOT NULL
                                 CHECK (platform IN ('twitter', 'linkedin', 'facebook',
                                                     'instagram', 'threads', 'telegram')),
    -- Which LinkedIn app the account was connected with; LinkedIn only, and always there.
    app_type         text        CHECK (app_type IN ('personal', 'company')),
    post_target_type text        NOT NULL DEFAULT 'personal'
                                 CHECK (post_target_type IN ('personal', 'page')),
    selected_page_id text,
    account_id       text        NOT NULL CHECK (length(account_id) BETWEEN 1 AND 255),
    account_name     text,
    account_handle   text,
    access_token     text        NOT NULL
                                 CHECK (access_token ~ '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{38,}$'),
    refresh_token    text        CHECK (refresh_token ~ '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{38,}$'),
    token_expires_at timestamptz,
    scopes           text[]      NOT NULL DEFAULT '{}' CHECK (array_position(scopes, NULL) IS NULL),
    -- The platform plan whose windows apply (X: 'free', 'basic', ...); NULL: the default.
    rate_tier        text        CHECK (rate_tier ~ '^[a-z][a-z0-9_]{0,31}$'),
    status           text        NOT NULL DEFAULT 'active'
                                 CHECK (status IN ('active', 'needs_reconnect', 'disabled')),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT connections_app_type_iff_linkedin
        CHECK ((platform = 'linkedin') = (app_type IS NOT NULL)),
    -- A page is only selected for a connection that posts to a page.
    CONSTRAINT connections_page_only_for_page_targets
        CHECK (selected_page_id IS NULL OR post_target_type = 'page'),
    -- The spec's rule: one connection per (user, platform, app type), per end user of a
    -- tenant. NULLs (no end user, no app type) compare equal, so they are unique too.
    CONSTRAINT connections_one_per_user_platform_app
        UNIQUE NULLS NOT DISTINCT (tenant_id, external_user_id, platform, app_type),
    -- Targets for the composite foreign key of deliveries, which pins a delivery to a
    -- connection of its own tenant and platform.
    CONSTRAINT connections_id_tenant_platform_key UNIQUE (id, tenant_id, platform)
);
