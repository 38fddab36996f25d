-- Media uploaded through POST /v1/media.
--
-- The bytes live in the media store (a local directory, or an S3-compatible bucket); the row
-- holds what was checked about them and the per-file secret that signs its public URLs.
-- Instagram and Threads fetch images by URL, so Herald serves each file under
-- {public_url}/media/{id}?expires=..&sig=.., where sig is HMAC-SHA256(url_secret, id:expires):
-- a URL cannot be forged or extended without the secret, and every API instance can check it.

CREATE TABLE media (
    id           uuid        PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    content_type text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png',
                                                              'image/gif', 'image/webp')),
    bytes        bigint      NOT NULL CHECK (bytes > 0),
    width        integer     NOT NULL CHECK (width > 0),
    height       integer     NOT NULL CHECK (height > 0),
    sha256       bytea       NOT NULL CHECK (length(sha256) = 32),
    -- Where the media store keeps it (a relative path or an object key).
    storage_key  text        NOT NULL CHECK (length(storage_key) BETWEEN 1 AND 512),
    url_secret   bytea       NOT NULL CHECK (length(url_secret) = 32),
    filename     text        CHECK (length(filename) <= 255),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX media_tenant_idx ON media (tenant_id, id);
