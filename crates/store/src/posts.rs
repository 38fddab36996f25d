//! Posts and the deliveries they fan out to.
//!
//! Invariants kept here:
//!
//! - A post and all its deliveries are written in one transaction (a batch of posts shares
//!   it), together with each delivery's creation event, before anything is pushed to Redis.
//! - An idempotency key is unique per tenant. The same key with the same request hash gives
//!   back the post it created; with another hash it is a conflict. Two requests racing with
//!   one key create one post: the loser's insert waits for the winner's commit, then reads it.
//! - A delivery goes to a connection of its post's tenant, on that connection's platform
//!   (the platform is taken from the connection, and a composite foreign key holds it there).
//! - There is no stored aggregate state: a post's state is derived from its deliveries.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use herald_domain::{ConnectionId, DeliveryId, PostContent, PostId, PostState, TenantId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::deliveries::{Deliveries, Delivery, DeliveryRow, parse_content};
use crate::error::{StoreError, violated_constraint};

/// A post to create.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub tenant_id: TenantId,
    pub idempotency: Option<Idempotency>,
    pub content: PostContent,
    /// `None`: as soon as possible.
    pub publish_at: Option<DateTime<Utc>>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub deliveries: Vec<NewDelivery>,
}

/// The producer's idempotency key and a hash of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    /// SHA-256 of the canonical request body.
    pub request_hash: [u8; 32],
}

/// One target of a post.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub connection_id: ConnectionId,
    /// This target's own content, when it overrides the post's.
    pub content: Option<PostContent>,
    pub max_attempts: i32,
}

/// A post with its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPost {
    pub id: PostId,
    pub tenant_id: TenantId,
    pub idempotency_key: Option<String>,
    pub content: PostContent,
    pub publish_at: Option<DateTime<Utc>>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub deliveries: Vec<Delivery>,
}

/// Which of a tenant's posts [`Posts::list`] answers.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    /// The post's state, derived from its deliveries as [`PostState::of`] derives it.
    pub state: Option<PostState>,
    /// Created at or after.
    pub created_since: Option<DateTime<Utc>>,
    /// Created before.
    pub created_until: Option<DateTime<Utc>>,
    /// Pairs the post's metadata must contain (jsonb `@>`); empty: any metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Cursor: only posts older than this one.
    pub before: Option<PostId>,
}

/// What the dashboard's post search asks; every field given must hold.
#[derive(Debug, Clone, Default)]
pub struct PostSearch {
    pub post_id: Option<PostId>,
    /// A piece of the text or of a thread part, any case.
    pub text: Option<String>,
    /// A metadata key and the value it must have, compared as text: `count=3` finds the
    /// number 3 as well as the string "3", `draft=true` the boolean.
    pub metadata: Option<(String, String)>,
    /// Posts with a delivery to this connection.
    pub connection_id: Option<ConnectionId>,
    /// Cursor: only posts older than this one.
    pub before: Option<PostId>,
    /// Cursor: only posts newer than this one (the page before).
    pub after: Option<PostId>,
}

/// `text` as a LIKE pattern that matches it anywhere, its own `%`, `_` and `\` taken
/// literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// What became of one post of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum PostInsert {
    Created(StoredPost),
    /// The idempotency key was used before with the same request: the original post.
    Replayed(StoredPost),
    /// The idempotency key was used before with another request.
    Conflict {
        key: String,
        existing: PostId,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Posts<'a> {
    pool: &'a PgPool,
}

impl<'a> Posts<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// Inserts a batch of posts with their deliveries in one transaction and returns, in
    /// input order, what became of each. An idempotency conflict is an answer for that post,
    /// not an error of the batch; any other failure (an unknown tenant, a connection of
    /// another tenant) fails the whole batch and writes nothing.
    ///
    /// However many posts, the transaction is a fixed handful of statements: the posts in
    /// one insert, the posts their keys already name in one read, the deliveries and their
    /// events in one insert. The answer is built from what those return; only replayed posts
    /// are read again.
    pub async fn insert_posts(&self, posts: &[NewPost]) -> Result<Vec<PostInsert>, StoreError> {
        for post in posts {
            validate(post)?;
        }
        let mut tx = self.pool.begin().await?;
        let answers = insert_or_find(&mut tx, posts).await?;
        let created: Vec<(PostId, &NewPost)> = answers
            .iter()
            .zip(posts)
            .filter_map(|(answer, post)| match answer {
                Answer::Created { id, .. } => Some((*id, post)),
                _ => None,
            })
            .collect();
        let mut deliveries = insert_deliveries(&mut tx, &created).await?;
        tx.commit().await?;

        let replayed: Vec<PostId> = answers
            .iter()
            .filter_map(|a| match a {
                Answer::Replayed(id) => Some(*id),
                _ => None,
            })
            .collect();
        let stored = self.load(&replayed).await?;
        answers
            .into_iter()
            .zip(posts)
            .map(|(answer, post)| match answer {
                Answer::Created {
                    id,
                    created_at,
                    publish_at,
                } => {
                    let (mine, rest): (Vec<_>, Vec<_>) =
                        deliveries.drain(..).partition(|d| d.post_id == id);
                    deliveries = rest;
                    Ok(PostInsert::Created(StoredPost {
                        id,
                        tenant_id: post.tenant_id,
                        idempotency_key: post.idempotency.as_ref().map(|i| i.key.clone()),
                        content: post.content.clone(),
                        publish_at,
                        metadata: post.metadata.clone(),
                        created_at,
                        deliveries: mine,
                    }))
                }
                Answer::Replayed(id) => find(&stored, id).map(PostInsert::Replayed),
                Answer::Conflict { key, existing } => Ok(PostInsert::Conflict { key, existing }),
            })
            .collect()
    }

    /// Inserts one post: a created or replayed post, or [`StoreError::IdempotencyConflict`].
    pub async fn insert_post(&self, post: &NewPost) -> Result<PostInsert, StoreError> {
        let answer = self
            .insert_posts(std::slice::from_ref(post))
            .await?
            .pop()
            .ok_or_else(|| StoreError::corrupt("post batch", &"no answer for the post"))?;
        match answer {
            PostInsert::Conflict { key, .. } => Err(StoreError::IdempotencyConflict { key }),
            other => Ok(other),
        }
    }

    /// A tenant's post with its deliveries.
    pub async fn get(
        &self,
        tenant_id: TenantId,
        id: PostId,
    ) -> Result<Option<StoredPost>, StoreError> {
        let post = self.load(&[id]).await?.pop();
        Ok(post.filter(|p| p.tenant_id == tenant_id))
    }

    /// A tenant's posts with their deliveries, newest first, at most `limit` of them.
    ///
    /// Every filter, the derived state included, is applied in SQL before the limit, so a
    /// page is never short because rows were dropped after it was cut. The state expression
    /// mirrors [`PostState::of`] (a test holds them together): a post stores no state.
    pub async fn list(
        &self,
        tenant_id: TenantId,
        filter: &PostFilter,
        limit: i64,
    ) -> Result<Vec<StoredPost>, StoreError> {
        let metadata = serde_json::Value::Object(filter.metadata.clone());
        let ids = sqlx::query_scalar!(
            r#"SELECT p.id
               FROM posts p
               CROSS JOIN LATERAL (
                   SELECT CASE
                       WHEN count(*) = 0 THEN 'cancelled'
                       WHEN bool_or(d.state NOT IN ('published', 'failed', 'dead', 'unknown',
                                                    'cancelled')) THEN
                           CASE WHEN bool_and(d.state = 'scheduled') THEN 'scheduled'
                                WHEN bool_and(d.state IN ('scheduled', 'queued')) THEN 'queued'
                                ELSE 'in_progress' END
                       WHEN bool_and(d.state = 'published') THEN 'published'
                       WHEN bool_or(d.state = 'published') THEN 'partially_published'
                       WHEN bool_and(d.state = 'cancelled') THEN 'cancelled'
                       WHEN bool_or(d.state = 'unknown') THEN 'unknown'
                       ELSE 'failed'
                   END AS state
                   FROM deliveries d
                   WHERE d.post_id = p.id
               ) s
               WHERE p.tenant_id = $1
                 AND ($2::uuid IS NULL OR p.id < $2)
                 AND ($3::timestamptz IS NULL OR p.created_at >= $3)
                 AND ($4::timestamptz IS NULL OR p.created_at < $4)
                 AND p.metadata @> $5
                 AND ($6::text IS NULL OR s.state = $6)
               ORDER BY p.id DESC
               LIMIT $7"#,
            tenant_id.into_uuid(),
            filter.before.map(PostId::into_uuid),
            filter.created_since,
            filter.created_until,
            metadata,
            filter.state.map(PostState::as_str),
            limit
        )
        .fetch_all(self.pool)
        .await?;
        let ids: Vec<PostId> = ids.into_iter().map(PostId::from).collect();
        let mut posts = self.load(&ids).await?;
        posts.reverse();
        Ok(posts)
    }

    /// A tenant's posts matching `search`, newest first, at most `limit`: the newest, or with
    /// [`PostSearch::after`] the oldest newer than it.
    pub async fn search(
        &self,
        tenant_id: TenantId,
        search: &PostSearch,
        limit: i64,
    ) -> Result<Vec<StoredPost>, StoreError> {
        let pattern = search.text.as_deref().map(contains_pattern);
        let (key, value) = match &search.metadata {
            Some((k, v)) => (Some(k.as_str()), Some(v.as_str())),
            None => (None, None),
        };
        let ids = sqlx::query_scalar!(
            r#"SELECT p.id FROM posts p
               WHERE p.tenant_id = $1
                 AND ($2::uuid IS NULL OR p.id = $2)
                 AND ($3::text IS NULL
                      OR p.content->>'text' ILIKE $3
                      OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(
                                     CASE WHEN jsonb_typeof(p.content->'thread') = 'array'
                                          THEN p.content->'thread' ELSE '[]' END) part
                                 WHERE part ILIKE $3))
                 AND ($4::text IS NULL OR p.metadata->>$4 = $5)
                 AND ($6::uuid IS NULL OR EXISTS (SELECT 1 FROM deliveries d
                                                  WHERE d.post_id = p.id
                                                    AND d.connection_id = $6))
                 AND ($7::uuid IS NULL OR p.id < $7)
                 AND ($8::uuid IS NULL OR p.id > $8)
               ORDER BY CASE WHEN $8::uuid IS NOT NULL THEN p.id END ASC, p.id DESC
               LIMIT $9"#,
            tenant_id.into_uuid(),
            search.post_id.map(PostId::into_uuid),
            pattern,
            key,
            value,
            search.connection_id.map(ConnectionId::into_uuid),
            search.before.map(PostId::into_uuid),
            search.after.map(PostId::into_uuid),
            limit
        )
        .fetch_all(self.pool)
        .await?;
        let ids: Vec<PostId> = ids.into_iter().map(PostId::from).collect();
        // `load` answers in id order: oldest first.
        let mut posts = self.load(&ids).await?;
        posts.reverse();
        Ok(posts)
    }

    /// Posts by id with their deliveries, in id order; unknown ids are skipped.
    async fn load(&self, ids: &[PostId]) -> Result<Vec<StoredPost>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let uuids: Vec<Uuid> = ids.iter().map(|id| id.into_uuid()).collect();
        let rows = sqlx::query!(
            "SELECT id, tenant_id, idempotency_key, content, publish_at, metadata, created_at
             FROM posts WHERE id = ANY($1) ORDER BY id",
            &uuids
        )
        .fetch_all(self.pool)
        .await?;
        let mut deliveries = Deliveries::new(self.pool).of_posts(ids).await?;
        rows.into_iter()
            .map(|r| {
                let id = PostId::from(r.id);
                let (mine, rest): (Vec<_>, Vec<_>) =
                    deliveries.drain(..).partition(|d| d.post_id == id);
                deliveries = rest;
                Ok(StoredPost {
                    id,
                    tenant_id: r.tenant_id.into(),
                    idempotency_key: r.idempotency_key,
                    content: parse_content(r.content)?,
                    publish_at: r.publish_at,
                    metadata: match r.metadata {
                        serde_json::Value::Object(map) => map,
                        other => return Err(StoreError::corrupt("post metadata", &other)),
                    },
                    created_at: r.created_at,
                    deliveries: mine,
                })
            })
            .collect()
    }
}

enum Answer {
    Created {
        id: PostId,
        created_at: DateTime<Utc>,
        publish_at: Option<DateTime<Utc>>,
    },
    Replayed(PostId),
    Conflict {
        key: String,
        existing: PostId,
    },
}

/// A post of the batch (a key used twice in one batch answers twice with the same post).
fn find(stored: &[StoredPost], id: PostId) -> Result<StoredPost, StoreError> {
    stored
        .iter()
        .find(|p| p.id == id)
        .cloned()
        .ok_or_else(|| StoreError::corrupt("post", &format!("post {id} vanished after commit")))
}

fn validate(post: &NewPost) -> Result<(), StoreError> {
    if post.deliveries.is_empty() {
        return Err(StoreError::InvalidInput(
            "a post needs at least one target".to_owned(),
        ));
    }
    let mut seen = HashSet::new();
    for delivery in &post.deliveries {
        if !seen.insert(delivery.connection_id) {
            return Err(StoreError::InvalidInput(format!(
                "connection {} is targeted twice by one post",
                delivery.connection_id
            )));
        }
        if delivery.max_attempts < 1 {
            return Err(StoreError::InvalidInput(
                "a delivery needs at least one attempt".to_owned(),
            ));
        }
    }
    Ok(())
}

/// The (tenant, key) of a post that has an idempotency key.
fn key_of(post: &NewPost) -> Option<(TenantId, &str)> {
    post.idempotency
        .as_ref()
        .map(|i| (post.tenant_id, i.key.as_str()))
}

/// Inserts the batch's post rows, or finds the ones their idempotency keys already name, in
/// input order.
///
/// A key used twice in the batch is inserted once; the other uses read it back like a
/// replay from another request. Rows are inserted in (tenant, key) order, so two batches
/// sharing keys wait for each other in one order and never deadlock on them.
async fn insert_or_find(
    conn: &mut PgConnection,
    posts: &[NewPost],
) -> Result<Vec<Answer>, StoreError> {
    let mut answers: Vec<Option<Answer>> = posts.iter().map(|_| None).collect();
    let mut seen = HashSet::new();
    let mut todo: Vec<usize> = (0..posts.len())
        .filter(|&i| key_of(&posts[i]).is_none_or(|k| seen.insert(k)))
        .collect();
    todo.sort_by_key(|&i| key_of(&posts[i]));
    // Two rounds at most: the row a key conflicted with can be deleted before it is read.
    for _ in 0..2 {
        if todo.is_empty() {
            break;
        }
        insert_rows(conn, posts, &todo, &mut answers).await?;
        find_by_keys(conn, posts, &mut answers).await?;
        todo.retain(|&i| answers[i].is_none());
    }
    answers
        .into_iter()
        .map(|answer| {
            answer.ok_or_else(|| {
                StoreError::InvalidInput(
                    "the post with this idempotency key was deleted while it was being \
                     replayed; retry"
                        .to_owned(),
                )
            })
        })
        .collect()
}

/// Inserts the posts `todo` names in one statement; a post whose key is taken is skipped
/// (and left unanswered).
async fn insert_rows(
    conn: &mut PgConnection,
    posts: &[NewPost],
    todo: &[usize],
    answers: &mut [Option<Answer>],
) -> Result<(), StoreError> {
    let mut ids = Vec::with_capacity(todo.len());
    let mut tenants = Vec::with_capacity(todo.len());
    let mut keys: Vec<Option<String>> = Vec::with_capacity(todo.len());
    let mut hashes: Vec<Option<Vec<u8>>> = Vec::with_capacity(todo.len());
    let mut contents = Vec::with_capacity(todo.len());
    let mut publish_ats: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(todo.len());
    let mut metadata = Vec::with_capacity(todo.len());
    let mut index_of = std::collections::HashMap::with_capacity(todo.len());
    for &i in todo {
        let post = &posts[i];
        let id = PostId::new().into_uuid();
        index_of.insert(id, i);
        ids.push(id);
        tenants.push(post.tenant_id.into_uuid());
        keys.push(post.idempotency.as_ref().map(|k| k.key.clone()));
        hashes.push(post.idempotency.as_ref().map(|k| k.request_hash.to_vec()));
        contents.push(
            serde_json::to_value(&post.content)
                .map_err(|e| StoreError::InvalidInput(format!("post content: {e}")))?,
        );
        publish_ats.push(post.publish_at);
        metadata.push(serde_json::Value::Object(post.metadata.clone()));
    }
    let rows = sqlx::query!(
        r#"INSERT INTO posts (id, tenant_id, idempotency_key, request_hash, content,
                              publish_at, metadata)
           SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::bytea[], $5::jsonb[],
                                $6::timestamptz[], $7::jsonb[])
           ON CONFLICT ON CONSTRAINT posts_tenant_idempotency_key DO NOTHING
           RETURNING id, created_at, publish_at"#,
        &ids,
        &tenants,
        &keys as _,
        &hashes as _,
        &contents,
        &publish_ats as _,
        &metadata
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some("posts_tenant_id_fkey") => {
            let tenant = todo.first().map(|&i| posts[i].tenant_id);
            tenant.map_or_else(|| e.into(), StoreError::UnknownTenant)
        }
        _ => e.into(),
    })?;
    for row in rows {
        let Some(&i) = index_of.get(&row.id) else {
            return Err(StoreError::corrupt(
                "post batch",
                &"a post id nobody asked for",
            ));
        };
        answers[i] = Some(Answer::Created {
            id: PostId::from(row.id),
            created_at: row.created_at,
            publish_at: row.publish_at,
        });
    }
    for &i in todo {
        if answers[i].is_none() && posts[i].idempotency.is_none() {
            return Err(StoreError::corrupt(
                "post",
                &"an insert without a key conflicted",
            ));
        }
    }
    Ok(())
}

/// Answers every keyed post of the batch not created by it with the post its key names
/// (the same request: a replay; another: a conflict), read in one statement. A key whose
/// post has gone stays unanswered.
async fn find_by_keys(
    conn: &mut PgConnection,
    posts: &[NewPost],
    answers: &mut [Option<Answer>],
) -> Result<(), StoreError> {
    let open: Vec<usize> = (0..posts.len())
        .filter(|&i| answers[i].is_none() && posts[i].idempotency.is_some())
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    let tenants: Vec<Uuid> = open
        .iter()
        .map(|&i| posts[i].tenant_id.into_uuid())
        .collect();
    let keys: Vec<String> = open
        .iter()
        .filter_map(|&i| posts[i].idempotency.as_ref().map(|k| k.key.clone()))
        .collect();
    let rows = sqlx::query!(
        r#"SELECT p.id, p.tenant_id, p.idempotency_key AS "idempotency_key!",
                  p.request_hash AS "request_hash!"
           FROM posts p
           JOIN UNNEST($1::uuid[], $2::text[]) AS k(tenant_id, idempotency_key)
             ON p.tenant_id = k.tenant_id AND p.idempotency_key = k.idempotency_key"#,
        &tenants,
        &keys
    )
    .fetch_all(&mut *conn)
    .await?;
    for &i in &open {
        let Some(idempotency) = &posts[i].idempotency else {
            continue;
        };
        let tenant = posts[i].tenant_id.into_uuid();
        let Some(row) = rows
            .iter()
            .find(|r| r.tenant_id == tenant && r.idempotency_key == idempotency.key)
        else {
            continue;
        };
        let existing = PostId::from(row.id);
        answers[i] = Some(if row.request_hash == idempotency.request_hash {
            Answer::Replayed(existing)
        } else {
            Answer::Conflict {
                key: idempotency.key.clone(),
                existing,
            }
        });
    }
    Ok(())
}

/// Inserts the deliveries of the posts just created, and their creation events, in one
/// statement, and returns them as stored. Each is `scheduled` for a future `publish_at`,
/// else `queued`.
async fn insert_deliveries(
    conn: &mut PgConnection,
    created: &[(PostId, &NewPost)],
) -> Result<Vec<Delivery>, StoreError> {
    let mut ids = Vec::new();
    let mut post_ids = Vec::new();
    let mut connection_ids = Vec::new();
    let mut contents: Vec<Option<serde_json::Value>> = Vec::new();
    let mut max_attempts = Vec::new();
    let mut tenants = Vec::new();
    for (post_id, post) in created {
        for delivery in &post.deliveries {
            ids.push(DeliveryId::new().into_uuid());
            tenants.push(post.tenant_id);
            post_ids.push(post_id.into_uuid());
            connection_ids.push(delivery.connection_id.into_uuid());
            contents.push(
                delivery
                    .content
                    .as_ref()
                    .map(serde_json::to_value)
                    .transpose()
                    .map_err(|e| StoreError::InvalidInput(format!("delivery content: {e}")))?,
            );
            max_attempts.push(delivery.max_attempts);
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let inserted = sqlx::query_as!(
        DeliveryRow,
        r#"WITH input AS (
               SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::jsonb[], $5::int4[])
                   AS t(id, post_id, connection_id, content, max_attempts)
           ),
           inserted AS (
               INSERT INTO deliveries (id, post_id, tenant_id, connection_id, platform, content,
                                       state, max_attempts, run_at)
               SELECT i.id, i.post_id, p.tenant_id, c.id, c.platform, i.content,
                      CASE WHEN p.publish_at > now() THEN 'scheduled' ELSE 'queued' END,
                      i.max_attempts, COALESCE(p.publish_at, now())
               FROM input i
               JOIN posts p ON p.id = i.post_id
               JOIN connections c ON c.id = i.connection_id AND c.tenant_id = p.tenant_id
               RETURNING *
           ),
           events AS (
               INSERT INTO delivery_events (delivery_id, tenant_id, from_state, to_state, detail)
               SELECT id, tenant_id, NULL, state, jsonb_build_object('run_at', run_at)
               FROM inserted
           )
           SELECT id AS "id!", post_id AS "post_id!", tenant_id AS "tenant_id!",
                  connection_id AS "connection_id!", platform AS "platform!", content,
                  state AS "state!", attempts AS "attempts!", max_attempts AS "max_attempts!",
                  run_at AS "run_at!", lease_owner, lease_expires_at, remote_id, public_url,
                  degraded AS "degraded!", error_class, error_code, error_message, error_hint,
                  created_at AS "created_at!", updated_at AS "updated_at!", finished_at
           FROM inserted
           ORDER BY post_id, id"#,
        &ids,
        &post_ids,
        &connection_ids,
        &contents as _,
        &max_attempts
    )
    .fetch_all(&mut *conn)
    .await?;
    if inserted.len() == ids.len() {
        return inserted.into_iter().map(Delivery::try_from).collect();
    }
    // The join skipped a connection that is not the tenant's (or does not exist): name it.
    let inserted: HashSet<Uuid> = inserted.into_iter().map(|row| row.id).collect();
    let skipped = ids.iter().position(|id| !inserted.contains(id));
    match skipped {
        Some(index) => Err(StoreError::ForeignConnection {
            tenant_id: tenants[index],
            connection_id: connection_ids[index].into(),
        }),
        None => Err(StoreError::corrupt(
            "delivery batch",
            &"fewer deliveries than asked",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_pattern_takes_like_wildcards_literally() {
        assert_eq!(contains_pattern("50%_off"), r"%50\%\_off%");
        assert_eq!(contains_pattern(r"a\b"), r"%a\\b%");
    }
}
