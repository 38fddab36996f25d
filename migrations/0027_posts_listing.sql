-- GET /v1/posts filters a tenant's posts by their metadata with jsonb containment
-- (`metadata @> '{"campaign": "spring"}'`), which this index answers without reading every
-- post of the tenant. jsonb_path_ops: containment is the only operator the API uses.
CREATE INDEX posts_metadata_idx ON posts USING gin (metadata jsonb_path_ops);
