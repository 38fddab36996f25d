-- Videos beside images, media derived for one platform, and media that expire.
--
-- media_kinds lists every content type Herald stores, its kind, and the default size limit
-- of the kind (the configuration may lower it: media.max_bytes for images,
-- media.max_video_bytes for videos). A row of media names one of them.
--
-- A video records what its platforms judge it by, read from its own metadata when it was
-- stored: duration, frame rate, codecs and whether its moov box comes first. Width and
-- height are the video track's.
--
-- A derived item is a copy of another prepared for one platform (a PNG converted to JPEG
-- for Instagram, an image scaled under a platform's pixel or byte limit, one padded to an
-- aspect ratio the platform takes): made once per (source, platform, recipe) and reused.
-- Derived items, and uploads no post refers to, expire after media.retention_days
-- (expires_at); the worker's sweeper deletes expired rows and their bytes.

CREATE TABLE media_kinds (
    content_type text   PRIMARY KEY,
    kind         text   NOT NULL CHECK (kind IN ('image', 'video')),
    extension    text   NOT NULL,
    max_bytes    bigint NOT NULL CHECK (max_bytes > 0),
    UNIQUE (content_type, kind)
);

INSERT INTO media_kinds (content_type, kind, extension, max_bytes) VALUES
    ('image/jpeg',      'image', 'jpg',  20971520),
    ('image/png',       'image', 'png',  20971520),
    ('image/gif',       'image', 'gif',  20971520),
    ('image/webp',      'image', 'webp', 20971520),
    ('video/mp4',       'video', 'mp4',  536870912),
    ('video/quicktime', 'video', 'mov',  536870912);

ALTER TABLE media DROP CONSTRAINT media_content_type_check;
ALTER TABLE media
    ADD COLUMN kind          text    NOT NULL DEFAULT 'image',
    ADD COLUMN duration_ms   bigint  CHECK (duration_ms >= 0),
    ADD COLUMN frame_rate    double precision CHECK (frame_rate >= 0),
    ADD COLUMN video_codec   text    CHECK (length(video_codec) <= 16),
    ADD COLUMN audio_codec   text    CHECK (length(audio_codec) <= 16),
    ADD COLUMN moov_first    boolean,
    ADD COLUMN derived_from  uuid    REFERENCES media (id) ON DELETE CASCADE,
    ADD COLUMN derived_for   text    CHECK (derived_for IN ('twitter', 'linkedin', 'facebook',
                                                            'instagram', 'threads', 'telegram')),
    -- What was done to the source, e.g. 'jpeg', 'scale:1080x1350', 'pad:0.8'.
    ADD COLUMN recipe        text    CHECK (length(recipe) <= 64),
    ADD COLUMN expires_at    timestamptz,
    ADD CONSTRAINT media_kind_fkey FOREIGN KEY (content_type, kind)
        REFERENCES media_kinds (content_type, kind),
    ADD CONSTRAINT media_video_facts CHECK (
        (kind = 'video') = (duration_ms IS NOT NULL AND frame_rate IS NOT NULL
                            AND video_codec IS NOT NULL AND moov_first IS NOT NULL)),
    ADD CONSTRAINT media_derived_whole CHECK (
        (derived_from IS NULL) = (derived_for IS NULL) AND (derived_from IS NULL) = (recipe IS NULL));

-- One derived copy per source, platform and recipe: concurrent workers share it.
CREATE UNIQUE INDEX media_derived_idx ON media (derived_from, derived_for, recipe)
    WHERE derived_from IS NOT NULL;
CREATE INDEX media_expires_idx ON media (expires_at) WHERE expires_at IS NOT NULL;
