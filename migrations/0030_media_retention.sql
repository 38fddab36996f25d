-- Retention of media: the worker's retention sweep deletes derived copies past their
-- expires_at, and uploads older than media.retention_days that no post or delivery refers
-- to (crates/store/src/media.rs, MediaFiles::sweep_expired).
--
-- "No post refers to it" is a containment test on the content's media list,
-- content->'media' @> '[{"media_id": "<id>"}]', which these indexes answer without reading
-- every post.

CREATE INDEX posts_media_refs_idx ON posts USING gin ((content -> 'media') jsonb_path_ops);
CREATE INDEX deliveries_media_refs_idx ON deliveries USING gin ((content -> 'media') jsonb_path_ops);
-- Uploads (not derived copies) by age, oldest first.
CREATE INDEX media_uploads_created_idx ON media (created_at) WHERE derived_from IS NULL;
